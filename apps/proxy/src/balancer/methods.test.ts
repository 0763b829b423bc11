import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { memberState, type MemberState } from './member-state.js';
import {
  byBusyness,
  byRequests,
  byTraffic,
  createMethod,
  powerOfTwo,
  rendezvous,
} from './methods.js';

function members(weights: number[]): MemberState[] {
  return weights.map((w, i) => memberState(i, { route: `m${i + 1}`, weight: w }));
}

function seq(pickFn: () => MemberState, n: number): string {
  return Array.from({ length: n }, () => pickFn().route).join(' ');
}

describe('byrequests (smooth weighted round robin, httpd/nginx semantics)', () => {
  it('interleaves by weight: 5:1:1 gives a a b a c a a', () => {
    const ms = members([5, 1, 1]);
    expect(seq(() => byRequests(ms), 7)).toBe('m1 m1 m2 m1 m3 m1 m1');
  });
  it('alternates equal members', () => {
    const ms = members([1, 1]);
    expect(seq(() => byRequests(ms), 4)).toBe('m1 m2 m1 m2');
  });
  it('gives every member exactly its share over one cycle, for any weights', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 6 }),
        (ws) => {
          const ms = members(ws);
          const total = ws.reduce((a, b) => a + b, 0);
          const counts = new Array<number>(ws.length).fill(0);
          for (let i = 0; i < total; i++) counts[byRequests(ms).index]!++;
          expect(counts).toEqual(ws);
        },
      ),
    );
  });
});

describe('bytraffic', () => {
  it('picks the fewest bytes per weight', () => {
    const ms = members([1, 2]);
    ms[0]!.traffic = 100;
    ms[1]!.traffic = 150; // 75 per weight
    expect(byTraffic(ms).route).toBe('m2');
    ms[1]!.traffic = 250;
    expect(byTraffic(ms).route).toBe('m1');
  });
});

describe('bybusyness', () => {
  it('picks the fewest in flight per weight, ties by byrequests', () => {
    const ms = members([1, 1, 1]);
    ms[0]!.inflight = 3;
    ms[1]!.inflight = 1;
    ms[2]!.inflight = 1;
    expect(seq(() => byBusyness(ms), 4)).toBe('m2 m3 m2 m3');
    ms[2]!.inflight = 0;
    expect(byBusyness(ms).route).toBe('m3');
  });
});

describe('p2c', () => {
  it('never picks the busier of the two draws', () => {
    const ms = members([1, 1, 1, 1]);
    ms.forEach((m, i) => (m.inflight = i * 10));
    let r = 0;
    const draws = [0.1, 0.9, 0.6, 0.2];
    const random = () => draws[r++ % draws.length]!;
    // draws: i=0 (m1, 0 in flight), j from 0.9*3=2 -> 2 >= 0 -> 3 (m4): m1 wins
    expect(powerOfTwo(ms, { random }).route).toBe('m1');
    // i = floor(0.6*4)=2 (m3), j=floor(0.2*3)=0 -> m1: m1 wins (fewer in flight)
    expect(powerOfTwo(ms, { random }).route).toBe('m1');
  });
  it('draws two distinct members', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        (a, b) => {
          const ms = members([1, 1]);
          ms[0]!.inflight = 5;
          let k = 0;
          const picked = powerOfTwo(ms, { random: () => (k++ === 0 ? a : b) });
          expect(picked.route).toBe('m2');
        },
      ),
    );
  });
});

describe('hash (weighted rendezvous)', () => {
  it('maps a key to the same member every time', () => {
    const ms = members([1, 1, 1]);
    const first = rendezvous(ms, '10.0.0.1')!.route;
    for (let i = 0; i < 10; i++) expect(rendezvous(ms, '10.0.0.1')!.route).toBe(first);
  });
  it('moves only the keys of a removed member (minimal remapping)', () => {
    const ms = members([1, 1, 1, 1]);
    const keys = Array.from({ length: 2000 }, (_, i) => `client-${i}`);
    const before = keys.map((k) => rendezvous(ms, k)!.route);
    const without = ms.filter((m) => m.route !== 'm3');
    const after = keys.map((k) => rendezvous(without, k)!.route);
    let moved = 0;
    keys.forEach((_, i) => {
      if (before[i] !== 'm3') expect(after[i]).toBe(before[i]);
      else moved++;
    });
    // about a quarter of the keys lived on m3
    expect(moved).toBeGreaterThan(350);
    expect(moved).toBeLessThan(650);
  });
  it('spreads keys by weight', () => {
    const ms = members([1, 3]);
    const counts = { m1: 0, m2: 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++) counts[rendezvous(ms, `k${i}`)!.route]!++;
    expect(counts['m2']! / 4000).toBeGreaterThan(0.7);
    expect(counts['m2']! / 4000).toBeLessThan(0.8);
  });
  it('falls back to round robin without a key', () => {
    const m = createMethod('hash');
    const ms = members([1, 1]);
    const random = Math.random;
    expect([m(ms, { random }).route, m(ms, { random }).route].sort()).toEqual(['m1', 'm2']);
  });
});

describe('roundrobin', () => {
  it('rotates through the candidates ignoring weights', () => {
    const m = createMethod('roundrobin');
    const ms = members([5, 1, 1]);
    expect(seq(() => m(ms, { random: Math.random }), 6)).toBe('m2 m3 m1 m2 m3 m1');
  });
});
