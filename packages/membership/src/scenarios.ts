import type { PresetName, ProtocolConfig } from './config.js';
import type { LinkModel } from './simulator.js';
import { Simulator } from './simulator.js';

/** Common inputs of every goal scenario. */
export interface ScenarioOptions {
  seed: number;
  n: number;
  preset?: PresetName;
  config?: Partial<ProtocolConfig>;
  link?: Partial<LinkModel>;
}

const name = (i: number): string => `n${i}`;

/**
 * Start `n` members within `spreadMs`, all joining through `n0`, and run until every member
 * sees all `n` alive (or `maxMs` passes). Returns the simulator and the convergence time.
 */
export function bootCluster(
  o: ScenarioOptions,
  spreadMs = 1000,
  maxMs = 60_000,
): { sim: Simulator; convergedAt: number } {
  const sim = new Simulator({ seed: o.seed, preset: o.preset, config: o.config, link: o.link });
  for (let i = 0; i < o.n; i++) {
    const at = i === 0 ? 0 : (i / o.n) * spreadMs;
    sim.at(at, () => sim.addNode(name(i), { seeds: i === 0 ? [] : [name(0)] }));
  }
  const convergedAt = runUntilConverged(sim, spreadMs, maxMs);
  return { sim, convergedAt };
}

/** True when every live member's view holds exactly the live members, all alive. */
export function converged(sim: Simulator): boolean {
  const live = sim.names().filter((n) => !sim.isCrashed(n) && !sim.core(n).hasLeft());
  const want = live.length;
  if (want === 0) return true;
  // Cheap pre-check: equal views have equal checksums.
  const sum = sim.core(live[0] as string).checksum();
  if (live.some((n) => sim.core(n).checksum() !== sum)) return false;
  for (const n of live) {
    let alive = 0;
    for (const m of sim.core(n).snapshot()) {
      if (m.status === 'alive') {
        if (sim.isCrashed(m.name)) return false;
        alive++;
      }
    }
    if (alive !== want) return false;
  }
  return true;
}

function runUntilConverged(sim: Simulator, from: number, maxMs: number, step = 100): number {
  sim.runUntil(from);
  while (sim.now < maxMs) {
    if (converged(sim)) return sim.now;
    sim.runFor(step);
  }
  return converged(sim) ? sim.now : NaN;
}

/**
 * G1–G3: crash one member silently at a random phase; time (ms) until every other member's
 * view shows it dead. NaN when not everyone saw it within 60 s.
 */
export function crashDetection(o: ScenarioOptions): number {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt)) return NaN;
  const victim = name(1 + (o.seed % (o.n - 1)));
  const tc = sim.now + 2000 + ((o.seed * 7919) % 1000);
  const seen = new Map<string, number>();
  sim.onEvent((now, node, e) => {
    if (now >= tc && (e.type === 'dead' || e.type === 'leave') && e.member.name === victim) {
      if (!seen.has(node)) seen.set(node, now - tc);
    }
  });
  sim.at(tc, () => sim.crash(victim));
  const others = sim.names().filter((n) => n !== victim);
  while (sim.now < tc + 60_000 && seen.size < others.length) sim.runFor(100);
  if (seen.size < others.length) return NaN;
  return Math.max(...seen.values());
}

/**
 * G1–G3 at scale: in one booted cluster, crash `crashes` members one after another (each once
 * the previous one is detected everywhere, plus `gapMs`) and return each detection time.
 */
export function crashDetectionSeries(
  o: ScenarioOptions,
  crashes: number,
  gapMs = 5000,
): { bootMs: number; detections: number[] } {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt)) return { bootMs: NaN, detections: [] };
  const detections: number[] = [];
  let victim = '';
  let tc = Infinity;
  const seen = new Map<string, number>();
  sim.onEvent((now, node, e) => {
    if (now >= tc && (e.type === 'dead' || e.type === 'leave') && e.member.name === victim) {
      if (!seen.has(node)) seen.set(node, now - tc);
    }
  });
  for (let k = 0; k < crashes; k++) {
    const live = sim.names().filter((n) => !sim.isCrashed(n) && n !== name(0));
    victim = live[(o.seed * 7919 + k * 104729) % live.length] as string;
    tc = sim.now + gapMs + ((o.seed * 31 + k * 17) % 1000);
    seen.clear();
    const v = victim;
    sim.at(tc, () => sim.crash(v));
    const others = sim.names().filter((n) => n !== v && !sim.isCrashed(n));
    sim.runUntil(tc);
    while (sim.now < tc + 60_000 && seen.size < others.length) sim.runFor(100);
    detections.push(seen.size < others.length ? NaN : Math.max(...seen.values()));
  }
  return { bootMs: convergedAt, detections };
}

/**
 * G10: in a converged cluster, restart `fraction` of the members over `overMs` (each crashes
 * and comes back 2 s later) and sample every member's transmit rate once per second.
 * Returns per-member-second transmit rates (bytes/s) during the churn.
 */
export function churnLoad(o: ScenarioOptions & { fraction?: number; overMs?: number }): number[] {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt)) return [];
  const names = sim.names().filter((n) => n !== name(0));
  const count = Math.round(names.length * (o.fraction ?? 0.1));
  const overMs = o.overMs ?? 60_000;
  const t0 = sim.now + 1000;
  for (let i = 0; i < count; i++) {
    const v = names[(o.seed * 7919 + i * 104729) % names.length] as string;
    const at = t0 + (i / count) * overMs;
    sim.at(at, () => {
      if (!sim.isCrashed(v)) sim.crash(v);
    });
    sim.at(at + 2000, () => {
      if (sim.isCrashed(v)) sim.restart(v);
    });
  }
  const rates: number[] = [];
  sim.runUntil(t0);
  let prev = sim.names().map((n) => sim.traffic(n).bytesSent + sim.traffic(n).streamBytesSent);
  while (sim.now < t0 + overMs + 5000) {
    sim.runFor(1000);
    const cur = sim.names().map((n) => sim.traffic(n).bytesSent + sim.traffic(n).streamBytesSent);
    cur.forEach((c, i) => {
      const n = sim.names()[i] as string;
      if (!sim.isCrashed(n)) rates.push(c - (prev[i] as number));
    });
    prev = cur;
  }
  return rates;
}

/** G4: a member leaves gracefully; time until every other member's view shows it left. */
export function leaveVisibility(o: ScenarioOptions): number {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt)) return NaN;
  const leaver = name(1 + (o.seed % (o.n - 1)));
  const tl = sim.now + 1000 + ((o.seed * 104729) % 500);
  const seen = new Map<string, number>();
  sim.onEvent((now, node, e) => {
    if (e.type === 'leave' && e.member.name === leaver && !seen.has(node)) seen.set(node, now - tl);
  });
  sim.at(tl, () => sim.leave(leaver));
  const others = sim.names().filter((n) => n !== leaver);
  while (sim.now < tl + 30_000 && seen.size < others.length) sim.runFor(50);
  return seen.size < others.length ? NaN : Math.max(...seen.values());
}

/** Outcome of a stability run (no member fails; some may be starved or lossy). */
export interface StabilityResult {
  /** Dead declarations (by anyone) of members that never crashed, excluding `exempt`. */
  falseDead: number;
  /** Dead declarations of the exempted (starved) members. */
  exemptDead: number;
  /** Suspicions raised (first accusations) of healthy members. */
  suspicions: number;
  /** Routable-set removals of healthy members, summed over observers. */
  routableRemovals: number;
  /** Simulated member-hours of the run. */
  memberHours: number;
}

/**
 * G5–G7: run `durationMs` with the given link model (and optional starved members) and count
 * false dead declarations, suspicions and routable-set removals of healthy members.
 */
export function stability(
  o: ScenarioOptions & {
    durationMs: number;
    starved?: number;
    stallMinMs?: number;
    stallMaxMs?: number;
    duty?: number;
  },
): StabilityResult {
  const { sim, convergedAt } = bootCluster({ ...o, link: undefined });
  const r: StabilityResult = {
    falseDead: 0,
    exemptDead: 0,
    suspicions: 0,
    routableRemovals: 0,
    memberHours: 0,
  };
  if (Number.isNaN(convergedAt)) return { ...r, falseDead: NaN };
  const starved = new Set<string>();
  for (let i = 0; i < (o.starved ?? 0); i++) starved.add(name(o.n - 1 - i));
  const start = sim.now;
  const end = start + o.durationMs;
  for (const s of starved)
    sim.starve(s, o.stallMinMs ?? 200, o.stallMaxMs ?? 1500, o.duty ?? 0.5, end);
  const link = o.link;
  if (link) {
    for (const a of sim.names()) for (const b of sim.names()) if (a !== b) sim.setLink(a, b, link);
  }
  sim.onEvent((_now, node, e) => {
    if (e.type === 'dead') {
      if (starved.has(e.member.name)) r.exemptDead++;
      else r.falseDead++;
    } else if (e.type === 'suspect' && e.by === node && !starved.has(e.member.name)) {
      r.suspicions++;
    } else if (e.type === 'routable-change') {
      r.routableRemovals += e.removed.filter((x) => !starved.has(x)).length;
    }
  });
  sim.runUntil(end);
  r.memberHours = (o.n * o.durationMs) / 3_600_000;
  return r;
}

/** Outcome of the gray-failure scenario (G8). */
export interface GrayFailureResult {
  /** ms from fault start until the faulty member is out of every healthy routable set (NaN: never). */
  removedAllMs: number;
  /** Most routable-set changes concerning the faulty member seen by one observer. */
  maxChangesPerObserver: number;
  /** Healthy members removed from any routable set. */
  healthyRemoved: number;
}

/**
 * G8: one member loses `ingressLoss` of its incoming datagrams for `faultMs`, then flips
 * between healthy and faulty every `flipMs` for `flipForMs`.
 */
export function grayFailure(
  o: ScenarioOptions & {
    ingressLoss?: number;
    faultMs?: number;
    flipMs?: number;
    flipForMs?: number;
  },
): GrayFailureResult {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt))
    return { removedAllMs: NaN, maxChangesPerObserver: NaN, healthyRemoved: NaN };
  const bad = name(o.n - 1);
  const loss = o.ingressLoss ?? 0.8;
  const t0 = sim.now + 1000;
  const faultMs = o.faultMs ?? 60_000;
  const flipMs = o.flipMs ?? 20_000;
  const flipFor = o.flipForMs ?? 120_000;
  sim.at(t0, () => sim.setIngressLoss(bad, loss));
  let on = true;
  for (let t = t0 + faultMs; t < t0 + faultMs + flipFor; t += flipMs) {
    const state = (on = !on);
    sim.at(t, () => sim.setIngressLoss(bad, state ? loss : 0));
  }
  const changes = new Map<string, number>();
  let healthyRemoved = 0;
  sim.onEvent((now, node, e) => {
    if (e.type !== 'routable-change' || node === bad || now < t0) return;
    if (e.added.includes(bad) || e.removed.includes(bad))
      changes.set(node, (changes.get(node) ?? 0) + 1);
    healthyRemoved += e.removed.filter((x) => x !== bad).length;
  });
  const observers = sim.names().filter((n) => n !== bad);
  let removedAllMs = NaN;
  const end = t0 + faultMs + flipFor;
  while (sim.now < end) {
    sim.runFor(250);
    if (
      Number.isNaN(removedAllMs) &&
      observers.every((n) => !sim.core(n).routable().includes(bad))
    ) {
      removedAllMs = sim.now - t0;
    }
  }
  return { removedAllMs, maxChangesPerObserver: Math.max(0, ...changes.values()), healthyRemoved };
}

/** Steady-state load per member (G9, G14). */
export interface LoadResult {
  packetsPerSec: number;
  txBytesPerSec: number;
  rxBytesPerSec: number;
  /** Anti-entropy streams started per member per minute while in sync. */
  syncsPerMin: number;
  streamBytesPerSec: number;
  maxPacketBytes: number;
}

/** G9/G14: mean per-member traffic over `windowMs` of a converged, fault-free cluster. */
export function steadyLoad(o: ScenarioOptions & { windowMs?: number }): LoadResult {
  const { sim, convergedAt } = bootCluster(o);
  const nan = NaN;
  if (Number.isNaN(convergedAt)) {
    return {
      packetsPerSec: nan,
      txBytesPerSec: nan,
      rxBytesPerSec: nan,
      syncsPerMin: nan,
      streamBytesPerSec: nan,
      maxPacketBytes: nan,
    };
  }
  sim.runFor(5000);
  const names = sim.names();
  const before = names.map((n) => ({ ...sim.traffic(n), syncs: sim.core(n).stats().syncs }));
  const w = o.windowMs ?? 30_000;
  sim.runFor(w);
  let pk = 0;
  let tx = 0;
  let rx = 0;
  let sy = 0;
  let sb = 0;
  let max = 0;
  names.forEach((n, i) => {
    const a = before[i] as (typeof before)[number];
    const b = sim.traffic(n);
    pk += b.packetsSent - a.packetsSent;
    tx += b.bytesSent - a.bytesSent;
    rx += b.bytesReceived - a.bytesReceived;
    sb += b.streamBytesSent - a.streamBytesSent;
    sy += sim.core(n).stats().syncs - a.syncs;
    max = Math.max(max, b.maxPacketBytes);
  });
  const per = (v: number): number => v / names.length / (w / 1000);
  return {
    packetsPerSec: per(pk),
    txBytesPerSec: per(tx),
    rxBytesPerSec: per(rx),
    syncsPerMin: per(sy) * 60,
    streamBytesPerSec: per(sb),
    maxPacketBytes: max,
  };
}

/** G11: one member joins a converged cluster; ms until all see it and it sees all. */
export function joinConvergence(o: ScenarioOptions): number {
  const { sim, convergedAt } = bootCluster({ ...o, link: undefined });
  if (Number.isNaN(convergedAt)) return NaN;
  if (o.link) {
    for (const a of sim.names())
      for (const b of sim.names()) if (a !== b) sim.setLink(a, b, o.link);
  }
  const j = 'joiner';
  const tj = sim.now + 500;
  sim.at(tj, () => {
    sim.addNode(j, { seeds: [name(o.seed % o.n)] });
    if (o.link)
      for (const a of sim.names())
        if (a !== j) {
          sim.setLink(a, j, o.link);
          sim.setLink(j, a, o.link);
        }
  });
  sim.runUntil(tj);
  while (sim.now < tj + 30_000) {
    sim.runFor(50);
    if (converged(sim)) return sim.now - tj;
  }
  return NaN;
}

/** G12: all `n` members start within one second through one seed; ms until all views agree. */
export function massBootstrap(o: ScenarioOptions & { maxMs?: number }): number {
  return bootCluster(o, 1000, o.maxMs ?? 60_000).convergedAt;
}

/** G13: a member publishes metadata of `size` bytes; ms until every member holds it. */
export function metadataPropagation(o: ScenarioOptions & { size: number }): number {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt)) return NaN;
  const who = name(1 + (o.seed % (o.n - 1)));
  const meta = new Uint8Array(o.size);
  for (let i = 0; i < meta.length; i++) meta[i] = (i * 31 + o.seed) & 0xff;
  const t = sim.now + 300;
  sim.at(t, () => sim.updateMetadata(who, meta));
  sim.runUntil(t);
  const others = sim.names().filter((n) => n !== who);
  const has = (n: string): boolean => {
    const m = sim.core(n).member(who)?.meta;
    return m !== undefined && m.length === meta.length && m.every((b, i) => b === meta[i]);
  };
  while (sim.now < t + 30_000) {
    if (others.every(has)) return sim.now - t;
    sim.runFor(50);
  }
  return NaN;
}

/** G15: split the cluster in two halves for `splitMs`, heal, and time until one view. */
export function partitionHeal(o: ScenarioOptions & { splitMs?: number }): number {
  const { sim, convergedAt } = bootCluster(o);
  if (Number.isNaN(convergedAt)) return NaN;
  const names = sim.names();
  const a = names.slice(0, Math.floor(names.length / 2));
  const b = names.slice(Math.floor(names.length / 2));
  sim.partition(a, b);
  sim.runFor(o.splitMs ?? 60_000);
  sim.heal();
  const th = sim.now;
  while (sim.now < th + 120_000) {
    if (converged(sim)) return sim.now - th;
    sim.runFor(100);
  }
  return NaN;
}
