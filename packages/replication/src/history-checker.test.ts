import { describe, expect, it } from 'vitest';
import { checkHistory, type HistoryOp } from './history-checker.js';

const v = (epoch: number, seq: number) => ({ epoch, seq });
let t = 0;
function op(o: Partial<HistoryOp> & Pick<HistoryOp, 'kind'>): HistoryOp {
  t += 10;
  return { client: 'a', key: 'k', invokedAt: t - 5, respondedAt: t, ok: true, ...o };
}

describe('checkHistory', () => {
  it('accepts a consistent history', () => {
    const h = [
      op({ kind: 'write', version: v(1, 1), wrote: { attr: 'a', value: 1, durable: true } }),
      op({ kind: 'read', version: v(1, 1), read: new Map([['a', 1]]) }),
      op({ kind: 'read', client: 'b', version: v(1, 1), read: new Map([['a', 1]]) }),
      op({ kind: 'write', version: v(2, 1), wrote: { attr: 'a', value: 2, durable: true } }),
      op({ kind: 'read', version: v(2, 1), read: new Map([['a', 2]]) }),
    ];
    expect(checkHistory(h)).toEqual([]);
  });

  it('finds a read that goes back to an older version', () => {
    const h = [
      op({ kind: 'read', version: v(2, 3), read: new Map() }),
      op({ kind: 'read', version: v(2, 1), read: new Map() }),
    ];
    expect(checkHistory(h).map((x) => x.rule)).toEqual(['monotonic']);
  });

  it('compares states regardless of attribute order', () => {
    const h = [
      op({
        kind: 'read',
        version: v(1, 4),
        read: new Map([
          ['a', 1],
          ['b', 2],
        ]),
      }),
      op({
        kind: 'read',
        client: 'b',
        version: v(1, 4),
        read: new Map([
          ['b', 2],
          ['a', 1],
        ]),
      }),
    ];
    expect(checkHistory(h)).toEqual([]);
  });

  it('finds two different states under one version', () => {
    const h = [
      op({ kind: 'read', version: v(1, 4), read: new Map([['a', 1]]) }),
      op({ kind: 'read', client: 'b', version: v(1, 4), read: new Map([['a', 2]]) }),
    ];
    expect(checkHistory(h).map((x) => x.rule)).toEqual(['same-version-same-state']);
  });

  it('finds a lost acknowledged write, unless the session ended in between', () => {
    const h = [
      op({ kind: 'write', version: v(1, 1), wrote: { attr: 'a', value: 5, durable: true } }),
      op({ kind: 'read', version: v(1, 3), read: new Map([['a', 4]]) }),
    ];
    expect(checkHistory(h).map((x) => x.rule)).toEqual(['read-your-writes']);
    expect(checkHistory(h, new Map([['k', [v(1, 2)]]]))).toEqual([]);
  });

  it('does not hold owner-level writes to read-your-writes', () => {
    const h = [
      op({ kind: 'write', version: v(1, 1), wrote: { attr: 'a', value: 5, durable: false } }),
      op({ kind: 'read', version: v(2, 1), read: new Map([['a', 4]]) }),
    ];
    expect(checkHistory(h)).toEqual([]);
  });

  it('ignores failed operations', () => {
    const h = [
      op({
        kind: 'write',
        ok: false,
        version: v(1, 9),
        wrote: { attr: 'a', value: 5, durable: true },
      }),
      op({ kind: 'read', version: v(1, 3), read: null }),
    ];
    expect(checkHistory(h)).toEqual([]);
  });
});
