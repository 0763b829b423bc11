import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import type { ForwardHandler, ForwardRequest } from '../transport.js';
import { Http1Connection, type ConnectionOwner } from './connection.js';
import { ClientError } from './errors.js';
import { PendingRequest } from './pending-request.js';
import { buildRequestHead, type RequestHead } from './request-head.js';
import type { ResponseLimits } from './response-parser.js';

/** Options of {@link Http1Pool}. */
export interface Http1PoolOptions {
  /** `http://host:port` of the member. */
  readonly origin: string;
  /** Most connections open at once; more requests wait in a FIFO queue. */
  readonly maxConnections: number;
  /** TCP connect timeout, ms. */
  readonly connectTimeout: number;
  /** Longest wait for the response head once the request is written, ms. */
  readonly responseTimeout: number;
  /** Longest gap between two pieces of a response body, ms. */
  readonly bodyTimeout: number;
  /** How long an idle connection is kept open, ms (default 4 000). */
  readonly keepAliveTimeout?: number;
  /**
   * Longest wait in the queue for a connection when all `maxConnections` are busy, ms (HAProxy
   * `timeout queue`; default 10 000). The request then fails with `QUEUE_TIMEOUT`.
   */
  readonly queueTimeout?: number;
  /** Response parser limits (defaults: {@link DEFAULT_RESPONSE_LIMITS}). */
  readonly limits?: Partial<ResponseLimits>;
  /** Opens a socket to the member (default: `net.connect` to the origin's host and port). */
  readonly connect?: (host: string, port: number) => Socket;
}

const EMPTY_HEAD: RequestHead = { text: '', contentLength: -1, chunked: false, close: true };

/**
 * A keep-alive pool of HTTP/1.1 connections to one member origin. Idle connections are reused
 * last-in first-out (the warmest socket, and the others age out); at most `maxConnections` are
 * open, and requests beyond them wait in order. All timeouts (connect, response head, body gap,
 * idle keep-alive) are enforced by one periodic sweep per pool, running only while connections
 * exist: a request costs no timer.
 *
 * A request fails with the phase it reached: `connect` when nothing of it was written (the
 * connection never came up, or the pool was closed), `sent` when written and the connection
 * failed before a response head (a reused connection the member had just closed is one),
 * `timeout` without a head in time, `responding` after the head.
 */
export class Http1Pool implements ConnectionOwner {
  /** {@inheritDoc ConnectionOwner.now} */
  now = performance.now();
  /** {@inheritDoc ConnectionOwner.connectTimeout} */
  readonly connectTimeout: number;
  /** {@inheritDoc ConnectionOwner.responseTimeout} */
  readonly responseTimeout: number;
  /** {@inheritDoc ConnectionOwner.bodyTimeout} */
  readonly bodyTimeout: number;
  /** {@inheritDoc ConnectionOwner.keepAliveTimeout} */
  readonly keepAliveTimeout: number;
  /** {@inheritDoc ConnectionOwner.tick} */
  readonly tick: number;
  /** {@inheritDoc Http1PoolOptions.queueTimeout} */
  readonly queueTimeout: number;

  private readonly host: string;
  private readonly port: number;
  /** `host[:port]` as sent in Host when the request has none. */
  private readonly authority: string;
  private readonly max: number;
  private readonly limits: Partial<ResponseLimits> | undefined;
  private readonly connectFn: ((host: string, port: number) => Socket) | undefined;
  private readonly all = new Set<Http1Connection>();
  /** Idle connections, the most recently used last. */
  private readonly idle: Http1Connection[] = [];
  /** Waiting requests from `head` on (finished ones are skipped). */
  private queue: PendingRequest[] = [];
  private head = 0;
  /** Requests in the queue that still wait. */
  private waiting = 0;
  /** Connections not connected yet. */
  private connecting = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private destroyed = false;
  private closeWaiters: (() => void)[] = [];

  /** Builds the pool (no connection is opened until a request comes). */
  constructor(o: Http1PoolOptions) {
    const url = new URL(o.origin);
    if (url.protocol !== 'http:') throw new Error(`not an http: origin: ${o.origin}`);
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? 80 : Number(url.port);
    this.authority = url.host;
    this.max = Math.max(1, o.maxConnections);
    this.connectTimeout = o.connectTimeout;
    this.responseTimeout = o.responseTimeout;
    this.bodyTimeout = o.bodyTimeout;
    this.keepAliveTimeout = o.keepAliveTimeout ?? 4_000;
    this.queueTimeout = o.queueTimeout ?? 10_000;
    this.limits = o.limits;
    this.connectFn = o.connect;
    const shortest = Math.min(
      o.connectTimeout,
      o.responseTimeout,
      o.bodyTimeout,
      this.keepAliveTimeout,
      this.queueTimeout,
    );
    this.tick = Math.min(500, Math.max(5, Math.floor(shortest / 8)));
  }

  /** Connections open (connecting, idle or busy). */
  get size(): number {
    return this.all.size;
  }

  /** Idle connections. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.waiting;
  }

  /** Sends `req`; the handler hears the response or the error. Returns the abort function. */
  request(req: ForwardRequest, handler: ForwardHandler): (reason?: Error) => void {
    let head: RequestHead;
    let early: Error | undefined;
    try {
      const body = req.body;
      head = buildRequestHead(
        req.method,
        req.path,
        req.headers,
        body === null ? 'none' : Buffer.isBuffer(body) ? 'buffer' : 'stream',
        Buffer.isBuffer(body) ? body.length : 0,
        this.authority,
      );
    } catch (e) {
      head = EMPTY_HEAD;
      early = e as Error;
    }
    if (early === undefined && this.closing)
      early = new ClientError('POOL_CLOSED', 'the member pool is closed');
    const r = new PendingRequest(req, head, handler, this.dequeue);
    if (early !== undefined) {
      // Reported on the next tick, as a connection failure would be: the caller has its abort
      // function before it hears anything.
      const err = early;
      process.nextTick(() => r.fail(err));
      return r.abort;
    }
    if (this.waiting === 0) {
      const c = this.idle.pop();
      if (c !== undefined) {
        c.assign(r);
        return r.abort;
      }
    }
    r.queued = true;
    r.queuedAt = this.now = performance.now();
    this.waiting++;
    this.queue.push(r);
    this.dispatch();
    return r.abort;
  }

  /** Lets requests in flight and waiting finish, closing connections as they go idle. */
  close(): Promise<void> {
    this.closing = true;
    for (const c of this.idle.splice(0)) c.destroy();
    return new Promise((resolve) => {
      this.closeWaiters.push(resolve);
      this.checkClosed();
    });
  }

  /** Closes every connection now; waiting and running requests fail. */
  destroy(): Promise<void> {
    this.closing = true;
    this.destroyed = true;
    const err = new ClientError('POOL_CLOSED', 'the member pool was destroyed');
    for (const r of this.takeQueue()) r.fail(err);
    for (const c of [...this.all]) c.destroy();
    this.checkClosed();
    return Promise.resolve();
  }

  /** {@inheritDoc ConnectionOwner.onIdle} */
  onConnect(c: Http1Connection): void {
    this.connecting--;
    this.onIdle(c);
  }

  /** {@inheritDoc ConnectionOwner.openSocket} */
  openSocket(): Socket {
    if (this.connectFn !== undefined) return this.connectFn(this.host, this.port);
    return connect({ host: this.host, port: this.port, noDelay: true });
  }

  /** {@inheritDoc ConnectionOwner.onIdle} */
  onIdle(c: Http1Connection): void {
    const r = this.next();
    if (r !== undefined) {
      c.assign(r);
      return;
    }
    if (this.closing) {
      c.destroy();
      return;
    }
    this.idle.push(c);
  }

  /** {@inheritDoc ConnectionOwner.onClosed} */
  onClosed(c: Http1Connection, connectError: Error | undefined): void {
    if (!this.all.delete(c)) return;
    if (!c.connected) this.connecting--;
    const i = this.idle.lastIndexOf(c);
    if (i !== -1) this.idle.splice(i, 1);
    if (connectError !== undefined) this.connectFailed(connectError);
    if (this.all.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (!this.destroyed) this.dispatch();
    this.checkClosed();
  }

  /** A connection never came up: the waiting requests hear it (all of them if none is up). */
  private connectFailed(err: Error): void {
    let up = false;
    for (const c of this.all) {
      if (c.connected) {
        up = true;
        break;
      }
    }
    if (up) {
      this.next()?.fail(err);
      return;
    }
    for (const r of this.takeQueue()) r.fail(err);
  }

  /** The first waiting request, removed from the queue. */
  private next(): PendingRequest | undefined {
    if (this.waiting === 0) return undefined;
    const q = this.queue;
    while (this.head < q.length) {
      const r = q[this.head++]!;
      if (!r.queued) continue;
      r.queued = false;
      this.waiting--;
      if (this.waiting === 0 || this.head > 1024) {
        this.queue = q.slice(this.head);
        this.head = 0;
      }
      return r;
    }
    return undefined;
  }

  /** Empties the queue, returning the requests that were waiting. */
  private takeQueue(): PendingRequest[] {
    const out: PendingRequest[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const r = this.queue[i]!;
      if (!r.queued) continue;
      r.queued = false;
      out.push(r);
    }
    this.queue = [];
    this.head = 0;
    this.waiting = 0;
    return out;
  }

  /** Drops an aborted request from the queue (lazily: `next` skips it). */
  private readonly dequeue = (r: PendingRequest): void => {
    if (!r.queued) return;
    r.queued = false;
    this.waiting--;
  };

  /** Gives waiting requests to idle connections, and opens connections for the rest. */
  private dispatch(): void {
    for (;;) {
      if (this.idle.length === 0) break;
      const r = this.next();
      if (r === undefined) return;
      this.idle.pop()!.assign(r);
    }
    let want = this.waiting - this.connecting;
    while (want > 0 && this.all.size < this.max) {
      this.open();
      want--;
    }
  }

  private open(): void {
    if (this.timer === undefined) {
      this.now = performance.now();
      this.timer = setInterval(this.sweep, this.tick);
      this.timer.unref();
    }
    this.connecting++;
    const c = new Http1Connection(this, this.limits);
    this.all.add(c);
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    this.now = now;
    for (const c of this.all) c.check(now);
    if (this.waiting > 0) this.expireQueue(now);
  };

  /** Fails the requests that waited longer than `queueTimeout` (the oldest are first). */
  private expireQueue(now: number): void {
    const q = this.queue;
    for (let i = this.head; i < q.length; i++) {
      const r = q[i]!;
      if (!r.queued) continue;
      if (now - r.queuedAt <= this.queueTimeout + this.tick) break;
      this.dequeue(r);
      r.fail(
        new ClientError(
          'QUEUE_TIMEOUT',
          `no connection to the member came free within ${this.queueTimeout} ms`,
        ),
      );
    }
  }

  private checkClosed(): void {
    if (!this.closing || this.all.size > 0 || this.waiting > 0) return;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }
}
