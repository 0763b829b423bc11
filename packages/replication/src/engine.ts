import {
  applyDelta,
  compareVersions,
  createDelta,
  createSession,
  INITIAL_VERSION,
  SessionCodecError,
  type Delta,
  type Op,
  type Session,
  type Version,
} from '@cohort/session-codec';
import type { RoutableChange } from '@cohort/membership';
import { resolveConfig, type EngineConfig } from './config.js';
import type { ReplicationErrorCode } from './errors.js';
import { ExpiryWheel } from './expiry-wheel.js';
import type {
  AckMsg,
  AcceptMsg,
  CreateInfo,
  EpochInfo,
  Entry,
  Frame,
  LeaseState,
  Message,
  PrepareMsg,
  PromiseMsg,
  RejectMsg,
  ReplicateMsg,
  Snapshot,
  SnapshotMsg,
} from './messages.js';
import type { AckLevel, ClientOp, OpResult, WriteOp } from './ops.js';
import { placementOf } from './placement.js';
import {
  append,
  NONE,
  SessionRecord,
  StoredVersion,
  stored,
  type Claim,
  type Peer,
  type Pending,
  type Queued,
} from './session-record.js';

/** Something that happened to a session on this node, for logs, metrics and tests. */
export type EngineEvent =
  | { readonly type: 'owner'; readonly key: string; readonly epoch: number }
  | { readonly type: 'stepped-down'; readonly key: string; readonly epoch: number }
  /**
   * The session ended: expired at its owner once the expiry was acknowledged by a quorum, or
   * found ended by a new owner when it took over (reported again: at least once; the version
   * identifies the end). `backup`: a backup dropped its copy after the owner was gone for the
   * grace period.
   */
  | {
      readonly type: 'expired';
      readonly key: string;
      readonly by: 'owner' | 'backup';
      readonly version: Version;
    };

/** What every call into the engine returns. */
export interface EngineOutput {
  /** Frames to send, one per destination member. */
  readonly frames: Frame[];
  /** Outcomes of client operations that completed during this call. */
  readonly results: OpResult[];
  /** Events, in order. */
  readonly events: EngineEvent[];
  /** When to call {@link ReplicationEngine.tick} next (undefined: only on new input). */
  readonly wakeAt: number | undefined;
}

/** What the engine holds for one session, as reported by {@link ReplicationEngine.inspect}. */
export interface SessionView {
  readonly key: string;
  /** `owner` when this node is the active owner, `claiming` while taking ownership. */
  readonly role: 'owner' | 'claiming' | 'replica' | 'none';
  /** The epoch this node last accepted, with its owner and replica set. */
  readonly accepted: EpochInfo | null;
  /** The highest epoch this node promised. */
  readonly promised: number;
  readonly version: Version;
  readonly session: Session | null;
  readonly lease: LeaseState | null;
}

/** Options of a {@link ReplicationEngine}. */
export interface EngineOptions {
  /**
   * This member's id, as it appears in membership views. It must be unique for the life of the
   * process (e.g. `name#bootId`): a restarted node forgot its promises, so it must not be taken
   * for the node it was.
   */
  readonly self: string;
  /** A source of uniform random numbers in [0, 1) (retry jitter). */
  readonly random: () => number;
  /** Tunables; see {@link EngineConfig}. */
  readonly config?: Partial<EngineConfig>;
}

type Rec = SessionRecord;

/** Epoch infos kept for sharing at most (the table is emptied when full). */
const EPOCH_INFOS = 4096;
/** Attribute names kept for sharing at most, and the longest shared (longer ones are kept as they come). */
const NAMES = 4096;
const NAME_LENGTH = 64;

const majority = (n: number): number => Math.floor(n / 2) + 1;
const same = (a: Version, b: Version): boolean => a.epoch === b.epoch && a.seq === b.seq;
const newer = (a: Version, b: Version): boolean => compareVersions(a, b) > 0;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length || a[0] !== b[0]) return false;
  for (const m of a) if (!b.includes(m)) return false;
  return true;
}

/**
 * The delta-replication engine of one node, sans-I/O: it is driven by the membership view, the
 * frames other engines sent, client operations and the passing of time, and answers with frames
 * to send, operation results, events and the time it wants to be woken. It never reads a clock,
 * opens a socket or sets a timer; `now` is the node's monotonic clock in ms.
 *
 * Per session: the owner sequences every change as `(epoch, seq)` and replicates it to the
 * replica set; ownership is taken per session with a two-phase claim (prepare/promise,
 * accept) that needs a majority of the previous epoch's replica set, so a partitioned former
 * owner is fenced and the new owner starts from the newest state any majority member holds.
 */
export class ReplicationEngine {
  /** This member's id. */
  readonly self: string;
  readonly #cfg: EngineConfig;
  readonly #random: () => number;
  #view: string[] = [];
  #viewSet = new Set<string>();
  readonly #recs = new Map<string, Rec>();
  readonly #lagging = new Set<string>();
  readonly #claiming = new Set<string>();
  readonly #claimQueue: string[] = [];
  readonly #claimQueued = new Set<string>();
  readonly #unsettled = new Set<string>();
  readonly #waiting = new Set<string>();
  readonly #touchDirty = new Set<string>();
  readonly #wheel: ExpiryWheel;
  /** Equal epoch infos are shared: millions of sessions have a handful of distinct ones. */
  readonly #epochInfos = new Map<string, EpochInfo>();
  /**
   * Attribute names, shared: a decoded delta or snapshot brings a new string for every name, and
   * a session keeps its names for its whole life.
   */
  readonly #names = new Map<string, string>();
  #tokens: number;
  #tokensAt = 0;
  #lastSettle = -Infinity;
  // Declared without a value (so it is undefined until the first call): V8 then keeps it as a
  // reference to the number the caller passed, and every time stored from it during one call
  // shares that one heap number instead of allocating its own.
  #now!: number;
  #out = new Map<string, Message[]>();
  #results: OpResult[] = [];
  #events: EngineEvent[] = [];

  /** @param options - identity, randomness and tunables */
  constructor(options: EngineOptions) {
    this.self = options.self;
    this.#random = options.random;
    this.#cfg = resolveConfig(options.config);
    this.#wheel = new ExpiryWheel(this.#cfg.expiryResolutionMs);
    this.#tokens = this.#cfg.maxConcurrentClaims;
  }

  /** The tunables in effect. */
  get config(): EngineConfig {
    return this.#cfg;
  }

  /** The current view (sorted member ids). */
  get view(): readonly string[] {
    return this.#view;
  }

  /**
   * The routable member set changed (see `RoutableChange.routable` of @cohort/membership).
   * Sessions whose placement changed are re-evaluated: the member first in placement claims
   * them (at the bounded claim rate), the others nudge it.
   */
  setView(now: number, members: readonly string[]): EngineOutput {
    this.#begin(now);
    this.#view = [...new Set(members)].sort();
    this.#viewSet = new Set(this.#view);
    for (const rec of this.#recs.values()) {
      if (rec.accepted && rec.accepted.owner !== this.self) {
        if (this.#viewSet.has(rec.accepted.owner)) rec.ownerGoneAt = undefined;
        else if (rec.ownerGoneAt === undefined) {
          rec.ownerGoneAt = now;
          this.#scheduleExpiry(rec);
        }
      }
      this.#evaluate(rec, true);
    }
    this.#pumpClaims();
    return this.#end();
  }

  /**
   * The routable set of @cohort/membership changed: the same as {@link setView} with
   * `change.routable`.
   */
  routableChanged(now: number, change: RoutableChange): EngineOutput {
    return this.setView(now, change.routable);
  }

  /** A frame from another engine arrived. Messages for unknown sessions create records. */
  receive(now: number, frame: Frame): EngineOutput {
    this.#begin(now);
    for (const m of frame.messages) this.#dispatch(frame.from, m);
    this.#pumpClaims();
    return this.#end();
  }

  /** A client operation arrived (see {@link ClientOp}). */
  submit(now: number, op: ClientOp): EngineOutput {
    this.#begin(now);
    this.#handleOp(op);
    this.#pumpClaims();
    return this.#end();
  }

  /**
   * Several client operations arrived together: their replication messages to each member
   * travel in one frame (batching).
   */
  submitAll(now: number, ops: readonly ClientOp[]): EngineOutput {
    this.#begin(now);
    for (const op of ops) this.#handleOp(op);
    this.#pumpClaims();
    return this.#end();
  }

  /** Time passed: retransmissions, claim progress, timeouts, touch batching and expiry. */
  tick(now: number): EngineOutput {
    this.#begin(now);
    this.#tickWork();
    this.#pumpClaims();
    return this.#end();
  }

  /** What this node holds for `key`, or undefined. */
  inspect(key: string): SessionView | undefined {
    const rec = this.#recs.get(key);
    if (!rec) return undefined;
    const role = rec.active
      ? 'owner'
      : rec.claim
        ? 'claiming'
        : rec.accepted && rec.accepted.set.includes(this.self)
          ? 'replica'
          : 'none';
    return {
      key,
      role,
      accepted: rec.accepted,
      promised: rec.promised,
      version: rec.version,
      session: rec.session,
      lease: rec.lease,
    };
  }

  /** The keys this node has records for. */
  keys(): string[] {
    return [...this.#recs.keys()];
  }

  // ---------------------------------------------------------------- output plumbing

  #begin(now: number): void {
    this.#now = now;
  }

  #end(): EngineOutput {
    const frames: Frame[] = [];
    for (const [to, messages] of this.#out) frames.push({ from: this.self, to, messages });
    this.#out = new Map();
    const results = this.#results;
    const events = this.#events;
    this.#results = [];
    this.#events = [];
    return { frames, results, events, wakeAt: this.#wakeAt() };
  }

  #wakeAt(): number | undefined {
    const busy =
      this.#claiming.size > 0 ||
      this.#claimQueue.length > 0 ||
      this.#lagging.size > 0 ||
      this.#waiting.size > 0 ||
      this.#touchDirty.size > 0 ||
      this.#unsettled.size > 0;
    const wheel = this.#wheel.next();
    const soon = busy ? this.#now + this.#cfg.tickMs : undefined;
    if (soon === undefined) return wheel;
    return wheel === undefined ? soon : Math.min(soon, Math.max(wheel, this.#now));
  }

  #send(to: string, m: Message): void {
    let list = this.#out.get(to);
    if (!list) {
      list = [];
      this.#out.set(to, list);
    }
    // Consecutive changes of one session to one member travel as one replicate message.
    if (m.t === 'replicate') {
      const last = list[list.length - 1];
      if (last && last.t === 'replicate' && last.key === m.key && last.epoch === m.epoch) {
        (last.entries as Entry[]).push(...m.entries);
        return;
      }
    }
    list.push(m);
  }

  #ok(
    id: number,
    version: Version,
    extra: { session?: Session | null; token?: Version } = {},
  ): void {
    this.#results.push({ id, ok: true, version, ...extra });
  }

  #fail(
    id: number,
    code: ReplicationErrorCode,
    message: string,
    extra: { owner?: string; current?: Version } = {},
  ): void {
    this.#results.push({ id, ok: false, code, message, ...extra });
  }

  // ---------------------------------------------------------------- records and placement

  #rec(key: string): Rec {
    let rec = this.#recs.get(key);
    if (!rec) {
      rec = new SessionRecord(key, this.#now);
      this.#recs.set(key, rec);
      this.#scheduleExpiry(rec);
    }
    return rec;
  }

  #placement(key: string): string[] {
    return placementOf(key, this.#view, this.#cfg.replicas);
  }

  /** A replica set this node may claim with: it is first, and the set is large enough. */
  #claimable(p: readonly string[]): boolean {
    return p[0] === this.self && p.length >= this.#cfg.minReplicas;
  }

  /** Decides what this node should do about a session after a change of view or state. */
  #evaluate(rec: Rec, nudge: boolean): void {
    const p = this.#placement(rec.key);
    if (p.length === 0) {
      this.#unsettled.delete(rec.key);
      return;
    }
    if (p[0] === this.self) {
      const settled = rec.active && sameSet(rec.accepted!.set, p);
      if (!this.#claimable(p)) {
        // Too few members in view to form a replica set that survives a failure: wait.
        if (!settled && !rec.active) this.#unsettled.add(rec.key);
        return;
      }
      // A session to own: live here, asked for, or ended here while this node owned it (the
      // tombstone must still reach the replicas).
      const wanted =
        rec.session !== null ||
        rec.nudged ||
        rec.queued.length > 0 ||
        rec.active ||
        (rec.accepted?.owner === this.self && rec.deadAt !== undefined);
      if (settled || !wanted) {
        this.#unsettled.delete(rec.key);
        return;
      }
      this.#unsettled.add(rec.key);
      if (!rec.claim && rec.retryAt <= this.#now) this.#enqueueClaim(rec.key, false);
      return;
    }
    if (rec.claim) this.#abortClaim(rec, false);
    const owner = rec.accepted?.owner;
    const mine = owner === this.self;
    const orphan = rec.session !== null && (owner === undefined || !this.#viewSet.has(owner));
    if (mine || orphan) {
      this.#unsettled.add(rec.key);
      if (nudge) this.#send(p[0]!, { t: 'nudge', key: rec.key, epoch: rec.promised });
    } else {
      this.#unsettled.delete(rec.key);
    }
  }

  // ---------------------------------------------------------------- claims (taking ownership)

  #enqueueClaim(key: string, urgent: boolean): void {
    if (this.#claimQueued.has(key) || this.#claiming.has(key)) return;
    this.#claimQueued.add(key);
    if (urgent) this.#claimQueue.unshift(key);
    else this.#claimQueue.push(key);
  }

  #pumpClaims(): void {
    const cfg = this.#cfg;
    const elapsed = this.#now - this.#tokensAt;
    this.#tokensAt = this.#now;
    this.#tokens = Math.min(
      cfg.maxConcurrentClaims,
      this.#tokens + (elapsed * cfg.claimsPerSecond) / 1000,
    );
    while (
      this.#claimQueue.length > 0 &&
      this.#claiming.size < cfg.maxConcurrentClaims &&
      this.#tokens >= 1
    ) {
      const key = this.#claimQueue.shift()!;
      this.#claimQueued.delete(key);
      const rec = this.#recs.get(key);
      if (!rec || rec.claim) continue;
      const p = this.#placement(key);
      if (!this.#claimable(p)) continue;
      if (rec.active && sameSet(rec.accepted!.set, p)) continue;
      this.#tokens -= 1;
      this.#startClaim(rec, p);
    }
  }

  #startClaim(rec: Rec, p: string[]): void {
    const epoch = Math.max(rec.promised, rec.accepted?.epoch ?? 0, rec.knownHigh) + 1;
    rec.active = false;
    this.#lagging.delete(rec.key);
    rec.promised = epoch;
    rec.promisedTo = this.self;
    const sent = new Set<string>(p);
    for (const m of rec.accepted?.set ?? []) sent.add(m);
    sent.delete(this.self);
    const claim: Claim = {
      epoch,
      startedAt: this.#now,
      lastSendAt: this.#now,
      phase: 'prepare',
      sent,
      promises: new Map([[this.self, { accepted: rec.accepted }]]),
      highest: rec.accepted,
      best: null,
      oldSet: [],
      accepts: new Set(),
    };
    rec.claim = claim;
    this.#claiming.add(rec.key);
    const msg: PrepareMsg = { t: 'prepare', key: rec.key, epoch, version: rec.version };
    for (const m of sent) this.#send(m, msg);
    this.#progressClaim(rec);
  }

  #abortClaim(rec: Rec, retry: boolean): void {
    rec.claim = null;
    this.#claiming.delete(rec.key);
    this.#unsettled.add(rec.key);
    const backoff = this.#cfg.retransmitMs * (1 + this.#random() * 4);
    rec.retryAt = this.#now + (retry ? backoff : 0);
    if (!retry) {
      for (const q of rec.queued) {
        this.#fail(q.op.id, 'NOT_OWNER', 'ownership of the session is elsewhere', {
          owner: this.#ownerHint(rec),
        });
      }
      rec.queued = NONE;
      this.#failPending(rec, 'OWNERSHIP_LOST');
    }
  }

  #progressClaim(rec: Rec): void {
    const claim = rec.claim!;
    if (claim.phase === 'prepare') {
      // Nobody that answered knows an epoch of this session: it is new, or its holders have not
      // answered yet. Every member of the placement must answer then; with minimal movement the
      // surviving holders of an existing session are among them.
      const target = claim.highest?.set ?? this.#placement(rec.key);
      const need = claim.highest ? majority(target.length) : target.length;
      let count = 0;
      for (const m of target) if (claim.promises.has(m)) count++;
      if (count >= need) this.#enterAccept(rec, target);
      return;
    }
    let count = 0;
    for (const m of claim.oldSet) if (claim.accepts.has(m)) count++;
    if (count >= majority(claim.oldSet.length)) this.#activate(rec);
  }

  #enterAccept(rec: Rec, oldSet: readonly string[]): void {
    const claim = rec.claim!;
    const p = this.#placement(rec.key);
    if (!this.#claimable(p)) {
      this.#abortClaim(rec, p[0] === this.self);
      return;
    }
    if (claim.best && newer(claim.best.version, rec.version)) this.#install(rec, claim.best);
    claim.phase = 'accept';
    claim.oldSet = oldSet;
    claim.accepts = new Set([this.self]);
    rec.accepted = this.#epochInfo(claim.epoch, this.self, p);
    rec.floor = rec.version;
    rec.log = NONE;
    const peers: Peer[] = [];
    for (const m of p) {
      if (m !== this.self)
        peers.push({ id: m, acked: false, match: null, sentUpTo: null, sentAt: 0 });
    }
    rec.peers = peers.length === 0 ? NONE : peers;
    const sent = new Set<string>(p);
    for (const m of oldSet) sent.add(m);
    sent.delete(this.self);
    claim.sent = sent;
    claim.lastSendAt = this.#now;
    const msg: AcceptMsg = {
      t: 'accept',
      key: rec.key,
      epoch: claim.epoch,
      set: p,
      version: rec.version,
    };
    for (const m of sent) this.#send(m, msg);
    this.#progressClaim(rec);
  }

  #activate(rec: Rec): void {
    rec.claim = null;
    this.#claiming.delete(rec.key);
    rec.active = true;
    rec.nudged = false;
    rec.lastAccess = this.#now;
    rec.lastTouchRepl = this.#now;
    rec.leaseUntil = rec.lease ? this.#now + rec.lease.durationMs : 0;
    this.#events.push({ type: 'owner', key: rec.key, epoch: rec.accepted!.epoch });
    if (rec.session === null && rec.deadAt !== undefined && newer(rec.version, INITIAL_VERSION)) {
      // Took over a session that ended: its end may never have been confirmed by the former
      // owner, so report it again (at least once; the version identifies it).
      this.#events.push({ type: 'expired', key: rec.key, by: 'owner', version: rec.version });
    }
    this.#lagging.add(rec.key);
    for (const peer of rec.peers) if (peer.acked) this.#catchUp(rec, peer.id, peer);
    this.#checkPending(rec);
    const queued = rec.queued;
    rec.queued = NONE;
    for (const q of queued) this.#handleOp(q.op);
    this.#scheduleExpiry(rec);
    this.#evaluate(rec, false);
  }

  #stepDown(rec: Rec): void {
    if (rec.active)
      this.#events.push({ type: 'stepped-down', key: rec.key, epoch: rec.accepted!.epoch });
    rec.active = false;
    this.#lagging.delete(rec.key);
    this.#touchDirty.delete(rec.key);
    // Look again at the next settle pass: if this node is still first in placement, it claims.
    this.#unsettled.add(rec.key);
    if (rec.claim) this.#abortClaim(rec, false);
    else {
      this.#failPending(rec, 'OWNERSHIP_LOST');
      for (const q of rec.queued) {
        this.#fail(q.op.id, 'NOT_OWNER', 'ownership of the session moved', {
          owner: this.#ownerHint(rec),
        });
      }
      rec.queued = NONE;
    }
  }

  #failPending(rec: Rec, code: ReplicationErrorCode): void {
    for (const p of rec.pending) {
      if (p.id < 0) continue;
      this.#fail(p.id, code, 'ownership moved before the write was acknowledged; it may be lost');
    }
    rec.pending = NONE;
  }

  #ownerHint(rec: Rec): string | undefined {
    const owner = rec.accepted?.owner;
    if (owner !== undefined && owner !== this.self && this.#viewSet.has(owner)) return owner;
    const p = this.#placement(rec.key);
    return p[0];
  }

  // ---------------------------------------------------------------- message handling

  #dispatch(from: string, m: Message): void {
    switch (m.t) {
      case 'prepare':
        return this.#onPrepare(from, m);
      case 'promise':
        return this.#onPromise(from, m);
      case 'reject':
        return this.#onReject(from, m);
      case 'accept':
        return this.#onAccept(from, m);
      case 'replicate':
        return this.#onReplicate(from, m);
      case 'snapshot':
        return this.#onSnapshot(from, m);
      case 'ack':
        return this.#onAck(from, m);
      case 'nudge': {
        const rec = this.#rec(m.key);
        rec.nudged = true;
        rec.knownHigh = Math.max(rec.knownHigh, m.epoch);
        // The sender knows a newer epoch than the one this node owns: it was replaced.
        if (rec.active && m.epoch > rec.accepted!.epoch) this.#stepDown(rec);
        this.#evaluate(rec, false);
        return;
      }
    }
  }

  /** Raises the promise to `epoch` for `from`, stepping down from anything older. */
  #promise(rec: Rec, epoch: number, from: string): boolean {
    if (epoch < rec.promised) return false;
    if (epoch === rec.promised) return rec.promisedTo === from;
    if (rec.active || rec.claim) this.#stepDown(rec);
    rec.promised = epoch;
    rec.promisedTo = from;
    return true;
  }

  #onPrepare(from: string, m: PrepareMsg): void {
    const rec = this.#rec(m.key);
    if (!this.#promise(rec, m.epoch, from)) {
      this.#send(from, { t: 'reject', key: m.key, epoch: m.epoch, promised: rec.promised });
      return;
    }
    const state = newer(rec.version, m.version) ? this.#snapshot(rec) : null;
    const reply: PromiseMsg = {
      t: 'promise',
      key: m.key,
      epoch: m.epoch,
      accepted: rec.accepted,
      version: rec.version,
      state,
    };
    this.#send(from, reply);
  }

  #onPromise(from: string, m: PromiseMsg): void {
    const rec = this.#recs.get(m.key);
    const claim = rec?.claim;
    if (!rec || !claim || claim.epoch !== m.epoch || claim.phase !== 'prepare') return;
    claim.promises.set(from, { accepted: m.accepted });
    if (m.accepted && (!claim.highest || m.accepted.epoch > claim.highest.epoch)) {
      claim.highest = m.accepted;
      const msg: PrepareMsg = { t: 'prepare', key: m.key, epoch: m.epoch, version: rec.version };
      for (const x of m.accepted.set) {
        if (x !== this.self && !claim.sent.has(x)) {
          claim.sent.add(x);
          this.#send(x, msg);
        }
      }
    }
    if (m.state && newer(m.state.version, claim.best?.version ?? rec.version)) claim.best = m.state;
    this.#progressClaim(rec);
  }

  #onReject(_from: string, m: RejectMsg): void {
    const rec = this.#recs.get(m.key);
    if (!rec) return;
    rec.knownHigh = Math.max(rec.knownHigh, m.promised);
    if (rec.claim && rec.claim.epoch === m.epoch) {
      // A claimer that knew no epoch of the session guessed one too low: try again at once
      // with the epoch it just learned. Otherwise back off (another member is claiming).
      const blind = rec.accepted === null && rec.claim.promises.size <= 1;
      this.#abortClaim(rec, true);
      if (blind && this.#claimable(this.#placement(rec.key))) {
        rec.retryAt = this.#now;
        this.#enqueueClaim(rec.key, true);
      }
    } else if (rec.accepted?.owner === this.self && rec.accepted.epoch === m.epoch) {
      // A replica promised a newer epoch, or this epoch to another claimer: someone else is
      // taking over. Step down; if this node is still first in placement it claims again, with
      // a higher epoch.
      if (rec.active) this.#stepDown(rec);
      rec.retryAt = this.#now + this.#cfg.retransmitMs * (1 + this.#random() * 4);
      this.#evaluate(rec, false);
    }
  }

  #onAccept(from: string, m: AcceptMsg): void {
    const rec = this.#rec(m.key);
    const current =
      rec.accepted !== null && rec.accepted.epoch === m.epoch && rec.accepted.owner === from;
    if (!current) {
      if (!this.#promise(rec, m.epoch, from)) {
        this.#send(from, { t: 'reject', key: m.key, epoch: m.epoch, promised: rec.promised });
        return;
      }
      rec.accepted = this.#epochInfo(m.epoch, from, m.set);
      rec.ownerGoneAt = this.#viewSet.has(from) ? undefined : this.#now;
    }
    rec.heardAt = this.#now;
    this.#evaluate(rec, false);
    this.#send(from, {
      t: 'ack',
      key: m.key,
      epoch: m.epoch,
      version: rec.version,
      gap: !same(rec.version, m.version),
    });
  }

  #fromOwner(rec: Rec, from: string, epoch: number): boolean {
    return (
      rec.accepted !== null &&
      rec.accepted.epoch === epoch &&
      rec.accepted.owner === from &&
      rec.promised === epoch
    );
  }

  #onReplicate(from: string, m: ReplicateMsg): void {
    const rec = this.#rec(m.key);
    if (!this.#fromOwner(rec, from, m.epoch)) {
      if (m.epoch < rec.promised) {
        this.#send(from, { t: 'reject', key: m.key, epoch: m.epoch, promised: rec.promised });
      }
      return;
    }
    let gap = false;
    for (const e of m.entries) {
      if (compareVersions(e.version, rec.version) <= 0) continue;
      if (!same(e.delta.base, rec.version) || !this.#applyEntry(rec, e)) {
        gap = true;
        break;
      }
    }
    rec.heardAt = this.#now;
    this.#scheduleExpiry(rec);
    const ack: AckMsg = { t: 'ack', key: m.key, epoch: m.epoch, version: rec.version, gap };
    this.#send(from, ack);
  }

  #onSnapshot(from: string, m: SnapshotMsg): void {
    const rec = this.#rec(m.key);
    if (!this.#fromOwner(rec, from, m.epoch)) {
      if (m.epoch < rec.promised) {
        this.#send(from, { t: 'reject', key: m.key, epoch: m.epoch, promised: rec.promised });
      }
      return;
    }
    // A snapshot older than what a replica holds in the same epoch is a late duplicate.
    if (!(rec.version.epoch === m.epoch && compareVersions(rec.version, m.state.version) >= 0)) {
      this.#install(rec, m.state);
    }
    rec.heardAt = this.#now;
    this.#scheduleExpiry(rec);
    this.#send(from, { t: 'ack', key: m.key, epoch: m.epoch, version: rec.version, gap: false });
  }

  #onAck(from: string, m: AckMsg): void {
    const rec = this.#recs.get(m.key);
    if (!rec || !rec.accepted || rec.accepted.owner !== this.self) return;
    if (rec.accepted.epoch !== m.epoch) return;
    const claim = rec.claim;
    if (claim && claim.phase === 'accept' && claim.epoch === m.epoch) claim.accepts.add(from);
    const peer = rec.peers.find((x) => x.id === from);
    if (peer) {
      peer.acked = true;
      const valid =
        (m.version.epoch === m.epoch && compareVersions(m.version, rec.version) <= 0) ||
        same(m.version, rec.floor);
      if (valid) {
        if (peer.match === null || newer(m.version, peer.match)) {
          // The acknowledged version is usually the current one: keep that object, not another.
          peer.match = same(m.version, rec.version) ? rec.version : m.version;
          this.#trimLog(rec);
        }
        if (m.gap || peer.sentUpTo === null || newer(peer.match, peer.sentUpTo)) {
          peer.sentUpTo = peer.match;
        }
      } else if (peer.match === null) {
        peer.sentUpTo = null;
      }
      if (rec.active) {
        this.#checkPending(rec);
        const behind = peer.match === null || newer(rec.version, peer.match);
        if (behind) {
          this.#lagging.add(rec.key);
          // Everything sent is acknowledged: send the rest now. A gap or a foreign version:
          // resend, at most twice per retransmit period.
          const idle = peer.sentUpTo !== null && same(peer.sentUpTo, peer.match!);
          const resend = (m.gap || !valid) && this.#now - peer.sentAt >= this.#cfg.retransmitMs / 2;
          if (idle || resend) this.#catchUp(rec, from, peer);
        }
      }
    }
    if (claim) this.#progressClaim(rec);
  }

  // ---------------------------------------------------------------- state changes

  #snapshot(rec: Rec): Snapshot {
    return { version: rec.version, session: rec.session, lease: rec.lease };
  }

  #install(rec: Rec, s: Snapshot): void {
    const version = stored(s.version);
    rec.session = s.session === null ? null : this.#keepSession(s.session, version);
    rec.version = version;
    rec.lease = s.lease;
    rec.deadAt = s.session === null ? this.#now : undefined;
    this.#scheduleExpiry(rec);
  }

  /** Applies one sequenced entry at a replica; false when it does not fit (needs a snapshot). */
  #applyEntry(rec: Rec, e: Entry): boolean {
    let base = rec.session;
    try {
      if (e.create) {
        base ??= createSession({
          key: rec.key,
          now: e.create.createdAt,
          maxInactiveSeconds: e.create.maxInactiveSeconds,
          version: rec.version,
        });
      }
      if (base === null) return false;
      const version = stored(e.version);
      const next = applyDelta(base, this.#internDelta(e.delta), { version });
      rec.session = next;
      rec.version = version;
      if (e.lease !== undefined) rec.lease = e.lease;
      if (next === null) {
        rec.lease = null;
        rec.deadAt = this.#now;
      } else rec.deadAt = undefined;
      return true;
    } catch (err) {
      if (err instanceof SessionCodecError) return false;
      throw err;
    }
  }

  /**
   * Sequences a change at the owner: assigns the next version, applies it, logs it and sends it
   * to every replica that is in step.
   */
  #sequence(
    rec: Rec,
    base: Session,
    delta: Delta,
    create: CreateInfo | undefined,
    lease: LeaseState | null | undefined,
  ): Version {
    const epoch = rec.accepted!.epoch;
    const prev = rec.version;
    const version = new StoredVersion(epoch, prev.epoch === epoch ? prev.seq + 1 : 1);
    const next = applyDelta(base, delta, { version });
    const entry: Entry = {
      delta,
      version,
      ...(create ? { create } : {}),
      ...(lease !== undefined
        ? { lease: lease === null ? null : { ...lease, token: version } }
        : {}),
    };
    rec.session = next;
    rec.version = version;
    if (entry.lease !== undefined) rec.lease = entry.lease;
    if (next === null) {
      rec.lease = null;
      rec.deadAt = this.#now;
    } else rec.deadAt = undefined;
    if (rec.peers.length > 0) {
      // Only replicas catch up from the log: a set of one keeps none.
      rec.log = append(rec.log, entry);
      if (rec.log.length > this.#cfg.logEntries) (rec.log as Entry[]).shift();
    }
    for (const peer of rec.peers) {
      if (peer.acked && peer.sentUpTo !== null && same(peer.sentUpTo, prev)) {
        this.#send(peer.id, { t: 'replicate', key: rec.key, epoch, entries: [entry] });
        peer.sentUpTo = version;
      } else {
        this.#lagging.add(rec.key);
      }
    }
    return version;
  }

  /**
   * Drops the log entries every replica holds (their `match` only grows within an epoch, and
   * catch-up looks for the entry after a replica's `match`, so no catch-up needs them again).
   */
  #trimLog(rec: Rec): void {
    const log = rec.log;
    if (log.length === 0) return;
    let low: Version | null = null;
    for (const p of rec.peers) {
      if (p.match === null) return;
      if (low === null || newer(low, p.match)) low = p.match;
    }
    if (low === null) return;
    let i = 0;
    while (i < log.length && compareVersions(log[i]!.version, low) <= 0) i++;
    if (i > 0) rec.log = i === log.length ? NONE : log.slice(i);
  }

  /** The shared copy of an attribute name. */
  #name(name: string): string {
    if (name.length > NAME_LENGTH) return name;
    const known = this.#names.get(name);
    if (known !== undefined) return known;
    if (this.#names.size >= NAMES) this.#names.clear();
    this.#names.set(name, name);
    return name;
  }

  /** `delta` with shared attribute names (its ops are checked already). */
  #internDelta(delta: Delta): Delta {
    if (!delta.ops.some((op) => op.op === 'set' || op.op === 'remove')) return delta;
    const ops = delta.ops.map((op) =>
      op.op === 'set' || op.op === 'remove' ? { ...op, name: this.#name(op.name) } : op,
    );
    return { key: delta.key, base: delta.base, ops };
  }

  /**
   * A copy of `session` to keep: shared attribute names, and its version kept as a
   * {@link StoredVersion} (`version` itself when equal).
   */
  #keepSession(session: Session, version: Version): Session {
    const attributes = new Map<string, Uint8Array>();
    for (const [name, value] of session.attributes) attributes.set(this.#name(name), value);
    const v = same(session.version, version) ? version : stored(session.version);
    return { ...session, attributes, version: v };
  }

  /** The epoch info `{ epoch, owner, set }`, shared with every other record that has it. */
  #epochInfo(epoch: number, owner: string, set: readonly string[]): EpochInfo {
    const id = `${epoch}\u0000${owner}\u0000${set.join('\u0000')}`;
    const known = this.#epochInfos.get(id);
    if (known && known.epoch === epoch && known.owner === owner && sameList(known.set, set)) {
      return known;
    }
    if (this.#epochInfos.size >= EPOCH_INFOS) this.#epochInfos.clear();
    const info: EpochInfo = Object.freeze({ epoch, owner, set: Object.freeze([...set]) });
    this.#epochInfos.set(id, info);
    return info;
  }

  /** Sends a lagging replica what it misses: log entries, a snapshot, or the accept again. */
  #catchUp(rec: Rec, m: string, peer: Peer): void {
    const epoch = rec.accepted!.epoch;
    peer.sentAt = this.#now;
    if (!peer.acked) {
      const msg: AcceptMsg = {
        t: 'accept',
        key: rec.key,
        epoch,
        set: rec.accepted!.set,
        version: rec.floor,
      };
      this.#send(m, msg);
      return;
    }
    const from = peer.match;
    if (from !== null) {
      if (same(from, rec.version)) return;
      const log = rec.log;
      for (let i = log.length - 1; i >= 0; i--) {
        if (same(log[i]!.delta.base, from)) {
          const entries = log.slice(i, i + this.#cfg.catchUpChunk);
          this.#send(m, { t: 'replicate', key: rec.key, epoch, entries });
          peer.sentUpTo = entries[entries.length - 1]!.version;
          return;
        }
      }
    }
    this.#send(m, { t: 'snapshot', key: rec.key, epoch, state: this.#snapshot(rec) });
    peer.sentUpTo = rec.version;
  }

  #checkPending(rec: Rec): void {
    if (!rec.active || rec.pending.length === 0) return;
    const set = rec.accepted!.set;
    const keep: Pending[] = [];
    for (const p of rec.pending) {
      let count = 1;
      for (const peer of rec.peers) {
        if (
          set.includes(peer.id) &&
          peer.match !== null &&
          compareVersions(peer.match, p.version) >= 0
        ) {
          count++;
        }
      }
      const need = p.level === 'all' ? set.length : majority(set.length);
      if (count < need) keep.push(p);
      else if (p.id < 0) {
        // The expiry is durable: only now is the session gone (a fenced owner never gets here).
        this.#events.push({ type: 'expired', key: rec.key, by: 'owner', version: p.version });
      } else this.#ok(p.id, p.version, p.token ? { token: p.token } : {});
    }
    rec.pending = keep.length === 0 ? NONE : keep;
  }

  // ---------------------------------------------------------------- client operations

  #handleOp(op: ClientOp): void {
    if (typeof op.key !== 'string' || op.key === '') {
      this.#fail(op.id, 'INVALID_OP', 'key must be a non-empty string');
      return;
    }
    if (!['write', 'read', 'acquire', 'release'].includes(op.kind)) {
      this.#fail(
        op.id,
        'INVALID_OP',
        `kind ${String(op.kind)} is not write, read, acquire or release`,
      );
      return;
    }
    const rec = this.#recs.get(op.key);
    if (!rec || !rec.active) {
      const p = this.#placement(op.key);
      if (p[0] === this.self) {
        const r = rec ?? this.#rec(op.key);
        r.queued = append(r.queued, { op, deadline: this.#now + this.#cfg.opTimeoutMs });
        this.#waiting.add(op.key);
        this.#unsettled.add(op.key);
        if (!r.claim) {
          if (r.retryAt > this.#now) r.retryAt = this.#now;
          this.#enqueueClaim(op.key, true);
        }
        return;
      }
      const owner = rec ? this.#ownerHint(rec) : p[0];
      this.#fail(op.id, 'NOT_OWNER', 'this node does not own the session', owner ? { owner } : {});
      return;
    }
    const p = this.#placement(op.key);
    if (p[0] !== this.self && p[0] !== undefined) {
      // Another member is first in placement: it takes over (claiming urgently when the
      // client arrives there); answering here could record accesses it would not see.
      this.#send(p[0], { t: 'nudge', key: op.key, epoch: rec.promised });
      this.#fail(op.id, 'NOT_OWNER', 'the session is moving to another member', { owner: p[0] });
      return;
    }
    let reachable = 0;
    for (const m of rec.accepted!.set) if (this.#viewSet.has(m)) reachable++;
    if (reachable < majority(rec.accepted!.set.length)) {
      this.#fail(op.id, 'UNAVAILABLE', 'a majority of the replica set is out of view');
      return;
    }
    if (op.minVersion && newer(op.minVersion, rec.version)) {
      this.#fail(op.id, 'STALE', 'this copy is older than the version the client saw', {
        current: rec.version,
      });
      return;
    }
    rec.lastAccess = this.#now;
    switch (op.kind) {
      case 'read':
        if (op.touch !== undefined && rec.session !== null) {
          rec.touchAt = op.touch;
          this.#touchDirty.add(rec.key);
        }
        this.#ok(op.id, rec.version, { session: rec.session });
        return;
      case 'write':
        return this.#write(rec, op);
      case 'acquire':
      case 'release':
        return this.#leaseOp(rec, op);
    }
  }

  #write(rec: Rec, op: WriteOp): void {
    if (op.expected && !same(op.expected, rec.version)) {
      this.#fail(op.id, 'CAS_FAILED', 'the session is not at the expected version', {
        current: rec.version,
      });
      return;
    }
    const leaseLive = rec.lease !== null && rec.leaseUntil > this.#now;
    if (op.fence) {
      if (!leaseLive || !same(rec.lease!.token, op.fence)) {
        this.#fail(op.id, 'FENCED', 'the fencing token is not the current lease');
        return;
      }
    } else if (leaseLive) {
      this.#fail(op.id, 'LEASE_HELD', 'the session is locked by a lease; pass its token');
      return;
    }
    let base = rec.session;
    let create: CreateInfo | undefined;
    try {
      if (base === null) {
        if (!op.create) {
          this.#fail(op.id, 'NOT_FOUND', 'the session does not exist');
          return;
        }
        create = {
          createdAt: op.create.createdAt,
          maxInactiveSeconds: op.create.maxInactiveSeconds,
        };
        base = createSession({
          key: rec.key,
          now: create.createdAt,
          maxInactiveSeconds: create.maxInactiveSeconds,
          version: rec.version,
        });
      }
      const delta = this.#internDelta(createDelta(rec.key, rec.version, op.ops as Op[]));
      const version = this.#sequence(rec, base, delta, create, undefined);
      this.#await(rec, op.id, version, op.level ?? 'quorum', undefined);
      if (create) this.#scheduleExpiry(rec);
    } catch (err) {
      if (err instanceof SessionCodecError) {
        this.#fail(op.id, 'INVALID_OP', err.message);
        return;
      }
      throw err;
    }
  }

  #leaseOp(rec: Rec, op: Extract<ClientOp, { kind: 'acquire' | 'release' }>): void {
    if (rec.session === null) {
      this.#fail(op.id, 'NOT_FOUND', 'the session does not exist');
      return;
    }
    const leaseLive = rec.lease !== null && rec.leaseUntil > this.#now;
    let lease: LeaseState | null;
    if (op.kind === 'acquire') {
      if (!Number.isSafeInteger(op.durationMs) || op.durationMs <= 0) {
        this.#fail(op.id, 'INVALID_OP', 'durationMs must be a positive integer');
        return;
      }
      if (leaseLive && rec.lease!.holder !== op.holder) {
        this.#fail(op.id, 'LEASE_HELD', `the lease is held by another client`);
        return;
      }
      lease = { holder: op.holder, token: rec.version, durationMs: op.durationMs };
    } else {
      if (!rec.lease || !same(rec.lease.token, op.token)) {
        this.#fail(op.id, 'FENCED', 'the token is not the current lease');
        return;
      }
      lease = null;
    }
    const delta = createDelta(rec.key, rec.version, []);
    const version = this.#sequence(rec, rec.session, delta, undefined, lease);
    rec.leaseUntil = lease ? this.#now + lease.durationMs : 0;
    this.#await(rec, op.id, version, op.level ?? 'quorum', lease ? version : undefined);
  }

  #await(
    rec: Rec,
    id: number,
    version: Version,
    level: AckLevel,
    token: Version | undefined,
  ): void {
    if (level === 'owner') {
      this.#ok(id, version, token ? { token } : {});
      return;
    }
    rec.pending = append(rec.pending, {
      id,
      version,
      level,
      deadline: this.#now + this.#cfg.opTimeoutMs,
      token,
    });
    this.#waiting.add(rec.key);
    this.#checkPending(rec);
  }

  // ---------------------------------------------------------------- time

  #touchInterval(rec: Rec): number {
    const ttl = (rec.session?.maxInactiveSeconds ?? -1) * 1000;
    return Math.max(ttl / 4, this.#cfg.minTouchIntervalMs);
  }

  #grace(rec: Rec): number {
    const ttl = Math.max(0, (rec.session?.maxInactiveSeconds ?? 0) * 1000);
    return this.#cfg.backupGraceMs > 0 ? this.#cfg.backupGraceMs : Math.max(ttl, 60_000);
  }

  /** The time this node should look at the session's expiry again, if it should. */
  #expiryDeadline(rec: Rec): number | undefined {
    if (rec.session === null) {
      return rec.deadAt === undefined ? undefined : rec.deadAt + this.#cfg.tombstoneMs;
    }
    const ttl = rec.session.maxInactiveSeconds;
    if (ttl < 0) return undefined;
    if (rec.active) return rec.lastAccess! + ttl * 1000;
    if (rec.accepted?.owner === this.self || rec.ownerGoneAt === undefined) return undefined;
    const grace = this.#grace(rec);
    return Math.max(rec.heardAt! + ttl * 1000 + grace, rec.ownerGoneAt + grace);
  }

  #scheduleExpiry(rec: Rec): void {
    const at = this.#expiryDeadline(rec);
    if (at !== undefined) this.#wheel.add(rec.key, at);
  }

  #expire(rec: Rec): void {
    const at = this.#expiryDeadline(rec);
    if (at === undefined) return;
    if (at > this.#now) {
      this.#wheel.add(rec.key, at);
      return;
    }
    if (rec.session === null) {
      // Forget the tombstone, unless work is under way or a replica has yet to learn the end.
      let behind = false;
      if (rec.active) {
        for (const p of rec.peers) {
          if (!p.acked || p.match === null || newer(rec.version, p.match)) behind = true;
        }
      }
      if (!rec.claim && rec.queued.length === 0 && rec.pending.length === 0 && !behind) {
        this.#recs.delete(rec.key);
        this.#unsettled.delete(rec.key);
        this.#lagging.delete(rec.key);
      } else {
        this.#wheel.add(rec.key, this.#now + this.#cfg.tombstoneMs);
      }
      return;
    }
    if (rec.active) {
      const delta = createDelta(rec.key, rec.version, [{ op: 'invalidate' }]);
      const version = this.#sequence(rec, rec.session, delta, undefined, undefined);
      this.#await(rec, -1, version, 'quorum', undefined);
      this.#scheduleExpiry(rec);
      return;
    }
    // A backup whose owner has been gone for the grace period: drop the copy locally.
    this.#events.push({ type: 'expired', key: rec.key, by: 'backup', version: rec.version });
    rec.session = null;
    rec.version = INITIAL_VERSION;
    rec.lease = null;
    rec.deadAt = this.#now;
    this.#scheduleExpiry(rec);
  }

  #tickWork(): void {
    const now = this.#now;
    const cfg = this.#cfg;
    for (const key of this.#claiming) {
      const rec = this.#recs.get(key)!;
      const claim = rec.claim!;
      if (now - claim.startedAt >= cfg.claimTimeoutMs) {
        this.#abortClaim(rec, true);
        this.#unsettled.add(key);
        continue;
      }
      if (now - claim.lastSendAt >= cfg.retransmitMs) {
        claim.lastSendAt = now;
        const msg: Message =
          claim.phase === 'prepare'
            ? { t: 'prepare', key, epoch: claim.epoch, version: rec.version }
            : { t: 'accept', key, epoch: claim.epoch, set: rec.accepted!.set, version: rec.floor };
        const answered = claim.phase === 'prepare' ? claim.promises : claim.accepts;
        for (const m of claim.sent) if (!answered.has(m)) this.#send(m, msg);
      }
    }
    for (const key of this.#lagging) {
      const rec = this.#recs.get(key);
      if (!rec || !rec.active) {
        this.#lagging.delete(key);
        continue;
      }
      let behind = false;
      for (const peer of rec.peers) {
        if (peer.acked && peer.match !== null && same(peer.match, rec.version)) continue;
        behind = true;
        if (now - peer.sentAt >= cfg.retransmitMs) this.#catchUp(rec, peer.id, peer);
      }
      if (!behind) this.#lagging.delete(key);
    }
    for (const key of this.#waiting) {
      const rec = this.#recs.get(key);
      if (!rec) {
        this.#waiting.delete(key);
        continue;
      }
      if (rec.pending.length > 0) {
        const keep: Pending[] = [];
        for (const p of rec.pending) {
          if (p.deadline <= now && p.id >= 0) {
            this.#fail(
              p.id,
              'TIMEOUT',
              `not acknowledged at level ${p.level} in time; outcome unknown`,
            );
          } else if (p.deadline > now) keep.push(p);
        }
        rec.pending = keep.length === 0 ? NONE : keep;
      }
      if (rec.queued.length > 0) {
        const keep: Queued[] = [];
        for (const q of rec.queued) {
          if (q.deadline <= now) {
            this.#fail(q.op.id, 'UNAVAILABLE', 'could not take ownership of the session in time');
          } else keep.push(q);
        }
        rec.queued = keep.length === 0 ? NONE : keep;
      }
      if (rec.pending.length === 0 && rec.queued.length === 0) this.#waiting.delete(key);
    }
    for (const key of this.#touchDirty) {
      const rec = this.#recs.get(key);
      if (!rec || !rec.active || rec.session === null || rec.touchAt === undefined) {
        this.#touchDirty.delete(key);
        continue;
      }
      if (now - rec.lastTouchRepl! < this.#touchInterval(rec)) continue;
      const delta = createDelta(rec.key, rec.version, [{ op: 'touch', at: rec.touchAt }]);
      this.#sequence(rec, rec.session, delta, undefined, undefined);
      rec.lastTouchRepl = now;
      rec.touchAt = undefined;
      this.#touchDirty.delete(key);
    }
    if (now - this.#lastSettle >= cfg.settleMs) {
      this.#lastSettle = now;
      for (const key of this.#unsettled) {
        const rec = this.#recs.get(key);
        if (!rec) this.#unsettled.delete(key);
        else this.#evaluate(rec, true);
      }
    }
    for (const key of this.#wheel.due(now)) {
      const rec = this.#recs.get(key);
      if (rec) this.#expire(rec);
    }
  }
}
