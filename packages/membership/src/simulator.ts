import type { PresetName, ProtocolConfig } from './config.js';
import { resolveConfig } from './config.js';
import { hashString } from './hash.js';
import type { CoreOutput, MembershipEvent } from './member-core.js';
import { MemberCore } from './member-core.js';
import type { Random } from './prng.js';
import { seededRandom } from './prng.js';

/** Network behaviour of a directed link (or the default for all links). */
export interface LinkModel {
  /** Probability a datagram is lost. */
  loss: number;
  /** One-way base delay in ms. */
  delayMs: number;
  /** Uniform extra delay in [0, jitterMs). */
  jitterMs: number;
}

/** Options of a {@link Simulator} run. */
export interface SimulatorOptions {
  /** The run's seed: same seed, same run. */
  seed: number;
  preset?: PresetName;
  config?: Partial<ProtocolConfig>;
  link?: Partial<LinkModel>;
  /** Datagrams larger than this are dropped, as on a real path. */
  mtu?: number;
  /** Stream (TCP) retransmission timeout and attempts before giving up. */
  streamRtoMs?: number;
  streamMaxTries?: number;
  cluster?: string;
}

/** Options for one simulated member. */
export interface SimNodeOptions {
  meta?: Uint8Array;
  /** Names of members to join through. */
  seeds?: string[];
  /** Per-member config overrides (e.g. the Lifeguard ablation). */
  config?: Partial<ProtocolConfig>;
}

/** Traffic counters of one simulated member. */
export interface SimTraffic {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  streamsSent: number;
  streamBytesSent: number;
  maxPacketBytes: number;
}

/** A listener for every event any member reports. */
export type SimEventListener = (now: number, node: string, event: MembershipEvent) => void;

interface Node {
  name: string;
  addr: string;
  opts: SimNodeOptions;
  core: MemberCore;
  crashed: boolean;
  pausedUntil: number;
  backlog: (() => void)[];
  wakeGen: number;
  wakeAt: number | undefined;
  timerWhilePaused: boolean;
  restarts: number;
  traffic: SimTraffic;
  ingressLoss: number;
  egressLoss: number;
}

interface QEvent {
  at: number;
  seq: number;
  run: () => void;
}

/**
 * Deterministic discrete-event simulator for many protocol cores in one process: virtual clock,
 * per-link loss/delay/jitter, one-way loss, partitions, MTU, paused and CPU-starved members,
 * crashes and restarts. Everything random comes from the seed, so a run is replayable: print
 * the seed of a failing run and run it again.
 */
export class Simulator {
  /** Virtual time in ms. */
  now = 0;
  readonly seed: number;
  readonly config: ProtocolConfig;
  private readonly random: Random;
  private readonly nodes = new Map<string, Node>();
  private readonly byAddr = new Map<string, Node>();
  private readonly heap: QEvent[] = [];
  private qseq = 0;
  private readonly link: LinkModel;
  private readonly links = new Map<string, Partial<LinkModel>>();
  private readonly blocked = new Set<string>();
  private readonly listeners: SimEventListener[] = [];
  private readonly opts: SimulatorOptions;
  private readonly cluster: string;
  /** Datagrams dropped for exceeding the MTU. */
  mtuDrops = 0;
  /** Events processed (a determinism fingerprint together with {@link Simulator.trace}). */
  steps = 0;
  private traceHash = 0x811c9dc5;

  constructor(opts: SimulatorOptions) {
    this.opts = opts;
    this.seed = opts.seed;
    this.random = seededRandom(opts.seed);
    this.config = resolveConfig(opts.preset ?? 'lan', opts.config ?? {});
    this.link = { loss: 0, delayMs: 0.5, jitterMs: 0.5, ...opts.link };
    this.cluster = opts.cluster ?? 'sim';
  }

  /** Subscribe to every member's events. */
  onEvent(listener: SimEventListener): void {
    this.listeners.push(listener);
  }

  /** Add and start a member now. */
  addNode(name: string, opts: SimNodeOptions = {}): void {
    if (this.nodes.has(name)) throw new Error(`simulator: node ${name} exists`);
    const addr = `${name}:7946`;
    const node: Node = {
      name,
      addr,
      opts,
      core: this.makeCore(name, addr, opts, 0),
      crashed: false,
      pausedUntil: 0,
      backlog: [],
      wakeGen: 0,
      wakeAt: undefined,
      timerWhilePaused: false,
      restarts: 0,
      traffic: {
        packetsSent: 0,
        bytesSent: 0,
        packetsReceived: 0,
        bytesReceived: 0,
        streamsSent: 0,
        streamBytesSent: 0,
        maxPacketBytes: 0,
      },
      ingressLoss: 0,
      egressLoss: 0,
    };
    this.nodes.set(name, node);
    this.byAddr.set(addr, node);
    this.apply(
      node,
      node.core.start(
        this.now,
        (opts.seeds ?? []).map((s) => `${s}:7946`),
      ),
    );
  }

  /** The protocol core of a member (for inspection). */
  core(name: string): MemberCore {
    return this.node(name).core;
  }

  /** Names of all members ever added. */
  names(): string[] {
    return [...this.nodes.keys()];
  }

  /** True while the member is crashed. */
  isCrashed(name: string): boolean {
    return this.node(name).crashed;
  }

  /** Traffic counters of a member. */
  traffic(name: string): SimTraffic {
    return this.node(name).traffic;
  }

  /** Schedule an action at absolute virtual time `at`. */
  at(at: number, fn: () => void): void {
    this.push(Math.max(at, this.now), fn);
  }

  /** Crash a member: it stops silently and loses its state. */
  crash(name: string): void {
    const n = this.node(name);
    n.crashed = true;
    n.backlog = [];
    n.wakeGen++;
  }

  /** Restart a crashed member with the same name and address and fresh state. */
  restart(name: string): void {
    const n = this.node(name);
    n.crashed = false;
    n.pausedUntil = 0;
    n.restarts++;
    n.core = this.makeCore(name, n.addr, n.opts, n.restarts);
    n.wakeGen++;
    n.wakeAt = undefined;
    this.apply(
      n,
      n.core.start(
        this.now,
        (n.opts.seeds ?? []).map((s) => `${s}:7946`),
      ),
    );
  }

  /** Leave gracefully. */
  leave(name: string): void {
    const n = this.node(name);
    this.apply(n, n.core.leave(this.now));
  }

  /** Publish new metadata from a member. */
  updateMetadata(name: string, meta: Uint8Array): void {
    const n = this.node(name);
    this.apply(n, n.core.updateMetadata(this.now, meta));
  }

  /** Broadcast a user message from a member. */
  broadcast(name: string, payload: Uint8Array): void {
    const n = this.node(name);
    this.apply(n, n.core.broadcast(this.now, payload));
  }

  /** Freeze a member for `ms` (GC pause, stalled event loop): nothing runs, input queues up. */
  pause(name: string, ms: number): void {
    const n = this.node(name);
    if (n.crashed) return;
    const until = Math.max(n.pausedUntil, this.now + ms);
    n.pausedUntil = until;
    this.push(until, () => this.resume(n, until));
  }

  /**
   * CPU starvation: from now until `until`, the member stalls for a uniform length in
   * [minMs, maxMs], then runs for `stall * (1 - duty) / duty`, and so on.
   */
  starve(name: string, minMs: number, maxMs: number, duty: number, until: number): void {
    const step = (): void => {
      if (this.now >= until) return;
      const d = minMs + this.random() * (maxMs - minMs);
      this.pause(name, d);
      this.push(this.now + d + (d * (1 - duty)) / duty, step);
    };
    this.push(this.now + this.random() * maxMs, step);
  }

  /** Set the model of the directed link `from -> to` (merged over the default). */
  setLink(from: string, to: string, model: Partial<LinkModel>): void {
    this.links.set(`${from}>${to}`, model);
  }

  /** Loss applied to every datagram a member receives (gray failure). */
  setIngressLoss(name: string, loss: number): void {
    this.node(name).ingressLoss = loss;
  }

  /** Loss applied to every datagram a member sends. */
  setEgressLoss(name: string, loss: number): void {
    this.node(name).egressLoss = loss;
  }

  /** Cut every link between the two groups, both ways (or one way with `oneWay`). */
  partition(a: readonly string[], b: readonly string[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        this.blocked.add(`${x}>${y}`);
        if (!oneWay) this.blocked.add(`${y}>${x}`);
      }
    }
  }

  /** Remove every partition. */
  heal(): void {
    this.blocked.clear();
  }

  /** Run until virtual time `t` (inclusive of events at `t`). */
  runUntil(t: number): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > t) break;
      this.pop();
      this.now = top.at;
      this.steps++;
      top.run();
    }
    this.now = Math.max(this.now, t);
  }

  /** Run for `ms` more virtual milliseconds. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** A fingerprint of everything delivered so far; equal seeds must give equal traces. */
  trace(): string {
    return `${this.steps}:${(this.traceHash >>> 0).toString(16)}`;
  }

  // -------------------------------------------------------------- internals

  private makeCore(name: string, addr: string, opts: SimNodeOptions, restarts: number): MemberCore {
    const config = { ...this.config, ...(opts.config ?? {}) };
    return new MemberCore({
      name,
      addr,
      cluster: this.cluster,
      config,
      random: seededRandom(hashString(`${name}#${restarts}`, this.seed >>> 0)),
      meta: opts.meta,
    });
  }

  private node(name: string): Node {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`simulator: no node ${name}`);
    return n;
  }

  private resume(n: Node, until: number): void {
    if (n.crashed || n.pausedUntil !== until) return;
    // Pessimistic order, as after a long synchronous block in Node: overdue timers first,
    // then everything that queued up in the socket buffers.
    if (n.timerWhilePaused) {
      n.timerWhilePaused = false;
      this.apply(n, n.core.tick(this.now));
    }
    const backlog = n.backlog;
    n.backlog = [];
    for (const fn of backlog) {
      if (n.crashed || this.now < n.pausedUntil) {
        n.backlog.push(fn);
        continue;
      }
      fn();
    }
  }

  private apply(n: Node, out: CoreOutput): void {
    for (const e of out.events) for (const l of this.listeners) l(this.now, n.name, e);
    for (const p of out.packets) this.sendPacket(n, p.to, p.bytes);
    for (const s of out.streams) this.sendStream(n, s.to, s.bytes);
    if (out.wakeAt !== undefined && out.wakeAt !== n.wakeAt) {
      n.wakeAt = out.wakeAt;
      const gen = ++n.wakeGen;
      this.push(Math.max(out.wakeAt, this.now), () => {
        if (n.crashed || gen !== n.wakeGen) return;
        n.wakeAt = undefined;
        if (this.now < n.pausedUntil) {
          n.timerWhilePaused = true;
          return;
        }
        this.apply(n, n.core.tick(this.now));
      });
    }
  }

  private linkModel(from: Node, to: Node): LinkModel {
    const o = this.links.get(`${from.name}>${to.name}`);
    return o ? { ...this.link, ...o } : this.link;
  }

  private sendPacket(from: Node, toAddr: string, bytes: Uint8Array): void {
    from.traffic.packetsSent++;
    from.traffic.bytesSent += bytes.length;
    if (bytes.length > from.traffic.maxPacketBytes) from.traffic.maxPacketBytes = bytes.length;
    const to = this.byAddr.get(toAddr);
    if (!to) return;
    if (this.opts.mtu !== undefined && bytes.length > this.opts.mtu) {
      this.mtuDrops++;
      return;
    }
    if (this.blocked.has(`${from.name}>${to.name}`)) return;
    const m = this.linkModel(from, to);
    const survive = (1 - m.loss) * (1 - from.egressLoss) * (1 - to.ingressLoss);
    if (this.random() >= survive) return;
    const delay = m.delayMs + this.random() * m.jitterMs;
    const fromAddr = from.addr;
    this.push(this.now + delay, () =>
      this.deliver(to, () => {
        to.traffic.packetsReceived++;
        to.traffic.bytesReceived += bytes.length;
        this.mix(bytes.length);
        this.apply(to, to.core.receivePacket(this.now, fromAddr, bytes));
      }),
    );
  }

  private sendStream(from: Node, toAddr: string, bytes: Uint8Array): void {
    from.traffic.streamsSent++;
    from.traffic.streamBytesSent += bytes.length;
    const to = this.byAddr.get(toAddr);
    if (!to) return;
    if (this.blocked.has(`${from.name}>${to.name}`) || this.blocked.has(`${to.name}>${from.name}`))
      return;
    if (to.crashed) {
      // The host is up but nothing listens: the connection is refused after one round trip.
      const l = this.linkModel(from, to);
      const rtt = 2 * (l.delayMs + this.random() * l.jitterMs);
      const gen = from.restarts;
      this.push(this.now + rtt, () => {
        if (from.crashed || from.restarts !== gen) return;
        this.deliver(from, () => this.apply(from, from.core.streamFailed(this.now, toAddr, true)));
      });
      return;
    }
    const m = this.linkModel(from, to);
    const back = this.linkModel(to, from);
    const fwd = (1 - m.loss) * (1 - from.egressLoss) * (1 - to.ingressLoss);
    const rev = (1 - back.loss) * (1 - to.egressLoss) * (1 - from.ingressLoss);
    const rto = this.opts.streamRtoMs ?? 200;
    const tries = this.opts.streamMaxTries ?? 6;
    // Connection set-up (SYN, SYN-ACK) and the data, each retransmitted after RTO on loss.
    let delay = 0;
    for (const p of [fwd, rev, fwd]) {
      let i = 0;
      while (this.random() >= p) {
        delay += rto * 2 ** i;
        if (++i >= tries) return;
      }
      delay += m.delayMs + this.random() * m.jitterMs;
    }
    this.push(this.now + delay, () =>
      this.deliver(to, () => {
        if (to.crashed) return;
        this.mix(bytes.length + 1);
        this.apply(to, to.core.receiveStream(this.now, bytes));
      }),
    );
  }

  private deliver(to: Node, fn: () => void): void {
    if (to.crashed) return;
    if (this.now < to.pausedUntil) {
      to.backlog.push(fn);
      return;
    }
    fn();
  }

  private mix(v: number): void {
    this.traceHash = Math.imul(this.traceHash ^ v ^ Math.floor(this.now * 1000), 0x01000193);
  }

  private push(at: number, run: () => void): void {
    const e = { at, seq: this.qseq++, run };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const a = h[i] as QEvent;
      const b = h[p] as QEvent;
      if (b.at < a.at || (b.at === a.at && b.seq < a.seq)) break;
      h[i] = b;
      h[p] = a;
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as QEvent;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      const lt = (x: number, y: number): boolean => {
        const a = h[x] as QEvent;
        const b = h[y] as QEvent;
        return a.at < b.at || (a.at === b.at && a.seq < b.seq);
      };
      if (l < h.length && lt(l, m)) m = l;
      if (r < h.length && lt(r, m)) m = r;
      if (m === i) return;
      const tmp = h[i] as QEvent;
      h[i] = h[m] as QEvent;
      h[m] = tmp;
      i = m;
    }
  }
}
