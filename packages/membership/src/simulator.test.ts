import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { bootCluster, converged, crashDetection, stability, steadyLoad } from './scenarios.js';
import { Simulator } from './simulator.js';

const cfg = resolveConfig('lan');

function pct(values: number[], p: number): number {
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/** Run `fn` for each seed; on a failed expectation, name the seed so the run can be replayed. */
function perSeed<T>(seeds: number[], fn: (seed: number) => T): T[] {
  return seeds.map((seed) => {
    try {
      return fn(seed);
    } catch (err) {
      throw new Error(`failing seed ${seed} (replay with the same seed): ${String(err)}`, {
        cause: err,
      });
    }
  });
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('Simulator', () => {
  it('is deterministic: the same seed gives the same trace, another seed another', () => {
    const run = (seed: number): string => {
      const { sim } = bootCluster({ seed, n: 8, link: { loss: 0.05 } });
      sim.crash('n3');
      sim.runFor(10_000);
      return sim.trace();
    };
    expect(run(11)).toBe(run(11));
    expect(run(11)).not.toBe(run(12));
  });

  it('models partitions, pauses and MTU', () => {
    const sim = new Simulator({ seed: 3, mtu: 800 });
    for (const n of ['a', 'b', 'c']) sim.addNode(n, { seeds: n === 'a' ? [] : ['a'] });
    sim.runFor(5000);
    expect(converged(sim)).toBe(true);
    sim.partition(['a'], ['b', 'c']);
    sim.runFor(20_000);
    expect(sim.core('b').member('a')?.status).toBe('dead');
    sim.heal();
    sim.runFor(15_000);
    expect(converged(sim)).toBe(true);
    // two user messages share one datagram of more than 1000 bytes: over the 800-byte MTU
    sim.broadcast('a', new Uint8Array(500));
    sim.broadcast('a', new Uint8Array(500));
    sim.runFor(2000);
    expect(sim.mtuDrops).toBeGreaterThan(0);
  });
});

describe('goal table in CI (reduced: N = 5 and 50, a few dozen seeds)', () => {
  it('G1: crash detected by every member at N=5 — p50 <= 3 s, p99 <= 5 s', () => {
    const t = perSeed(range(1, 30), (seed) => crashDetection({ seed, n: 5 }));
    expect(t.every((x) => Number.isFinite(x))).toBe(true);
    expect(pct(t, 50)).toBeLessThanOrEqual(3000);
    expect(pct(t, 99)).toBeLessThanOrEqual(5000);
  });

  it('G2: crash detected by every member at N=50 — p50 <= 4 s, p99 <= 6 s', () => {
    const t = perSeed(range(100, 16), (seed) => crashDetection({ seed, n: 50 }));
    expect(t.every((x) => Number.isFinite(x))).toBe(true);
    expect(pct(t, 50)).toBeLessThanOrEqual(4000);
    expect(pct(t, 99)).toBeLessThanOrEqual(6000);
  });

  it('G5: no healthy member declared dead at N=50 with 5 % loss on every link', () => {
    perSeed(range(200, 3), (seed) => {
      const r = stability({ seed, n: 50, durationMs: 180_000, link: { loss: 0.05 } });
      expect(r.falseDead).toBe(0);
      return r;
    });
  });

  it('G7: CPU-starved members — 0 healthy declared dead, starved not declared dead; ablation is worse', () => {
    let on = 0;
    let off = 0;
    perSeed(range(300, 3), (seed) => {
      const base = {
        seed,
        n: 50,
        durationMs: 180_000,
        starved: 4,
        stallMinMs: 200,
        stallMaxMs: 1500,
        duty: 0.5,
      };
      const r = stability(base);
      expect(r.falseDead).toBe(0);
      expect(r.exemptDead).toBe(0);
      on += r.falseDead + r.exemptDead;
      const a = stability({ ...base, config: { lifeguard: false } });
      off += a.falseDead + a.exemptDead;
    });
    expect(on).toBe(0);
    expect(off).toBeGreaterThan(0);
  });

  it('G9 + G16: packets per member flat from N=5 to N=50 (±10 %), no datagram over 1200 bytes', () => {
    const a = steadyLoad({ seed: 400, n: 5, windowMs: 30_000 });
    const b = steadyLoad({ seed: 401, n: 50, windowMs: 30_000 });
    expect(Math.abs(b.packetsPerSec - a.packetsPerSec) / a.packetsPerSec).toBeLessThanOrEqual(0.1);
    expect(a.maxPacketBytes).toBeLessThanOrEqual(cfg.maxPacketBytes);
    expect(b.maxPacketBytes).toBeLessThanOrEqual(cfg.maxPacketBytes);
    expect(b.syncsPerMin).toBe(0); // G14: in sync, anti-entropy costs only the checksum in pings
  });
});

describe('properties over fault schedules', () => {
  const schedule = fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    n: fc.integer({ min: 4, max: 9 }),
    loss: fc.double({ min: 0, max: 0.05, noNaN: true }),
    pauses: fc.array(
      fc.record({
        node: fc.nat(),
        at: fc.integer({ min: 0, max: 20_000 }),
        ms: fc.integer({ min: 50, max: 1500 }),
      }),
      { maxLength: 6 },
    ),
  });

  it('no healthy, reachable member is declared dead while loss <= 5 % and stalls <= 1.5 s', () => {
    fc.assert(
      fc.property(schedule, ({ seed, n, loss, pauses }) => {
        const { sim } = bootCluster({ seed, n });
        let dead = 0;
        sim.onEvent((_t, _node, e) => {
          if (e.type === 'dead') dead++;
        });
        const names = sim.names();
        for (const a of names) for (const b of names) if (a !== b) sim.setLink(a, b, { loss });
        const t0 = sim.now;
        for (const p of pauses)
          sim.at(t0 + p.at, () => sim.pause(names[p.node % n] as string, p.ms));
        sim.runFor(30_000);
        return dead === 0;
      }),
      { numRuns: 12 },
    );
  });

  it('views converge after faults stop (crashes, restarts, partitions, loss)', () => {
    fc.assert(
      fc.property(
        schedule,
        fc.integer({ min: 1, max: 20_000 }),
        fc.boolean(),
        ({ seed, n, loss, pauses }, splitMs, restart) => {
          const { sim } = bootCluster({ seed, n });
          const names = sim.names();
          for (const a of names)
            for (const b of names) if (a !== b) sim.setLink(a, b, { loss: loss * 2 });
          const t0 = sim.now;
          for (const p of pauses)
            sim.at(t0 + p.at, () => sim.pause(names[p.node % n] as string, p.ms * 4));
          const half = names.slice(0, Math.floor(n / 2));
          const rest = names.slice(Math.floor(n / 2));
          sim.at(t0 + 1000, () => sim.partition(half, rest));
          sim.at(t0 + 1000 + splitMs, () => sim.heal());
          const victim = names[n - 1] as string;
          sim.at(t0 + 500, () => sim.crash(victim));
          if (restart) sim.at(t0 + 5000, () => sim.restart(victim));
          sim.runUntil(t0 + 25_000);
          for (const a of names) for (const b of names) if (a !== b) sim.setLink(a, b, { loss: 0 });
          const quiet = sim.now;
          while (sim.now < quiet + 40_000 && !converged(sim)) sim.runFor(250);
          return converged(sim);
        },
      ),
      { numRuns: 10 },
    );
  });
});
