/**
 * Copies bytes that a node keeps (session values arrive as views into the bytes they were
 * decoded from) into shared slabs holding nothing else. Without it a 1 KB session pins the
 * whole WebSocket read chunk or 8 KiB `Buffer` pool slab its bytes arrived in, together with
 * unrelated garbage, several times its size. A slab stays alive while any value in it does:
 * sessions that change often leave dead bytes beside live ones (no compaction).
 */
export class Slab {
  readonly #size: number;
  #current: Buffer;
  #used = 0;
  /** Slabs allocated so far (for the status page). */
  slabs = 1;

  /** @param size - bytes per slab (default 64 KiB); larger copies get their own allocation */
  constructor(size = 64 * 1024) {
    this.#size = size;
    this.#current = Buffer.allocUnsafeSlow(size);
  }

  /** A copy of `bytes` in a slab. */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.byteLength;
    if (n > this.#size / 4) {
      const own = Buffer.allocUnsafeSlow(n);
      own.set(bytes);
      return own;
    }
    if (this.#used + n > this.#size) {
      this.#current = Buffer.allocUnsafeSlow(this.#size);
      this.#used = 0;
      this.slabs++;
    }
    const out = this.#current.subarray(this.#used, this.#used + n);
    out.set(bytes);
    this.#used += n;
    return out;
  }
}
