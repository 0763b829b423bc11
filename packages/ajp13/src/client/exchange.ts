import { Readable } from 'node:stream';
import { EMPTY_BODY_PACKET, requestBodyHeader } from '../control-messages.js';
import { reasonPhrase } from '../send-headers.js';
import { BodySource } from './body-source.js';
import type { AjpConnection, ConnectionHandler } from './connection.js';
import type { AjpDispatchHandler } from './dispatch-handler.js';
import { AjpRequestError, type AjpRequestErrorCode } from './request-error.js';

/** A request ready to send: its Forward Request packet and body framing. @internal */
export interface PreparedRequest {
  readonly packet: Buffer;
  readonly method: string;
  readonly body: Buffer | Readable | null;
  /** Body length; null = unknown (chunked). */
  readonly contentLength: number | null;
}

/** What an exchange needs from its pool. @internal */
export interface ExchangePool {
  readonly packetSize: number;
  readonly replyTimeout: number;
  /** Finds a connection for `ex` and calls `ex.connected(conn)` or `ex.poolFailed(err)`. */
  acquire(ex: Exchange, fresh: boolean): void;
  /** Takes back a connection after a clean END_RESPONSE. */
  release(conn: AjpConnection): void;
  /** Forgets `ex` if it waits for a connection. */
  cancelWait(ex: Exchange): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * One request on the pool, from getting a connection to END_RESPONSE: sends the Forward Request
 * and the body (answering GET_BODY_CHUNK), checks the order of what comes back, hands it to an
 * {@link AjpDispatchHandler}, and decides whether the connection may be reused (reference §4.2).
 * One object per request: it is also the connection's handler, its abort and resume functions
 * are its only closures.
 * @internal
 */
export class Exchange implements ConnectionHandler {
  private conn: AjpConnection | null = null;
  private done = false;
  /** True while `dispatch()` runs: a failure then is reported on the next microtask. */
  private starting = true;
  private attempt = 0;
  private reused = false;
  private headersSeen = false;
  private responseStarted = false;
  private requestSent = false;
  /** An earlier attempt (replayed on a new connection) sent the request: it may have run. */
  private sentBefore = false;
  private beyondFirst = false;
  private bodyFinished = false;
  private pendingGets: number[] | null = null;
  private answering = false;
  private extraEmpty = 0;
  private noBody = false;
  private source: BodySource | null = null;
  private bufOffset = 0;

  constructor(
    private readonly pool: ExchangePool,
    private readonly p: PreparedRequest,
    private readonly h: AjpDispatchHandler,
  ) {}

  /** Asks the pool for a connection (the rest happens in callbacks). */
  start(): void {
    this.pool.acquire(this, false);
    this.starting = false;
  }

  /** Aborts: closes the backend connection; `onError` (ABORTED) is called before this returns. */
  readonly abort = (reason?: Error, message?: string): void => {
    if (this.done) return;
    this.fail(
      this.err(
        'ABORTED',
        message ??
          (this.conn === null ? 'aborted before sending' : 'request aborted by the caller'),
        reason,
      ),
    );
  };

  /** Resumes reading after a handler returned false. */
  readonly resume = (): void => {
    if (!this.done) this.conn?.resume();
  };

  /** The pool gives a connection. */
  connected(conn: AjpConnection): void {
    if (this.done) {
      this.pool.release(conn); // aborted while waiting: the connection is fine
      return;
    }
    this.run(conn);
  }

  /** The pool could not give a connection (nothing was sent). */
  poolFailed(err: Error): void {
    if (this.done) return;
    if (this.sentBefore) {
      // The replay of a request the backend may already have run found no connection: report
      // it as sent, not as a connect failure (a caller must not think it never ran).
      const code = err instanceof AjpRequestError ? err.code : 'CONNECT_FAILED';
      this.fail(new AjpRequestError(code, err.message, { requestSent: true, cause: err }));
      return;
    }
    this.fail(
      err instanceof AjpRequestError
        ? err
        : new AjpRequestError('CONNECT_FAILED', err.message, { requestSent: false, cause: err }),
    );
  }

  private err(
    code: AjpRequestErrorCode,
    msg: string,
    cause?: unknown,
    retryable?: boolean,
  ): AjpRequestError {
    return new AjpRequestError(code, msg, {
      requestSent: this.requestSent || this.sentBefore,
      responseStarted: this.responseStarted,
      cause,
      ...(retryable === undefined ? {} : { retryable }),
    });
  }

  private cleanup(): void {
    this.done = true;
    this.conn?.disarm();
    this.source?.dispose();
  }

  private fail(e: AjpRequestError): void {
    if (this.done) return;
    this.cleanup();
    const conn = this.conn;
    if (conn !== null) {
      conn.use(null);
      conn.destroy();
    } else this.pool.cancelWait(this);
    if (this.starting) queueMicrotask(() => this.h.onError(e));
    else this.h.onError(e);
  }

  private protocol(msg: string, cause?: unknown): void {
    this.fail(this.err('PROTOCOL_ERROR', msg, cause));
  }

  private run(conn: AjpConnection): void {
    this.conn = conn;
    this.reused = conn.served > 0;
    this.responseStarted = false;
    this.requestSent = false;
    this.beyondFirst = false;
    this.bodyFinished = this.p.contentLength === 0;
    this.pendingGets = null;
    this.answering = false;
    this.extraEmpty = 0;
    this.bufOffset = 0;
    this.noBody = this.p.method === 'HEAD';
    const body = this.p.body;
    if (body instanceof Readable && this.source === null)
      this.source = new BodySource(body, this.pool.packetSize);
    conn.use(this);
    conn.arm(this.pool.replyTimeout);
    const cl = this.p.contentLength;
    if (cl !== null && cl > 0) {
      // exactly one unsolicited body packet right after the Forward Request
      if (Buffer.isBuffer(body)) {
        const first = body.subarray(0, this.pool.packetSize - 6);
        this.bufOffset = first.length;
        this.requestSent = true;
        conn.write([this.p.packet, requestBodyHeader(first.length), first]);
        return;
      }
      void this.sendFirstStreamPiece(conn);
      return;
    }
    this.requestSent = true;
    conn.write1(this.p.packet);
  }

  private async sendFirstStreamPiece(conn: AjpConnection): Promise<void> {
    this.requestSent = true;
    conn.write1(this.p.packet);
    conn.suspendTimer(true);
    let first: Buffer | null;
    try {
      first = await this.nextPiece(this.pool.packetSize - 6);
    } catch (e) {
      this.fail(this.err('BODY_ERROR', `request body failed: ${(e as Error).message}`, e));
      return;
    }
    if (this.done) return;
    conn.suspendTimer(false);
    if (first === null) {
      this.fail(
        this.err(
          'BODY_ERROR',
          `request body ended before its declared ${this.p.contentLength} bytes`,
        ),
      );
      return;
    }
    conn.write([requestBodyHeader(first.length), first]);
  }

  private bufferedTotal(): number {
    return Buffer.isBuffer(this.p.body) ? this.bufOffset : (this.source?.taken ?? 0);
  }

  private async nextPiece(want: number): Promise<Buffer | null> {
    const cl = this.p.contentLength;
    // never send more than the declared length, whatever the stream holds
    const n = cl === null ? want : Math.min(want, cl - this.bufferedTotal());
    if (n <= 0) return null;
    const body = this.p.body;
    if (Buffer.isBuffer(body)) {
      if (this.bufOffset >= body.length) return null;
      const piece = body.subarray(this.bufOffset, this.bufOffset + n);
      this.bufOffset += piece.length;
      return piece;
    }
    if (this.source) return this.source.next(n);
    return null;
  }

  private async answerGets(): Promise<void> {
    if (this.answering) return;
    const conn = this.conn!;
    const max = this.pool.packetSize - 6;
    const gets = this.pendingGets!;
    this.answering = true;
    conn.suspendTimer(true);
    try {
      while (gets.length > 0 && !this.done) {
        const asked = gets[0]!;
        const n = asked === 0 || asked > max ? max : asked;
        let piece: Buffer | null = null;
        if (!this.bodyFinished) {
          try {
            piece = await this.nextPiece(n);
          } catch (e) {
            this.fail(this.err('BODY_ERROR', `request body failed: ${(e as Error).message}`, e));
            return;
          }
          if (this.done) return;
        } else if (++this.extraEmpty > 2) {
          this.protocol('GET_BODY_CHUNK repeated after the end of the request body');
          return;
        }
        gets.shift();
        this.beyondFirst = true;
        if (piece === null || piece.length === 0) {
          const cl = this.p.contentLength;
          if (!this.bodyFinished && cl !== null && this.bufferedTotal() !== cl) {
            this.fail(
              this.err(
                'BODY_ERROR',
                `request body ended after ${this.bufferedTotal()} of ${cl} bytes`,
              ),
            );
            return;
          }
          this.bodyFinished = true;
          conn.write1(EMPTY_BODY_PACKET);
        } else conn.write([requestBodyHeader(piece.length), piece]);
      }
    } finally {
      this.answering = false;
      if (!this.done) conn.suspendTimer(false);
    }
  }

  private finish(reuse: boolean): void {
    const conn = this.conn!;
    const clean =
      reuse &&
      (this.pendingGets === null || this.pendingGets.length === 0) &&
      !this.answering &&
      conn.decoder.idle;
    this.cleanup();
    conn.served++;
    if (clean) this.pool.release(conn);
    else {
      conn.use(null);
      conn.destroy();
    }
    this.h.onEnd(reuse);
  }

  /** @see ResponseSink.headers */
  headers(status: number, reason: string | null, headers: string[]): void {
    if (this.done) return;
    this.responseStarted = true;
    if (this.headersSeen) return this.protocol('a second SEND_HEADERS');
    this.headersSeen = true;
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) this.noBody = true;
    if (!this.h.onHeaders(status, reasonPhrase(status, reason), headers, this.resume) && !this.done)
      this.conn!.pause();
  }

  /** @see ResponseSink.body */
  body(data: Buffer): void {
    if (this.done) return;
    this.responseStarted = true;
    if (!this.headersSeen) return this.protocol('SEND_BODY_CHUNK before SEND_HEADERS');
    if (!this.noBody && !this.h.onData(data) && !this.done) this.conn!.pause();
  }

  /** @see ResponseSink.flush */
  flush(): void {
    this.responseStarted = true;
  }

  /** @see ResponseSink.end */
  end(reuse: boolean, trailing: boolean): void {
    if (this.done) return;
    this.responseStarted = true;
    if (!this.headersSeen) return this.protocol('END_RESPONSE without SEND_HEADERS');
    // bytes after END_RESPONSE: the stream is out of sync, never reuse
    this.finish(reuse && !trailing);
  }

  /** @see ResponseSink.getBody */
  getBody(requestedLength: number): void {
    if (this.done) return;
    this.responseStarted = true;
    (this.pendingGets ??= []).push(requestedLength);
    void this.answerGets();
  }

  /** @see ResponseSink.cpong */
  cpong(): void {
    if (this.done) return;
    this.responseStarted = true;
    this.protocol('CPONG during a request');
  }

  /** @see ConnectionHandler.protocolError */
  protocolError(e: Error): void {
    this.protocol(e.message, e);
  }

  /** @see ConnectionHandler.timedOut */
  timedOut(): void {
    this.fail(
      this.err('REPLY_TIMEOUT', `no packet from the backend for ${this.pool.replyTimeout} ms`),
    );
  }

  /** @see ConnectionHandler.closed */
  closed(): void {
    if (this.done) return;
    // a pooled connection the backend had closed: nothing was processed
    const stale = this.reused && !this.responseStarted && !this.beyondFirst;
    const retryable = !this.requestSent || stale;
    if (
      retryable &&
      this.reused &&
      this.attempt === 0 &&
      IDEMPOTENT.has(this.p.method) &&
      !(this.p.body instanceof Readable)
    ) {
      // once, on a new connection: the idle ones may be as stale as the one that failed
      this.attempt++;
      this.sentBefore ||= this.requestSent;
      this.conn = null;
      this.pool.acquire(this, true);
      return;
    }
    this.fail(
      this.err(
        'CONNECTION_CLOSED',
        this.headersSeen
          ? 'backend closed the connection mid-response'
          : 'backend closed the connection before answering',
        undefined,
        retryable,
      ),
    );
  }
}
