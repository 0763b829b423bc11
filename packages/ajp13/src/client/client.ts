import { Readable } from 'node:stream';
import { DEFAULT_PACKET_SIZE } from '../constants.js';
import { EMPTY_BODY_PACKET, requestBodyHeader } from '../control-messages.js';
import { AjpProtocolError } from '../errors.js';
import {
  encodeForwardRequest,
  type AjpHeader,
  type ForwardAttributes,
} from '../forward-request.js';
import { checkPacketSize } from '../packet-writer.js';
import { reasonPhrase } from '../send-headers.js';
import { BodySource } from './body-source.js';
import { AjpConnection } from './connection.js';
import { AjpRequestError } from './request-error.js';

/** CPing/CPong health checks of pooled connections (mod_jk's `ping_mode` ideas). */
export interface AjpPingOptions {
  /** CPING every new connection before its first request (mod_jk `C`). Default true. */
  onConnect?: boolean;
  /**
   * CPING a pooled connection before reusing it when it has been idle at least this many ms
   * (0 = before every reuse, mod_jk `P`; undefined = never).
   */
  beforeReuseAfterIdleMs?: number;
  /** CPONG wait in ms. Default 3000. */
  timeout?: number;
  /** CPING idle pooled connections every this many ms, dropping those that fail (mod_jk `I`). */
  idleIntervalMs?: number;
}

/** Options of {@link AjpClient}. */
export interface AjpClientOptions {
  /** Backend host. Default 127.0.0.1. */
  host?: string;
  /** Backend AJP port. */
  port: number;
  /** The AJP secret the backend requires (sent as attribute 0x0C, never logged). */
  secret?: string;
  /** Packet size; must equal the backend's `packetSize`. Default 8192. */
  packetSize?: number;
  /** Most connections open at once. Default 32. */
  maxConnections?: number;
  /** An idle pooled connection is closed after this many ms. Default 60000. */
  idleTimeout?: number;
  /** TCP connect timeout in ms. Default 5000. */
  connectTimeout?: number;
  /** Longest wait for a free connection when all are busy, in ms. Default 10000. */
  acquireTimeout?: number;
  /** Longest gap between two packets of a reply, in ms (mod_jk `reply_timeout`). Default 60000. */
  replyTimeout?: number;
  /** CPing/CPong checks. */
  ping?: AjpPingOptions;
  /** Strict decoding of what the backend sends. Default true. */
  strict?: boolean;
}

/** Header input: Node's `IncomingHttpHeaders` shape, or ordered `[name, value]` pairs. */
export type AjpHeadersInput = Record<string, string | string[] | undefined> | AjpHeader[];

/** One request through {@link AjpClient.request}. */
export interface AjpRequestOptions {
  /** HTTP method. */
  method: string;
  /** Request target: path and optional `?query` (origin form). */
  url: string;
  /** Request headers (Content-Length and Transfer-Encoding are replaced by the body framing). */
  headers?: AjpHeadersInput;
  /** The client's protocol as Tomcat should report it. Default `HTTP/1.1`. */
  protocol?: string;
  /** Client address. */
  remoteAddress: string;
  /** Client port (sent as `AJP_REMOTE_PORT`). */
  remotePort?: number;
  /** Local address the client connected to (sent as `AJP_LOCAL_ADDR`). */
  localAddress?: string;
  /** Whether the client used TLS (is_ssl). */
  secure?: boolean;
  /** Server name; default from the Host header, else the backend host. */
  serverName?: string;
  /** Server port; default from the Host header, else 443/80 by `secure`. */
  serverPort?: number;
  /** Route attribute (0x06). */
  route?: string;
  /** More attributes (remote user, auth type, TLS details, request attributes). */
  attributes?: Omit<ForwardAttributes, 'secret' | 'queryString' | 'route'>;
  /** The body: none, a Buffer, or a stream (of `contentLength` bytes, or of unknown length). */
  body?: Buffer | Readable | null;
  /** Length of a stream body, when known. */
  contentLength?: number;
  /** Aborts the request (closes the backend connection). */
  signal?: AbortSignal;
}

/** The response of {@link AjpClient.request}, available when SEND_HEADERS arrived. */
export interface AjpResponse {
  /** HTTP status. */
  status: number;
  /** Reason phrase for the client: the standard one when the backend sent only digits (Tomcat). */
  statusMessage: string;
  /** Headers in order, names as the backend sent them (coded ones in canonical case). */
  rawHeaders: AjpHeader[];
  /** Headers by lower-case name; repeated headers (and Set-Cookie always) as arrays. */
  headers: Record<string, string | string[]>;
  /** The body, with backpressure; empty for HEAD, 1xx, 204 and 304 whatever Content-Length says. */
  body: Readable;
}

/** Counters of an {@link AjpClient}. */
export interface AjpClientStats {
  /** Connections open (idle + busy + connecting). */
  open: number;
  /** Idle pooled connections. */
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
  /** Connections opened since start. */
  connectionsOpened: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const PRIVILEGED_ATTR = /^(javax|jakarta)\.servlet\.(include|forward|error|async)\./i;

type Waiter = { resolve: (c: AjpConnection | null) => void; reject: (e: Error) => void };

interface Prepared {
  packet: Buffer;
  method: string;
  body: Buffer | Readable | null;
  contentLength: number | null;
}

/**
 * A connection pool to one AJP13 backend (Tomcat's AJP connector): the proxy's side of AJP.
 * `request()` forwards one HTTP request and resolves when the response headers arrive; the body
 * streams with backpressure. Connections go back to the pool only after a clean END_RESPONSE with
 * reuse=1, every GET_BODY_CHUNK answered and no byte left over (reference §4.2); any error,
 * timeout, abort or doubt closes them.
 */
export class AjpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly packetSize: number;
  private readonly opts: Required<Omit<AjpClientOptions, 'secret' | 'ping' | 'host' | 'port'>>;
  private readonly ping: Required<
    Omit<AjpPingOptions, 'beforeReuseAfterIdleMs' | 'idleIntervalMs'>
  > & {
    beforeReuseAfterIdleMs: number | undefined;
    idleIntervalMs: number | undefined;
  };
  private readonly secret: string | undefined;
  private readonly idle: AjpConnection[] = [];
  private readonly idleTimers = new Map<AjpConnection, NodeJS.Timeout>();
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private opened = 0;
  private closed = false;

  /** Creates a pool; no connection is opened until the first request. */
  constructor(options: AjpClientOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port;
    this.packetSize = checkPacketSize(options.packetSize ?? DEFAULT_PACKET_SIZE);
    this.secret = options.secret;
    this.opts = {
      packetSize: this.packetSize,
      maxConnections: options.maxConnections ?? 32,
      idleTimeout: options.idleTimeout ?? 60_000,
      connectTimeout: options.connectTimeout ?? 5_000,
      acquireTimeout: options.acquireTimeout ?? 10_000,
      replyTimeout: options.replyTimeout ?? 60_000,
      strict: options.strict ?? true,
    };
    this.ping = {
      onConnect: options.ping?.onConnect ?? true,
      beforeReuseAfterIdleMs: options.ping?.beforeReuseAfterIdleMs,
      idleIntervalMs: options.ping?.idleIntervalMs,
      timeout: options.ping?.timeout ?? 3_000,
    };
  }

  /** Pool counters. */
  get stats(): AjpClientStats {
    return {
      open: this.open,
      idle: this.idle.length,
      waiting: this.waiters.length,
      connectionsOpened: this.opened,
    };
  }

  /**
   * Forwards one request. Rejects with {@link AjpRequestError}: before anything is sent for
   * REQUEST_TOO_LARGE / INVALID_REQUEST / connect and pool errors (`requestSent` false), or with
   * `requestSent` true when the backend failed after the request went out. A GET/HEAD/… without a
   * stream body that fails on a reused connection before any response byte is retried once on a
   * new connection (the backend had closed the pooled one).
   */
  async request(options: AjpRequestOptions): Promise<AjpResponse> {
    const prepared = this.prepare(options);
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted)
        throw new AjpRequestError('ABORTED', 'aborted before sending', { requestSent: false });
      // a retry goes to a new connection: the idle ones may be as stale as the one that failed
      const conn = await this.acquire(false, attempt > 0);
      const reused = conn.served > 0;
      try {
        return await this.exchange(conn, prepared, options.signal);
      } catch (err) {
        const again =
          err instanceof AjpRequestError &&
          err.retryable &&
          err.code === 'CONNECTION_CLOSED' &&
          reused &&
          attempt === 0 &&
          IDEMPOTENT.has(prepared.method) &&
          !(prepared.body instanceof Readable);
        if (!again) throw err;
      }
    }
  }

  /** Checks the backend with CPING/CPONG on a pooled or new connection. */
  async cping(): Promise<void> {
    const conn = await this.acquire(true);
    await conn.cping(this.ping.timeout);
    this.release(conn);
  }

  /** Closes idle connections and refuses new requests; busy ones close when their request ends. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0))
      w.reject(new AjpRequestError('CLIENT_CLOSED', 'client closed', { requestSent: false }));
    const gone = this.idle.splice(0).map((c) => {
      this.clearIdleTimer(c);
      return new Promise<void>((r) => {
        c.onGone(r);
        c.destroy();
      });
    });
    await Promise.all(gone);
  }

  private prepare(o: AjpRequestOptions): Prepared {
    const invalid = (msg: string, cause?: unknown) =>
      new AjpRequestError('INVALID_REQUEST', msg, { requestSent: false, cause });
    const headers: AjpHeader[] = [];
    const input = o.headers ?? [];
    const pairs: [string, string | string[] | undefined][] = Array.isArray(input)
      ? input
      : Object.entries(input);
    let host: string | undefined;
    for (const [name, value] of pairs) {
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      if (lower === 'content-length' || lower === 'transfer-encoding') continue;
      for (const v of Array.isArray(value) ? value : [value]) {
        if (lower === 'host' && host === undefined) host = v;
        headers.push([name, v]);
      }
    }
    const body = o.body ?? null;
    let contentLength: number | null;
    if (body === null) contentLength = 0;
    else if (Buffer.isBuffer(body)) contentLength = body.length;
    else contentLength = o.contentLength ?? null;
    if (contentLength !== null) {
      if (!Number.isSafeInteger(contentLength) || contentLength < 0)
        throw invalid(`content length ${contentLength}`);
      // like mod_jk: an explicit 0 saves the container a GET_BODY_CHUNK round trip
      headers.push(['content-length', String(contentLength)]);
    } else {
      // as mod_jk and mod_proxy_ajp do: tells the application a body is coming (AJP frames it)
      headers.push(['transfer-encoding', 'chunked']);
    }
    const q = o.url.indexOf('?');
    const uri = q < 0 ? o.url : o.url.slice(0, q);
    const attrs: ForwardAttributes = { ...o.attributes };
    if (this.secret !== undefined) attrs.secret = this.secret;
    if (q >= 0) attrs.queryString = o.url.slice(q + 1);
    if (o.route !== undefined) attrs.route = o.route;
    const reqAttrs: AjpHeader[] = [...(o.attributes?.requestAttributes ?? [])];
    for (const [n] of reqAttrs)
      if (PRIVILEGED_ATTR.test(n)) throw invalid(`privileged request attribute ${n}`);
    if (o.remotePort !== undefined) reqAttrs.push(['AJP_REMOTE_PORT', String(o.remotePort)]);
    if (o.localAddress !== undefined) reqAttrs.push(['AJP_LOCAL_ADDR', o.localAddress]);
    if (reqAttrs.length > 0) attrs.requestAttributes = reqAttrs;
    else delete attrs.requestAttributes;
    let serverName = o.serverName;
    let serverPort = o.serverPort;
    if (host !== undefined) {
      const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
      serverName ??= m?.[1] ?? host;
      if (m?.[2] !== undefined) serverPort ??= Number(m[2]);
    }
    let packet: Buffer;
    try {
      packet = encodeForwardRequest(
        {
          method: o.method,
          protocol: o.protocol ?? 'HTTP/1.1',
          uri,
          remoteAddr: o.remoteAddress,
          remoteHost: null,
          serverName: serverName ?? this.host,
          serverPort: serverPort ?? (o.secure ? 443 : 80),
          isSsl: o.secure ?? false,
          headers,
          attributes: attrs,
        },
        { packetSize: this.packetSize },
      );
    } catch (err) {
      if (err instanceof AjpProtocolError && err.code === 'MESSAGE_TOO_LARGE')
        throw new AjpRequestError(
          'REQUEST_TOO_LARGE',
          `request headers do not fit in a ${this.packetSize}-byte AJP packet`,
          {
            requestSent: false,
            cause: err,
          },
        );
      throw invalid(err instanceof Error ? err.message : String(err), err);
    }
    return { packet, method: o.method, body, contentLength };
  }

  private async acquire(forPing = false, fresh = false): Promise<AjpConnection> {
    for (;;) {
      if (this.closed)
        throw new AjpRequestError('CLIENT_CLOSED', 'client closed', { requestSent: false });
      if (fresh && this.open >= this.opts.maxConnections && this.idle.length > 0) {
        this.idle.shift()!.destroy(); // frees a slot for the new connection
      }
      const conn = fresh ? undefined : this.idle.pop();
      if (conn !== undefined) {
        this.clearIdleTimer(conn);
        if (conn.closed) continue;
        const t = this.ping.beforeReuseAfterIdleMs;
        if (!forPing && t !== undefined && Date.now() - conn.idleSince >= t) {
          try {
            await conn.cping(this.ping.timeout);
          } catch {
            continue;
          }
        }
        return conn;
      }
      if (this.open < this.opts.maxConnections) return this.connect(forPing);
      const got = await new Promise<AjpConnection | null>((resolve, reject) => {
        const w: Waiter = {
          resolve: (c) => {
            clearTimeout(timer);
            resolve(c);
          },
          reject,
        };
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(
            new AjpRequestError(
              'ACQUIRE_TIMEOUT',
              `no free connection within ${this.opts.acquireTimeout} ms`,
              {
                requestSent: false,
              },
            ),
          );
        }, this.opts.acquireTimeout);
        this.waiters.push(w);
      });
      if (got !== null) return got;
    }
  }

  private async connect(skipPing: boolean): Promise<AjpConnection> {
    this.open++;
    let conn: AjpConnection;
    try {
      conn = await AjpConnection.open(
        this.host,
        this.port,
        this.opts.connectTimeout,
        this.packetSize,
        this.opts.strict,
      );
    } catch (err) {
      this.slotFreed();
      throw err;
    }
    this.opened++;
    conn.onGone(() => this.slotFreed(conn));
    if (this.ping.onConnect && !skipPing) await conn.cping(this.ping.timeout);
    return conn;
  }

  private slotFreed(conn?: AjpConnection): void {
    this.open--;
    if (conn) {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      this.clearIdleTimer(conn);
    }
    this.waiters.shift()?.resolve(null);
  }

  private clearIdleTimer(conn: AjpConnection): void {
    const t = this.idleTimers.get(conn);
    if (t) clearTimeout(t);
    this.idleTimers.delete(conn);
  }

  private release(conn: AjpConnection, keepIdleSince = false): void {
    conn.use(null);
    if (conn.closed) return;
    if (this.closed) {
      conn.destroy();
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      w.resolve(conn);
      return;
    }
    if (!keepIdleSince) conn.idleSince = Date.now();
    this.idle.push(conn);
    this.armIdleTimer(conn);
  }

  /** The next idle event of a pooled connection: its idle timeout, or an idle CPING (mod_jk `I`). */
  private armIdleTimer(conn: AjpConnection): void {
    const left = this.opts.idleTimeout - (Date.now() - conn.idleSince);
    const every = this.ping.idleIntervalMs;
    const timer = setTimeout(
      () => void this.onIdleTimer(conn),
      Math.max(0, every !== undefined ? Math.min(left, every) : left),
    );
    timer.unref();
    this.idleTimers.set(conn, timer);
  }

  private async onIdleTimer(conn: AjpConnection): Promise<void> {
    this.idleTimers.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i < 0) return;
    if (Date.now() - conn.idleSince >= this.opts.idleTimeout) {
      conn.destroy();
      return;
    }
    this.idle.splice(i, 1);
    try {
      await conn.cping(this.ping.timeout);
    } catch {
      return; // cping() destroyed it
    }
    this.release(conn, true);
  }

  private exchange(
    conn: AjpConnection,
    p: Prepared,
    signal: AbortSignal | undefined,
  ): Promise<AjpResponse> {
    const max = this.packetSize - 6;
    const replyTimeout = this.opts.replyTimeout;
    const reused = conn.served > 0;
    return new Promise<AjpResponse>((resolve, reject) => {
      let headersSeen = false;
      let done = false;
      let responseStarted = false;
      let requestSent = false;
      let beyondFirst = false;
      let bodyFinished = p.contentLength === 0;
      const pendingGets: number[] = [];
      let answering = false;
      let extraEmpty = 0;
      let noBody = p.method === 'HEAD';
      let body: Readable | null = null;
      const source = p.body instanceof Readable ? new BodySource(p.body, this.packetSize) : null;
      let bufOffset = 0;

      const cleanup = () => {
        done = true;
        conn.disarm();
        source?.dispose();
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: AjpRequestError) => {
        if (done) return;
        cleanup();
        conn.use(null);
        conn.destroy();
        if (!headersSeen) reject(err);
        else body?.destroy(err);
      };
      const err = (
        code: ConstructorParameters<typeof AjpRequestError>[0],
        msg: string,
        cause?: unknown,
        retryable?: boolean,
      ) =>
        new AjpRequestError(code, msg, {
          requestSent,
          responseStarted,
          cause,
          ...(retryable === undefined ? {} : { retryable }),
        });
      const protocol = (msg: string, cause?: unknown) => fail(err('PROTOCOL_ERROR', msg, cause));
      const onAbort = () => fail(err('ABORTED', 'request aborted by the caller'));
      signal?.addEventListener('abort', onAbort, { once: true });

      const nextPiece = async (want: number): Promise<Buffer | null> => {
        // never send more than the declared length, whatever the stream holds
        const n =
          p.contentLength === null ? want : Math.min(want, p.contentLength - bufferedTotal());
        if (n <= 0) return null;
        if (Buffer.isBuffer(p.body)) {
          if (bufOffset >= p.body.length) return null;
          const piece = p.body.subarray(bufOffset, bufOffset + n);
          bufOffset += piece.length;
          return piece;
        }
        if (source) return source.next(n);
        return null;
      };

      const answerGets = async () => {
        if (answering) return;
        answering = true;
        conn.suspendTimer(true);
        try {
          while (pendingGets.length > 0 && !done) {
            const asked = pendingGets[0]!;
            const n = asked === 0 || asked > max ? max : asked;
            let piece: Buffer | null = null;
            if (!bodyFinished) {
              try {
                piece = await nextPiece(n);
              } catch (e) {
                fail(err('BODY_ERROR', `request body failed: ${(e as Error).message}`, e));
                return;
              }
              if (done) return;
            } else if (++extraEmpty > 2) {
              protocol('GET_BODY_CHUNK repeated after the end of the request body');
              return;
            }
            pendingGets.shift();
            beyondFirst = true;
            if (piece === null || piece.length === 0) {
              if (
                !bodyFinished &&
                p.contentLength !== null &&
                bufferedTotal() !== p.contentLength
              ) {
                fail(
                  err(
                    'BODY_ERROR',
                    `request body ended after ${bufferedTotal()} of ${p.contentLength} bytes`,
                  ),
                );
                return;
              }
              bodyFinished = true;
              conn.write([EMPTY_BODY_PACKET]);
            } else conn.write([requestBodyHeader(piece.length), piece]);
          }
        } finally {
          answering = false;
          if (!done) conn.suspendTimer(false);
        }
      };
      const bufferedTotal = () => (Buffer.isBuffer(p.body) ? bufOffset : (source?.taken ?? 0));

      const finish = (reuse: boolean) => {
        const clean = reuse && pendingGets.length === 0 && !answering && conn.decoder.idle;
        cleanup();
        conn.served++;
        if (clean) this.release(conn);
        else {
          conn.use(null);
          conn.destroy();
        }
        body?.push(null);
      };

      conn.use({
        events: (events) => {
          for (let i = 0; i < events.length; i++) {
            if (done) return;
            const e = events[i]!;
            responseStarted = true;
            switch (e.type) {
              case 'send-headers': {
                if (headersSeen) return protocol('a second SEND_HEADERS');
                headersSeen = true;
                const r = e.response;
                if (r.status === 204 || r.status === 304 || (r.status >= 100 && r.status < 200))
                  noBody = true;
                body = new Readable({
                  // a few packets' worth: fewer pause/resume turns of the socket
                  highWaterMark: 4 * this.packetSize,
                  read: () => conn.resume(),
                  destroy: (error, cb) => {
                    if (!done) fail(err('ABORTED', 'response body destroyed before its end'));
                    cb(error);
                  },
                });
                // a failure can come before the caller attached a reader; it is kept in
                // body.errored and thrown by any read, pipe or async iteration
                body.on('error', () => undefined);
                resolve({
                  status: r.status,
                  statusMessage: reasonPhrase(r.status, r.reason),
                  rawHeaders: r.headers,
                  headers: headerObject(r.headers),
                  body,
                });
                break;
              }
              case 'body-chunk':
                if (!headersSeen) return protocol('SEND_BODY_CHUNK before SEND_HEADERS');
                if (!noBody && body !== null && !body.push(e.data)) conn.pause();
                break;
              case 'flush':
                break;
              case 'get-body-chunk':
                pendingGets.push(e.requestedLength);
                void answerGets();
                break;
              case 'end-response':
                if (!headersSeen) return protocol('END_RESPONSE without SEND_HEADERS');
                if (i !== events.length - 1) {
                  // bytes after END_RESPONSE: the stream is out of sync, never reuse
                  finish(false);
                  return;
                }
                finish(e.reuse);
                return;
              case 'cpong':
                return protocol('CPONG during a request');
            }
          }
        },
        protocolError: (e) => protocol(e.message, e),
        closed: () => {
          if (done) return;
          // a pooled connection the backend had closed: nothing was processed
          const stale = reused && !responseStarted && !beyondFirst;
          fail(
            err(
              'CONNECTION_CLOSED',
              headersSeen
                ? 'backend closed the connection mid-response'
                : 'backend closed the connection before answering',
              undefined,
              !requestSent || stale,
            ),
          );
        },
      });
      conn.arm(replyTimeout, () =>
        fail(err('REPLY_TIMEOUT', `no packet from the backend for ${replyTimeout} ms`)),
      );

      const send = async () => {
        if (p.contentLength !== null && p.contentLength > 0) {
          // exactly one unsolicited body packet right after the Forward Request
          if (Buffer.isBuffer(p.body)) {
            const first = p.body.subarray(0, max);
            bufOffset = first.length;
            requestSent = true;
            conn.write([p.packet, requestBodyHeader(first.length), first]);
            return;
          }
          requestSent = true;
          conn.write([p.packet]);
          conn.suspendTimer(true);
          let first: Buffer | null;
          try {
            first = await nextPiece(max);
          } catch (e) {
            fail(err('BODY_ERROR', `request body failed: ${(e as Error).message}`, e));
            return;
          }
          if (done) return;
          conn.suspendTimer(false);
          if (first === null) {
            fail(
              err('BODY_ERROR', `request body ended before its declared ${p.contentLength} bytes`),
            );
            return;
          }
          conn.write([requestBodyHeader(first.length), first]);
          return;
        }
        requestSent = true;
        conn.write([p.packet]);
      };
      void send();
    });
  }
}

function headerObject(raw: AjpHeader[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [n, v] of raw) {
    const k = n.toLowerCase();
    const prev = out[k];
    if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}
