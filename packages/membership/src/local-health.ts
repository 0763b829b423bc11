/**
 * Lifeguard's local health multiplier (LHM), extended with measured stalls: a saturating score
 * raised by failed probes, missed nacks and refutations and lowered by successful probes, plus a
 * score derived from this process's own measured delay (timer slip or event-loop delay). Probe
 * interval and timeout are multiplied by `1 + score`.
 */
export class LocalHealth {
  private score = 0;
  private delayScore = 0;
  private delayUntil = -Infinity;
  private lastStall = -Infinity;

  constructor(
    private readonly max: number,
    private readonly probeTimeoutMs: number,
    private readonly probeIntervalMs: number,
  ) {}

  /** Add `delta` to the score, clamped to `[0, max - 1]`. */
  apply(delta: number): void {
    this.score = Math.min(this.max - 1, Math.max(0, this.score + delta));
  }

  /**
   * Report a measured delay of this process (ms) observed at `now`. Delays above half the probe
   * timeout count as a stall: accusations are held back and probing slows for a while.
   */
  reportDelay(now: number, delayMs: number): boolean {
    if (delayMs <= this.probeTimeoutMs / 2) return false;
    this.lastStall = now;
    this.delayScore = Math.min(this.max - 1, Math.ceil(delayMs / this.probeTimeoutMs));
    this.delayUntil = now + this.probeIntervalMs * 4;
    return true;
  }

  /** Current multiplier `1 + score` (the larger of the probe score and the delay score). */
  multiplier(now: number): number {
    const d = now < this.delayUntil ? this.delayScore : 0;
    return 1 + Math.max(this.score, d);
  }

  /** Score alone (0 = healthy), for stats. */
  value(now: number): number {
    return this.multiplier(now) - 1;
  }

  /** True when a stall was measured at or after `since`. */
  stalledSince(since: number): boolean {
    return this.lastStall >= since;
  }
}
