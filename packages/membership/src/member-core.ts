import type { ProtocolConfig } from './config.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { MembershipError } from './errors.js';
import { hashBytes, memberVersionHash } from './hash.js';
import { LocalHealth } from './local-health.js';
import type { Random } from './prng.js';
import { randomInt, sample, shuffle } from './prng.js';
import type { RoutableChange } from './routable-set.js';
import { RoutableSet } from './routable-set.js';
import type { TimerHandle } from './scheduler.js';
import { TimerQueue } from './scheduler.js';
import { suspicionTimeout } from './suspicion.js';
import type { DigestEntry, FrameBody, MemberStatus, WireMessage, WireRecord } from './wire.js';
import {
  decodeEnvelope,
  decodeFrame,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeFrame,
  encodeMessage,
  framedSize,
} from './wire.js';

/** What the host must send: a datagram or a stream frame to an address. */
export interface Outbound {
  to: string;
  bytes: Uint8Array;
}

/** Public view of one member. */
export interface MemberSnapshot {
  name: string;
  addr: string;
  status: MemberStatus;
  incarnation: number;
  /** Metadata; `undefined` while large metadata is still being pulled. */
  meta: Uint8Array | undefined;
}

/** Events reported by the core. */
export type MembershipEvent =
  | { type: 'join'; member: MemberSnapshot }
  | { type: 'update'; member: MemberSnapshot }
  | { type: 'suspect'; member: MemberSnapshot; by: string }
  | { type: 'alive'; member: MemberSnapshot }
  | { type: 'dead'; member: MemberSnapshot; by: string }
  | { type: 'leave'; member: MemberSnapshot }
  | ({ type: 'routable-change' } & RoutableChange)
  | { type: 'message'; origin: string; payload: Uint8Array }
  | { type: 'warning'; code: 'udp-degraded' | 'stalled' | 'refuted'; message: string };

/** Result of every call into the core: what to send, what happened, when to wake it next. */
export interface CoreOutput {
  packets: Outbound[];
  streams: Outbound[];
  events: MembershipEvent[];
  /** Absolute time the host must call {@link MemberCore.tick} next (undefined: no timer). */
  wakeAt: number | undefined;
}

/** Counters kept by the core. */
export interface CoreStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  streamsSent: number;
  streamBytesSent: number;
  streamsReceived: number;
  decodeErrors: number;
  wrongCluster: number;
  probes: number;
  probesFailed: number;
  probesHeldBack: number;
  suspicionsRaised: number;
  refutations: number;
  syncs: number;
  localHealth: number;
  incarnation: number;
  checksum: number;
}

/** Construction parameters of a {@link MemberCore}. */
export interface CoreOptions {
  name: string;
  /** Address other members reach this one at (`host:port`, UDP and TCP). */
  addr: string;
  /** Cluster label; packets with another label are dropped. */
  cluster: string;
  config: ProtocolConfig;
  random: Random;
  meta?: Uint8Array;
  /** Initial incarnation (default 0). */
  incarnation?: number;
}

interface Suspicion {
  incarnation: number;
  start: number;
  accusers: Set<string>;
  timer: TimerHandle;
  lastLook: TimerHandle | undefined;
  answered: boolean;
  deferred: boolean;
}

interface Member {
  name: string;
  addr: string;
  incarnation: number;
  status: MemberStatus;
  meta: Uint8Array | undefined;
  metaHash: number;
  metaSize: number;
  since: number;
  suspicion: Suspicion | undefined;
}

interface Probe {
  seq: number;
  target: Member;
  start: number;
  acked: boolean;
  tcpAcked: boolean;
  tcpRefused: boolean;
  nacks: number;
  expectedNacks: number;
}

interface Relay {
  to: string;
  seq: number;
  acked: boolean;
}

const RANK: Record<MemberStatus, number> = { alive: 0, suspect: 1, dead: 2, left: 2 };
const isUp = (s: MemberStatus): boolean => s === 'alive' || s === 'suspect';

/**
 * The SWIM + Lifeguard protocol state machine, sans I/O. Inputs are `(now, datagram | stream
 * frame | timer | local request)`; every call returns the datagrams and frames to send, the
 * events, and the next wake-up time. It never reads a clock, sets a timer or touches a socket;
 * time and randomness come from the host.
 */
export class MemberCore {
  readonly name: string;
  readonly addr: string;
  private readonly cfg: ProtocolConfig;
  private readonly cluster: string;
  private readonly random: Random;
  private readonly timers = new TimerQueue();
  private readonly queue = new BroadcastQueue();
  private readonly health: LocalHealth;
  private readonly routableSet: RoutableSet;
  private readonly members = new Map<string, Member>();
  private readonly self: Member;
  private readonly header: Uint8Array;
  private out: CoreOutput = { packets: [], streams: [], events: [], wakeAt: undefined };
  private probeList: string[] = [];
  private priorityProbes: string[] = [];
  private probeIndex = 0;
  private probe: Probe | undefined;
  private relays = new Map<number, Relay>();
  private seq = 0;
  private userSeq = 0;
  private seenUser = new Map<string, number>();
  private checksumValue = 0;
  private upCount = 0;
  private seeds: string[] = [];
  private started = false;
  private leaving = false;
  private lastSync = -Infinity;
  private mismatchSince: number | undefined;
  private lastUdpWarning = new Map<string, number>();
  private informed = new Map<string, number>();
  private lastLooks = new Map<number, Suspicion>();
  private corrected = new Map<string, number>();
  private readonly counters: Omit<CoreStats, 'localHealth' | 'incarnation' | 'checksum'> = {
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    streamsSent: 0,
    streamBytesSent: 0,
    streamsReceived: 0,
    decodeErrors: 0,
    wrongCluster: 0,
    probes: 0,
    probesFailed: 0,
    probesHeldBack: 0,
    suspicionsRaised: 0,
    refutations: 0,
    syncs: 0,
  };
  private lastNow = 0;

  constructor(opts: CoreOptions) {
    this.name = opts.name;
    this.addr = opts.addr;
    this.cfg = opts.config;
    this.cluster = opts.cluster;
    this.random = opts.random;
    this.health = new LocalHealth(
      this.cfg.awarenessMax,
      this.cfg.probeTimeoutMs,
      this.cfg.probeIntervalMs,
    );
    this.routableSet = new RoutableSet(this.cfg, this.name);
    this.header = encodeEnvelopeHeader(this.cluster, this.name);
    const meta = opts.meta ?? new Uint8Array(0);
    this.checkMeta(meta);
    this.self = {
      name: this.name,
      addr: this.addr,
      incarnation: opts.incarnation ?? 0,
      status: 'alive',
      meta,
      metaHash: hashBytes(meta),
      metaSize: meta.length,
      since: 0,
      suspicion: undefined,
    };
    this.members.set(this.name, this.self);
    this.count(this.self, true);
  }

  // ------------------------------------------------------------------ inputs

  /** Start probing and join through `seeds` (addresses; may be empty for the first member). */
  start(now: number, seeds: readonly string[] = []): CoreOutput {
    if (this.started) throw new MembershipError('ERR_STATE', 'start: already started');
    this.started = true;
    this.lastNow = now;
    this.self.since = now;
    this.seeds = seeds.filter((s) => s !== this.addr);
    const c = this.cfg;
    this.timers.at(now + this.random() * c.probeIntervalMs, (t, slip) => this.probeTick(t, slip));
    this.timers.at(now + this.random() * c.gossipIntervalMs, (t) => this.gossipTick(t));
    this.timers.at(now + c.deadProbeIntervalMs * (0.5 + this.random()), (t) =>
      this.deadProbeTick(t),
    );
    this.timers.at(now + 1000, (t) => this.housekeeping(t));
    if (this.seeds.length > 0) this.joinTick(now);
    return this.flush(now);
  }

  /** A datagram arrived from `fromAddr`. Malformed input is counted and dropped. */
  receivePacket(now: number, fromAddr: string, bytes: Uint8Array): CoreOutput {
    this.lastNow = now;
    this.counters.packetsReceived++;
    this.counters.bytesReceived += bytes.length;
    let env;
    try {
      env = decodeEnvelope(bytes);
    } catch (err) {
      if (!(err instanceof MembershipError)) throw err;
      this.counters.decodeErrors++;
      return this.flush(now);
    }
    if (env.cluster !== this.cluster) {
      this.counters.wrongCluster++;
      return this.flush(now);
    }
    if (!this.leaving) {
      for (const m of env.messages) this.handleMessage(now, env.from, fromAddr, m);
    }
    return this.flush(now);
  }

  /** A stream frame (TCP) arrived. Malformed input is counted and dropped. */
  receiveStream(now: number, bytes: Uint8Array): CoreOutput {
    this.lastNow = now;
    this.counters.streamsReceived++;
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      if (!(err instanceof MembershipError)) throw err;
      this.counters.decodeErrors++;
      return this.flush(now);
    }
    if (frame.cluster !== this.cluster) {
      this.counters.wrongCluster++;
      return this.flush(now);
    }
    if (!this.leaving) this.handleFrame(now, frame.from, frame.fromAddr, frame.body);
    return this.flush(now);
  }

  /** Run due timers. Call at (or after) the last returned `wakeAt`. */
  tick(now: number): CoreOutput {
    this.lastNow = now;
    this.timers.run(now);
    return this.flush(now);
  }

  /**
   * Report this process's measured event-loop delay (ms), e.g. from `monitorEventLoopDelay`.
   * Large delays slow probing and hold back accusations (Lifeguard extension).
   */
  reportLoopDelay(now: number, delayMs: number): CoreOutput {
    if (
      this.cfg.lifeguard &&
      this.health.reportDelay(now, delayMs) &&
      delayMs > this.cfg.probeTimeoutMs
    ) {
      this.preemptiveRefute(now, delayMs);
    }
    return this.flush(now);
  }

  /**
   * The host could not deliver a stream frame to `to`. `refused` means the peer's host answered
   * that nothing listens there (TCP RST): for a fallback probe that is an independent sign that
   * the process is gone, counted as one more accuser.
   */
  streamFailed(now: number, to: string, refused: boolean): CoreOutput {
    if (refused && this.probe && this.probe.target.addr === to) this.probe.tcpRefused = true;
    return this.flush(now);
  }

  /** Publish new metadata (bumps the incarnation and gossips it). */
  updateMetadata(now: number, meta: Uint8Array): CoreOutput {
    this.checkMeta(meta);
    this.count(this.self, false);
    this.self.incarnation++;
    this.self.meta = meta;
    this.self.metaHash = hashBytes(meta);
    this.self.metaSize = meta.length;
    this.count(this.self, true);
    this.enqueueAlive(this.self);
    return this.flush(now);
  }

  /** Gossip a small user message to every member (at most once per member). */
  broadcast(now: number, payload: Uint8Array): CoreOutput {
    if (payload.length > this.cfg.userMessageMaxBytes) {
      throw new MembershipError(
        'ERR_PACKET_TOO_LARGE',
        `broadcast: payload of ${payload.length} bytes exceeds userMessageMaxBytes`,
        { field: 'payload', expected: `at most ${this.cfg.userMessageMaxBytes} bytes` },
      );
    }
    const id = ++this.userSeq;
    this.seenUser.set(`${this.name}\u0000${id}`, now);
    const bytes = encodeMessage({ type: 'user', origin: this.name, id, payload });
    this.queue.enqueue(this.name, `u:${this.name}:${id}`, 'user', bytes, false);
    return this.flush(now);
  }

  /** Leave gracefully: tell members directly and by gossip, then stop probing. */
  leave(now: number): CoreOutput {
    if (this.leaving) return this.flush(now);
    this.leaving = true;
    this.count(this.self, false);
    this.self.status = 'left';
    const msg = encodeMessage({
      type: 'dead',
      name: this.name,
      incarnation: this.self.incarnation,
      from: this.name,
      left: true,
    });
    this.queue.enqueue(this.name, `m:${this.name}`, 'member', msg, true);
    const peers = this.upPeers();
    for (const m of sample(this.random, peers, this.cfg.leaveFanout))
      this.sendPacket(m.addr, [msg]);
    return this.flush(now);
  }

  // ------------------------------------------------------------------ queries

  /** Next time the host must call {@link MemberCore.tick}. */
  nextWake(): number | undefined {
    return this.timers.next();
  }

  /** Every known member, self included, tombstones included. */
  snapshot(): MemberSnapshot[] {
    return [...this.members.values()].map((m) => this.snap(m));
  }

  /** One member, or undefined. */
  member(name: string): MemberSnapshot | undefined {
    const m = this.members.get(name);
    return m ? this.snap(m) : undefined;
  }

  /** Names in the routable set. */
  routable(): string[] {
    return this.routableSet.members();
  }

  /** Membership checksum (XOR of member versions of alive and suspect members). */
  checksum(): number {
    return this.checksumValue;
  }

  /** True once {@link MemberCore.leave} was called. */
  hasLeft(): boolean {
    return this.leaving;
  }

  /** Pending broadcasts (for leave: wait until zero before closing). */
  pendingBroadcasts(): number {
    return this.queue.pending();
  }

  /** Counters. */
  stats(): CoreStats {
    return {
      ...this.counters,
      localHealth: this.health.value(this.lastNow),
      incarnation: this.self.incarnation,
      checksum: this.checksumValue,
    };
  }

  // ------------------------------------------------------------------ probing

  private probeTick(now: number, slip: number): void {
    this.noteSlip(now, slip);
    if (this.leaving) return;
    const mult = this.cfg.lifeguard ? this.health.multiplier(now) : 1;
    this.timers.at(now + this.cfg.probeIntervalMs * mult, (t, s) => this.probeTick(t, s));
    const target = this.nextProbeTarget();
    if (!target) return;
    this.counters.probes++;
    const seq = this.nextSeq();
    const probe: Probe = {
      seq,
      target,
      start: now,
      acked: false,
      tcpAcked: false,
      tcpRefused: false,
      nacks: 0,
      expectedNacks: 0,
    };
    this.probe = probe;
    const parts = [
      encodeMessage({ type: 'ping', seq, target: target.name, checksum: this.checksumValue }),
    ];
    if (this.cfg.lifeguard && target.status === 'suspect') {
      // Buddy system: tell the suspect first, so it can refute at once.
      parts.push(
        encodeMessage({
          type: 'suspect',
          name: target.name,
          incarnation: target.incarnation,
          from: this.name,
        }),
      );
    }
    this.sendPacket(target.addr, parts);
    const timeout = this.cfg.probeTimeoutMs * (this.cfg.lifeguard ? mult : 1);
    this.timers.at(now + timeout, (t, s) => this.probeIndirect(t, s, probe));
    this.timers.at(now + this.cfg.probeIntervalMs * mult, (t, s) => this.probeEnd(t, s, probe));
  }

  private probeIndirect(now: number, slip: number, probe: Probe): void {
    this.noteSlip(now, slip);
    if (probe.acked || this.probe !== probe || this.leaving) return;
    const helpers = sample(
      this.random,
      this.upPeers().filter((m) => m.name !== probe.target.name && m.status === 'alive'),
      this.cfg.indirectChecks,
    );
    probe.expectedNacks = helpers.length;
    const req = encodeMessage({
      type: 'ping-req',
      seq: probe.seq,
      target: probe.target.name,
      targetAddr: probe.target.addr,
    });
    for (const h of helpers) this.sendPacket(h.addr, [req]);
    if (this.cfg.tcpFallback) {
      this.sendFrame(probe.target.addr, {
        type: 'ping',
        seq: probe.seq,
        target: probe.target.name,
        checksum: this.checksumValue,
      });
    }
  }

  private probeEnd(now: number, slip: number, probe: Probe): void {
    this.noteSlip(now, slip);
    if (this.probe === probe) this.probe = undefined;
    if (this.leaving) return;
    const target = probe.target;
    if (probe.acked) {
      this.health.apply(-1);
      return;
    }
    if (probe.tcpAcked) {
      const last = this.lastUdpWarning.get(target.name) ?? -Infinity;
      if (now - last > 60_000) {
        this.lastUdpWarning.set(target.name, now);
        this.event({
          type: 'warning',
          code: 'udp-degraded',
          message: `${target.name} answered over TCP but not over UDP; the network may drop UDP`,
        });
      }
      return;
    }
    if (this.members.get(target.name) !== target || !isUp(target.status)) return;
    if (this.cfg.lifeguard && this.health.stalledSince(probe.start - this.cfg.probeTimeoutMs)) {
      // This member itself stalled during the probe: the silence may be ours. Hold back.
      this.counters.probesHeldBack++;
      this.health.apply(1);
      return;
    }
    this.counters.probesFailed++;
    if (this.cfg.lifeguard) {
      this.health.apply(probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacks : 1);
    }
    this.suspect(now, target.name, target.incarnation, this.name);
    if (probe.tcpRefused) this.suspect(now, target.name, target.incarnation, `${this.name}#tcp`);
  }

  private nextProbeTarget(): Member | undefined {
    while (this.priorityProbes.length > 0) {
      const m = this.members.get(this.priorityProbes.shift() as string);
      if (m && m.status === 'suspect') return m;
    }
    for (let tries = 0; tries <= this.probeList.length + 1; tries++) {
      if (this.probeIndex >= this.probeList.length) {
        this.probeList = shuffle(
          this.random,
          [...this.members.values()]
            .filter((m) => m !== this.self && isUp(m.status))
            .map((m) => m.name),
        );
        this.probeIndex = 0;
        if (this.probeList.length === 0) return undefined;
      }
      const name = this.probeList[this.probeIndex++] as string;
      const m = this.members.get(name);
      if (m && m !== this.self && isUp(m.status)) return m;
    }
    return undefined;
  }

  private deadProbeTick(now: number): void {
    if (this.leaving) return;
    this.timers.at(now + this.cfg.deadProbeIntervalMs, (t) => this.deadProbeTick(t));
    const dead = [...this.members.values()].filter((m) => m.status === 'dead');
    if (dead.length === 0) return;
    const m = dead[randomInt(this.random, dead.length)] as Member;
    // An ack from a member we hold dead starts a sync (see handleMessage): partitions heal.
    this.sendPacket(m.addr, [
      encodeMessage({
        type: 'ping',
        seq: this.nextSeq(),
        target: m.name,
        checksum: this.checksumValue,
      }),
    ]);
  }

  private noteSlip(now: number, slip: number): void {
    if (!this.cfg.lifeguard) return;
    if (this.health.reportDelay(now, slip) && slip > this.cfg.probeTimeoutMs) {
      this.preemptiveRefute(now, slip);
    }
  }

  private preemptiveRefute(now: number, delayMs: number): void {
    // After a stall long enough to fail probes, others may suspect us: refute before being told.
    if (this.leaving) return;
    this.event({
      type: 'warning',
      code: 'stalled',
      message: `event loop stalled for ${Math.round(delayMs)} ms`,
    });
    this.refute(now, this.self.incarnation);
  }

  // ------------------------------------------------------------------ gossip

  private gossipTick(now: number): void {
    this.timers.at(now + this.cfg.gossipIntervalMs, (t) => this.gossipTick(t));
    if (this.queue.pending() === 0) return;
    const targets = [...this.members.values()].filter(
      (m) =>
        m !== this.self &&
        (isUp(m.status) || (m.status === 'dead' && now - m.since < this.cfg.gossipToDeadMs)),
    );
    for (const m of sample(this.random, targets, this.cfg.gossipNodes)) {
      if (this.queue.pending() === 0) break;
      this.sendPacket(m.addr, []);
    }
  }

  private retransmitLimit(): number {
    return this.cfg.retransmitMult * Math.max(1, Math.ceil(Math.log10(this.upCount + 1)));
  }

  private sendPacket(to: string, required: Uint8Array[]): void {
    let budget = this.cfg.maxPacketBytes - this.cfg.packetOverheadBytes - this.header.length;
    for (const p of required) budget -= framedSize(p);
    const parts = required.concat(
      this.queue.fill(budget, this.retransmitLimit(), this.cfg.userShare),
    );
    if (parts.length === 0) return;
    const bytes = encodeEnvelope(this.header, parts);
    this.counters.packetsSent++;
    this.counters.bytesSent += bytes.length;
    this.out.packets.push({ to, bytes });
  }

  private sendFrame(to: string, body: FrameBody): void {
    const bytes = encodeFrame({
      version: 1,
      cluster: this.cluster,
      from: this.name,
      fromAddr: this.addr,
      body,
    });
    this.counters.streamsSent++;
    this.counters.streamBytesSent += bytes.length;
    this.out.streams.push({ to, bytes });
  }

  // ------------------------------------------------------------------ receive

  private handleMessage(now: number, from: string, fromAddr: string, m: WireMessage): void {
    switch (m.type) {
      case 'ping': {
        if (m.target !== this.name) return;
        this.sendPacket(fromAddr, [
          encodeMessage({ type: 'ack', seq: m.seq, checksum: this.checksumValue }),
        ]);
        this.heardFrom(now, from, fromAddr, m.checksum);
        return;
      }
      case 'ping-req': {
        const seq = this.nextSeq();
        const relay: Relay = { to: fromAddr, seq: m.seq, acked: false };
        this.relays.set(seq, relay);
        this.sendPacket(m.targetAddr, [
          encodeMessage({ type: 'ping', seq, target: m.target, checksum: this.checksumValue }),
        ]);
        this.timers.at(now + this.cfg.probeTimeoutMs, () => {
          if (!relay.acked)
            this.sendPacket(relay.to, [encodeMessage({ type: 'nack', seq: relay.seq })]);
        });
        this.timers.at(now + this.cfg.probeIntervalMs, () => this.relays.delete(seq));
        return;
      }
      case 'ack': {
        const relay = this.relays.get(m.seq);
        if (relay) {
          relay.acked = true;
          this.relays.delete(m.seq);
          this.sendPacket(relay.to, [encodeMessage({ type: 'ack', seq: relay.seq, checksum: 0 })]);
          return;
        }
        if (this.probe && this.probe.seq === m.seq) this.probe.acked = true;
        const look = this.lastLooks.get(m.seq);
        if (look) {
          look.answered = true;
          this.lastLooks.delete(m.seq);
        }
        if (m.checksum !== 0) this.heardFrom(now, from, fromAddr, m.checksum);
        return;
      }
      case 'nack':
        if (this.probe && this.probe.seq === m.seq) this.probe.nacks++;
        return;
      case 'alive':
        this.alive(now, m.name, m.incarnation, m.addr, m.meta, m.metaHash, m.metaSize);
        return;
      case 'suspect':
        this.correctStale(m.name, m.incarnation, fromAddr);
        this.suspect(now, m.name, m.incarnation, m.from);
        return;
      case 'dead':
        if (!m.left) this.correctStale(m.name, m.incarnation, fromAddr);
        this.dead(now, m.name, m.incarnation, m.from, m.left);
        return;
      case 'user': {
        const key = `${m.origin}\u0000${m.id}`;
        if (this.seenUser.has(key) || m.origin === this.name) return;
        this.seenUser.set(key, now);
        this.event({ type: 'message', origin: m.origin, payload: m.payload });
        this.queue.enqueue(m.origin, `u:${m.origin}:${m.id}`, 'user', encodeMessage(m), false);
        return;
      }
    }
  }

  /** A direct message from `from`: compare checksums, heal with members we thought dead. */
  private heardFrom(now: number, from: string, fromAddr: string, checksum: number): void {
    const m = this.members.get(from);
    if (m && m.status === 'dead') {
      this.startSync(now, fromAddr, false);
      return;
    }
    if (checksum === this.checksumValue) {
      this.mismatchSince = undefined;
      return;
    }
    if (this.mismatchSince === undefined) this.mismatchSince = now;
    if (now - this.mismatchSince >= this.cfg.syncCooldownMs && this.queue.pending('member') === 0) {
      this.startSync(now, fromAddr, false);
    }
  }

  private handleFrame(now: number, from: string, fromAddr: string, b: FrameBody): void {
    switch (b.type) {
      case 'ping':
        if (b.target === this.name)
          this.sendFrame(fromAddr, { type: 'ack', seq: b.seq, checksum: this.checksumValue });
        return;
      case 'ack':
        if (this.probe && this.probe.seq === b.seq) this.probe.tcpAcked = true;
        return;
      case 'sync-request': {
        if (b.self) this.mergeRecord(now, b.self, from, true);
        const theirs = new Map<string, DigestEntry>();
        for (const d of b.digest) theirs.set(d.name, d);
        const records: WireRecord[] = [];
        for (const m of this.members.values()) {
          if (m.name === from) continue;
          const d = theirs.get(m.name);
          if (d === undefined ? isUp(m.status) : newer(m, d)) records.push(this.record(m));
        }
        const want: string[] = [];
        for (const d of b.digest) {
          const mine = this.members.get(d.name);
          if (mine === undefined ? isUp(d.status) : newer(d, mine)) want.push(d.name);
        }
        this.sendFrame(fromAddr, {
          type: 'sync-response',
          self: this.record(this.self),
          records,
          want,
        });
        return;
      }
      case 'sync-response': {
        const joining = this.upCount <= 1;
        if (b.self) this.mergeRecord(now, b.self, from, true);
        for (const r of b.records) this.mergeRecord(now, r, from);
        // A new member announces itself too: directly to up to `leaveFanout` members, then by
        // gossip, so the tail of infection-style spreading does not leave anyone unaware.
        if (joining && this.upCount > 1) {
          this.enqueueAlive(this.self);
          const hello = this.aliveMessage(this.self);
          for (const m of sample(this.random, this.upPeers(), this.cfg.leaveFanout)) {
            this.sendPacket(m.addr, [hello]);
          }
        }
        const records: WireRecord[] = [];
        for (const name of b.want) {
          const m = this.members.get(name);
          if (m) records.push(this.record(m));
        }
        if (records.length > 0) this.sendFrame(fromAddr, { type: 'sync-push', records });
        return;
      }
      case 'sync-push':
        for (const r of b.records) this.mergeRecord(now, r, from);
        return;
      case 'meta-pull':
        if (b.name === this.name && b.metaHash === this.self.metaHash) {
          this.sendFrame(fromAddr, {
            type: 'meta-push',
            name: this.name,
            incarnation: this.self.incarnation,
            meta: this.self.meta ?? new Uint8Array(0),
            metaHash: this.self.metaHash,
          });
        }
        return;
      case 'meta-push': {
        const m = this.members.get(b.name);
        if (!m || m === this.self || m.metaHash !== b.metaHash || hashBytes(b.meta) !== b.metaHash)
          return;
        if (m.meta !== undefined) return;
        if (b.meta.length > this.cfg.metadataMaxBytes) return;
        m.meta = b.meta;
        this.event({ type: 'update', member: this.snap(m) });
        return;
      }
    }
  }

  // ------------------------------------------------------------------ anti-entropy

  private startSync(now: number, addr: string, join: boolean): void {
    if (!join && now - this.lastSync < this.cfg.syncCooldownMs) return;
    this.lastSync = now;
    this.mismatchSince = undefined;
    this.counters.syncs++;
    const digest: DigestEntry[] = join
      ? []
      : [...this.members.values()]
          .filter((m) => m !== this.self)
          .map((m) => ({ name: m.name, incarnation: m.incarnation, status: m.status }));
    this.sendFrame(addr, { type: 'sync-request', join, self: this.record(this.self), digest });
  }

  private mergeRecord(now: number, r: WireRecord, via: string, firstHand = false): void {
    if (r.name === this.name) {
      if (this.leaving) return;
      if (
        r.incarnation > this.self.incarnation ||
        (r.incarnation === this.self.incarnation && r.status !== 'alive')
      ) {
        this.refute(now, r.incarnation);
      }
      return;
    }
    const local = this.members.get(r.name);
    switch (r.status) {
      case 'alive':
        this.alive(now, r.name, r.incarnation, r.addr, r.meta, r.metaHash, r.metaSize, firstHand);
        return;
      case 'suspect':
        if (!local)
          this.alive(now, r.name, r.incarnation, r.addr, r.meta, r.metaHash, r.metaSize, false);
        this.suspect(now, r.name, r.incarnation, via);
        return;
      case 'dead':
        // Full syncs may carry stale deaths (partitions): suspect instead, so a live member refutes.
        if (local && isUp(local.status)) this.suspect(now, r.name, r.incarnation, via);
        return;
      case 'left':
        if (local) this.dead(now, r.name, r.incarnation, r.name, true);
        return;
    }
  }

  private joinTick(now: number): void {
    if (this.leaving) return;
    const joined = this.upCount > 1;
    if (!joined) {
      for (const s of this.seeds) this.startSync(now, s, true);
      this.timers.at(now + this.cfg.joinRetryMs, (t) => this.joinTick(t));
      return;
    }
    // Re-contact seeds that are not in the alive view (partition healing, restarted seeds).
    const upAddrs = new Set(
      [...this.members.values()].filter((m) => isUp(m.status)).map((m) => m.addr),
    );
    const missing = this.seeds.filter((s) => !upAddrs.has(s));
    if (missing.length > 0) {
      const s = missing[randomInt(this.random, missing.length)] as string;
      this.lastSync = -Infinity;
      this.startSync(now, s, false);
    }
    this.timers.at(now + this.cfg.seedIntervalMs, (t) => this.joinTick(t));
  }

  // ------------------------------------------------------------------ state transitions

  private alive(
    now: number,
    name: string,
    incarnation: number,
    addr: string,
    meta: Uint8Array,
    metaHash: number,
    metaSize: number,
    announceNew = true,
  ): void {
    if (name === this.name) {
      if (this.leaving) return;
      if (
        incarnation > this.self.incarnation ||
        (incarnation === this.self.incarnation &&
          (addr !== this.addr || metaHash !== this.self.metaHash))
      ) {
        this.refute(now, incarnation);
      }
      return;
    }
    if (metaSize > this.cfg.metadataMaxBytes) return;
    const inline = meta.length === metaSize && hashBytes(meta) === metaHash;
    let m = this.members.get(name);
    if (!m) {
      if (this.leaving) return;
      m = {
        name,
        addr,
        incarnation,
        status: 'alive',
        meta: inline ? meta : undefined,
        metaHash,
        metaSize,
        since: now,
        suspicion: undefined,
      };
      this.members.set(name, m);
      this.count(m, true);
      this.probeList.splice(randomInt(this.random, this.probeList.length + 1), 0, name);
      this.routableSet.observe(name, 'alive', now);
      this.event({ type: 'join', member: this.snap(m) });
      if (!inline) this.pullMeta(m);
      // Members learned from another member's full state are not news to the cluster: only
      // first-hand announcements (gossip, a peer's own record) are gossiped on.
      if (announceNew) this.enqueueAlive(m);
      return;
    }
    if (incarnation <= m.incarnation) return;
    const wasDown = !isUp(m.status);
    const wasSuspect = m.status === 'suspect';
    const changed = m.addr !== addr || m.metaHash !== metaHash;
    this.count(m, false);
    m.incarnation = incarnation;
    m.addr = addr;
    if (m.metaHash !== metaHash || (m.meta === undefined && inline)) {
      m.meta = inline ? meta : undefined;
      m.metaHash = metaHash;
      m.metaSize = metaSize;
    }
    this.clearSuspicion(m);
    m.status = 'alive';
    if (wasDown || wasSuspect) m.since = now;
    this.count(m, true);
    if (wasDown) this.probeList.splice(randomInt(this.random, this.probeList.length + 1), 0, name);
    this.routableSet.observe(name, 'alive', now);
    if (wasDown) this.event({ type: 'join', member: this.snap(m) });
    else if (wasSuspect) this.event({ type: 'alive', member: this.snap(m) });
    if (changed && !wasDown && m.meta !== undefined)
      this.event({ type: 'update', member: this.snap(m) });
    if (m.meta === undefined) this.pullMeta(m);
    this.enqueueAlive(m);
  }

  private suspect(now: number, name: string, incarnation: number, from: string): void {
    if (name === this.name) {
      if (this.leaving) return;
      if (incarnation >= this.self.incarnation) this.refute(now, incarnation);
      this.tellAccuser(from);
      return;
    }
    const m = this.members.get(name);
    if (!m || !isUp(m.status) || incarnation < m.incarnation) return;
    const s = m.suspicion;
    if (m.status === 'suspect' && s && s.incarnation === incarnation) {
      if (s.accusers.has(from)) return;
      s.accusers.add(from);
      this.rescheduleSuspicion(m, s);
      this.routableSet.suspicion(name, incarnation, s.accusers.size, now);
      this.queue.enqueue(
        name,
        `s:${name}:${from}`,
        'member',
        encodeMessage({ type: 'suspect', name, incarnation, from }),
        false,
      );
      return;
    }
    this.count(m, false);
    m.incarnation = incarnation;
    m.status = 'suspect';
    m.since = now;
    this.count(m, true);
    if (from === this.name) this.counters.suspicionsRaised++;
    const sus: Suspicion = {
      incarnation,
      start: now,
      accusers: new Set([from]),
      timer: undefined as unknown as TimerHandle,
      lastLook: undefined,
      answered: false,
      deferred: false,
    };
    m.suspicion = sus;
    this.rescheduleSuspicion(m, sus);
    this.routableSet.observe(name, 'suspect', now);
    this.routableSet.suspicion(name, incarnation, 1, now);
    this.event({ type: 'suspect', member: this.snap(m), by: from });
    if (this.cfg.lifeguard && from !== this.name) {
      // Seek independent confirmation: a few members (2K expected, whatever N) probe the
      // suspect next instead of waiting for their round-robin turn.
      const k = Math.max(1, this.cfg.suspicionConfirmations);
      if (this.random() < (2 * k) / Math.max(1, this.upCount - 2)) this.priorityProbes.push(name);
    }
    this.queue.invalidate(name);
    this.queue.enqueue(
      name,
      `s:${name}:${from}`,
      'member',
      encodeMessage({ type: 'suspect', name, incarnation, from }),
      false,
    );
  }

  private rescheduleSuspicion(m: Member, s: Suspicion): void {
    s.timer?.cancel();
    const c = this.cfg;
    let timeout: number;
    if (c.lifeguard) {
      const k = Math.min(c.suspicionConfirmations, Math.max(0, this.upCount - 2));
      timeout = suspicionTimeout(s.accusers.size - 1, k, c.suspicionMinMs, c.suspicionMaxMs);
    } else {
      timeout = c.suspicionMinMs;
    }
    s.timer = this.timers.at(s.start + timeout, (now, slip) =>
      this.suspicionExpired(now, slip, m, s),
    );
    if (c.lifeguard) {
      // Last look: shortly before the verdict, ping the suspect once with the suspicion attached.
      // A live suspect answers (and refutes straight to us), so a refutation lost in the gossip
      // tail does not turn into a false death. It costs no detection time.
      s.lastLook?.cancel();
      s.lastLook = this.timers.at(
        Math.max(this.lastNow, s.start + timeout - c.probeTimeoutMs),
        () => {
          if (m.suspicion !== s || m.status !== 'suspect') return;
          const seq = this.nextSeq();
          this.lastLooks.set(seq, s);
          this.timers.at(s.start + timeout + c.probeIntervalMs, () => this.lastLooks.delete(seq));
          this.sendPacket(m.addr, [
            encodeMessage({ type: 'ping', seq, target: m.name, checksum: this.checksumValue }),
            encodeMessage({
              type: 'suspect',
              name: m.name,
              incarnation: s.incarnation,
              from: this.name,
            }),
          ]);
        },
      );
    }
  }

  private suspicionExpired(now: number, slip: number, m: Member, s: Suspicion): void {
    if (m.suspicion !== s || m.status !== 'suspect') return;
    if (s.answered) {
      // The suspect answered our last look: it is alive; its refutation is on its way to us.
      s.answered = false;
      s.timer = this.timers.at(now + this.cfg.probeIntervalMs, (t, sl) =>
        this.suspicionExpired(t, sl, m, s),
      );
      return;
    }
    if (this.cfg.lifeguard && slip > this.cfg.probeTimeoutMs / 2 && !s.deferred) {
      // We ran late: a refutation may be waiting in our own receive queue. Look again shortly.
      s.deferred = true;
      this.noteSlip(now, slip);
      s.timer = this.timers.at(now + this.cfg.probeTimeoutMs, (t, sl) =>
        this.suspicionExpired(t, sl, m, s),
      );
      return;
    }
    this.dead(now, m.name, s.incarnation, this.name, false);
  }

  private dead(now: number, name: string, incarnation: number, from: string, left: boolean): void {
    if (name === this.name) {
      if (this.leaving) return;
      if (incarnation >= this.self.incarnation) this.refute(now, incarnation);
      this.tellAccuser(from);
      return;
    }
    const m = this.members.get(name);
    if (!m || incarnation < m.incarnation) return;
    if (!isUp(m.status)) {
      if (left && m.status === 'dead' && incarnation === m.incarnation) {
        m.status = 'left';
        this.routableSet.observe(name, 'left', now);
      }
      return;
    }
    this.count(m, false);
    this.clearSuspicion(m);
    m.incarnation = incarnation;
    m.status = left ? 'left' : 'dead';
    m.since = now;
    this.routableSet.observe(name, m.status, now);
    this.event(
      left
        ? { type: 'leave', member: this.snap(m) }
        : { type: 'dead', member: this.snap(m), by: from },
    );
    this.queue.enqueue(
      name,
      `m:${name}`,
      'member',
      encodeMessage({ type: 'dead', name, incarnation, from, left }),
      true,
    );
  }

  private refute(now: number, incarnation: number): void {
    this.count(this.self, false);
    this.self.incarnation = Math.max(this.self.incarnation, incarnation) + 1;
    this.count(this.self, true);
    this.counters.refutations++;
    if (this.cfg.lifeguard) this.health.apply(1);
    this.enqueueAlive(this.self);
    void now;
  }

  /**
   * A peer gossiped an accusation we know to be outdated (the member has since refuted it):
   * answer with the newer alive directly, once per peer, member and incarnation, so a member
   * missed by the gossip of the refutation learns it before its own suspicion timer expires.
   */
  private correctStale(name: string, incarnation: number, fromAddr: string): void {
    if (!this.cfg.lifeguard || name === this.name) return;
    const m = this.members.get(name);
    if (!m || m.status !== 'alive' || incarnation >= m.incarnation) return;
    const key = `${fromAddr}|${name}`;
    if (this.corrected.get(key) === m.incarnation) return;
    if (this.corrected.size > 4096) this.corrected.clear();
    this.corrected.set(key, m.incarnation);
    this.sendPacket(fromAddr, [this.aliveMessage(m)]);
  }

  /**
   * Send our current alive straight to a member that accused us (once per incarnation), so the
   * accuser whose timer runs first does not depend on gossip reaching it in time.
   */
  private tellAccuser(from: string): void {
    if (!this.cfg.lifeguard) return;
    const name = from.endsWith('#tcp') ? from.slice(0, -4) : from;
    const m = this.members.get(name);
    if (
      !m ||
      m === this.self ||
      !isUp(m.status) ||
      this.informed.get(name) === this.self.incarnation
    )
      return;
    if (this.informed.size > 4096) this.informed.clear();
    this.informed.set(name, this.self.incarnation);
    this.sendPacket(m.addr, [this.aliveMessage(this.self)]);
  }

  private clearSuspicion(m: Member): void {
    m.suspicion?.timer.cancel();
    m.suspicion?.lastLook?.cancel();
    m.suspicion = undefined;
  }

  private enqueueAlive(m: Member): void {
    this.queue.enqueue(m.name, `m:${m.name}`, 'member', this.aliveMessage(m), true);
  }

  private aliveMessage(m: Member): Uint8Array {
    const inline = m.metaSize <= this.cfg.inlineMetadataMaxBytes && m.meta !== undefined;
    return encodeMessage({
      type: 'alive',
      name: m.name,
      incarnation: m.incarnation,
      addr: m.addr,
      meta: inline ? (m.meta as Uint8Array) : new Uint8Array(0),
      metaHash: m.metaHash,
      metaSize: m.metaSize,
    });
  }

  private pullMeta(m: Member): void {
    if (m.metaSize === 0) return;
    this.sendFrame(m.addr, { type: 'meta-pull', name: m.name, metaHash: m.metaHash });
  }

  private housekeeping(now: number): void {
    this.timers.at(now + 1000, (t) => this.housekeeping(t));
    for (const m of this.members.values()) {
      if (!isUp(m.status) && m !== this.self && now - m.since > this.cfg.tombstoneTtlMs) {
        this.members.delete(m.name);
        this.routableSet.forget(m.name, now);
      }
    }
    for (const [k, t] of this.seenUser) if (now - t > 120_000) this.seenUser.delete(k);
    this.routableSet.recheck(now);
  }

  // ------------------------------------------------------------------ helpers

  private record(m: Member): WireRecord {
    const inline = m.metaSize <= this.cfg.inlineMetadataMaxBytes && m.meta !== undefined;
    return {
      name: m.name,
      addr: m.addr,
      incarnation: m.incarnation,
      status: m.status,
      meta: inline ? (m.meta as Uint8Array) : new Uint8Array(0),
      metaHash: m.metaHash,
      metaSize: m.metaSize,
    };
  }

  private count(m: Member, add: boolean): void {
    if (!isUp(m.status)) return;
    this.checksumValue = (this.checksumValue ^ memberVersionHash(m.name, m.incarnation)) >>> 0;
    this.upCount += add ? 1 : -1;
  }

  private upPeers(): Member[] {
    const out: Member[] = [];
    for (const m of this.members.values()) if (m !== this.self && isUp(m.status)) out.push(m);
    return out;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private checkMeta(meta: Uint8Array): void {
    if (meta.length > this.cfg.metadataMaxBytes) {
      throw new MembershipError(
        'ERR_CONFIG',
        `metadata: ${meta.length} bytes exceeds metadataMaxBytes`,
        {
          field: 'metadata',
          expected: `at most ${this.cfg.metadataMaxBytes} bytes`,
        },
      );
    }
  }

  private snap(m: Member): MemberSnapshot {
    return {
      name: m.name,
      addr: m.addr,
      status: m.status,
      incarnation: m.incarnation,
      meta: m.meta,
    };
  }

  private event(e: MembershipEvent): void {
    this.out.events.push(e);
  }

  private flush(now: number): CoreOutput {
    const rc = this.routableSet.flush(now);
    if (rc) this.event({ type: 'routable-change', ...rc });
    const out = this.out;
    const rd = this.routableSet.deadline();
    const tn = this.timers.next();
    out.wakeAt = rd === undefined ? tn : tn === undefined ? rd : Math.min(rd, tn);
    this.out = { packets: [], streams: [], events: [], wakeAt: undefined };
    return out;
  }
}

function newer(
  a: { incarnation: number; status: MemberStatus },
  b: { incarnation: number; status: MemberStatus },
): boolean {
  return (
    a.incarnation > b.incarnation ||
    (a.incarnation === b.incarnation && RANK[a.status] > RANK[b.status])
  );
}
