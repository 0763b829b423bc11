/**
 * A coarse timer wheel for many session deadlines: keys are kept in buckets of `resolution` ms
 * and handed back once their bucket is due. A key may sit in several buckets; the caller checks
 * the real deadline of each key it gets back and schedules it again if it moved.
 */
export class ExpiryWheel {
  readonly #resolution: number;
  readonly #buckets = new Map<number, Set<string>>();
  readonly #order: number[] = [];

  /** @param resolution - bucket width in ms */
  constructor(resolution: number) {
    this.#resolution = resolution;
  }

  /** Schedules `key` to come back at or after `at`. */
  add(key: string, at: number): void {
    const b = Math.ceil(at / this.#resolution);
    let set = this.#buckets.get(b);
    if (!set) {
      set = new Set();
      this.#buckets.set(b, set);
      // Keep the bucket list sorted; new buckets are usually near the end.
      let i = this.#order.length;
      while (i > 0 && this.#order[i - 1]! > b) i--;
      this.#order.splice(i, 0, b);
    }
    set.add(key);
  }

  /** The time of the earliest bucket, if any. */
  next(): number | undefined {
    const b = this.#order[0];
    return b === undefined ? undefined : b * this.#resolution;
  }

  /** Removes and returns the keys of every bucket due at `now`. */
  due(now: number): string[] {
    const out: string[] = [];
    while (this.#order.length > 0 && this.#order[0]! * this.#resolution <= now) {
      const b = this.#order.shift()!;
      for (const k of this.#buckets.get(b)!) out.push(k);
      this.#buckets.delete(b);
    }
    return out;
  }
}
