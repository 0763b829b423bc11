import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { formatPath } from './path.js';

describe('resolveLimits', () => {
  it('completes with the defaults', () => {
    expect(resolveLimits({ maxDepth: 3 })).toEqual({ ...DEFAULT_LIMITS, maxDepth: 3 });
    expect(Object.isFrozen(resolveLimits())).toBe(true);
  });

  it('names a bad or unknown limit', () => {
    expect(() => resolveLimits({ maxDepth: 0 })).toThrow(/maxDepth/);
    expect(() => resolveLimits({ maxItems: 1.5 })).toThrow(/maxItems/);
    expect(() => resolveLimits({ maxDeph: 3 } as never)).toThrow(/unknown limit maxDeph/);
  });
});

describe('formatPath', () => {
  it('writes paths as code would', () => {
    expect(formatPath(['cart', 'items', 3, 'price'])).toBe('cart.items[3].price');
    expect(formatPath(['a b', 'c-d', '$ok', 0])).toBe('a b["c-d"].$ok[0]');
    expect(formatPath(['order', 'total', { type: 'Money' }, 'cents'])).toBe(
      'order.total<Money>.cents',
    );
  });
});
