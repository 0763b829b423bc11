/** Handle of a scheduled callback; `cancel()` makes it a no-op. */
export interface TimerHandle {
  /** Absolute time (ms, the host's clock) the callback is due at. */
  readonly at: number;
  /** Prevent the callback from running. */
  cancel(): void;
}

interface Entry {
  at: number;
  seq: number;
  fn: (now: number, slip: number) => void;
  cancelled: boolean;
}

/**
 * A min-heap of deadlines owned by the sans-I/O core. The core never reads a clock: the host
 * asks {@link TimerQueue.next} when to wake it and calls {@link TimerQueue.run} with the time.
 * Callbacks learn their slip (how late they run), which is how the core notices its own stalls.
 */
export class TimerQueue {
  private heap: Entry[] = [];
  private seq = 0;

  /** Schedule `fn` at absolute time `at`. */
  at(at: number, fn: (now: number, slip: number) => void): TimerHandle {
    const e: Entry = { at, seq: this.seq++, fn, cancelled: false };
    this.push(e);
    return {
      at,
      cancel: () => {
        e.cancelled = true;
      },
    };
  }

  /** Time of the earliest pending callback, or `undefined` when none. */
  next(): number | undefined {
    while (this.heap.length > 0 && (this.heap[0] as Entry).cancelled) this.pop();
    return this.heap.length > 0 ? (this.heap[0] as Entry).at : undefined;
  }

  /** Run every callback due at or before `now`, in deadline order. */
  run(now: number): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) return;
      this.pop();
      if (!top.cancelled) top.fn(now, now - top.at);
    }
  }

  /** Number of live entries (cancelled ones may still be counted until popped). */
  get size(): number {
    return this.heap.length;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Entry, h[p] as Entry)) break;
      [h[i], h[p]] = [h[p] as Entry, h[i] as Entry];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Entry;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Entry, h[m] as Entry)) m = l;
      if (r < h.length && this.less(h[r] as Entry, h[m] as Entry)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as Entry, h[i] as Entry];
      i = m;
    }
  }
}
