import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  recordAnswer,
  recordCheck,
  recordFailure,
  slowStartWeight,
  type OutlierPolicy,
} from './health.js';
import { memberState, servesOwn, takesNew, type MemberState } from './member-state.js';

const policy: OutlierPolicy = {
  consecutiveFailures: 5,
  baseEjection: 1000,
  maxEjection: 8000,
  maxEjectionPercent: 50,
};

function members(n: number): MemberState[] {
  return Array.from({ length: n }, (_, i) => memberState(i, { route: `m${i + 1}` }));
}

describe('passive detection', () => {
  it('a transport failure ejects at once, with exponential back-off capped at maxEjection', () => {
    const [a, ...rest] = members(4);
    const peers = [a!, ...rest];
    const lengths: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      expect(recordFailure(a!, 'connect', 'refused', now, peers, policy)).toBe('ejected');
      lengths.push(a!.errorUntil - now);
      expect(servesOwn(a!, now)).toBe(false);
      now = a!.errorUntil;
      expect(servesOwn(a!, now)).toBe(true);
    }
    expect(lengths).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(a!.lastError).toMatchObject({ message: 'refused', phase: 'connect' });
    recordAnswer(a!, 200, now, peers, policy);
    expect(a!.ejections).toBe(0);
    recordFailure(a!, 'sent', 'reset', now, peers, policy);
    expect(a!.errorUntil - now).toBe(1000);
  });

  it('failed answers eject only after consecutiveFailures in a row; any good answer resets', () => {
    const peers = members(2);
    const a = peers[0]!;
    for (let i = 0; i < 4; i++)
      expect(recordFailure(a, 'invalid', 'bad', 0, peers, policy)).toBeUndefined();
    recordAnswer(a, 200, 0, peers, policy);
    for (let i = 0; i < 4; i++) expect(recordAnswer(a, 503, 0, peers, policy)).toBeUndefined();
    expect(recordFailure(a, 'timeout', 'slow', 0, peers, policy)).toBe('ejected');
    expect(takesNew(a, 10)).toBe(false);
  });

  it('failed answers never eject the last member that can serve; a transport failure still does', () => {
    const peers = members(2);
    const [a, b] = [peers[0]!, peers[1]!];
    // b was last seen refusing connections (its ejection ran out): a is the only one answering
    recordFailure(b, 'connect', 'refused', 0, peers, policy);
    const now = b.errorUntil + 1;
    for (let i = 0; i < 10; i++) expect(recordAnswer(a, 503, now, peers, policy)).toBeUndefined();
    for (let i = 0; i < 10; i++)
      expect(recordFailure(a, 'invalid', 'x', now, peers, policy)).toBeUndefined();
    expect(servesOwn(a, now)).toBe(true);
    // once b answers again, a's failed answers count
    recordAnswer(b, 200, now, peers, policy);
    recordAnswer(a, 200, now, peers, policy);
    for (let i = 0; i < 4; i++) expect(recordAnswer(a, 503, now, peers, policy)).toBeUndefined();
    expect(recordAnswer(a, 503, now, peers, policy)).toBe('ejected');
    // a lone member is never ejected for its answers
    const one = members(1);
    for (let i = 0; i < 10; i++) expect(recordAnswer(one[0]!, 500, 0, one, policy)).toBeUndefined();
    expect(recordFailure(one[0]!, 'connect', 'refused', 0, one, policy)).toBe('ejected');
  });

  it('client-caused failures never count', () => {
    const peers = members(2);
    const a = peers[0]!;
    for (let i = 0; i < 50; i++)
      for (const phase of ['request', 'queue', 'responding'] as const)
        expect(recordFailure(a, phase, 'x', 0, peers, policy)).toBeUndefined();
    expect(a.errorUntil).toBe(0);
  });

  it('never ejects more than maxEjectionPercent of the members (at least one)', () => {
    const peers = members(4);
    const results = peers.map((m) => recordFailure(m, 'connect', 'down', 0, peers, policy));
    expect(results).toEqual(['ejected', 'ejected', undefined, undefined]);
    const two = members(2);
    expect(two.map((m) => recordFailure(m, 'connect', 'down', 0, two, policy))).toEqual([
      'ejected',
      undefined,
    ]);
  });

  it('property: at most max(1, ⌊n·pct⌋) members are ever in error at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(
          fc.tuple(
            fc.nat(7),
            fc.constantFrom('connect', 'sent', 'invalid', 'timeout'),
            fc.nat(500),
          ),
          {
            maxLength: 200,
          },
        ),
        (n, pct, events) => {
          const peers = members(n);
          const p = { ...policy, maxEjectionPercent: pct, consecutiveFailures: 2 };
          let now = 0;
          for (const [i, phase, dt] of events) {
            now += dt;
            recordFailure(peers[i % n]!, phase, 'x', now, peers, p);
            const inError = peers.filter((m) => m.errorUntil > now).length;
            expect(inError).toBeLessThanOrEqual(Math.max(1, Math.floor((n * pct) / 100)));
          }
        },
      ),
    );
  });
});

describe('active checks', () => {
  it('fall failed checks take a member down, rise passed checks bring it up with a slow start', () => {
    const m = memberState(0, { route: 'a', weight: 10 });
    const p = { rise: 2, fall: 3 };
    expect(recordCheck(m, true, 3, undefined, 0, p)).toBeUndefined();
    expect(m.health).toBe('up');
    expect(recordCheck(m, false, 2000, 'timeout', 1, p)).toBeUndefined();
    expect(recordCheck(m, false, 2000, 'timeout', 2, p)).toBeUndefined();
    expect(recordCheck(m, false, 2000, 'timeout', 3, p)).toBe('down');
    expect(servesOwn(m, 3)).toBe(false);
    expect(m.lastError).toMatchObject({ phase: 'check', message: 'timeout' });
    expect(recordCheck(m, true, 4, undefined, 10, p)).toBeUndefined();
    expect(m.health).toBe('down');
    expect(recordCheck(m, true, 4, undefined, 20, p)).toBe('up');
    expect(servesOwn(m, 20)).toBe(true);
    expect(m.recoveredAt).toBe(20);
    expect(slowStartWeight(m, 20, 1000)).toBe(1);
    expect(slowStartWeight(m, 520, 1000)).toBe(5);
    expect(slowStartWeight(m, 1020, 1000)).toBe(10);
    expect(slowStartWeight(m, 520, 0)).toBe(10);
  });

  it('a down member stays unusable whatever its passive state', () => {
    const m = memberState(0, { route: 'a' });
    for (let i = 0; i < 3; i++) recordCheck(m, false, 1, 'refused', i, { rise: 1, fall: 3 });
    recordAnswer(m, 200, 5, [m], policy);
    expect(servesOwn(m, 5)).toBe(false);
  });
});
