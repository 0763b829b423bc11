import { describe, expect, it } from 'vitest';
import { runSeeds } from './simulator.js';
import { wireCodec } from './wire.js';

// Seeds 51-100 of the fault simulation; the four seed files run in parallel workers.
describe('simulation seeds 51-100', () => {
  it('keeps every invariant on every seed', () => {
    const { failures, reports } = runSeeds(51, 100, wireCodec);
    if (failures !== '') throw new Error(failures);
    // The runs did real work: durable writes, crashes and ownership changes happened.
    const sum = (f: (r: (typeof reports)[number]) => number): number =>
      reports.reduce((n, r) => n + f(r), 0);
    expect(sum((r) => r.stats.ackedDurable)).toBeGreaterThan(50 * 300);
    expect(sum((r) => r.stats.crashes)).toBeGreaterThan(20);
    expect(sum((r) => r.stats.ownerChanges)).toBeGreaterThan(50 * 10);
  }, 180_000);
});
