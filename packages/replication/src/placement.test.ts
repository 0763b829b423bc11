import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placementOf } from './placement.js';

const members = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];

describe('placementOf (rendezvous hashing)', () => {
  it('is the same whatever the order of the member list', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.shuffledSubarray(members, { minLength: 1 }),
        (key, ms) => {
          expect(placementOf(key, ms, 3)).toEqual(placementOf(key, [...ms].reverse(), 3));
        },
      ),
    );
  });

  it('returns distinct members, at most `replicas`', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 8 }), (key, r) => {
        const p = placementOf(key, members, r);
        expect(p.length).toBe(Math.min(r, members.length));
        expect(new Set(p).size).toBe(p.length);
      }),
    );
  });

  it('moves only the keys the leaving member held (minimal movement)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.constantFrom(...members), (key, gone) => {
        const before = placementOf(key, members, 3);
        const after = placementOf(
          key,
          members.filter((m) => m !== gone),
          3,
        );
        if (!before.includes(gone)) expect(after).toEqual(before);
        else expect(after.slice(0, 2)).toEqual(before.filter((m) => m !== gone).slice(0, 2));
      }),
    );
  });

  it('spreads owners evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const o = placementOf(`session-${i}`, members, 3)[0]!;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const m of members) expect(Math.abs(counts.get(m)! - 10_000)).toBeLessThan(600);
  });
});
