import type { PeerHandle } from './peer-process.js';

/**
 * A set of peers that are stopped together, for example by one test suite's `afterAll`.
 * `track` adds anything with a `stop()`; `stop` stops everything tracked (in parallel) and
 * forgets it.
 */
export class PeerScope {
  private readonly handles = new Set<Pick<PeerHandle, 'stop'>>();

  /** Adds a peer (or a promise of one, or an array from startTomcats) and returns it. */
  async track<T extends Pick<PeerHandle, 'stop'> | readonly Pick<PeerHandle, 'stop'>[]>(
    peer: T | Promise<T>,
  ): Promise<T> {
    const p = await peer;
    for (const h of Array.isArray(p)
      ? (p as readonly Pick<PeerHandle, 'stop'>[])
      : [p as Pick<PeerHandle, 'stop'>]) {
      this.handles.add(h);
    }
    return p;
  }

  /** How many peers are tracked. */
  get size(): number {
    return this.handles.size;
  }

  /** Stops every tracked peer and waits until all are gone; rejects with the first failure. */
  async stop(): Promise<void> {
    const all = [...this.handles];
    this.handles.clear();
    const results = await Promise.allSettled(all.map((h) => h.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Starts a peer, runs `fn` with it, and stops it afterwards whether `fn` succeeded or threw.
 * `withPeer(startRedis(), (r) => …)`.
 */
export async function withPeer<T extends Pick<PeerHandle, 'stop'>, R>(
  start: Promise<T>,
  fn: (peer: T) => Promise<R> | R,
): Promise<R> {
  const peer = await start;
  try {
    return await fn(peer);
  } finally {
    await peer.stop();
  }
}
