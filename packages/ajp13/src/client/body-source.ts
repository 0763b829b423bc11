import type { Readable } from 'node:stream';

/**
 * Pulls a request body out of a Readable in pieces of at most `max` bytes, with backpressure: the
 * stream is paused while a packet's worth is queued. Pieces are subarrays of what the stream gave
 * (no copy).
 * @internal
 */
export class BodySource {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  /** Total bytes handed out. */
  taken = 0;

  constructor(
    private readonly stream: Readable,
    private readonly highWater: number,
  ) {
    stream.on('data', (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      if (b.length === 0) return;
      this.queue.push(b);
      this.queued += b.length;
      if (this.queued >= this.highWater) stream.pause();
      this.notify();
    });
    stream.once('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.once('error', (e) => {
      this.error = e;
      this.notify();
    });
    stream.once('close', () => {
      if (!this.ended && this.error === null)
        this.error = new Error('request body stream closed before its end');
      this.notify();
    });
    stream.pause();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Next piece of at most `max` bytes, or null at the end of the body. Rejects on a stream error. */
  async next(max: number): Promise<Buffer | null> {
    for (;;) {
      if (this.queue.length > 0) {
        const head = this.queue[0]!;
        let piece: Buffer;
        if (head.length <= max) {
          this.queue.shift();
          piece = head;
        } else {
          piece = head.subarray(0, max);
          this.queue[0] = head.subarray(max);
        }
        this.queued -= piece.length;
        this.taken += piece.length;
        if (this.queued < this.highWater && !this.ended) this.stream.resume();
        return piece;
      }
      if (this.error) throw this.error;
      if (this.ended) return null;
      this.stream.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops reading and releases the stream. */
  dispose(): void {
    this.stream.pause();
    this.stream.removeAllListeners('data');
  }
}
