import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulator.js';
import { wireCodec } from './wire.js';

// Replays one seed with its trace: REPLICATION_SEED=<n> npx vitest run src/simulator.replay.test.ts
const seed = Number(process.env.REPLICATION_SEED ?? '7');

describe(`simulation replay of seed ${seed}`, () => {
  it('is deterministic and keeps the invariants', () => {
    const a = runSimulation({ seed, codec: wireCodec, trace: true });
    const b = runSimulation({ seed, codec: wireCodec, trace: true });
    if (process.env.REPLICATION_SEED) console.log(a.trace.join('\n'));
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
    expect(a.violations).toEqual([]);
  }, 60_000);

  it('runs without faults too', () => {
    const r = runSimulation({ seed, faults: false, codec: wireCodec });
    expect(r.violations).toEqual([]);
    expect(r.stats.crashes).toBe(0);
    expect(r.stats.dropped).toBe(0);
  }, 60_000);
});
