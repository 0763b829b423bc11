import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { CPONG_PACKET, encodeEndResponse, encodeGetBodyChunk } from '../control-messages.js';
import { DEFAULT_PACKET_SIZE } from '../constants.js';
import { AjpProtocolError } from '../errors.js';
import type { DecodedForwardRequest } from '../forward-request.js';
import { checkPacketSize } from '../packet-writer.js';
import { RequestDecoder, type RequestEvent } from '../request-decoder.js';
import { encodeSendHeaders } from '../send-headers.js';
import { AjpIncomingRequest, AjpSocketInfo } from './incoming-request.js';
import { checkRequest } from './request-policy.js';
import { AjpServerResponse } from './server-response.js';

/** A request listener, as Node's `http.RequestListener` but with the AJP request/response types. */
export type AjpRequestListener = (req: AjpIncomingRequest, res: AjpServerResponse) => void;

/** Options of {@link createAjpServer}. */
export interface AjpServerOptions {
  /**
   * The secret every request must carry (attribute 0x0C). Required unless `secretRequired` is
   * false, as Tomcat requires it since the Ghostcat fixes.
   */
  secret?: string;
  /** Set false to run without a secret (only on a trusted network). Default true. */
  secretRequired?: boolean;
  /**
   * Extra request attribute (0x0A) names to accept, as a regular expression that must match the
   * whole name (Tomcat's `allowedRequestAttributesPattern`); others get 403.
   */
  allowedRequestAttributes?: RegExp;
  /** Packet size; must equal the web server's. Default 8192. */
  packetSize?: number;
  /** Most request headers (Tomcat's maxHeaderCount). Default 100. */
  maxHeaders?: number;
  /** Close a connection idle (between requests) this long, in ms; 0 = never (Tomcat's default). */
  idleTimeout?: number;
  /** Longest time from Forward Request to the end of the response, in ms; 0 = none. Default 120000. */
  requestTimeout?: number;
  /** Longest wait for a request body packet after asking for it, in ms. Default 30000. */
  bodyTimeout?: number;
  /** Strict decoding. Default true. */
  strict?: boolean;
  /**
   * Bytes of replies (CPONGs, GET_BODY_CHUNKs, response packets) a connection may have queued
   * for a web server that does not read them before the server stops reading that connection's
   * input; reading resumes at 'drain'. Default 65536.
   */
  maxQueuedReplyBytes?: number;
  /** A pino logger (default: silent). Secrets and header values are never logged. */
  logger?: Logger;
}

/** A running AJP server: see {@link createAjpServer}. */
export interface AjpServer {
  /** Starts listening; host defaults to 127.0.0.1, port 0 picks a free one. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** The listening address. */
  address(): AddressInfo;
  /** Stops accepting, closes idle connections, waits for the rest to finish. */
  close(): Promise<void>;
  /** Open connections. */
  readonly connections: number;
  /** The underlying `net.Server`. */
  readonly server: Server;
}

const STATUS_FOR: Partial<Record<AjpProtocolError['code'], number>> = {
  INVALID_CONTENT_LENGTH: 400,
  DUPLICATE_CONTENT_LENGTH: 400,
  DUPLICATE_SECRET: 403,
};

/**
 * Serves AJP13 for a web server in front (Apache httpd with mod_proxy_ajp or mod_jk): each Forward
 * Request becomes a call of `listener(req, res)` with Node-like request and response objects, the
 * way a servlet sits behind httpd. Secure by default: a secret is required, unknown request
 * attributes get 403 (Ghostcat), it listens on 127.0.0.1, and a connection that breaks the
 * protocol is closed without affecting the others.
 */
export function createAjpServer(
  options: AjpServerOptions,
  listener: AjpRequestListener,
): AjpServer {
  const secretRequired = options.secretRequired ?? true;
  const secret = options.secret !== undefined && options.secret.length > 0 ? options.secret : null;
  if (secretRequired && secret === null)
    throw new AjpProtocolError('INVALID_VALUE', 'no secret configured', {
      field: 'secret',
      expected: 'a non-empty secret, or secretRequired: false',
    });
  const packetSize = checkPacketSize(options.packetSize ?? DEFAULT_PACKET_SIZE);
  const maxQueued = options.maxQueuedReplyBytes ?? 65_536;
  if (!Number.isSafeInteger(maxQueued) || maxQueued < 0)
    throw new AjpProtocolError('INVALID_VALUE', `maxQueuedReplyBytes ${maxQueued}`, {
      field: 'maxQueuedReplyBytes',
      expected: 'a whole number of bytes, 0 or more',
    });
  const cfg = {
    packetSize,
    secret,
    allowed: options.allowedRequestAttributes ?? null,
    maxHeaders: options.maxHeaders ?? 100,
    idleTimeout: options.idleTimeout ?? 0,
    requestTimeout: options.requestTimeout ?? 120_000,
    bodyTimeout: options.bodyTimeout ?? 30_000,
    strict: options.strict ?? true,
    maxQueued,
    log: options.logger ?? pino({ level: 'silent' }),
    listener,
  };
  const sockets = new Set<AjpConnectionHandler>();
  const server = createServer((socket) => {
    const h = new AjpConnectionHandler(socket, cfg);
    sockets.add(h);
    socket.on('close', () => sockets.delete(h));
  });
  return {
    server,
    get connections() {
      return sockets.size;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    address() {
      return server.address() as AddressInfo;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const h of sockets) h.closeWhenIdle();
      });
    },
  };
}

type Config = {
  packetSize: number;
  secret: string | null;
  allowed: RegExp | null;
  maxHeaders: number;
  idleTimeout: number;
  requestTimeout: number;
  bodyTimeout: number;
  strict: boolean;
  maxQueued: number;
  log: Logger;
  listener: AjpRequestListener;
};

/** Per-request body state (container side of §3.2). */
interface Exchange {
  req: AjpIncomingRequest;
  res: AjpServerResponse;
  remaining: number | null;
  asked: boolean;
  wantMore: boolean;
  bodyEnded: boolean;
  finished: boolean;
}

/** One AJP connection on the server side. @internal */
class AjpConnectionHandler {
  private readonly decoder: RequestDecoder;
  private current: Exchange | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private requestTimer: NodeJS.Timeout | null = null;
  private bodyTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private refused = false;
  private corked = false;
  /** Decoded messages not handled yet (handling stops while too many replies are queued). */
  private queue: RequestEvent[] = [];
  private queued = 0;
  /** CPONGs owed for the CPINGs handled in this turn, written as one buffer. */
  private cpongs = 0;
  /** Reading is paused until the socket drains. */
  private waitingDrain = false;

  constructor(
    private readonly socket: Socket,
    private readonly cfg: Config,
  ) {
    this.decoder = new RequestDecoder({
      packetSize: cfg.packetSize,
      strict: cfg.strict,
      maxHeaders: cfg.maxHeaders,
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    this.armIdle();
  }

  /**
   * Corks the socket until the end of this event-loop turn, so that SEND_HEADERS, body chunks and
   * END_RESPONSE written by one `res.end()` (whose final step runs on a later tick) leave in one
   * system call, as Node's http server corks a response.
   */
  private corkForThisTurn(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      if (!this.socket.destroyed) this.socket.uncork();
    });
  }

  /** Closes the connection now if it is idle, else once its response ends. */
  closeWhenIdle(): void {
    this.closing = true;
    // web servers keep pooled AJP connections open and only notice a FIN on their next use, so
    // an idle connection is destroyed rather than half-closed
    if (this.current === null) this.socket.destroySoon();
  }

  private armIdle(): void {
    this.clearIdle();
    if (this.cfg.idleTimeout > 0)
      this.idleTimer = setTimeout(() => this.socket.end(), this.cfg.idleTimeout);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private onData(chunk: Buffer): void {
    // after a refusal the connection is only waiting to flush its answer and close
    if (this.refused) return;
    let events: RequestEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch (err) {
      // what came before the bad bytes is still handled first, in order
      this.handleQueued();
      if (!this.socket.destroyed && !this.refused) this.onProtocolError(err as AjpProtocolError);
      return;
    }
    if (this.queued === this.queue.length) {
      this.queue = events;
      this.queued = 0;
    } else this.queue.push(...events);
    this.handleQueued();
  }

  /**
   * Handles decoded messages in order until the socket holds more than `maxQueuedReplyBytes` of
   * replies the web server has not read; then stops reading the connection until it drains, so a
   * peer that sends CPINGs (or requests) and never reads cannot make the server buffer without end.
   */
  private handleQueued(): void {
    const socket = this.socket;
    while (this.queued < this.queue.length) {
      if (socket.destroyed || this.refused) break;
      if (socket.writableLength + this.cpongs * CPONG_PACKET.length > this.cfg.maxQueued) {
        this.flushCpongs();
        // 'drain' comes only once a write found the buffer over its high-water mark
        if (socket.writableNeedDrain) {
          this.waitForDrain();
          return;
        }
      }
      const e = this.queue[this.queued++]!;
      if (e.type === 'cping' && this.current === null) {
        this.cpongs++;
        continue;
      }
      this.flushCpongs();
      this.onEvent(e);
    }
    this.flushCpongs();
    if (this.queued === this.queue.length) {
      this.queue = [];
      this.queued = 0;
    }
  }

  private flushCpongs(): void {
    if (this.cpongs === 0) return;
    const n = this.cpongs;
    this.cpongs = 0;
    if (this.socket.destroyed) return;
    this.socket.write(n === 1 ? CPONG_PACKET : Buffer.concat(Array(n).fill(CPONG_PACKET)));
    this.armIdle();
  }

  private waitForDrain(): void {
    if (this.waitingDrain) return;
    this.waitingDrain = true;
    this.socket.pause();
    this.socket.once('drain', () => {
      this.waitingDrain = false;
      if (this.socket.destroyed) return;
      this.handleQueued();
      if (!this.waitingDrain) this.socket.resume();
    });
  }

  private onProtocolError(err: AjpProtocolError): void {
    this.cfg.log.warn(
      { code: err.code, messageType: err.messageType, offset: err.offset, field: err.field },
      'AJP protocol error; closing the connection',
    );
    const silent = err.code === 'BAD_MAGIC' || err.code === 'UNKNOWN_MESSAGE_TYPE';
    if (!silent && (this.current === null || !this.current.res.headersSent)) {
      this.reject(STATUS_FOR[err.code] ?? 400);
      return;
    }
    this.abortCurrent(err);
    this.socket.destroy();
  }

  /** Answers with a bare status, END_RESPONSE reuse=0, and closes (Tomcat keeps it open; we do not). */
  private reject(status: number): void {
    this.refused = true;
    this.abortCurrent(new Error(`request refused with ${status}`));
    const head = encodeSendHeaders(
      { status, reason: String(status), headers: [['Content-Length', '0']] },
      { packetSize: this.cfg.packetSize },
    );
    this.socket.end(Buffer.concat([head, encodeEndResponse(false)]));
  }

  private abortCurrent(err: Error): void {
    const ex = this.current;
    if (ex === null) return;
    ex.finished = true;
    this.current = null;
    // as node:http when the connection goes: the response closes without an 'error' (first, so
    // that its 'close' comes before the request's 'error' and 'close'), the request is aborted
    ex.res.destroy();
    if (!ex.bodyEnded) ex.req.destroy(err);
  }

  private onEvent(e: RequestEvent): void {
    const ex = this.current;
    switch (e.type) {
      case 'cping':
        // handleQueued() answers CPINGs between requests; one during a request breaks AJP
        return this.onProtocolError(
          new AjpProtocolError('UNEXPECTED_MESSAGE', 'CPING during a request', {
            messageType: 'CPING',
          }),
        );
      case 'shutdown':
      case 'ping':
        this.socket.destroy();
        return;
      case 'forward-request':
        if (ex !== null)
          return this.onProtocolError(
            new AjpProtocolError(
              'UNEXPECTED_MESSAGE',
              'FORWARD_REQUEST before the previous response ended',
              { messageType: 'FORWARD_REQUEST' },
            ),
          );
        this.startRequest(e.request);
        return;
      case 'body':
      case 'end-of-body':
        this.onBody(e);
        return;
    }
  }

  private startRequest(fr: DecodedForwardRequest): void {
    this.clearIdle();
    const refusal = checkRequest(fr, this.cfg.secret, this.cfg.allowed);
    if (refusal !== null) {
      this.cfg.log.warn({ reason: refusal.reason, status: refusal.status }, 'AJP request refused');
      this.reject(refusal.status);
      return;
    }
    const attrs = new Map(fr.attributes.requestAttributes ?? []);
    const rp = attrs.get('AJP_REMOTE_PORT');
    const socket = this.socket;
    const info = new AjpSocketInfo(
      fr.remoteAddr,
      rp !== undefined && /^\d{1,5}$/.test(rp) ? Number(rp) : undefined,
      attrs.get('AJP_LOCAL_ADDR') ?? fr.serverName,
      fr.serverPort,
      fr.isSsl,
      socket.remoteAddress,
      socket,
    );
    const ex: Exchange = {
      req: null as unknown as AjpIncomingRequest,
      res: null as unknown as AjpServerResponse,
      remaining: fr.contentLength,
      // with Content-Length > 0 the first packet comes unasked
      asked: fr.contentLength !== null && fr.contentLength > 0,
      wantMore: false,
      bodyEnded: false,
      finished: false,
    };
    const listenerError = (err: unknown, event: string) => this.onListenerError(ex, err, event);
    ex.req = new AjpIncomingRequest(fr, info, () => this.pull(ex), listenerError);
    if (fr.contentLength === 0) this.endBody(ex);
    else if (ex.asked) this.armBody();
    ex.res = new AjpServerResponse(
      ex.req,
      {
        write: (buffers) => {
          if (socket.destroyed || ex.finished) return true;
          this.corkForThisTurn();
          let ok = true;
          for (const b of buffers) ok = socket.write(b);
          return ok;
        },
        onDrain: (cb) => {
          if (socket.destroyed) cb();
          else socket.once('drain', cb);
        },
        done: (ok) => this.endRequest(ex, ok),
        listenerError,
      },
      this.cfg.packetSize,
    );
    this.current = ex;
    if (this.cfg.requestTimeout > 0)
      this.requestTimer = setTimeout(() => {
        this.cfg.log.warn({ timeoutMs: this.cfg.requestTimeout }, 'AJP request timed out');
        if (!ex.res.headersSent) this.reject(503);
        else {
          this.abortCurrent(new Error('request timeout'));
          socket.destroy();
        }
      }, this.cfg.requestTimeout);
    try {
      this.cfg.listener(ex.req, ex.res);
    } catch (err) {
      this.cfg.log.error({ err }, 'AJP request listener threw');
      if (!ex.res.headersSent) this.reject(500);
      else {
        this.abortCurrent(err as Error);
        socket.destroy();
      }
    }
  }

  /**
   * A listener of the request's or the response's events threw. Node's http server lets that end
   * the process; here it is logged, and a request still running is answered 500 (before its
   * headers) or cut off (after), as when the request listener itself throws.
   */
  private onListenerError(ex: Exchange, err: unknown, event: string): void {
    this.cfg.log.error({ err, event }, 'AJP request: an event listener threw');
    if (ex.finished || this.current !== ex) return;
    if (!ex.res.headersSent) this.reject(500);
    else {
      this.abortCurrent(err instanceof Error ? err : new Error(String(err)));
      this.socket.destroy();
    }
  }

  /** The request body consumer wants data: ask the web server for one packet (§3.2). */
  private pull(ex: Exchange): void {
    if (ex.finished || ex.bodyEnded) return;
    if (ex.asked) {
      ex.wantMore = true;
      return;
    }
    ex.asked = true;
    ex.wantMore = false;
    this.decoder.expectBodyPacket();
    this.socket.write(encodeGetBodyChunk(this.cfg.packetSize - 6));
    this.armBody();
  }

  private armBody(): void {
    this.clearBody();
    if (this.cfg.bodyTimeout > 0)
      this.bodyTimer = setTimeout(() => {
        this.cfg.log.warn({ timeoutMs: this.cfg.bodyTimeout }, 'AJP request body timed out');
        const ex = this.current;
        if (ex !== null && !ex.res.headersSent) this.reject(408);
        else {
          this.abortCurrent(new Error('request body timeout'));
          this.socket.destroy();
        }
      }, this.cfg.bodyTimeout);
  }

  private clearBody(): void {
    if (this.bodyTimer) clearTimeout(this.bodyTimer);
    this.bodyTimer = null;
  }

  private onBody(e: Extract<RequestEvent, { type: 'body' | 'end-of-body' }>): void {
    const ex = this.current;
    // a packet owed from a finished request (Tomcat reads and drops it the same way)
    if (ex === null || ex.bodyEnded) return;
    if (e.type === 'end-of-body') {
      this.clearBody();
      ex.asked = false;
      if (ex.remaining !== null && ex.remaining > 0) {
        ex.req.destroy(
          new Error(`request body ended ${ex.remaining} bytes before its Content-Length`),
        );
        ex.bodyEnded = true;
        return;
      }
      this.endBody(ex);
      return;
    }
    if (ex.remaining !== null) {
      ex.remaining -= e.data.length;
      if (ex.remaining < 0)
        return this.onProtocolError(
          new AjpProtocolError('BAD_BODY_LENGTH', 'more request body than Content-Length', {
            messageType: 'body packet',
            expected: 'at most Content-Length bytes',
          }),
        );
    }
    if (e.last) {
      this.clearBody();
      ex.asked = false;
    }
    ex.req.push(e.data);
    if (ex.remaining === 0) this.endBody(ex);
    else if (e.last && ex.wantMore) this.pull(ex);
  }

  private endBody(ex: Exchange): void {
    if (ex.bodyEnded) return;
    ex.bodyEnded = true;
    ex.req.complete = true;
    ex.req.push(null);
  }

  private endRequest(ex: Exchange, ok: boolean): void {
    if (ex.finished) return;
    ex.finished = true;
    if (this.current === ex) this.current = null;
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.requestTimer = null;
    this.clearBody();
    if (!ok) {
      // the app destroyed the response: before its headers, the web server gets a 500 (a cut
      // connection would make it mark this backend in error for every client); after them the
      // connection is cut so that the client sees a truncated response, not a complete one
      if (!ex.res.headersSent && !this.socket.destroyed) this.reject(500);
      else this.socket.destroy();
      return;
    }
    if (!ex.bodyEnded) {
      // the body was not read to its end; the owed packet (if any) is dropped on arrival
      ex.bodyEnded = true;
      ex.req.push(null);
    }
    if (this.closing) this.socket.destroySoon();
    else this.armIdle();
  }

  private onClose(): void {
    this.clearIdle();
    this.clearBody();
    if (this.requestTimer) clearTimeout(this.requestTimer);
    const ex = this.current;
    this.current = null;
    if (ex !== null && !ex.finished) {
      try {
        ex.req.socket.emit('close', true);
      } catch (err) {
        this.cfg.log.error(
          { err, event: "socket 'close'" },
          'AJP request: an event listener threw',
        );
      }
      ex.finished = true;
      const err = new Error('AJP connection closed before the response ended');
      ex.res.destroy();
      if (!ex.bodyEnded) ex.req.destroy(err);
    }
  }
}
