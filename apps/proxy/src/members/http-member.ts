import type { Duplex } from 'node:stream';

import { Pool } from 'undici';

import { Http1Pool } from './http1/pool.js';
import { phaseOf } from './http1/pending-request.js';
import type { ForwardRequest, MemberTransport, UpgradeHandler } from './transport.js';

/** Options of {@link createHttpMember}. */
export interface HttpMemberOptions {
  /** `http://host:port`. */
  readonly origin: string;
  /** Most connections to the member (keep-alive pool). */
  readonly maxConnections: number;
  /** TCP connect timeout, ms. */
  readonly connectTimeout: number;
  /** Longest wait for the response headers once the request is written, ms. */
  readonly responseTimeout: number;
  /** Longest gap between two body chunks of the response, ms. */
  readonly bodyTimeout: number;
  /** Longest wait for a free connection when all are busy, ms. */
  readonly queueTimeout: number;
}

function toStrings(raw: Buffer[] | string[] | null): string[] {
  if (raw === null) return [];
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    out[i] = typeof v === 'string' ? v : v.toString('latin1');
  }
  return out;
}

/**
 * The undici handler of one WebSocket handshake. The phase of a failure is known exactly:
 * undici calls `onConnect` only when the request is about to be written on a connected socket.
 */
class Dispatch {
  private written = false;
  private responded = false;
  private finished = false;
  private abortNow: ((reason?: Error) => void) | undefined;
  private aborted: Error | undefined;

  constructor(private readonly h: UpgradeHandler) {}

  /** Aborts the request (and closes its connection) unless it already finished. */
  readonly abort = (reason?: Error): void => {
    if (this.finished) return;
    this.aborted = reason ?? new Error('aborted');
    this.abortNow?.(this.aborted);
  };

  onConnect(abort: (reason?: Error) => void): void {
    if (this.aborted) {
      abort(this.aborted);
      return;
    }
    this.written = true;
    this.abortNow = abort;
  }

  onHeaders(status: number, raw: Buffer[] | null, resume: () => void, statusText: string): boolean {
    this.responded = true;
    return this.h.onResponse(status, statusText, toStrings(raw), resume);
  }

  onData(chunk: Buffer): boolean {
    return this.h.onData(chunk);
  }

  onComplete(): void {
    this.finished = true;
    this.h.onEnd();
  }

  onUpgrade(status: number, raw: Buffer[] | string[] | null, socket: Duplex): void {
    this.responded = true;
    this.finished = true;
    this.h.onUpgrade(status, toStrings(raw), socket);
  }

  onError(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.h.onError(err, phaseOf(err, this.written, this.responded));
  }
}

/**
 * An HTTP/1.1 member. Requests go over this package's own keep-alive pool ({@link Http1Pool}:
 * one request per connection at a time, as Java backends want; a hand-written response parser;
 * no timer per request), which costs far less CPU per request than a general-purpose client.
 * WebSocket handshakes, rare and long-lived, go over an undici pool opened on the first one,
 * which hands the upgraded socket over.
 */
export function createHttpMember(o: HttpMemberOptions): MemberTransport {
  const pool = new Http1Pool({
    origin: o.origin,
    maxConnections: o.maxConnections,
    connectTimeout: o.connectTimeout,
    responseTimeout: o.responseTimeout,
    bodyTimeout: o.bodyTimeout,
    keepAliveTimeout: 4_000,
    queueTimeout: o.queueTimeout,
  });
  let upgrades: Pool | undefined;

  function upgrade(req: ForwardRequest, h: UpgradeHandler): (reason?: Error) => void {
    upgrades ??= new Pool(o.origin, {
      connections: o.maxConnections,
      pipelining: 1,
      connectTimeout: o.connectTimeout,
      headersTimeout: o.responseTimeout,
      bodyTimeout: o.bodyTimeout,
      keepAliveTimeout: 4_000,
      keepAliveTimeoutThreshold: 1_000,
    });
    const d = new Dispatch(h);
    upgrades.dispatch(
      {
        path: req.path,
        method: req.method,
        headers: req.headers,
        body: req.body,
        upgrade: 'websocket',
      },
      d as never,
    );
    return d.abort;
  }

  return {
    protocol: 'http',
    forward: (req, h) => pool.request(req, h),
    upgrade,
    close: async () => {
      await Promise.all([pool.close(), upgrades?.close()]);
    },
    destroy: async () => {
      await Promise.all([pool.destroy(), upgrades?.destroy()]);
    },
  };
}
