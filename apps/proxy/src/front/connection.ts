import type { Socket } from 'node:net';

import { ChunkedDecoder } from './chunked-decoder.js';
import { FrontRequestError } from './errors.js';
import { FrontRequest, type RequestConnection } from './request.js';
import { parseRequestHead, type HeadLimits, type RequestHead } from './request-head.js';
import { FrontResponse, type ResponseConnection } from './response.js';

/** Front-end timeouts, ms (httpd `RequestReadTimeout`/`KeepAliveTimeout`, HAProxy `timeout http-request`/`http-keep-alive`). */
export interface FrontTimeouts {
  /** From the first byte of a request (or the connection) to the end of its head. */
  readonly headers: number;
  /** An idle keep-alive connection waiting for its next request. */
  readonly idle: number;
  /** From the start of a request to the end of its body. */
  readonly request: number;
  /**
   * Longest time a client may take none of an answer queued for it before the connection is
   * cut (nginx `send_timeout`; default 60 s). Applies while an answer is being written and after.
   */
  readonly send?: number;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly limits: HeadLimits;
  readonly timeouts: FrontTimeouts;
  readonly closing: boolean;
  onRequest(req: FrontRequest, res: FrontResponse): void;
  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer): void;
  /** A request was refused before it reached the proxy: answer it (the connection closes). */
  refuse(socket: Socket, err: FrontRequestError): void;
  /** The connection is gone (closed or handed over). */
  forget(conn: FrontConnection): void;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
/** How long a closing connection keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 2_000;
/** How long a client may take no bytes of an answer before the connection is cut (nginx `send_timeout`). */
const DEFAULT_SEND_TIMEOUT_MS = 60_000;

const enum Phase {
  /** Waiting for (the rest of) a request head. */
  Head,
  /** Reading the body of the current request. */
  Body,
  /** The request was read whole; its response is pending. */
  Waiting,
  /** Answered for the last time; reading and dropping until the client closes. */
  Closing,
  /** Closed or handed over to an upgrade. */
  Gone,
}

/** What a connection's deadline stands for. */
type DeadlineKind = 'none' | 'headers' | 'idle' | 'request' | 'linger' | 'send';

/**
 * One client connection of the front end: parses request heads, frames bodies (Content-Length or
 * chunked), answers one request at a time (pipelined requests wait in the buffer), keeps the
 * connection alive between requests, and enforces the head, body and idle deadlines that the
 * server's sweep checks.
 */
export class FrontConnection implements RequestConnection, ResponseConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** When the current deadline passes (ms since the epoch). */
  deadline: number;
  /** What happens when it passes. */
  deadlineKind: DeadlineKind = 'headers';
  private phase = Phase.Head;
  /** Bytes received and not yet consumed (a head in progress, body bytes waiting, a next request). */
  private buf: Buffer | undefined = undefined;
  /** Bytes of `buf` already searched for the end of the head. */
  private scanned = 0;
  private req: FrontRequest | undefined = undefined;
  private res: FrontResponse | undefined = undefined;
  private bodyLeft = 0;
  private decoder: ChunkedDecoder | undefined = undefined;
  private parsing = false;
  private readPaused = false;
  private clientEnded = false;
  private requestStarted: number;
  /** Bytes queued for the client at the last deadline check (-1: not checked yet). */
  private lastQueued = -1;
  /** When the queue for the client last shrank. */
  private stalledSince = 0;

  /** Takes over `socket` for `host`. */
  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    this.requestStarted = Date.now();
    this.deadline = this.requestStarted + host.timeouts.headers;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('error', noop);
  }

  /** Whether the connection waits for a next request with nothing received (safe to close). */
  get idle(): boolean {
    return this.phase === Phase.Head && this.buf === undefined && this.res === undefined;
  }

  /** The proxy is closing: answers end their connections. */
  get closing(): boolean {
    return this.host.closing;
  }

  /** The current request's body is not read whole yet (or cannot be): the answer closes. */
  get readingBody(): boolean {
    return this.phase === Phase.Body || this.phase === Phase.Closing;
  }

  private readonly onData = (chunk: Buffer): void => {
    switch (this.phase) {
      case Phase.Head:
        this.append(chunk);
        if (this.deadlineKind === 'idle') this.startDeadline('headers');
        this.parseHeads();
        break;
      case Phase.Body:
        this.append(chunk);
        this.pumpBody();
        break;
      case Phase.Waiting:
        // A pipelined request: kept until the current answer is written.
        this.append(chunk);
        if (this.buf!.length > this.host.limits.maxHeaderBytes) this.pauseRead();
        break;
      default:
        break;
    }
  };

  private append(chunk: Buffer): void {
    this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
  }

  private startDeadline(kind: DeadlineKind): void {
    const now = Date.now();
    this.lastQueued = -1;
    const t = this.host.timeouts;
    this.deadlineKind = kind;
    if (kind === 'headers') {
      this.requestStarted = now;
      this.deadline = now + t.headers;
    } else if (kind === 'idle') this.deadline = now + t.idle;
    else if (kind === 'request') this.deadline = this.requestStarted + t.request;
    else if (kind === 'linger') this.deadline = now + LINGER_MS;
    else if (kind === 'send') {
      this.deadline = now + this.sendTimeout;
      this.lastQueued = this.socket.writableLength;
    }
  }

  private get sendTimeout(): number {
    return this.host.timeouts.send ?? DEFAULT_SEND_TIMEOUT_MS;
  }

  /** Parses every complete head in the buffer, one request at a time. */
  private parseHeads(): void {
    if (this.parsing) return;
    this.parsing = true;
    try {
      while (this.phase === Phase.Head && this.buf !== undefined) {
        let buf = this.buf;
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        let skip = 0;
        while (skip + 1 < buf.length && buf[skip] === 0x0d && buf[skip + 1] === 0x0a) skip += 2;
        if (skip > 0) {
          buf = skip === buf.length ? EMPTY : buf.subarray(skip);
          this.buf = buf.length === 0 ? undefined : buf;
          this.scanned = 0;
          if (buf.length === 0) return;
        }
        const end = buf.indexOf(HEAD_END, this.scanned > 3 ? this.scanned - 3 : 0);
        if (end === -1) {
          this.checkPartialHead(buf);
          this.scanned = buf.length;
          return;
        }
        let head: RequestHead;
        try {
          head = parseRequestHead(buf.toString('latin1', 0, end), this.host.limits);
        } catch (e) {
          if (e instanceof FrontRequestError) return this.refuse(e);
          throw e;
        }
        this.buf = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
        this.scanned = 0;
        this.startRequest(head);
      }
    } finally {
      this.parsing = false;
    }
  }

  /** Refuses a head that cannot become valid: a bare LF, or too long already. */
  private checkPartialHead(buf: Buffer): void {
    const limits = this.host.limits;
    for (let i = buf.indexOf(0x0a, this.scanned); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
      if (i === 0 || buf[i - 1] !== 0x0d)
        return this.refuse(
          new FrontRequestError('BAD_LINE_ENDING', 400, 'a line ends with LF without CR'),
        );
    }
    const lineEnd = buf.indexOf(0x0a);
    if (lineEnd === -1 && buf.length > limits.maxRequestLineBytes + 1)
      return this.refuse(
        new FrontRequestError(
          'TARGET_TOO_LONG',
          414,
          `request line longer than ${limits.maxRequestLineBytes} bytes`,
        ),
      );
    if (buf.length > limits.maxHeaderBytes + 3)
      return this.refuse(
        new FrontRequestError(
          'HEADER_TOO_LARGE',
          431,
          `request head larger than ${limits.maxHeaderBytes} bytes`,
        ),
      );
  }

  private startRequest(head: RequestHead): void {
    const req = new FrontRequest(head, this);
    if (head.upgrade) {
      if (req.hasBody)
        return this.refuse(
          new FrontRequestError('BAD_REQUEST_LINE', 400, 'an upgrade request with a body'),
        );
      this.phase = Phase.Gone;
      this.deadlineKind = 'none';
      this.detach();
      const rest = this.buf ?? EMPTY;
      this.buf = undefined;
      this.host.onUpgrade(req, this.socket, rest);
      return;
    }
    const res = new FrontResponse(this, head.method, head.versionMinor, head.keepAlive);
    this.req = req;
    this.res = res;
    if (req.complete) {
      this.phase = Phase.Waiting;
      this.deadlineKind = 'none';
    } else {
      this.phase = Phase.Body;
      this.bodyLeft = head.contentLength;
      this.decoder = head.chunked ? new ChunkedDecoder(this.host.limits.maxHeaderBytes) : undefined;
      this.startDeadline('request');
    }
    this.host.onRequest(req, res);
    if (this.phase === Phase.Body && this.req === req) this.pumpBody();
  }

  /** A sink was attached or resumed. */
  bodyFlowChanged(): void {
    if (this.phase === Phase.Body) this.pumpBody();
  }

  /** Hands buffered body bytes to the request's sink, and reads on while it wants more. */
  private pumpBody(): void {
    const req = this.req!;
    const sink = req.sink;
    if (sink === undefined || req.paused) {
      this.pauseRead();
      return;
    }
    const data = this.buf;
    if (data !== undefined) {
      this.buf = undefined;
      let rest = -1;
      try {
        if (this.decoder !== undefined) {
          rest = this.decoder.push(data, 0, (c) => sink.onData(c));
        } else {
          const take = Math.min(this.bodyLeft, data.length);
          sink.onData(take === data.length ? data : data.subarray(0, take));
          this.bodyLeft -= take;
          if (this.bodyLeft === 0) rest = take;
        }
      } catch (e) {
        if (!(e instanceof FrontRequestError)) throw e;
        this.bodyFailed(e);
        return;
      }
      if (rest !== -1) {
        if (rest < data.length) this.buf = data.subarray(rest);
        this.bodyDone(sink);
        return;
      }
    }
    if (this.phase === Phase.Body) {
      if (req.paused || req.sink === undefined) this.pauseRead();
      else this.resumeRead();
    }
  }

  private bodyDone(sink: { onEnd(): void }): void {
    this.req!.complete = true;
    this.decoder = undefined;
    this.phase = Phase.Waiting;
    this.deadlineKind = 'none';
    if (this.buf !== undefined && this.buf.length > this.host.limits.maxHeaderBytes)
      this.pauseRead();
    else this.resumeRead();
    sink.onEnd();
  }

  /** The body cannot be read on (bad framing, the client went away, too slow). */
  private bodyFailed(err: Error): void {
    const req = this.req;
    this.buf = undefined;
    this.phase = Phase.Closing;
    this.pauseRead();
    if (req !== undefined) req.failure ??= err;
    req?.sink?.onError(err);
  }

  // ---- ResponseConnection

  /** Writes to the client; false when the socket buffer is full. */
  write(data: Buffer | string): boolean {
    const s = this.socket;
    if (s.destroyed) return true;
    const ok = typeof data === 'string' ? s.write(data, 'latin1') : s.write(data);
    // The client stopped taking the answer: it has `send` to take some, or it is cut (and the
    // member connection feeding it is let go).
    if (!ok && this.deadlineKind === 'none') this.startDeadline('send');
    return ok;
  }

  /** The current response is written whole. */
  responseEnded(close: boolean): void {
    this.req = undefined;
    this.res = undefined;
    if (
      close ||
      this.phase !== Phase.Waiting ||
      this.clientEnded ||
      this.host.closing ||
      this.socket.destroyed
    ) {
      this.endConnection();
      return;
    }
    this.phase = Phase.Head;
    this.startDeadline('idle');
    this.resumeRead();
    if (this.buf !== undefined) {
      this.startDeadline('headers');
      this.parseHeads();
    }
  }

  /** Cuts the connection now. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Closes an idle connection (the proxy is closing). */
  closeIfIdle(): void {
    if (this.idle) this.socket.destroy();
  }

  /** Checks the deadline at `now` (called by the server's sweep). */
  checkDeadline(now: number): void {
    if (this.deadlineKind === 'none' || now < this.deadline) return;
    switch (this.deadlineKind) {
      case 'headers':
        if (this.phase === Phase.Head && this.res === undefined)
          this.refuse(
            new FrontRequestError('HEADERS_TIMEOUT', 408, 'the request head took too long'),
          );
        else this.deadlineKind = 'none';
        break;
      case 'request': {
        const res = this.res;
        const err = new FrontRequestError('REQUEST_TIMEOUT', 408, 'the request body took too long');
        if (res !== undefined && !res.headersSent) {
          // Answer 408 in place of the response; the exchange sees its client go away (and
          // ends its attempt) before its body is failed, so it answers nothing itself.
          this.res = undefined;
          const onClose = res.onClose;
          res.onClose = undefined;
          this.host.refuse(this.socket, err);
          onClose?.();
          this.bodyFailed(err);
          this.startDeadline('linger');
        } else {
          this.bodyFailed(err);
          this.socket.destroy();
        }
        break;
      }
      case 'send': {
        // An answer is being written to a reader that stopped: cut it unless it took some.
        const queued = this.socket.writableLength;
        if (queued === 0) this.deadlineKind = 'none';
        else if (queued < this.lastQueued) this.startDeadline('send');
        else this.socket.destroy();
        break;
      }
      default: {
        // idle or linger: an answer still leaving for a slow reader is not cut; the wait restarts
        // after the queue empties. A reader that takes nothing for the send timeout is cut.
        const queued = this.socket.writableLength;
        if (queued > 0) {
          if (queued !== this.lastQueued) {
            this.lastQueued = queued;
            this.stalledSince = now;
          }
          if (now - this.stalledSince < this.sendTimeout) {
            this.deadline =
              now + (this.deadlineKind === 'idle' ? this.host.timeouts.idle : LINGER_MS);
            return;
          }
        }
        this.socket.destroy();
      }
    }
  }

  /** Answers a refused request and closes. */
  private refuse(err: FrontRequestError): void {
    this.buf = undefined;
    this.phase = Phase.Closing;
    this.host.refuse(this.socket, err);
    this.startDeadline('linger');
    this.resumeRead();
  }

  /** Ends the connection after what was written, reading (and dropping) until the client closes. */
  private endConnection(): void {
    if (this.phase === Phase.Gone) return;
    this.phase = Phase.Closing;
    this.buf = undefined;
    this.startDeadline('linger');
    this.socket.end();
    if (!this.clientEnded) this.resumeRead();
  }

  private pauseRead(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  private resumeRead(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.socket.resume();
  }

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    switch (this.phase) {
      case Phase.Head:
        this.socket.destroy();
        break;
      case Phase.Body:
        this.bodyFailed(
          new FrontRequestError('BODY_INCOMPLETE', 400, 'the client ended before its body'),
        );
        break;
      case Phase.Closing:
        this.socket.destroy();
        break;
      default:
        // Waiting: a client that ends its side gave up on the answer (as node:http's default
        // treats it): the exchange is aborted with the connection.
        this.socket.destroy();
        break;
    }
  };

  private readonly onClose = (): void => {
    const wasBody = this.phase === Phase.Body;
    this.phase = Phase.Gone;
    this.deadlineKind = 'none';
    this.host.forget(this);
    const res = this.res;
    const req = this.req;
    this.res = undefined;
    this.req = undefined;
    if (wasBody && req !== undefined) {
      const err = new Error('the client closed the connection');
      req.failure ??= err;
      req.sink?.onError(err);
    }
    if (res !== undefined && !res.finished) {
      const cb = res.onClose;
      res.onClose = undefined;
      cb?.();
    }
  };

  private readonly onDrain = (): void => {
    if (this.deadlineKind === 'send') this.deadlineKind = 'none';
    this.res?.onDrain?.();
  };

  private detach(): void {
    const s = this.socket;
    s.pause();
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onClose);
    s.off('drain', this.onDrain);
    s.off('error', noop);
    this.host.forget(this);
  }
}

function noop(): void {}
