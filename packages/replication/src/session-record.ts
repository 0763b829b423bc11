import { INITIAL_VERSION, type Session, type Version } from '@cohort/session-codec';
import type { EpochInfo, Entry, LeaseState, Snapshot } from './messages.js';
import type { AckLevel, ClientOp } from './ops.js';

/** A write (or the owner's own expiry) waiting for its acknowledgement level. */
export interface Pending {
  /** The client operation's id, or -1 for the owner's own expiry. */
  readonly id: number;
  readonly version: Version;
  readonly level: AckLevel;
  readonly deadline: number;
  readonly token: Version | undefined;
}

/** A client operation waiting for this node to take ownership of its session. */
export interface Queued {
  readonly op: ClientOp;
  readonly deadline: number;
}

/** What a member promised a claimer: the epoch it last accepted. */
export interface PromiseInfo {
  readonly accepted: EpochInfo | null;
}

/** A claim of ownership in progress (see the engine's two-phase claim). */
export interface Claim {
  readonly epoch: number;
  readonly startedAt: number;
  lastSendAt: number;
  phase: 'prepare' | 'accept';
  sent: Set<string>;
  readonly promises: Map<string, PromiseInfo>;
  highest: EpochInfo | null;
  best: Snapshot | null;
  oldSet: readonly string[];
  accepts: Set<string>;
}

/** Owner-side bookkeeping of one replica. */
export interface Peer {
  /** The replica's member id. */
  readonly id: string;
  /** The replica acknowledged this epoch (it accepted it). */
  acked: boolean;
  /** The newest version it holds in this epoch's lineage, or null when it needs a snapshot. */
  match: Version | null;
  /** The newest version sent to it. */
  sentUpTo: Version | null;
  /** When catch-up or an accept was last sent. */
  sentAt: number;
}

/** `n` as V8's small integer when it is one (an integer-valued number may be a boxed double). */
export function small(n: number): number {
  return (n | 0) === n ? n | 0 : n;
}

/**
 * A version as the engine keeps it. A class of its own, so that its layout is not shared with
 * every `{ epoch, seq }` literal in the process: V8 gives all such literals one layout, and once
 * any of them held a boxed number (decoders produce them) each field of every version costs a
 * 16-byte heap number. Small integers are stored unboxed here.
 */
export class StoredVersion implements Version {
  /** Ownership epoch. */
  readonly epoch: number;
  /** Change number within the epoch. */
  readonly seq: number;

  /**
   * @param epoch - ownership epoch
   * @param seq - change number within the epoch
   */
  constructor(epoch: number, seq: number) {
    this.epoch = small(epoch);
    this.seq = small(seq);
  }
}

/** `v` as a {@link StoredVersion} (itself when it is one, or the shared initial version). */
export function stored(v: Version): Version {
  return v instanceof StoredVersion || v === INITIAL_VERSION
    ? v
    : new StoredVersion(v.epoch, v.seq);
}

/**
 * The shared empty list: most sessions have no pending write, queued operation, log entry or
 * replica at any moment, and an empty array literal costs 32 bytes per session (more once
 * pushed to). Frozen, so a push to it throws instead of changing every session.
 */
export const NONE: readonly never[] = Object.freeze([]);

/** `list` with `x` appended: a new one-element array when `list` is empty (maybe {@link NONE}). */
export function append<T>(list: readonly T[], x: T): readonly T[] {
  if (list.length === 0) return [x];
  (list as T[]).push(x);
  return list;
}

/**
 * The fields of a record that are in use only while something is going on: a claim, operations
 * waiting, a log a replica may still need, a lease, a touch not replicated yet, a nudge, an
 * owner out of view, a recent conflict. A settled session has none of it.
 */
class Busy {
  log: readonly Entry[] = NONE;
  pending: readonly Pending[] = NONE;
  queued: readonly Queued[] = NONE;
  claim: Claim | null = null;
  lease: LeaseState | null = null;
  leaseUntil = 0;
  retryAt = 0;
  knownHigh = 0;
  nudged = false;
  touchAt: number | undefined = undefined;
  ownerGoneAt: number | undefined = undefined;

  /** True when every field has its initial value again. */
  get idle(): boolean {
    return (
      this.log.length === 0 &&
      this.pending.length === 0 &&
      this.queued.length === 0 &&
      this.claim === null &&
      this.lease === null &&
      this.leaseUntil === 0 &&
      this.retryAt === 0 &&
      this.knownHigh === 0 &&
      !this.nudged &&
      this.touchAt === undefined &&
      this.ownerGoneAt === undefined
    );
  }
}

/**
 * Everything the engine holds for one session. There is one per session on every replica, so
 * its size is most of the engine's memory: the fields a settled session does not use live in a
 * part allocated on first use and dropped when they are all back to their initial values (read
 * as those values meanwhile), lists that are usually empty share {@link NONE}, and a time
 * nobody will read is undefined rather than a stale number (a number field costs a 16-byte heap
 * number per record, times being fractional ms).
 */
export class SessionRecord {
  /** The session key. */
  readonly key: string;
  /** The session, or null when it does not exist (never created, or ended). */
  session: Session | null = null;
  /** The version of `session` (of its end when it ended). */
  version: Version = INITIAL_VERSION;
  /** The highest epoch this node promised. */
  promised = 0;
  /** The member `promised` was promised to. */
  promisedTo = '';
  /** The epoch this node last accepted, with its owner and replica set. */
  accepted: EpochInfo | null = null;
  /** This node is the active owner. */
  active = false;
  /** The version the accepted epoch started from. */
  floor: Version = INITIAL_VERSION;
  /** The replicas of the accepted epoch when this node owns it, in placement order. */
  peers: readonly Peer[] = NONE;
  /** The last client access (set, and read, only while this node is the active owner). */
  lastAccess: number | undefined = undefined;
  /** When a touch was last replicated (set, and read, only while the active owner). */
  lastTouchRepl: number | undefined = undefined;
  /** When the owner last reached this replica (set by every accept, read only at a replica). */
  heardAt: number | undefined = undefined;
  /** When the session ended (read only while it has none: undefined while it is live). */
  deadAt: number | undefined;
  #busy: Busy | null = null;

  /**
   * @param key - the session key
   * @param now - the time the record is made: a record that never gets a session (a read of an
   *   unknown key, a claim that found nothing) is forgotten like a tombstone ended then
   */
  constructor(key: string, now: number) {
    this.key = key;
    this.deadAt = now;
  }

  /** True while nothing of the busy part is in use (it is not allocated then). */
  get settled(): boolean {
    return this.#busy === null;
  }

  /** The busy part, made on first use. */
  #get(): Busy {
    return (this.#busy ??= new Busy());
  }

  /** Drops the busy part when nothing in it is in use any more. */
  #release(): void {
    if (this.#busy?.idle) this.#busy = null;
  }

  /**
   * Sequenced entries a replica may still need for catch-up: the newest `logEntries` at most,
   * without those every replica already holds (empty for most sessions).
   */
  get log(): readonly Entry[] {
    return this.#busy?.log ?? NONE;
  }
  set log(v: readonly Entry[]) {
    if (v.length === 0 && this.#busy === null) return;
    this.#get().log = v;
    if (v.length === 0) this.#release();
  }

  /** Writes waiting for their acknowledgement level. */
  get pending(): readonly Pending[] {
    return this.#busy?.pending ?? NONE;
  }
  set pending(v: readonly Pending[]) {
    if (v.length === 0 && this.#busy === null) return;
    this.#get().pending = v;
    if (v.length === 0) this.#release();
  }

  /** Operations waiting for this node to own the session. */
  get queued(): readonly Queued[] {
    return this.#busy?.queued ?? NONE;
  }
  set queued(v: readonly Queued[]) {
    if (v.length === 0 && this.#busy === null) return;
    this.#get().queued = v;
    if (v.length === 0) this.#release();
  }

  /** The claim of ownership in progress, or null. */
  get claim(): Claim | null {
    return this.#busy?.claim ?? null;
  }
  set claim(v: Claim | null) {
    if (v === null && this.#busy === null) return;
    this.#get().claim = v;
    if (v === null) this.#release();
  }

  /** The lease, or null. */
  get lease(): LeaseState | null {
    return this.#busy?.lease ?? null;
  }
  set lease(v: LeaseState | null) {
    if (v === null && this.#busy === null) return;
    this.#get().lease = v;
    if (v === null) this.#release();
  }

  /** When the lease runs out on this node's clock (0: no lease). */
  get leaseUntil(): number {
    return this.#busy?.leaseUntil ?? 0;
  }
  set leaseUntil(v: number) {
    if (v === 0 && this.#busy === null) return;
    this.#get().leaseUntil = v;
    if (v === 0) this.#release();
  }

  /** No claim before this time (back-off after a conflict; 0 for none). */
  get retryAt(): number {
    return this.#busy?.retryAt ?? 0;
  }
  set retryAt(v: number) {
    if (v === 0 && this.#busy === null) return;
    this.#get().retryAt = v;
    if (v === 0) this.#release();
  }

  /** The highest epoch heard of from nudges and refusals (0 for none). */
  get knownHigh(): number {
    return this.#busy?.knownHigh ?? 0;
  }
  set knownHigh(v: number) {
    if (v === 0 && this.#busy === null) return;
    this.#get().knownHigh = v;
    if (v === 0) this.#release();
  }

  /** Another member asked this one to claim the session. */
  get nudged(): boolean {
    return this.#busy?.nudged ?? false;
  }
  set nudged(v: boolean) {
    if (!v && this.#busy === null) return;
    this.#get().nudged = v;
    if (!v) this.#release();
  }

  /** A touch recorded by the owner and not replicated yet (the client's time). */
  get touchAt(): number | undefined {
    return this.#busy?.touchAt;
  }
  set touchAt(v: number | undefined) {
    if (v === undefined && this.#busy === null) return;
    this.#get().touchAt = v;
    if (v === undefined) this.#release();
  }

  /** Since when the owner of the accepted epoch has been out of this node's view. */
  get ownerGoneAt(): number | undefined {
    return this.#busy?.ownerGoneAt;
  }
  set ownerGoneAt(v: number | undefined) {
    if (v === undefined && this.#busy === null) return;
    this.#get().ownerGoneAt = v;
    if (v === undefined) this.#release();
  }
}
