import type { SessionBackend, TouchEntry } from './backend.js';

/**
 * Collects accesses of read-only requests and sends them to the backend together, every
 * `intervalMs` or when `maxBatch` are waiting. A session appears once per batch (its latest
 * access). The timer does not keep the process alive.
 */
export class TouchBatcher {
  readonly #backend: SessionBackend;
  readonly #maxBatch: number;
  readonly #onFlushed: (entries: readonly TouchEntry[], err: unknown) => void;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  /**
   * @param backend - where touches go
   * @param intervalMs - the longest a touch waits
   * @param maxBatch - a batch this large is sent at once
   * @param onFlushed - told of every sent batch and its error (undefined on success)
   */
  constructor(
    backend: SessionBackend,
    intervalMs: number,
    maxBatch: number,
    onFlushed: (entries: readonly TouchEntry[], err: unknown) => void,
  ) {
    this.#backend = backend;
    this.#maxBatch = maxBatch;
    this.#onFlushed = onFlushed;
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** Records an access of `key` at `at`. */
  add(key: string, at: number): void {
    const prev = this.#pending.get(key);
    if (prev === undefined || prev < at) this.#pending.set(key, at);
    if (this.#pending.size >= this.#maxBatch) void this.flush();
  }

  /** Forgets a pending access (the session was written or destroyed meanwhile). */
  drop(key: string): void {
    this.#pending.delete(key);
  }

  /** How many accesses wait. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sends what waits now; resolves when it (and any earlier batch) is answered. */
  flush(): Promise<void> {
    if (this.#pending.size === 0) return this.#inFlight;
    const entries: TouchEntry[] = [];
    for (const [key, at] of this.#pending) entries.push({ key, at });
    this.#pending = new Map();
    const prev = this.#inFlight;
    this.#inFlight = this.#backend.touch(entries).then(
      () => this.#onFlushed(entries, undefined),
      (err: unknown) => this.#onFlushed(entries, err),
    );
    return Promise.all([prev, this.#inFlight]).then(() => undefined);
  }

  /** Sends what waits and stops the timer. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
