import { describe, expect, it } from 'vitest';

import { checkCounterHistory, type CounterOp } from './counter-history.js';

const ok = (counter: number, key = 'k', createdAt = 1): CounterOp => ({
  ok: true,
  uncertain: false,
  seen: { key, createdAt, counter },
});
const failed: CounterOp = { ok: false, uncertain: false };

describe('checkCounterHistory', () => {
  it('accepts a counter that goes up by one per acknowledged request', () => {
    expect(checkCounterHistory([ok(1), ok(2), ok(3)])).toMatchObject({
      lostSessions: 0,
      lostIncrements: 0,
      unexplained: 0,
      extraIncrements: 0,
      problems: [],
    });
  });

  it('counts a counter that went back as a lost acknowledged increment', () => {
    const v = checkCounterHistory([ok(1), ok(2), ok(2)]);
    expect(v.lostIncrements).toBe(1);
    expect(v.problems).toHaveLength(1);
  });

  it('counts another key or creation time as a lost session', () => {
    expect(checkCounterHistory([ok(1), ok(1, 'other')]).lostSessions).toBe(1);
    expect(checkCounterHistory([ok(1), ok(2, 'k', 2)]).lostSessions).toBe(1);
  });

  it('tolerates one extra increment per failed or uncertain request, and reports it', () => {
    expect(checkCounterHistory([ok(1), failed, ok(3)])).toMatchObject({
      lostIncrements: 0,
      unexplained: 0,
      extraIncrements: 1,
    });
    expect(checkCounterHistory([ok(1), failed, ok(2)]).extraIncrements).toBe(0);
    const retried = { ...ok(3), uncertain: true }; // retried by the proxy: applied twice
    expect(checkCounterHistory([ok(1), retried])).toMatchObject({
      unexplained: 0,
      extraIncrements: 1,
    });
  });

  it('flags a jump no request explains', () => {
    expect(checkCounterHistory([ok(1), ok(3)]).unexplained).toBe(1);
    expect(checkCounterHistory([ok(1), failed, ok(4)]).unexplained).toBe(1);
  });
});
