// The README's example, run as a test so it stays true.
import { describe, expect, it } from 'vitest';
import {
  ValueCodec,
  TrackedSession,
  createSession,
  applyDelta,
  encodeDelta,
  decodeDelta,
  encodeSession,
  decodeSession,
  decodeSessionValues,
  readAttribute,
  sessionsEqual,
  SessionCodecError,
} from './index.js';

describe('README example', () => {
  it('runs as written', () => {
    let stored = createSession({
      key: 'Jx2w5Qk3l8Zr0aYbTqP7vN',
      now: Date.now(),
      maxInactiveSeconds: 1800,
      attributes: { cart: { items: [{ sku: 'A1', qty: 1 }] }, user: 'ann' },
    });
    const session = new TrackedSession(stored);
    const cart = session.attributes.cart as { items: { sku: string; qty: number }[] };
    cart.items.push({ sku: 'B7', qty: 2 });
    session.attributes.lastSeen = new Date();
    let refused: unknown;
    try {
      session.set('callback', () => 1);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(SessionCodecError);
    expect((refused as Error).message).toBe('callback: function is not serializable');
    const { delta } = session.commit();
    expect(delta!.ops.map((o) => ('name' in o ? o.name : o.op))).toEqual(['cart', 'lastSeen']);
    const bytes = encodeDelta(delta!);
    expect(bytes.byteLength).toBeLessThan(150);
    stored = applyDelta(stored, decodeDelta(bytes), { version: { epoch: 0, seq: 1 } })!;
    expect(readAttribute(stored, 'cart')).toEqual({
      items: [
        { sku: 'A1', qty: 1 },
        { sku: 'B7', qty: 2 },
      ],
    });
    expect(sessionsEqual(decodeSession(encodeSession(stored)), stored)).toBe(true);
    const { values, version } = decodeSessionValues(encodeSession(stored));
    expect(values.user).toBe('ann');
    expect(values.cart).toEqual(readAttribute(stored, 'cart'));
    expect(version).toEqual({ epoch: 0, seq: 1 });
  });

  it('custom classes', () => {
    class Money {
      constructor(
        readonly cents: number,
        readonly currency: string,
      ) {}
    }
    const codec = new ValueCodec({
      types: [
        {
          name: 'Money',
          type: Money,
          encode: (m: Money) => [m.cents, m.currency],
          decode: (v) => new Money(...(v as [number, string])),
        },
      ],
    });
    const stored = createSession({ key: 'k', now: 0, maxInactiveSeconds: 60 });
    const tracked = new TrackedSession(stored, codec);
    tracked.set('total', new Money(1999, 'EUR'));
    const next = applyDelta(stored, tracked.commit().delta!)!;
    expect(readAttribute(next, 'total', codec)).toEqual(new Money(1999, 'EUR'));
  });
});
