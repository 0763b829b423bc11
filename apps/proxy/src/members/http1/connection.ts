import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

import { ClientError } from './errors.js';
import type { PendingRequest, RequestCarrier } from './pending-request.js';
import { ResponseParser, type ResponseLimits, type ResponseSink } from './response-parser.js';

/** A connection's state, which also says which timeout applies to it. */
export const enum ConnState {
  /** TCP connect in progress: the connect timeout. */
  Connecting = 0,
  /** Connected, no request: the keep-alive idle timeout. */
  Idle = 1,
  /** A streamed request body is being written: the response timeout, refreshed per chunk. */
  Sending = 2,
  /** The request is written, no response head yet: the response timeout. */
  Waiting = 3,
  /** The response body is arriving: the body (gap) timeout, unless paused by the handler. */
  Receiving = 4,
  /** Closed or closing; never used again. */
  Closed = 5,
}

/** What a connection needs from its pool. */
export interface ConnectionOwner {
  /** A coarse clock (ms), refreshed by the pool's sweep. */
  readonly now: number;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly bodyTimeout: number;
  /** How long an idle connection is kept, ms. */
  readonly keepAliveTimeout: number;
  /** The sweep's period, ms: timeouts fire between their value and value + 2 ticks. */
  readonly tick: number;
  /** Opens the TCP connection (`net.connect` unless the pool was given another). */
  openSocket(): Socket;
  /** The connection came up (and can take a request). */
  onConnect(c: Http1Connection): void;
  /** The connection finished a request and can take another. */
  onIdle(c: Http1Connection): void;
  /**
   * The connection closed, or is closing: called once, synchronously from `destroy`, with the
   * error when it never connected.
   */
  onClosed(c: Http1Connection, connectError: Error | undefined): void;
}

/** Buffered bodies up to this size are copied behind the head and written in one call. */
const COALESCE_LIMIT = 16_384;

/**
 * One keep-alive TCP connection to a member, carrying one request at a time (no pipelining).
 * It writes the request head as one latin1 string (with a small buffered body in the same
 * write; a streamed body follows with backpressure, chunked when it has no Content-Length),
 * feeds the response bytes to a {@link ResponseParser} and hands the parts to the request's
 * handler. When the handler pauses, the socket is paused and the unparsed rest kept until
 * `resume`. It is reused unless the request or the response said `close`, the response was
 * close-delimited or HTTP/1.0 without keep-alive, or anything was left unsent or unread.
 *
 * It sets no timers: its pool's sweep calls {@link check} with the time.
 */
export class Http1Connection implements ResponseSink, RequestCarrier {
  /** What the connection is doing (read by the pool and its sweep). */
  state: ConnState = ConnState.Connecting;
  /** The TCP connection came up. */
  connected = false;
  /** When the current state (or the last activity of a streaming body) began, pool clock. */
  since: number;
  private request: PendingRequest | undefined;
  private readonly socket: Socket;
  private readonly parser: ResponseParser;
  /** The handler asked for a pause: the socket is paused. */
  private paused = false;
  /** Bytes received but not parsed because of a pause. */
  private pending: Buffer | undefined;
  /** A streamed request body still being written. */
  private body: Readable | undefined;
  private bodyChunked = false;
  private bodyLeft = 0;
  /** The head of a streamed request, until its first body chunk goes with it. */
  private headText: string | undefined;
  /** The whole request (its body included) was written. */
  private sent = false;
  /** Any response byte arrived for the current request. */
  private received = false;
  private closeAfter = false;
  private idleTimeout: number;
  private connectError: Error | undefined;

  /** Opens a connection for `owner`. */
  constructor(
    private readonly owner: ConnectionOwner,
    limits?: Partial<ResponseLimits>,
  ) {
    this.since = owner.now;
    this.idleTimeout = owner.keepAliveTimeout;
    this.parser = new ResponseParser(this, limits);
    const s = owner.openSocket();
    this.socket = s;
    s.on('connect', this.onConnect);
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
  }

  /** Sends `r` on this (idle) connection. */
  assign(r: PendingRequest): void {
    this.request = r;
    r.carrier = this;
    this.paused = false;
    this.pending = undefined;
    this.received = false;
    const head = r.head;
    this.closeAfter = head.close;
    const req = r.req;
    this.parser.reset(req.method === 'HEAD');
    this.since = this.owner.now;
    const s = this.socket;
    const body = req.body;
    r.written = true;
    if (body === null) {
      this.sent = true;
      this.state = ConnState.Waiting;
      s.write(head.text, 'latin1');
    } else if (Buffer.isBuffer(body)) {
      this.sent = true;
      this.state = ConnState.Waiting;
      const text = head.text;
      if (body.length === 0) s.write(text, 'latin1');
      else if (body.length <= COALESCE_LIMIT) {
        const out = Buffer.allocUnsafe(text.length + body.length);
        out.write(text, 0, 'latin1');
        body.copy(out, text.length);
        s.write(out);
      } else {
        s.cork();
        s.write(text, 'latin1');
        s.write(body);
        s.uncork();
      }
    } else {
      // The head leaves with the first body chunk: a body that fails before its first byte
      // (a broken client upload) costs the member nothing, and the connection stays clean.
      r.written = false;
      this.sent = false;
      this.state = ConnState.Sending;
      this.body = body;
      this.headText = head.text;
      this.bodyChunked = head.chunked;
      this.bodyLeft = head.contentLength;
      body.on('data', this.onBodyData);
      body.on('end', this.onBodyEnd);
      body.on('error', this.onBodyError);
      body.on('close', this.onBodyClose);
      // A body that was destroyed while the request waited for this connection never emits
      // again: fail the request now, keeping the connection (nothing was written).
      if (body.destroyed)
        this.giveUp(r, body.errored ?? new Error('the request body was closed before its start'));
    }
  }

  /** Applies the timeout of the current state at time `now` (called by the pool's sweep). */
  check(now: number): void {
    const o = this.owner;
    const idle = now - this.since;
    switch (this.state) {
      case ConnState.Connecting:
        if (idle > o.connectTimeout + o.tick) {
          this.connectError = new ClientError(
            'CONNECT_TIMEOUT',
            `no connection to the member within ${o.connectTimeout} ms`,
          );
          this.destroy();
        }
        return;
      case ConnState.Idle:
        if (idle > this.idleTimeout) this.destroy();
        return;
      case ConnState.Sending:
      case ConnState.Waiting:
        // Waiting for a streamed body's first byte is waiting for the client, not the member.
        if (this.headText !== undefined) return;
        if (idle > o.responseTimeout + o.tick && this.request !== undefined)
          this.failRequest(
            this.request,
            new ClientError(
              'RESPONSE_TIMEOUT',
              `no response headers from the member within ${o.responseTimeout} ms`,
            ),
          );
        return;
      case ConnState.Receiving:
        if (!this.paused && idle > o.bodyTimeout + o.tick && this.request !== undefined)
          this.failRequest(
            this.request,
            new ClientError(
              'BODY_TIMEOUT',
              `no response body bytes from the member within ${o.bodyTimeout} ms`,
            ),
          );
        return;
      default:
    }
  }

  /** Closes the connection now; a request on it fails with `CONNECTION_CLOSED`. */
  destroy(): void {
    if (this.state === ConnState.Closed) return;
    const connecting = this.state === ConnState.Connecting;
    this.state = ConnState.Closed;
    this.detachBody();
    this.socket.destroy();
    this.owner.onClosed(
      this,
      connecting
        ? (this.connectError ??
            new ClientError('CONNECTION_CLOSED', 'the connection closed while connecting'))
        : undefined,
    );
  }

  /** {@inheritDoc RequestCarrier.abort} */
  abort(r: PendingRequest, err: Error): void {
    if (r.written) this.failRequest(r, err);
    else this.giveUp(r, err);
  }

  /** {@inheritDoc RequestCarrier.resume} */
  resume(r: PendingRequest): void {
    if (this.request !== r || !this.paused) return;
    this.paused = false;
    this.since = this.owner.now;
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined) {
      this.feed(r, p);
      if (this.request !== r || this.paused) return;
    }
    this.socket.resume();
  }

  // --- ResponseSink: called by the parser inside feed() ---

  /** {@inheritDoc ResponseSink.onHead} */
  onHead(status: number, reason: string, headers: string[]): boolean {
    const r = this.request;
    if (r === undefined) return false;
    if (status === 101) {
      this.failRequest(
        r,
        new ClientError('UNEXPECTED_UPGRADE', 'the member switched protocols unasked'),
      );
      return false;
    }
    r.responded = true;
    this.state = ConnState.Receiving;
    this.since = this.owner.now;
    if (r.handler.onResponse(status, reason, headers, r.resume)) return true;
    this.paused = true;
    return false;
  }

  /** {@inheritDoc ResponseSink.onInterim} */
  onInterim(status: number, reason: string, headers: string[]): void {
    const r = this.request;
    if (r !== undefined && !r.finished && status === 103)
      r.handler.onInformational?.(status, reason, headers);
  }

  /** {@inheritDoc ResponseSink.onBody} */
  onBody(chunk: Buffer): boolean {
    const r = this.request;
    if (r === undefined || r.finished) return false;
    this.since = this.owner.now;
    if (r.handler.onData(chunk)) return true;
    this.paused = true;
    return false;
  }

  /** {@inheritDoc ResponseSink.onComplete} */
  onComplete(): void {
    const r = this.request;
    if (r === undefined || r.finished) return;
    r.finished = true;
    r.handler.onEnd();
  }

  // --- internals ---

  private feed(r: PendingRequest, chunk: Buffer): void {
    let n: number;
    try {
      n = this.parser.execute(chunk);
    } catch (e) {
      this.failRequest(r, e as Error);
      return;
    }
    if (this.request !== r) return;
    if (r.finished) {
      this.completed(r, n < chunk.length);
      return;
    }
    if (this.paused) {
      if (n < chunk.length) this.pending = chunk.subarray(n);
      this.socket.pause();
    }
  }

  /** The response of `r` ended; `leftover` when bytes followed it (the member misbehaves). */
  private completed(r: PendingRequest, leftover: boolean): void {
    this.request = undefined;
    r.carrier = undefined;
    this.paused = false;
    const p = this.parser;
    let keep = p.keepAlive && !leftover && this.sent && !this.closeAfter;
    // A member's own `Keep-Alive: timeout=` shortens ours, with a second of margin.
    this.idleTimeout =
      p.keepAliveTimeout >= 0
        ? Math.min(this.owner.keepAliveTimeout, p.keepAliveTimeout - 1000)
        : this.owner.keepAliveTimeout;
    if (this.idleTimeout <= 0) keep = false;
    if (!keep || this.state === ConnState.Closed) {
      this.destroy();
      return;
    }
    this.state = ConnState.Idle;
    this.since = this.owner.now;
    this.owner.onIdle(this);
  }

  /** Fails `r` if it is this connection's request, and closes the connection. */
  private failRequest(r: PendingRequest, err: Error): void {
    if (this.request !== r) return;
    this.request = undefined;
    r.carrier = undefined;
    this.destroy();
    r.fail(err);
  }

  /**
   * Fails `r`, which wrote nothing yet (its streamed body had no first byte), and keeps the
   * connection: it is as clean as before the request.
   */
  private giveUp(r: PendingRequest, err: Error): void {
    if (this.request !== r) return;
    this.request = undefined;
    r.carrier = undefined;
    this.detachBody();
    this.headText = undefined;
    if (this.state !== ConnState.Closed) {
      this.state = ConnState.Idle;
      this.since = this.owner.now;
      this.owner.onIdle(this);
    }
    r.fail(err);
  }

  private detachBody(): void {
    const b = this.body;
    if (b === undefined) return;
    this.body = undefined;
    b.off('data', this.onBodyData);
    b.off('end', this.onBodyEnd);
    b.off('error', this.onBodyError);
    b.off('close', this.onBodyClose);
    this.socket.off('drain', this.onDrain);
  }

  private readonly onConnect = (): void => {
    if (this.state !== ConnState.Connecting) return;
    this.connected = true;
    this.socket.setKeepAlive(true, 60_000);
    this.state = ConnState.Idle;
    this.since = this.owner.now;
    this.owner.onConnect(this);
  };

  private readonly onData = (chunk: Buffer): void => {
    const r = this.request;
    if (r === undefined) {
      // Bytes on an idle connection: nothing can be framed after them.
      this.destroy();
      return;
    }
    this.received = true;
    this.feed(r, chunk);
  };

  private readonly onEnd = (): void => {
    const r = this.request;
    if (r === undefined) {
      this.destroy();
      return;
    }
    if (this.parser.closeDelimited) {
      this.parser.finish();
      if (r.finished && this.request === r) {
        this.closeAfter = true;
        this.completed(r, true);
      }
      return;
    }
    this.failRequest(
      r,
      new ClientError(
        'CONNECTION_CLOSED',
        this.received
          ? 'the member closed the connection before the response was complete'
          : 'the member closed the connection before answering',
      ),
    );
  };

  private readonly onError = (err: Error): void => {
    if (this.state === ConnState.Connecting) this.connectError = err;
    const r = this.request;
    if (r !== undefined) this.failRequest(r, err);
    else this.destroy();
  };

  private readonly onClose = (): void => {
    const r = this.request;
    if (r !== undefined)
      this.failRequest(
        r,
        new ClientError('CONNECTION_CLOSED', 'the connection to the member closed'),
      );
    else this.destroy();
  };

  private readonly onBodyData = (chunk: Buffer | string): void => {
    const r = this.request;
    if (r === undefined) return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (b.length === 0) return;
    if (this.state === ConnState.Sending) this.since = this.owner.now;
    const s = this.socket;
    let ok: boolean;
    const head = this.headText;
    if (head !== undefined) {
      this.headText = undefined;
      r.written = true;
      this.since = this.owner.now;
      s.cork();
      s.write(head, 'latin1');
    }
    if (this.bodyChunked) {
      if (head === undefined) s.cork();
      s.write(`${b.length.toString(16)}\r\n`, 'latin1');
      s.write(b);
      ok = s.write('\r\n', 'latin1');
      s.uncork();
    } else {
      this.bodyLeft -= b.length;
      if (this.bodyLeft < 0) {
        this.failRequest(
          r,
          new ClientError(
            'CONTENT_LENGTH_MISMATCH',
            'the request body is longer than its Content-Length',
          ),
        );
        return;
      }
      ok = s.write(b);
      if (head !== undefined) s.uncork();
    }
    if (!ok) {
      this.body!.pause();
      s.once('drain', this.onDrain);
    }
  };

  private readonly onDrain = (): void => {
    this.body?.resume();
  };

  private readonly onBodyEnd = (): void => {
    const r = this.request;
    if (r === undefined) return;
    if (!this.bodyChunked && this.bodyLeft !== 0) {
      this.failRequest(
        r,
        new ClientError(
          'CONTENT_LENGTH_MISMATCH',
          'the request body is shorter than its Content-Length',
        ),
      );
      return;
    }
    const head = this.headText;
    this.headText = undefined;
    r.written = true;
    if (this.bodyChunked) this.socket.write(`${head ?? ''}0\r\n\r\n`, 'latin1');
    else if (head !== undefined) this.socket.write(head, 'latin1');
    this.detachBody();
    this.sent = true;
    if (this.state === ConnState.Sending) {
      this.state = ConnState.Waiting;
      this.since = this.owner.now;
    }
  };

  private readonly onBodyError = (err: Error): void => {
    const r = this.request;
    if (r !== undefined) this.abort(r, err);
  };

  private readonly onBodyClose = (): void => {
    // Closed without 'end' or 'error' (destroyed): the body can never be completed.
    const r = this.request;
    if (r !== undefined && this.body !== undefined)
      this.abort(r, new Error('the request body was closed before its end'));
  };
}
