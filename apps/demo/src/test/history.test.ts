import { describe, expect, it } from 'vitest';

import { checkClientHistory, type ClientOp } from './history.js';

const seen = (counter: number, attribute?: number, key = 'K1', createdAt = 't0') => ({
  key,
  createdAt,
  counter,
  attribute,
});
const count = (counter: number, attribute?: number, o: Partial<ClientOp> = {}): ClientOp => ({
  kind: 'count',
  ok: true,
  uncertain: false,
  seen: seen(counter, attribute),
  ...o,
});
const set = (value: number, counter: number, o: Partial<ClientOp> = {}): ClientOp => ({
  kind: 'set',
  ok: true,
  uncertain: false,
  value,
  seen: seen(counter, value),
  ...o,
});
const failed = (kind: 'count' | 'set', value?: number): ClientOp => ({
  kind,
  ok: false,
  uncertain: true,
  ...(value !== undefined ? { value } : {}),
});

describe('the cluster test checker', () => {
  it('accepts a history where every response shows what was acknowledged', () => {
    const v = checkClientHistory([
      count(1),
      set(1, 1),
      count(2, 1),
      set(2, 2),
      { kind: 'read', ok: true, uncertain: false, seen: seen(2, 2) },
    ]);
    expect(v).toEqual({
      lostSessions: 0,
      lostWrites: 0,
      unexplained: 0,
      extraIncrements: 0,
      problems: [],
    });
  });
  it('counts a counter or attribute below the acknowledged one as a lost write', () => {
    expect(checkClientHistory([count(1), count(2), count(2)]).lostWrites).toBe(1);
    expect(checkClientHistory([count(1), count(2), set(1, 1)]).lostWrites).toBe(1);
    expect(checkClientHistory([count(1), set(3, 1), count(2, 2)]).lostWrites).toBe(1);
    const read: ClientOp = { kind: 'read', ok: true, uncertain: false, seen: seen(3, 2) };
    expect(checkClientHistory([count(1), set(3, 1), count(2, 3), read]).lostWrites).toBe(1);
  });
  it('counts a set whose response does not show its value', () => {
    expect(checkClientHistory([count(1), { ...set(2, 1), seen: seen(1, 1) }]).lostWrites).toBe(1);
  });
  it('counts a new session (key or creation time) as a lost session', () => {
    expect(
      checkClientHistory([count(1), count(2), { ...count(1), seen: seen(1, undefined, 'K2') }])
        .lostSessions,
    ).toBe(1);
    expect(
      checkClientHistory([count(1), { ...count(2), seen: seen(2, undefined, 'K1', 't1') }])
        .lostSessions,
    ).toBe(1);
  });
  it('explains extra increments only by failed or uncertain requests', () => {
    expect(checkClientHistory([count(1), count(3)]).unexplained).toBe(1);
    const explained = checkClientHistory([count(1), failed('count'), count(3)]);
    expect(explained).toMatchObject({ unexplained: 0, extraIncrements: 1 });
    expect(checkClientHistory([count(1), failed('count'), count(2)]).extraIncrements).toBe(0);
    const retried = checkClientHistory([count(1), count(3, undefined, { uncertain: true })]);
    expect(retried).toMatchObject({ unexplained: 0, lostWrites: 0, extraIncrements: 1 });
    expect(checkClientHistory([count(1), set(1, 2)]).unexplained).toBe(1);
  });
  it('accepts a failed set that happened, but not a value never written', () => {
    expect(checkClientHistory([set(1, 0), failed('set', 2), count(1, 2)]).lostWrites).toBe(0);
    expect(checkClientHistory([set(1, 0), failed('set', 2), count(1, 2)]).unexplained).toBe(0);
    expect(checkClientHistory([set(1, 0), count(1, 5)]).unexplained).toBe(1);
  });
});
