import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta } from './apply-delta.js';
import type { SessionCodecError } from './errors.js';
import { createSession, readAttribute, readAttributes, type Session } from './session.js';
import { TrackedSession } from './tracked-session.js';
import { ValueCodec } from './value-codec.js';
import {
  arbitraryName,
  arbitrarySession,
  arbitraryValue,
  expectCodecError,
} from '../test/support.js';

/** A codec that counts how often it encodes, per attribute name. */
class CountingCodec extends ValueCodec {
  readonly encoded: string[] = [];
  override encode(value: unknown, name = 'value'): Uint8Array {
    this.encoded.push(name);
    return super.encode(value, name);
  }
}

function session(attributes: Record<string, unknown>): Session {
  return createSession({
    key: 'k',
    now: 1000,
    maxInactiveSeconds: 1800,
    attributes,
    version: { epoch: 1, seq: 1 },
  });
}

function commitNames(t: TrackedSession): string[] {
  const { delta, errors } = t.commit();
  expect(errors).toEqual([]);
  return (delta?.ops ?? []).map((op) => ('name' in op ? `${op.op}:${op.name}` : op.op));
}

describe('TrackedSession: explicit changes', () => {
  it('a read-only request produces no delta and encodes nothing untouched', () => {
    const codec = new CountingCodec();
    const s = session({ cart: { items: [1, 2] }, user: 'ann', big: 'x'.repeat(1000) });
    codec.encoded.length = 0;
    const t = new TrackedSession(s, codec);
    expect(t.attributes.user).toBe('ann');
    expect(t.get('cart')).toEqual({ items: [1, 2] });
    const { delta } = t.commit();
    expect(delta).toBeNull();
    // Only the object that was read is re-encoded; the string read and the untouched attribute are not.
    expect(codec.encoded).toEqual(['cart']);
  });

  it('records set, remove and property-style changes', () => {
    const t = new TrackedSession(session({ a: 1, b: 2, c: 3 }));
    t.set('a', 10);
    t.remove('b');
    t.attributes.d = 'new';
    delete t.attributes.c;
    expect(t.names().sort()).toEqual(['a', 'd']);
    expect(Object.keys(t.attributes).sort()).toEqual(['a', 'd']);
    expect('b' in t.attributes).toBe(false);
    expect(JSON.parse(JSON.stringify(t.attributes))).toEqual({ a: 10, d: 'new' });
    expect(commitNames(t)).toEqual(['set:a', 'remove:b', 'remove:c', 'set:d']);
  });

  it('setting undefined removes, as express-session users expect', () => {
    const t = new TrackedSession(session({ user: 'ann' }));
    t.attributes.user = undefined;
    expect(t.has('user')).toBe(false);
    expect(commitNames(t)).toEqual(['remove:user']);
  });

  it('removing an absent attribute, or setting and removing a new one, produces nothing', () => {
    const t = new TrackedSession(session({}));
    t.remove('nope');
    t.set('tmp', 1);
    t.remove('tmp');
    expect(t.commit().delta).toBeNull();
  });

  it('several sets of one name become one op', () => {
    const t = new TrackedSession(session({}));
    for (let i = 0; i < 5; i++) t.set('n', i);
    const { delta } = t.commit();
    expect(delta!.ops).toHaveLength(1);
    expect(readAttribute(applyDelta(session({}), delta!)!, 'n')).toBe(4);
  });

  it('a bad value is refused at set, naming the path, and changes nothing', () => {
    const t = new TrackedSession(session({ cart: { items: [] } }));
    const err = expectCodecError(
      () => t.set('cart', { items: [0, 1, 2, { price: () => 1 }] }),
      'UNSUPPORTED_TYPE',
    );
    expect(err.message).toBe('cart.items[3].price: function is not serializable');
    t.set('ok', true);
    expect(t.get('cart')).toEqual({ items: [] });
    expect(commitNames(t)).toEqual(['set:ok']);
  });

  it('records maxInactive, principal and touch only when they change', () => {
    const t = new TrackedSession(session({}));
    t.setMaxInactive(1800);
    t.setPrincipal(null);
    expect(t.commit().delta).toBeNull();
    const u = new TrackedSession(session({}));
    u.setMaxInactive(60);
    u.setPrincipal({ name: 'ann', authType: 'FORM' });
    u.touch(5000);
    expect(u.isNew).toBe(false);
    expect(commitNames(u)).toEqual(['setMaxInactive', 'setPrincipal', 'touch']);
  });

  it('invalidate yields a lone invalidate and closes the view', () => {
    const t = new TrackedSession(session({ a: 1 }));
    t.set('a', 2);
    t.invalidate();
    expectCodecError(() => t.get('a'), 'INVALID_STATE');
    expect(commitNames(t)).toEqual(['invalidate']);
    expectCodecError(() => t.commit(), 'INVALID_STATE');
  });

  it('refuses empty and over-long names, and too many attributes', () => {
    const codec = new ValueCodec({ limits: { maxNameBytes: 4, maxAttributes: 2 } });
    const t = new TrackedSession(session({ a: 1 }), codec);
    expectCodecError(() => t.set('', 1), 'INVALID_ARGUMENT');
    expectCodecError(() => t.set('toolong', 1), 'LIMIT_EXCEEDED');
    t.set('b', 2);
    expectCodecError(() => t.set('c', 3), 'LIMIT_EXCEEDED');
    t.set('a', 5);
    t.remove('a');
    t.set('c', 3);
    expect(t.size).toBe(2);
    expectCodecError(() => t.set('d', 4), 'LIMIT_EXCEEDED');
  });
});

describe('TrackedSession: in-place mutation detection', () => {
  it('nested push', () => {
    const s = session({ cart: { items: [{ sku: 'a' }] } });
    const t = new TrackedSession(s);
    (t.attributes.cart as { items: unknown[] }).items.push({ sku: 'b' });
    const { delta } = t.commit();
    expect(delta!.ops.map((o) => o.op)).toEqual(['set']);
    expect(readAttribute(applyDelta(s, delta!)!, 'cart')).toEqual({
      items: [{ sku: 'a' }, { sku: 'b' }],
    });
  });

  it('Date mutation', () => {
    const t = new TrackedSession(session({ seen: new Date(1000) }));
    (t.get('seen') as Date).setTime(2000);
    expect(commitNames(t)).toEqual(['set:seen']);
  });

  it('Buffer mutation', () => {
    const t = new TrackedSession(session({ blob: Buffer.from([1, 2, 3]) }));
    (t.get('blob') as Buffer)[1] = 9;
    expect(commitNames(t)).toEqual(['set:blob']);
  });

  it('mutation after set is seen', () => {
    const t = new TrackedSession(session({}));
    const cart = { items: [] as number[] };
    t.set('cart', cart);
    cart.items.push(1);
    const { delta } = t.commit();
    expect(codecDecode(delta!.ops[0])).toEqual({ items: [1] });
  });

  it('replacing with an equal value produces no delta', () => {
    const t = new TrackedSession(session({ cart: { items: [1, 2] }, n: 1, when: new Date(5) }));
    t.set('cart', { items: [1, 2] });
    t.set('n', 1);
    t.set('when', new Date(5));
    expect(t.commit().delta).toBeNull();
  });

  it('mutating and then undoing the mutation produces no delta', () => {
    const t = new TrackedSession(session({ list: [1] }));
    const list = t.get('list') as number[];
    list.push(2);
    list.pop();
    expect(t.commit().delta).toBeNull();
  });

  it('an attribute mutated into something unstorable fails alone', () => {
    const t = new TrackedSession(session({ cart: { items: [] }, n: 1 }));
    (t.get('cart') as { items: unknown[] }).items.push(() => 0);
    t.set('n', 2);
    const { delta, errors } = t.commit();
    expect(errors.map((e: SessionCodecError) => e.path)).toEqual(['cart.items[0]']);
    expect(delta!.ops).toHaveLength(1);
    expect(codecDecode(delta!.ops[0])).toBe(2);
  });
});

describe('TrackedSession: properties', () => {
  type Action =
    | { kind: 'read'; name: string }
    | { kind: 'set'; name: string; value: unknown }
    | { kind: 'remove'; name: string }
    | { kind: 'mutate'; name: string; value: unknown };

  const action = (names: string[]): fc.Arbitrary<Action> => {
    const name =
      names.length > 0 ? fc.oneof(fc.constantFrom(...names), arbitraryName()) : arbitraryName();
    return fc.oneof(
      name.map((n): Action => ({ kind: 'read', name: n })),
      fc.record({ kind: fc.constant('set' as const), name, value: arbitraryValue() }),
      name.map((n): Action => ({ kind: 'remove', name: n })),
      fc.record({ kind: fc.constant('mutate' as const), name, value: arbitraryValue() }),
    );
  };

  it('the delta names only touched attributes and applying it gives the final state', () => {
    fc.assert(
      fc.property(
        arbitrarySession().chain((s) =>
          fc.tuple(fc.constant(s), fc.array(action([...s.attributes.keys()]), { maxLength: 8 })),
        ),
        ([s, actions]) => {
          const t = new TrackedSession(s);
          const touched = new Set<string>();
          for (const a of actions) {
            touched.add(a.name);
            if (a.kind === 'read') t.get(a.name);
            else if (a.kind === 'set') t.set(a.name, a.value);
            else if (a.kind === 'remove') t.remove(a.name);
            else {
              const live = t.get(a.name);
              if (Array.isArray(live)) live.push(a.value);
              else if (
                typeof live === 'object' &&
                live !== null &&
                Object.getPrototypeOf(live) === Object.prototype
              ) {
                (live as Record<string, unknown>).added = a.value;
              }
            }
          }
          expect(t.size).toBe(t.names().length);
          const expected: Record<string, unknown> = {};
          for (const name of t.names())
            Object.defineProperty(expected, name, { value: t.get(name), enumerable: true });
          const { delta, errors } = t.commit();
          expect(errors).toEqual([]);
          for (const op of delta?.ops ?? [])
            if ('name' in op) expect(touched.has(op.name)).toBe(true);
          const result = delta === null ? s : applyDelta(s, delta)!;
          expect(readAttributes(result)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

function codecDecode(op: unknown): unknown {
  return new ValueCodec().decode((op as { value: Uint8Array }).value);
}
