import {
  compareVersions,
  defaultValueCodec,
  encodeSession,
  formatVersion,
  type Session,
  type Version,
} from '@cohort/session-codec';
import type { EngineConfig } from './config.js';
import { ReplicationEngine, type EngineOutput } from './engine.js';
import { checkHistory, type HistoryOp } from './history-checker.js';
import type { Frame } from './messages.js';
import type { AckLevel, ClientOp, OpResult } from './ops.js';
import { placementOf } from './placement.js';
import { seededRandom } from './prng.js';

/** How frames cross the simulated network (e.g. the protobuf wire codec), or by reference. */
export interface FrameCodec {
  encode(frame: Frame): Uint8Array;
  decode(bytes: Uint8Array): Frame;
}

/** Options of {@link runSimulation}. */
export interface SimOptions {
  /** The seed: the whole run (faults, workload, timing) follows from it. */
  readonly seed: number;
  /** Session nodes (default 4). */
  readonly nodes?: number;
  /** Sessions (default 6). */
  readonly keys?: number;
  /** Sequential clients (default 6); every session is used by at least two. */
  readonly clients?: number;
  /** Inject faults (default true); false runs the same workload on a quiet network. */
  readonly faults?: boolean;
  /** Length of the faulty phase in ms (default 12 000); clients go on 3 s longer. */
  readonly durationMs?: number;
  /** Quiet time after the faults and the clients stop, before the final checks (default 8 000). */
  readonly settleMs?: number;
  /** Session idle timeout in seconds (default 10). */
  readonly ttlSeconds?: number;
  /** The frame codec; by reference when absent. */
  readonly codec?: FrameCodec;
  /** Record a trace of faults and client operations (default false). */
  readonly trace?: boolean;
  /** Engine tunables. */
  readonly config?: Partial<EngineConfig>;
}

/** What a run found. */
export interface SimReport {
  readonly seed: number;
  /** Broken invariants, empty when the run is correct. */
  readonly violations: string[];
  /** Counts, for test assertions that the run did something. */
  readonly stats: {
    ops: number;
    okWrites: number;
    ackedDurable: number;
    okReads: number;
    failed: number;
    frames: number;
    dropped: number;
    crashes: number;
    partitions: number;
    flaps: number;
    expired: number;
    ownerChanges: number;
  };
  /** The trace, when asked for. */
  readonly trace: string[];
}

interface SimNode {
  readonly name: string;
  id: string;
  incarnation: number;
  alive: boolean;
  engine: ReplicationEngine | null;
  offset: number;
  view: string[];
  flapOut: Set<string>;
  wakeAt: number | undefined;
}

type Ev =
  | { kind: 'deliver'; to: string; bytes: Uint8Array | Frame }
  | { kind: 'wake'; node: number; incarnation: number }
  | { kind: 'client'; client: number }
  | { kind: 'result'; client: number; opId: number; result: OpResult }
  | { kind: 'timeout'; client: number; opId: number }
  | { kind: 'view'; node: number }
  | { kind: 'do'; run: () => void };

interface Queued {
  at: number;
  n: number;
  ev: Ev;
}

/** A binary min-heap of events ordered by time, then insertion order (deterministic). */
class EventQueue {
  #heap: Queued[] = [];
  #n = 0;
  push(at: number, ev: Ev): void {
    const h = this.#heap;
    h.push({ at, n: this.#n++, ev });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#less(h[i]!, h[p]!)) {
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      } else break;
    }
  }
  pop(): Queued | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
  #less(a: Queued, b: Queued): boolean {
    return a.at < b.at || (a.at === b.at && a.n < b.n);
  }
}

interface Client {
  readonly name: string;
  readonly keys: string[];
  counter: Map<string, number>;
  seen: Map<string, Version>;
  hint: Map<string, string>;
  inflight: {
    opId: number;
    key: string;
    kind: 'write' | 'read';
    level: AckLevel;
    attr: string;
    value: number;
    invokedAt: number;
  } | null;
}

const WALL_BASE = 1_763_700_000_000;
/** Node clocks start here, so that a -5 s offset stays positive. */
const CLOCK_BASE = 10_000;

/** Reads the counter attributes (`c<i>`) of a session. */
function counters(session: Session | null): Map<string, number> | null {
  if (session === null) return null;
  const out = new Map<string, number>();
  for (const [name, bytes] of session.attributes) {
    const v = defaultValueCodec.decode(bytes, name);
    if (typeof v === 'number') out.set(name, v);
  }
  return out;
}

/**
 * Runs one seeded simulation of a session-node cluster: engines on a virtual clock, a network
 * with loss, duplication, delay (and so reordering) and partitions, membership views that lag,
 * disagree and flap, one node that crashes (losing its memory) and restarts under a new id,
 * possibly crashing again while it catches up, ±5 s of clock offset per node, and clients that
 * write their own attribute of shared sessions and read them. Then the faults stop, the cluster
 * settles, and the invariants are checked:
 *
 * - every write acknowledged at `quorum` or `all` is in the final state (unless the session
 *   expired after it);
 * - the replicas of every session hold identical bytes;
 * - no session expired (at its owner or at a backup) before its idle timeout;
 * - the client history passes {@link checkHistory}.
 *
 * The same seed replays the same run.
 */
export function runSimulation(options: SimOptions): SimReport {
  const seed = options.seed;
  const rnd = seededRandom(seed);
  const between = (a: number, b: number): number => a + Math.floor(rnd() * (b - a + 1));
  const chance = (p: number): boolean => rnd() < p;
  const nNodes = options.nodes ?? 4;
  const nKeys = options.keys ?? 6;
  const nClients = options.clients ?? 6;
  const faulty = options.faults ?? true;
  const duration = options.durationMs ?? 12_000;
  const settle = options.settleMs ?? 8_000;
  const clientsStop = duration + 3_000;
  const end = clientsStop + settle;
  const ttl = options.ttlSeconds ?? 10;
  const codec = options.codec;
  const trace: string[] = [];
  const log = (s: string): void => {
    if (options.trace) trace.push(`${String(now).padStart(6)} ${s}`);
  };
  const config: Partial<EngineConfig> = {
    minTouchIntervalMs: 500,
    backupGraceMs: ttl * 1000,
    opTimeoutMs: 1500,
    claimTimeoutMs: 1000,
    tombstoneMs: 600_000,
    ...options.config,
  };
  const replicas = config.replicas ?? 3;
  const stats: SimReport['stats'] = {
    ops: 0,
    okWrites: 0,
    ackedDurable: 0,
    okReads: 0,
    failed: 0,
    frames: 0,
    dropped: 0,
    crashes: 0,
    partitions: 0,
    flaps: 0,
    expired: 0,
    ownerChanges: 0,
  };
  const violations: string[] = [];

  let now = 0;
  const q = new EventQueue();
  const nodes: SimNode[] = [];
  for (let i = 0; i < nNodes; i++) {
    nodes.push({
      name: `n${i + 1}`,
      id: `n${i + 1}#1`,
      incarnation: 1,
      alive: true,
      engine: null,
      offset: faulty ? between(-5000, 5000) : 0,
      view: [],
      flapOut: new Set(),
      wakeAt: undefined,
    });
  }
  const byId = new Map<string, number>();
  const mkEngine = (i: number): ReplicationEngine => {
    const node = nodes[i]!;
    byId.set(node.id, i);
    return new ReplicationEngine({
      self: node.id,
      random: seededRandom(seed * 31 + i * 7 + node.incarnation),
      config,
    });
  };
  for (let i = 0; i < nNodes; i++) nodes[i]!.engine = mkEngine(i);

  // Network state.
  let loss = 0;
  let dup = 0;
  let spike = 0;
  const cut = new Set<string>();
  const linkKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
  const reachable = (a: number, b: number): boolean =>
    !cut.has(linkKey(nodes[a]!.name, nodes[b]!.name));

  // Ground truth for the checks.
  const alive = (): string[] => nodes.filter((n) => n.alive).map((n) => n.id);
  const lastAccess = new Map<string, number>();
  const endedAt = new Map<string, number[]>();
  const ends = new Map<string, Version[]>();
  const history: HistoryOp[] = [];
  const durable: { key: string; attr: string; value: number; at: number; version: Version }[] = [];

  const desiredView = (i: number): string[] => {
    const self = nodes[i]!;
    const out: string[] = [];
    for (let j = 0; j < nNodes; j++) {
      const n = nodes[j]!;
      if (!n.alive) continue;
      if (j !== i && (!reachable(i, j) || self.flapOut.has(n.name))) continue;
      out.push(n.id);
    }
    return out;
  };
  const scheduleViews = (minDelay: number, maxDelay: number): void => {
    for (let i = 0; i < nNodes; i++)
      q.push(now + between(minDelay, maxDelay), { kind: 'view', node: i });
  };

  const handle = (i: number, out: EngineOutput): void => {
    const node = nodes[i]!;
    for (const f of out.frames) {
      stats.frames++;
      const to = byId.get(f.to);
      if (to === undefined || !nodes[to]!.alive || nodes[to]!.id !== f.to || !reachable(i, to)) {
        stats.dropped++;
        continue;
      }
      if (chance(loss)) {
        stats.dropped++;
        continue;
      }
      const payload = codec ? codec.encode(f) : f;
      const delay = chance(spike) ? between(30, 400) : between(1, 12);
      q.push(now + delay, { kind: 'deliver', to: f.to, bytes: payload });
      if (chance(dup))
        q.push(now + delay + between(0, 50), { kind: 'deliver', to: f.to, bytes: payload });
    }
    for (const r of out.results) {
      const c = resultRoute.get(r.id);
      if (c === undefined) continue;
      resultRoute.delete(r.id);
      q.push(now + between(1, 3), { kind: 'result', client: c, opId: r.id, result: r });
    }
    for (const e of out.events) {
      if (e.type === 'owner') {
        stats.ownerChanges++;
        log(`${node.id} owns ${e.key} epoch ${e.epoch}`);
      } else if (e.type === 'expired') {
        stats.expired++;
        log(`${node.id} expired ${e.key} by ${e.by} at ${formatVersion(e.version)}`);
        const last = lastAccess.get(e.key) ?? -Infinity;
        if (now - last < ttl * 1000) {
          violations.push(
            `early expiry: ${e.key} expired by ${e.by} ${node.id} at ${now}, last access ${last}, ttl ${ttl}s`,
          );
        }
        let list = endedAt.get(e.key);
        if (!list) endedAt.set(e.key, (list = []));
        list.push(now);
        let vs = ends.get(e.key);
        if (!vs) ends.set(e.key, (vs = []));
        vs.push(e.version);
      }
    }
    if (out.wakeAt !== undefined) {
      const at = Math.max(now, out.wakeAt - node.offset - CLOCK_BASE);
      if (node.wakeAt === undefined || at < node.wakeAt || node.wakeAt < now) {
        node.wakeAt = at;
        q.push(at, { kind: 'wake', node: i, incarnation: node.incarnation });
      }
    }
  };
  const clock = (i: number): number => now + nodes[i]!.offset + CLOCK_BASE;

  // Clients and sessions.
  const keys: string[] = [];
  for (let k = 0; k < nKeys; k++) keys.push(`s${seed.toString(36)}k${k}`);
  const keyStop = new Map<string, number>();
  for (const k of keys) keyStop.set(k, chance(0.3) ? between(3000, duration) : clientsStop);
  const clients: Client[] = [];
  for (let c = 0; c < nClients; c++) {
    const mine = new Set<string>([keys[c % nKeys]!, keys[(c + 1) % nKeys]!]);
    if (chance(0.5)) mine.add(keys[between(0, nKeys - 1)]!);
    clients.push({
      name: `c${c}`,
      keys: [...mine],
      counter: new Map(),
      seen: new Map(),
      hint: new Map(),
      inflight: null,
    });
  }
  const resultRoute = new Map<number, number>();
  let nextOp = 1;

  const issue = (c: number): void => {
    const cl = clients[c]!;
    if (now >= clientsStop || cl.inflight) return;
    const usable = cl.keys.filter((k) => now < keyStop.get(k)!);
    if (usable.length === 0) return;
    const key = usable[between(0, usable.length - 1)]!;
    const truth = alive();
    const target = cl.hint.get(key) ?? placementOf(key, truth, replicas)[0];
    cl.hint.delete(key);
    const opId = nextOp++;
    const attr = cl.name;
    const r = rnd();
    const minVersion = cl.seen.get(key);
    let op: ClientOp;
    let kind: 'write' | 'read';
    let level: AckLevel = 'quorum';
    let value = 0;
    if (r < 0.6) {
      kind = 'write';
      value = (cl.counter.get(key) ?? 0) + 1;
      cl.counter.set(key, value);
      const lr = rnd();
      level = lr < 0.7 ? 'quorum' : lr < 0.9 ? 'all' : 'owner';
      op = {
        kind: 'write',
        id: opId,
        key,
        level,
        ops: [
          { op: 'set', name: attr, value: defaultValueCodec.encode(value, attr) },
          { op: 'touch', at: WALL_BASE + now },
        ],
        create: { createdAt: WALL_BASE + now, maxInactiveSeconds: ttl },
        ...(minVersion ? { minVersion } : {}),
        ...(r > 0.55 && minVersion ? { expected: minVersion } : {}),
      };
    } else {
      kind = 'read';
      op = {
        kind: 'read',
        id: opId,
        key,
        touch: WALL_BASE + now,
        ...(minVersion ? { minVersion } : {}),
      };
    }
    stats.ops++;
    cl.inflight = { opId, key, kind, level, attr, value, invokedAt: now };
    log(
      `${cl.name} ${kind} ${key} ${kind === 'write' ? `${attr}=${value} ${level}` : ''} -> ${target}`,
    );
    const ti = target === undefined ? undefined : byId.get(target);
    q.push(now + 1_500 + 1_000, { kind: 'timeout', client: c, opId });
    if (ti === undefined) return;
    q.push(now + between(1, 3), {
      kind: 'do',
      run: () => {
        const node = nodes[ti]!;
        if (!node.alive || node.id !== target) return;
        resultRoute.set(opId, c);
        handle(ti, node.engine!.submit(clock(ti), op));
      },
    });
  };

  const complete = (c: number, opId: number, result: OpResult | null): void => {
    const cl = clients[c]!;
    const f = cl.inflight;
    if (!f || f.opId !== opId) return;
    cl.inflight = null;
    const h: {
      -readonly [K in keyof HistoryOp]: HistoryOp[K];
    } = {
      client: cl.name,
      key: f.key,
      kind: f.kind,
      invokedAt: f.invokedAt,
      respondedAt: now,
      ok: result?.ok === true,
    };
    if (result && result.ok) {
      h.version = result.version;
      lastAccess.set(f.key, Math.max(lastAccess.get(f.key) ?? -Infinity, f.invokedAt));
      const seen = cl.seen.get(f.key);
      if (!seen || compareVersions(result.version, seen) > 0) cl.seen.set(f.key, result.version);
      if (f.kind === 'write') {
        stats.okWrites++;
        h.wrote = { attr: f.attr, value: f.value, durable: f.level !== 'owner' };
        if (f.level !== 'owner') {
          stats.ackedDurable++;
          durable.push({
            key: f.key,
            attr: f.attr,
            value: f.value,
            at: f.invokedAt,
            version: result.version,
          });
        }
      } else {
        stats.okReads++;
        h.read = counters(result.session ?? null);
      }
      log(`${cl.name} ok ${f.kind} ${f.key} at ${formatVersion(result.version)}`);
    } else {
      stats.failed++;
      if (result && !result.ok && result.owner) cl.hint.set(f.key, result.owner);
      log(
        `${cl.name} failed ${f.kind} ${f.key}: ${result ? (result.ok ? '' : result.code) : 'no answer'}`,
      );
    }
    history.push(h);
    q.push(now + between(10, 60), { kind: 'client', client: c });
  };

  // Fault schedule.
  if (faulty) {
    q.push(500, {
      kind: 'do',
      run: () => {
        loss = rnd() * 0.05;
        dup = rnd() * 0.03;
        spike = rnd() * 0.05;
        log(`network loss ${loss.toFixed(3)} dup ${dup.toFixed(3)} spike ${spike.toFixed(3)}`);
      },
    });
    const partitions = between(0, 2);
    for (let p = 0; p < partitions; p++) {
      const at = between(1000, duration - 3000);
      const len = between(500, 3000);
      q.push(at, {
        kind: 'do',
        run: () => {
          const names = nodes.map((n) => n.name);
          const side = new Set<string>();
          const size = chance(0.5) ? 1 : Math.floor(nNodes / 2);
          while (side.size < size) side.add(names[between(0, nNodes - 1)]!);
          for (const a of side) for (const b of names) if (!side.has(b)) cut.add(linkKey(a, b));
          stats.partitions++;
          log(`partition ${[...side].join(',')} | rest for ${len} ms`);
          scheduleViews(200, 1500);
        },
      });
      q.push(at + len, {
        kind: 'do',
        run: () => {
          cut.clear();
          log('partition healed');
          scheduleViews(200, 1500);
        },
      });
    }
    const flaps = between(0, 6);
    for (let f = 0; f < flaps; f++) {
      const at = between(1000, duration - 1000);
      const a = between(0, nNodes - 1);
      const b = between(0, nNodes - 1);
      if (a === b) continue;
      q.push(at, {
        kind: 'do',
        run: () => {
          nodes[a]!.flapOut.add(nodes[b]!.name);
          stats.flaps++;
          log(`flap: ${nodes[a]!.name} drops ${nodes[b]!.name}`);
          q.push(now + between(0, 100), { kind: 'view', node: a });
          q.push(now + between(200, 1500), {
            kind: 'do',
            run: () => {
              nodes[a]!.flapOut.delete(nodes[b]!.name);
              q.push(now + between(0, 300), { kind: 'view', node: a });
            },
          });
        },
      });
    }
    if (chance(0.8)) {
      const victim = between(0, nNodes - 1);
      const crashAt = between(2000, duration - 6000);
      const down = between(2000, 4000);
      const again = chance(0.35);
      const crash = (): void => {
        const n = nodes[victim]!;
        if (!n.alive) return;
        n.alive = false;
        n.engine = null;
        stats.crashes++;
        log(`crash ${n.id}`);
        scheduleViews(300, 1500);
      };
      const restart = (): void => {
        const n = nodes[victim]!;
        n.incarnation++;
        n.id = `${n.name}#${n.incarnation}`;
        n.alive = true;
        n.wakeAt = undefined;
        n.engine = mkEngine(victim);
        log(`restart as ${n.id}`);
        n.view = desiredView(victim);
        handle(victim, n.engine.setView(clock(victim), n.view));
        scheduleViews(300, 1500);
      };
      q.push(crashAt, { kind: 'do', run: crash });
      q.push(crashAt + down, { kind: 'do', run: restart });
      if (again) {
        const t2 = crashAt + down + between(300, 1500);
        q.push(t2, { kind: 'do', run: crash });
        q.push(t2 + between(2000, 3000), { kind: 'do', run: restart });
      }
    }
    q.push(duration, {
      kind: 'do',
      run: () => {
        loss = 0;
        dup = 0;
        spike = 0;
        cut.clear();
        for (const n of nodes) n.flapOut.clear();
        log('faults stop');
        scheduleViews(100, 1000);
      },
    });
  }

  // Start: every node sees the full view, clients begin.
  for (let i = 0; i < nNodes; i++) {
    nodes[i]!.view = desiredView(i);
    handle(i, nodes[i]!.engine!.setView(clock(i), nodes[i]!.view));
  }
  for (let c = 0; c < nClients; c++) q.push(between(1, 100), { kind: 'client', client: c });

  let pending: Queued | undefined;
  const runUntil = (limit: number): void => {
    for (;;) {
      const item = pending ?? q.pop();
      pending = undefined;
      if (!item) break;
      if (item.at > limit) {
        pending = item;
        break;
      }
      now = item.at;
      const ev = item.ev;
      switch (ev.kind) {
        case 'deliver': {
          const i = byId.get(ev.to);
          if (i === undefined) break;
          const node = nodes[i]!;
          if (!node.alive || node.id !== ev.to) break;
          const frame = codec ? codec.decode(ev.bytes as Uint8Array) : (ev.bytes as Frame);
          handle(i, node.engine!.receive(clock(i), frame));
          break;
        }
        case 'wake': {
          const node = nodes[ev.node]!;
          if (!node.alive || node.incarnation !== ev.incarnation || node.wakeAt !== now) break;
          node.wakeAt = undefined;
          handle(ev.node, node.engine!.tick(clock(ev.node)));
          break;
        }
        case 'client':
          issue(ev.client);
          break;
        case 'result':
          complete(ev.client, ev.opId, ev.result);
          break;
        case 'timeout':
          complete(ev.client, ev.opId, null);
          break;
        case 'view': {
          const node = nodes[ev.node]!;
          if (!node.alive) break;
          const v = desiredView(ev.node);
          if (v.join() === node.view.join()) break;
          node.view = v;
          log(`${node.id} view ${v.join(',')}`);
          handle(ev.node, node.engine!.setView(clock(ev.node), v));
          break;
        }
        case 'do':
          ev.run();
          break;
      }
    }
    now = limit;
  };
  runUntil(end);

  // Final checks. A session that expired just before the end may still be on its way to the
  // replicas: give the quiet cluster up to 5 more seconds to converge.
  const truth = alive();
  let settledViolations = convergence(truth);
  for (let extra = 1; extra <= 5 && settledViolations.length > 0; extra++) {
    runUntil(end + extra * 1000);
    settledViolations = convergence(truth);
  }
  violations.push(...settledViolations);
  function convergence(truth: string[]): string[] {
    const violations: string[] = [];
    for (const key of keys) {
      const p = placementOf(key, truth, replicas);
      const owner = nodes[byId.get(p[0]!)!]!.engine!;
      const ov = owner.inspect(key);
      const expired = endedAt.get(key) ?? [];
      const copies = p.map((id) => nodes[byId.get(id)!]!.engine!.inspect(key));
      const live = copies.some((c) => c?.session);
      if (live) {
        if (!ov || ov.role !== 'owner') {
          violations.push(
            `not settled: ${key} has live copies but ${p[0]} is ${ov?.role ?? 'absent'}`,
          );
          continue;
        }
        const want = encodeSession(ov.session ?? emptyMarker(key));
        for (let j = 0; j < p.length; j++) {
          const c = copies[j];
          if (
            !c ||
            !sameBytes(encodeSession(c.session ?? emptyMarker(key)), want) ||
            compareVersions(c.version, ov.version) !== 0
          ) {
            violations.push(
              `diverged: ${key} on ${p[j]} is ${c ? formatVersion(c.version) : 'absent'}, owner ${p[0]} is ${formatVersion(ov.version)}`,
            );
          }
        }
      }
      const final = counters(ov?.session ?? null);
      for (const w of durable) {
        if (w.key !== key) continue;
        if (expired.some((t) => t >= w.at)) continue;
        const got = final?.get(w.attr);
        if (got === undefined || got < w.value) {
          violations.push(
            `lost write: ${key} ${w.attr}=${w.value} acknowledged at ${formatVersion(w.version)}, final ${w.attr}=${got ?? 'absent'} at ${ov ? formatVersion(ov.version) : '-'}`,
          );
        }
      }
    }
    return violations;
  }
  for (const v of checkHistory(history, ends))
    violations.push(`history ${v.rule}: ${v.key} ${v.client}: ${v.message}`);
  return { seed, violations, stats, trace };
}

function emptyMarker(key: string): Session {
  return {
    key,
    createdAt: 0,
    lastAccessedAt: 0,
    maxInactiveSeconds: 0,
    isNew: false,
    principal: null,
    attributes: new Map(),
    version: { epoch: 0, seq: 0 },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What {@link runSeeds} returns. */
export interface SeedRunResult {
  /** One paragraph per failing seed, naming it and how to replay it; empty when all passed. */
  readonly failures: string;
  /** Every run's report. */
  readonly reports: SimReport[];
}

/**
 * Runs seeds `from`..`to` (inclusive) with the default scenario.
 *
 * @param from - first seed
 * @param to - last seed
 * @param codec - the frame codec (the protobuf wire format in CI)
 */
export function runSeeds(from: number, to: number, codec?: FrameCodec): SeedRunResult {
  const lines: string[] = [];
  const reports: SimReport[] = [];
  for (let seed = from; seed <= to; seed++) {
    const r = runSimulation({ seed, ...(codec ? { codec } : {}) });
    reports.push(r);
    if (r.violations.length > 0) {
      lines.push(
        `seed ${seed} failed (replay: REPLICATION_SEED=${seed} npx vitest run src/simulator.replay.test.ts):\n  ` +
          r.violations.slice(0, 10).join('\n  '),
      );
    }
  }
  return { failures: lines.join('\n'), reports };
}
