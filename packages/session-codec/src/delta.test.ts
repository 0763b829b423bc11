import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta } from './apply-delta.js';
import { createDelta, mergeOps, type Op } from './delta.js';
import { diffSessions } from './diff.js';
import { createSession, readAttribute, sessionsEqual, type Session } from './session.js';
import { defaultValueCodec as codec } from './value-codec.js';
import { arbitrarySessionPair, expectCodecError } from '../test/support.js';

const enc = (v: unknown): Uint8Array => codec.encode(v);

function base(): Session {
  return createSession({
    key: 'k1',
    now: 1000,
    maxInactiveSeconds: 1800,
    attributes: { cart: { items: [1] }, user: 'ann' },
    version: { epoch: 2, seq: 7 },
  });
}

describe('mergeOps', () => {
  it('turns several sets of one name into the last one', () => {
    const ops: Op[] = [
      { op: 'set', name: 'x', value: enc(1) },
      { op: 'set', name: 'x', value: enc(2) },
      { op: 'set', name: 'x', value: enc(3) },
    ];
    expect(mergeOps(ops)).toEqual([{ op: 'set', name: 'x', value: enc(3) }]);
  });

  it('keeps the last op per attribute and field, in canonical order', () => {
    const ops: Op[] = [
      { op: 'touch', at: 5 },
      { op: 'set', name: 'b', value: enc(1) },
      { op: 'setMaxInactive', seconds: 10 },
      { op: 'remove', name: 'b' },
      { op: 'set', name: 'a', value: enc(2) },
      { op: 'setPrincipal', principal: { name: 'u', authType: '' } },
      { op: 'setMaxInactive', seconds: 20 },
      { op: 'touch', at: 6 },
    ];
    expect(mergeOps(ops)).toEqual([
      { op: 'set', name: 'a', value: enc(2) },
      { op: 'remove', name: 'b' },
      { op: 'setMaxInactive', seconds: 20 },
      { op: 'setPrincipal', principal: { name: 'u', authType: '' } },
      { op: 'touch', at: 6 },
    ]);
  });

  it('lets invalidate replace everything', () => {
    expect(
      mergeOps([
        { op: 'set', name: 'a', value: enc(1) },
        { op: 'invalidate' },
        { op: 'touch', at: 1 },
      ]),
    ).toEqual([{ op: 'invalidate' }]);
  });

  it('refuses malformed ops', () => {
    expectCodecError(() => mergeOps([{ op: 'touch', at: 1.5 }]), 'INVALID_ARGUMENT');
    expectCodecError(() => mergeOps([{ op: 'bogus' } as unknown as Op]), 'INVALID_ARGUMENT');
    expectCodecError(
      () => mergeOps([{ op: 'set', name: 'a', value: new Uint8Array() }]),
      'INVALID_ARGUMENT',
    );
    expectCodecError(() => createDelta('', { epoch: 0, seq: 0 }, []), 'INVALID_ARGUMENT');
    expectCodecError(() => createDelta('k', { epoch: -1, seq: 0 }, []), 'INVALID_ARGUMENT');
  });
});

describe('applyDelta', () => {
  it('applies each op', () => {
    const s = base();
    const d = createDelta('k1', s.version, [
      { op: 'set', name: 'n', value: enc(42) },
      { op: 'remove', name: 'user' },
      { op: 'setMaxInactive', seconds: 60 },
      { op: 'setPrincipal', principal: { name: 'ann', authType: 'FORM' } },
      { op: 'touch', at: 2000 },
    ]);
    const next = applyDelta(s, d)!;
    expect(readAttribute(next, 'n')).toBe(42);
    expect(next.attributes.has('user')).toBe(false);
    expect(readAttribute(next, 'cart')).toEqual({ items: [1] });
    expect(next.maxInactiveSeconds).toBe(60);
    expect(next.principal).toEqual({ name: 'ann', authType: 'FORM' });
    expect(next.lastAccessedAt).toBe(2000);
    expect(next.isNew).toBe(false);
    expect(next.version).toEqual({ epoch: 2, seq: 8 });
  });

  it('is pure: the input session is unchanged and unchanged bytes are shared', () => {
    const s = base();
    const before = new Map(s.attributes);
    const next = applyDelta(s, createDelta('k1', s.version, [{ op: 'remove', name: 'user' }]))!;
    expect(new Map(s.attributes)).toEqual(before);
    expect(next.attributes.get('cart')).toBe(s.attributes.get('cart'));
    const touched = applyDelta(s, createDelta('k1', s.version, [{ op: 'touch', at: 5 }]))!;
    expect(touched.attributes).toBe(s.attributes);
  });

  it('returns null when the delta invalidates', () => {
    const s = base();
    expect(applyDelta(s, createDelta('k1', s.version, [{ op: 'invalidate' }]))).toBeNull();
  });

  it('refuses the wrong base version or session, naming both versions', () => {
    const s = base();
    const err = expectCodecError(
      () => applyDelta(s, createDelta('k1', { epoch: 2, seq: 6 }, [{ op: 'touch', at: 1 }])),
      'VERSION_MISMATCH',
    );
    expect(err.message).toContain('2:6');
    expect(err.message).toContain('2:7');
    expectCodecError(() => applyDelta(s, createDelta('k2', s.version, [])), 'KEY_MISMATCH');
  });

  it('takes the result version from the owner, which must be newer', () => {
    const s = base();
    const d = createDelta('k1', s.version, [{ op: 'touch', at: 1 }]);
    expect(applyDelta(s, d, { version: { epoch: 3, seq: 0 } })!.version).toEqual({
      epoch: 3,
      seq: 0,
    });
    expectCodecError(() => applyDelta(s, d, { version: { epoch: 2, seq: 7 } }), 'INVALID_ARGUMENT');
  });

  it('refuses a result with too many attributes', () => {
    const s = base();
    const d = createDelta('k1', s.version, [{ op: 'set', name: 'n', value: enc(1) }]);
    expectCodecError(() => applyDelta(s, d, { maxAttributes: 2 }), 'LIMIT_EXCEEDED');
    expect(applyDelta(s, d, { maxAttributes: 3 })!.attributes.size).toBe(3);
  });

  it('removing an absent attribute changes nothing', () => {
    const s = base();
    const next = applyDelta(s, createDelta('k1', s.version, [{ op: 'remove', name: 'nope' }]))!;
    expect(next.attributes).toBe(s.attributes);
  });
});

describe('diffSessions', () => {
  it('apply(s, diff(s, t)) equals t (property)', () => {
    fc.assert(
      fc.property(arbitrarySessionPair(), ([from, to]) => {
        const delta = diffSessions(from, to);
        const result = applyDelta(from, delta, { version: to.version });
        expect(result).not.toBeNull();
        expect(sessionsEqual(result!, to)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('names only attributes whose bytes differ (property)', () => {
    fc.assert(
      fc.property(arbitrarySessionPair(), ([from, to]) => {
        for (const op of diffSessions(from, to).ops) {
          if (op.op === 'set') expect(from.attributes.get(op.name)).not.toEqual(op.value);
          if (op.op === 'remove') expect(to.attributes.has(op.name)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('diff of a session with itself is empty', () => {
    const s = base();
    expect(diffSessions(s, s).ops).toEqual([]);
  });

  it('refuses what no delta can express', () => {
    const s = base();
    expectCodecError(() => diffSessions(s, { ...s, key: 'other' }), 'KEY_MISMATCH');
    expectCodecError(() => diffSessions(s, { ...s, createdAt: 1 }), 'NOT_REPRESENTABLE');
    expectCodecError(() => diffSessions({ ...s, isNew: false }, s), 'NOT_REPRESENTABLE');
  });
});

describe('createSession', () => {
  it('validates fields and attribute values', () => {
    expectCodecError(
      () => createSession({ key: '', now: 0, maxInactiveSeconds: 1 }),
      'INVALID_ARGUMENT',
    );
    expectCodecError(
      () => createSession({ key: 'k', now: 0.5, maxInactiveSeconds: 1 }),
      'INVALID_ARGUMENT',
    );
    expectCodecError(
      () => createSession({ key: 'k', now: 0, maxInactiveSeconds: 1.5 }),
      'INVALID_ARGUMENT',
    );
    const err = expectCodecError(
      () =>
        createSession({
          key: 'k',
          now: 0,
          maxInactiveSeconds: 1,
          attributes: { cart: { f: () => 0 } },
        }),
      'UNSUPPORTED_TYPE',
    );
    expect(err.path).toBe('cart.f');
  });
});
