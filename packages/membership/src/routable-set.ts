import type { ProtocolConfig } from './config.js';
import type { MemberStatus } from './wire.js';

/** One batched change of the routable set. */
export interface RoutableChange {
  added: string[];
  removed: string[];
  routable: string[];
}

interface Track {
  status: MemberStatus;
  healthySince: number;
  penalty: number;
  penaltyAt: number;
  suppressed: boolean;
  readmit: boolean;
  episodes: Map<number, number>;
}

/**
 * The routable set: a damped projection of the raw alive/suspect/dead view, for load balancers
 * and replica placement. A member leaves it when it is dead or left, or when corroborated
 * suspicions (at least two accusers) pile up faster than a flap penalty decays (BGP-style
 * damping). It comes back only after `readmitAfterMs` of continuous health with the penalty
 * decayed below `dampingReuse`. Changes inside `routableBatchMs` form one transition.
 */
export class RoutableSet {
  private tracks = new Map<string, Track>();
  private current = new Set<string>();
  private batchUntil: number | undefined;

  constructor(
    private readonly cfg: ProtocolConfig,
    private readonly self: string,
  ) {
    this.current.add(self);
  }

  /** Report the raw status of a member (call on every change). */
  observe(name: string, status: MemberStatus, now: number): void {
    if (name === this.self) return;
    let t = this.tracks.get(name);
    if (!t) {
      t = {
        status,
        healthySince: now,
        penalty: 0,
        penaltyAt: now,
        suppressed: false,
        readmit: false,
        episodes: new Map(),
      };
      this.tracks.set(name, t);
    }
    if (status === 'alive' && t.status !== 'alive') t.healthySince = now;
    if (status === 'suspect') t.healthySince = now;
    if (status === 'dead' && t.status !== 'dead') this.addPenalty(t, 1, now);
    if (status === 'dead' || status === 'left') t.readmit = true;
    t.status = status;
    this.touch(now);
  }

  /**
   * A suspicion of `name` at `incarnation` now has `accusers` distinct accusers. An episode
   * weighs 0.5 with one accuser and 1 once a second observer confirms it.
   */
  suspicion(name: string, incarnation: number, accusers: number, now: number): void {
    const t = this.tracks.get(name);
    if (!t) return;
    const given = t.episodes.get(incarnation) ?? 0;
    const weight = accusers >= 2 ? 1 : 0.5;
    if (weight <= given) return;
    t.episodes.set(incarnation, weight);
    if (t.episodes.size > 64) t.episodes.delete(t.episodes.keys().next().value as number);
    this.addPenalty(t, weight - given, now);
    this.touch(now);
  }

  /** Forget a member entirely (tombstone reaped). */
  forget(name: string, now: number): void {
    this.tracks.delete(name);
    if (this.current.has(name)) this.touch(now);
  }

  /** Members currently routable (sorted). */
  members(): string[] {
    return [...this.current].sort();
  }

  /** True when `name` is routable. */
  has(name: string): boolean {
    return this.current.has(name);
  }

  /** When the host must call {@link RoutableSet.flush} next, if anything is pending. */
  deadline(): number | undefined {
    return this.batchUntil;
  }

  /** Apply the pending batch if its window ended. Returns the transition, if any. */
  flush(now: number): RoutableChange | undefined {
    if (this.batchUntil === undefined || now < this.batchUntil) return undefined;
    this.batchUntil = undefined;
    const added: string[] = [];
    const removed: string[] = [];
    for (const [name, t] of this.tracks) {
      const want = this.wanted(t, now);
      if (want && !this.current.has(name)) {
        this.current.add(name);
        t.readmit = false;
        added.push(name);
      } else if (!want && this.current.has(name)) {
        this.current.delete(name);
        t.readmit = true;
        removed.push(name);
      }
    }
    for (const name of this.current) {
      if (name !== this.self && !this.tracks.has(name)) {
        this.current.delete(name);
        removed.push(name);
      }
    }
    this.recheck(now);
    if (added.length === 0 && removed.length === 0) return undefined;
    return { added: added.sort(), removed: removed.sort(), routable: this.members() };
  }

  /** Re-evaluate time-based conditions (readmission, penalty decay); cheap, call periodically. */
  recheck(now: number): void {
    for (const [name, t] of this.tracks) {
      if (this.wanted(t, now) !== this.current.has(name)) {
        this.touch(now);
        return;
      }
    }
  }

  private wanted(t: Track, now: number): boolean {
    const p = this.decayed(t, now);
    if (t.suppressed && p < this.cfg.dampingReuse) t.suppressed = false;
    if (t.status === 'dead' || t.status === 'left' || t.suppressed) return false;
    if (!t.readmit) return true;
    return t.status === 'alive' && now - t.healthySince >= this.cfg.readmitAfterMs;
  }

  private decayed(t: Track, now: number): number {
    if (now > t.penaltyAt) {
      t.penalty *= Math.pow(2, -(now - t.penaltyAt) / this.cfg.dampingHalfLifeMs);
      t.penaltyAt = now;
    }
    return t.penalty;
  }

  private addPenalty(t: Track, amount: number, now: number): void {
    const p = this.decayed(t, now) + amount;
    t.penalty = Math.min(p, this.cfg.dampingSuppress * 4);
    if (t.penalty >= this.cfg.dampingSuppress) t.suppressed = true;
  }

  private touch(now: number): void {
    if (this.batchUntil === undefined) this.batchUntil = now + this.cfg.routableBatchMs;
  }
}
