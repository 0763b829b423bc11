import { Readable } from 'node:stream';
import { DEFAULT_PACKET_SIZE } from '../constants.js';
import type { AjpHeader } from '../forward-request.js';
import { checkPacketSize } from '../packet-writer.js';
import { AjpConnection } from './connection.js';
import type { AjpDispatchHandler, AjpDispatchOptions } from './dispatch-handler.js';
import { Exchange, type ExchangePool, type PreparedRequest } from './exchange.js';
import { encodeRequest, type RequestEncoding } from './request-encoder.js';
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

/**
 * One request through {@link AjpClient.request}: the fields of {@link AjpDispatchOptions}, with
 * headers also accepted as an object or pairs, and an abort signal.
 */
export interface AjpRequestOptions extends Omit<AjpDispatchOptions, 'headers'> {
  /** Request headers (Content-Length and Transfer-Encoding are replaced by the body framing). */
  headers?: AjpHeadersInput;
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

/** Who waits for a connection: an exchange, or `cping()`. */
interface Waiter {
  connected(conn: AjpConnection): void;
  poolFailed(err: Error): void;
}

interface WaitEntry {
  readonly w: Waiter;
  readonly fresh: boolean;
  readonly forPing: boolean;
  readonly timer: NodeJS.Timeout;
}

const NO_HEADERS: readonly string[] = [];
const NOOP = (): void => undefined;

/**
 * A connection pool to one AJP13 backend (Tomcat's AJP connector): the proxy's side of AJP.
 * `request()` forwards one HTTP request and resolves when the response headers arrive; the body
 * streams with backpressure. `dispatch()` does the same with callbacks and flat header lists, and
 * no promise, stream or abort signal per request: the cheaper form for a proxy. Connections go
 * back to the pool only after a clean END_RESPONSE with reuse=1, every GET_BODY_CHUNK answered and
 * no byte left over (reference §4.2); any error, timeout, abort or doubt closes them.
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
  private readonly encoding: RequestEncoding;
  private readonly pool: ExchangePool;
  private readonly idle: AjpConnection[] = [];
  private readonly waiters: WaitEntry[] = [];
  private open = 0;
  private opened = 0;
  private closed = false;

  /** Creates a pool; no connection is opened until the first request. */
  constructor(options: AjpClientOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port;
    this.packetSize = checkPacketSize(options.packetSize ?? DEFAULT_PACKET_SIZE);
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
    this.encoding = {
      packetSize: this.packetSize,
      secret: options.secret,
      defaultServerName: this.host,
    };
    this.pool = {
      packetSize: this.packetSize,
      replyTimeout: this.opts.replyTimeout,
      acquire: (ex, fresh) => this.acquire(ex, fresh, false),
      release: (conn) => this.release(conn),
      cancelWait: (ex) => this.cancelWait(ex),
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
   * new connection (the backend had closed the pooled one). Built on {@link AjpClient.dispatch}.
   */
  request(options: AjpRequestOptions): Promise<AjpResponse> {
    return new Promise<AjpResponse>((resolve, reject) => {
      let prepared: PreparedRequest;
      try {
        prepared = this.prepare(options, flatHeaders(options.headers));
      } catch (e) {
        reject(e as Error);
        return;
      }
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new AjpRequestError('ABORTED', 'aborted before sending', { requestSent: false }));
        return;
      }
      let body: Readable | null = null;
      const onAbort = () => ex.abort();
      const settled = () => signal?.removeEventListener('abort', onAbort);
      const ex: Exchange = new Exchange(this.pool, prepared, {
        onHeaders: (status, statusMessage, flat, resume) => {
          const b = new Readable({
            // a few packets' worth: fewer pause/resume turns of the socket
            highWaterMark: 4 * this.packetSize,
            read: resume,
            destroy: (error, cb) => {
              ex.abort(undefined, 'response body destroyed before its end');
              cb(error);
            },
          });
          // a failure can come before the caller attached a reader; it is kept in
          // b.errored and thrown by any read, pipe or async iteration
          b.on('error', () => undefined);
          body = b;
          const rawHeaders: AjpHeader[] = [];
          for (let i = 0; i < flat.length; i += 2) rawHeaders.push([flat[i]!, flat[i + 1]!]);
          resolve({
            status,
            statusMessage,
            rawHeaders,
            headers: headerObject(rawHeaders),
            body: b,
          });
          return true;
        },
        onData: (chunk) => body!.push(chunk),
        onEnd: () => {
          settled();
          body!.push(null);
        },
        onError: (err) => {
          settled();
          if (body === null) reject(err);
          else body.destroy(err);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      ex.start();
    });
  }

  /**
   * Forwards one request with callbacks: the proxy's form of {@link AjpClient.request}, with the
   * same pool, framing, timeouts, reuse rules and single retry of an idempotent request whose
   * pooled connection turned out closed, but no promise, stream, abort signal or header
   * conversion per request. Headers go in and come out as flat `[name, value, …]` lists. Returns
   * a function that aborts the request: it closes the backend connection (the only way to cancel
   * an AJP request) and calls `handler.onError` with an ABORTED {@link AjpRequestError} before it
   * returns; after `onEnd`/`onError` it does nothing. The handler is never called from within
   * `dispatch()` itself: a request refused before sending (INVALID_REQUEST, REQUEST_TOO_LARGE,
   * CLIENT_CLOSED) fails on the next microtask.
   */
  dispatch(options: AjpDispatchOptions, handler: AjpDispatchHandler): (reason?: Error) => void {
    let prepared: PreparedRequest;
    try {
      prepared = this.prepare(options, options.headers ?? NO_HEADERS);
    } catch (e) {
      queueMicrotask(() => handler.onError(e as AjpRequestError));
      return NOOP;
    }
    const ex = new Exchange(this.pool, prepared, handler);
    ex.start();
    return ex.abort;
  }

  /** Checks the backend with CPING/CPONG on a pooled or new connection. */
  async cping(): Promise<void> {
    const conn = await new Promise<AjpConnection>((connected, poolFailed) =>
      this.acquire({ connected, poolFailed }, false, true),
    );
    await conn.cping(this.ping.timeout);
    this.release(conn);
  }

  /** Closes idle connections and refuses new requests; busy ones close when their request ends. */
  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.waiters.splice(0)) {
      clearTimeout(e.timer);
      e.w.poolFailed(new AjpRequestError('CLIENT_CLOSED', 'client closed', { requestSent: false }));
    }
    const gone = this.idle.splice(0).map((c) => {
      c.pooled = false;
      return new Promise<void>((r) => {
        c.onGone(r);
        c.destroy();
      });
    });
    await Promise.all(gone);
  }

  private prepare(
    o: Omit<AjpDispatchOptions, 'headers'>,
    headers: readonly string[],
  ): PreparedRequest {
    const body = o.body ?? null;
    let contentLength: number | null;
    if (body === null) contentLength = 0;
    else if (Buffer.isBuffer(body)) contentLength = body.length;
    else contentLength = o.contentLength ?? null;
    if (contentLength !== null && (!Number.isSafeInteger(contentLength) || contentLength < 0))
      throw new AjpRequestError('INVALID_REQUEST', `content length ${contentLength}`, {
        requestSent: false,
      });
    const packet = encodeRequest(o, headers, contentLength, this.encoding);
    return { packet, method: o.method, body, contentLength };
  }

  /**
   * Finds a connection for `w`: a pooled one (CPINGed first when `ping.beforeReuseAfterIdleMs`
   * says so), a new one, or the next one released (waiting at most `acquireTimeout`). `fresh`
   * skips the pooled ones; `forPing` skips the CPINGs (the caller sends its own).
   */
  private acquire(w: Waiter, fresh: boolean, forPing: boolean): void {
    for (;;) {
      if (this.closed) {
        w.poolFailed(new AjpRequestError('CLIENT_CLOSED', 'client closed', { requestSent: false }));
        return;
      }
      if (fresh && this.open >= this.opts.maxConnections && this.idle.length > 0) {
        const old = this.idle.shift()!;
        old.pooled = false;
        old.destroy(); // frees a slot for the new connection
      }
      const conn = fresh ? undefined : this.idle.pop();
      if (conn !== undefined) {
        conn.pooled = false;
        if (conn.closed) continue;
        const t = this.ping.beforeReuseAfterIdleMs;
        if (!forPing && t !== undefined && Date.now() - conn.idleSince >= t) {
          conn.cping(this.ping.timeout).then(
            () => w.connected(conn),
            () => this.acquire(w, fresh, forPing),
          );
          return;
        }
        w.connected(conn);
        return;
      }
      if (this.open < this.opts.maxConnections) {
        this.connect(w, forPing);
        return;
      }
      const entry: WaitEntry = {
        w,
        fresh,
        forPing,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(entry);
          if (i >= 0) this.waiters.splice(i, 1);
          w.poolFailed(
            new AjpRequestError(
              'ACQUIRE_TIMEOUT',
              `no free connection within ${this.opts.acquireTimeout} ms`,
              { requestSent: false },
            ),
          );
        }, this.opts.acquireTimeout),
      };
      this.waiters.push(entry);
      return;
    }
  }

  private cancelWait(w: Waiter): void {
    const i = this.waiters.findIndex((e) => e.w === w);
    if (i < 0) return;
    clearTimeout(this.waiters[i]!.timer);
    this.waiters.splice(i, 1);
  }

  private connect(w: Waiter, skipPing: boolean): void {
    this.open++;
    AjpConnection.open(
      this.host,
      this.port,
      this.opts.connectTimeout,
      this.packetSize,
      this.opts.strict,
    ).then(
      (conn) => {
        this.opened++;
        conn.onGone(() => this.slotFreed(conn));
        if (this.ping.onConnect && !skipPing)
          conn.cping(this.ping.timeout).then(
            () => w.connected(conn),
            (e: Error) => w.poolFailed(e),
          );
        else w.connected(conn);
      },
      (err: Error) => {
        this.slotFreed();
        w.poolFailed(err);
      },
    );
  }

  private slotFreed(conn?: AjpConnection): void {
    this.open--;
    if (conn?.pooled) {
      conn.pooled = false;
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
    }
    const e = this.waiters.shift();
    if (e !== undefined) {
      clearTimeout(e.timer);
      // on the next microtask: a caller that freed the slot to open a connection itself goes first
      queueMicrotask(() => this.acquire(e.w, e.fresh, e.forPing));
    }
  }

  private release(conn: AjpConnection, keepIdleSince = false): void {
    conn.use(null);
    if (conn.closed) return;
    if (this.closed) {
      conn.destroy();
      return;
    }
    const e = this.waiters.shift();
    if (e !== undefined) {
      clearTimeout(e.timer);
      e.w.connected(conn);
      return;
    }
    const now = Date.now();
    if (!keepIdleSince) conn.idleSince = now;
    conn.idleEventAt = now;
    conn.pooled = true;
    this.idle.push(conn);
    if (!conn.idleTimerLive) this.scheduleIdle(conn, this.idleDue(conn) - now);
  }

  /** When a pooled connection next needs attention: its idle timeout, or an idle CPING (mod_jk `I`). */
  private idleDue(conn: AjpConnection): number {
    const end = conn.idleSince + this.opts.idleTimeout;
    const every = this.ping.idleIntervalMs;
    return every === undefined ? end : Math.min(end, conn.idleEventAt + every);
  }

  /**
   * One timer per connection, left running while the connection is busy and reused: going idle
   * again only moves the due time later, and the timer re-checks when it fires, so a connection
   * reused at a high rate costs no timer operation per request.
   */
  private scheduleIdle(conn: AjpConnection, ms: number): void {
    conn.idleTimerLive = true;
    conn.idleTimer = setTimeout(() => this.onIdleTimer(conn), Math.max(0, ms));
    conn.idleTimer.unref();
  }

  private onIdleTimer(conn: AjpConnection): void {
    conn.idleTimerLive = false;
    if (!conn.pooled || conn.closed) return; // busy: the next release schedules it again
    const now = Date.now();
    if (now - conn.idleSince >= this.opts.idleTimeout) {
      conn.destroy();
      return;
    }
    const due = this.idleDue(conn);
    if (due > now) {
      this.scheduleIdle(conn, due - now);
      return;
    }
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.pooled = false;
    conn.cping(this.ping.timeout).then(
      () => this.release(conn, true),
      () => undefined, // cping() destroyed it
    );
  }
}

/** Request headers of {@link AjpClient.request} as one flat list, `undefined` values dropped. */
function flatHeaders(input: AjpHeadersInput | undefined): string[] {
  const out: string[] = [];
  if (input === undefined) return out;
  if (Array.isArray(input)) {
    for (const [n, v] of input) out.push(n, v);
    return out;
  }
  for (const name of Object.keys(input)) {
    const value = input[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
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
