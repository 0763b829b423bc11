import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { LocalHealth } from './local-health.js';
import { RoutableSet } from './routable-set.js';
import { grayFailure } from './scenarios.js';
import { suspicionTimeout } from './suspicion.js';

describe('suspicionTimeout (Lifeguard dynamic suspicion)', () => {
  it('starts at Max, falls logarithmically with confirmations, reaches Min at K', () => {
    expect(suspicionTimeout(0, 3, 2000, 15_000)).toBe(15_000);
    const one = suspicionTimeout(1, 3, 2000, 15_000);
    const two = suspicionTimeout(2, 3, 2000, 15_000);
    expect(one).toBe(Math.floor(15_000 - 13_000 * (Math.log(2) / Math.log(4))));
    expect(two).toBeLessThan(one);
    expect(suspicionTimeout(3, 3, 2000, 15_000)).toBe(2000);
    expect(suspicionTimeout(9, 3, 2000, 15_000)).toBe(2000);
    expect(suspicionTimeout(0, 0, 2000, 15_000)).toBe(2000); // nobody could confirm
  });
});

describe('LocalHealth', () => {
  it('saturates, scales the interval, and remembers measured stalls', () => {
    const h = new LocalHealth(8, 200, 500);
    expect(h.multiplier(0)).toBe(1);
    for (let i = 0; i < 20; i++) h.apply(1);
    expect(h.multiplier(0)).toBe(8);
    h.apply(-100);
    expect(h.multiplier(0)).toBe(1);
    expect(h.reportDelay(1000, 50)).toBe(false); // below half the probe timeout: not a stall
    expect(h.reportDelay(1000, 900)).toBe(true);
    expect(h.multiplier(1000)).toBe(6); // ceil(900 / 200) + 1
    expect(h.stalledSince(900)).toBe(true);
    expect(h.stalledSince(1001)).toBe(false);
    expect(h.multiplier(1000 + 4 * 500)).toBe(1); // the delay score expires
  });
});

describe('RoutableSet', () => {
  const cfg = resolveConfig('lan');

  it('batches concurrent removals into one transition', () => {
    const r = new RoutableSet(cfg, 'me');
    for (const n of ['a', 'b', 'c', 'd']) r.observe(n, 'alive', 0);
    expect(r.flush(cfg.routableBatchMs)?.added).toEqual(['a', 'b', 'c', 'd']);
    r.observe('a', 'dead', 10_000);
    r.observe('b', 'dead', 10_100);
    r.observe('c', 'dead', 10_200);
    expect(r.flush(10_200)).toBeUndefined(); // window still open
    expect(r.flush(10_000 + cfg.routableBatchMs)).toEqual({
      added: [],
      removed: ['a', 'b', 'c'],
      routable: ['d', 'me'],
    });
  });

  it('keeps a suspect routable, damps a flapping member, readmits only after sustained health', () => {
    const r = new RoutableSet(cfg, 'me');
    r.observe('x', 'alive', 0);
    r.flush(cfg.routableBatchMs);
    let t = 1000;
    r.observe('x', 'suspect', t);
    r.suspicion('x', 0, 1, t);
    r.observe('x', 'alive', t + 300);
    r.recheck(t + 400);
    r.flush(t + 2000);
    expect(r.has('x')).toBe(true); // one refuted suspicion does not remove
    for (let inc = 1; inc <= 3; inc++) {
      t += 1000;
      r.observe('x', 'suspect', t);
      r.suspicion('x', inc, 2, t); // confirmed by a second observer: full weight
      r.observe('x', 'alive', t + 300);
    }
    r.recheck(t + 400);
    expect(r.flush(t + 400 + cfg.routableBatchMs)?.removed).toEqual(['x']);
    // Healthy again, but the penalty must decay below dampingReuse first.
    r.recheck(t + 20_000);
    expect(r.flush(t + 20_000 + cfg.routableBatchMs)).toBeUndefined();
    const later = t + 10 * cfg.dampingHalfLifeMs;
    r.recheck(later);
    expect(r.flush(later + cfg.routableBatchMs)?.added).toEqual(['x']);
  });

  it('G8 in CI: a gray member leaves every routable set within 30 s, one change per observer', () => {
    const g = grayFailure({ seed: 8001, n: 50, faultMs: 40_000, flipForMs: 40_000 });
    expect(g.removedAllMs).toBeLessThanOrEqual(30_000);
    expect(g.maxChangesPerObserver).toBe(1);
    expect(g.healthyRemoved).toBe(0);
  });
});
