import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cohort } from '../gen/session.js';
import { createDelta, type Delta, type Op } from './delta.js';
import { diffSessions } from './diff.js';
import { SessionCodecError } from './errors.js';
import { createSession, sessionsEqual } from './session.js';
import { ValueCodec, defaultValueCodec as codec } from './value-codec.js';
import { decodeDelta, decodeSession, encodeDelta, encodeSession, FORMAT_VERSION } from './wire.js';
import { arbitrarySession, arbitrarySessionPair, expectCodecError } from '../test/support.js';

const pb = cohort.session.v1;

function sample() {
  return createSession({
    key: 'Jx2w5Qk3l8Zr0aYbTqP7vN',
    now: 1_763_700_000_000,
    maxInactiveSeconds: 1800,
    attributes: { user: 'ann', cart: { items: [{ sku: 'A1', qty: 2 }] } },
    principal: { name: 'ann', authType: 'FORM' },
    version: { epoch: 3, seq: 41 },
  });
}

describe('Session messages', () => {
  it('round-trip (property)', () => {
    fc.assert(
      fc.property(arbitrarySession(), (s) => {
        const back = decodeSession(encodeSession(s), { verifyValues: true });
        expect(sessionsEqual(back, s)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('are deterministic: attribute order does not matter', () => {
    const s = sample();
    const reversed = { ...s, attributes: new Map([...s.attributes].reverse()) };
    expect(Buffer.from(encodeSession(reversed)).equals(Buffer.from(encodeSession(s)))).toBe(true);
  });

  it('carry the format version', () => {
    expect(pb.Session.decode(encodeSession(sample())).format).toBe(FORMAT_VERSION);
  });

  it('refuses another format, duplicates and bad values; skips unknown fields', () => {
    const good = pb.Session.decode(encodeSession(sample()));
    const reencode = (patch: Record<string, unknown>) =>
      pb.Session.encode({ ...pb.Session.toObject(good), ...patch }).finish();
    expectCodecError(() => decodeSession(reencode({ format: 2 })), 'UNSUPPORTED_FORMAT');
    expectCodecError(() => decodeSession(reencode({ key: '' })), 'MALFORMED');
    const a = { name: 'x', value: codec.encode(1) };
    expectCodecError(() => decodeSession(reencode({ attributes: [a, a] })), 'MALFORMED');
    expectCodecError(
      () => decodeSession(reencode({ attributes: [{ name: 'x', value: new Uint8Array() }] })),
      'MALFORMED',
    );
    expectCodecError(
      () => decodeSession(reencode({ attributes: [{ name: '', value: codec.encode(1) }] })),
      'MALFORMED',
    );
    expectCodecError(() => decodeSession(reencode({ createdAt: 2 ** 60 })), 'MALFORMED');
    expectCodecError(() => decodeSession(reencode({ principal: { name: '' } })), 'MALFORMED');
    const bad = reencode({ attributes: [{ name: 'x', value: Uint8Array.from([0x60]) }] });
    expect(decodeSession(bad).attributes.size).toBe(1);
    expectCodecError(() => decodeSession(bad, { verifyValues: true }), 'MALFORMED');
    // Unknown fields are skipped, as protobuf requires; the format version guards real changes.
    const unknown = Buffer.concat([
      Buffer.from(encodeSession(sample())),
      Buffer.from([0xf8, 0x01, 0x01]),
    ]);
    expect(sessionsEqual(decodeSession(unknown), sample())).toBe(true);
  });

  it('applies the limits', () => {
    const tight = new ValueCodec({ limits: { maxAttributes: 1, maxEnvelopeBytes: 10_000 } });
    expectCodecError(
      () => decodeSession(encodeSession(sample()), { codec: tight }),
      'LIMIT_EXCEEDED',
    );
    const big = createSession({
      key: 'k',
      now: 0,
      maxInactiveSeconds: 1,
      attributes: { b: 'x'.repeat(20_000) },
    });
    expectCodecError(() => decodeSession(encodeSession(big), { codec: tight }), 'LIMIT_EXCEEDED');
  });
});

describe('Delta messages', () => {
  it('round-trip (property)', () => {
    fc.assert(
      fc.property(arbitrarySessionPair(), ([from, to]) => {
        const delta = diffSessions(from, to);
        expect(decodeDelta(encodeDelta(delta), { verifyValues: true })).toEqual({
          key: delta.key,
          base: delta.base,
          ops: delta.ops.map((op) =>
            op.op === 'set' ? { ...op, value: Buffer.from(op.value) } : op,
          ),
        });
      }),
      { numRuns: 300 },
    );
  });

  it('round-trip every op, including zero values inside the oneof', () => {
    const ops: Op[] = [
      { op: 'set', name: 'a', value: codec.encode(0) },
      { op: 'remove', name: 'b' },
      { op: 'setMaxInactive', seconds: 0 },
      { op: 'setPrincipal', principal: null },
      { op: 'touch', at: 0 },
    ];
    const delta = createDelta('k', { epoch: 0, seq: 0 }, ops);
    const back = decodeDelta(encodeDelta(delta));
    expect(back.ops.map((o) => o.op)).toEqual([
      'set',
      'remove',
      'setMaxInactive',
      'setPrincipal',
      'touch',
    ]);
    expect(back.ops[2]).toEqual({ op: 'setMaxInactive', seconds: 0 });
    expect(back.ops[3]).toEqual({ op: 'setPrincipal', principal: null });
    expect(
      decodeDelta(encodeDelta(createDelta('k', { epoch: 1, seq: 2 }, [{ op: 'invalidate' }]))).ops,
    ).toEqual([{ op: 'invalidate' }]);
  });

  it('is small: a one-attribute change of 32 B fits in 120 bytes with its envelope', () => {
    const s = sample();
    const delta: Delta = createDelta(s.key, s.version, [
      { op: 'set', name: 'attr07', value: codec.encode('x'.repeat(32)) },
    ]);
    expect(encodeDelta(delta).byteLength).toBeLessThanOrEqual(120);
  });

  it('refuses ops with no kind, a false invalidate, another format', () => {
    const none = pb.Delta.encode({ format: 1, key: 'k', ops: [{}] }).finish();
    expectCodecError(() => decodeDelta(none), 'MALFORMED');
    const falseInvalidate = pb.Delta.encode({
      format: 1,
      key: 'k',
      ops: [{ invalidate: false }],
    }).finish();
    expectCodecError(() => decodeDelta(falseInvalidate), 'MALFORMED');
    expectCodecError(
      () => decodeDelta(pb.Delta.encode({ format: 0, key: 'k' }).finish()),
      'UNSUPPORTED_FORMAT',
    );
  });
});

describe('Envelope decoding on hostile bytes (fuzz)', () => {
  function decodeOrTypedError(bytes: Uint8Array): void {
    for (const decode of [decodeSession, decodeDelta]) {
      try {
        decode(bytes, { verifyValues: true });
      } catch (err) {
        if (!(err instanceof SessionCodecError)) throw err;
        expect(['MALFORMED', 'LIMIT_EXCEEDED', 'UNSUPPORTED_FORMAT', 'UNKNOWN_TYPE']).toContain(
          err.code,
        );
      }
    }
  }

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodeOrTypedError), {
      numRuns: 3000,
    });
  }, 60_000);

  it('mutated valid sessions and deltas', () => {
    fc.assert(
      fc.property(
        arbitrarySessionPair(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
        ([from, to], flips, cut) => {
          for (const encoded of [encodeSession(from), encodeDelta(diffSessions(from, to))]) {
            const bytes = Buffer.from(encoded);
            for (const [at, b] of flips) bytes[at % bytes.length] = b;
            decodeOrTypedError(bytes);
            decodeOrTypedError(bytes.subarray(0, cut % (bytes.length + 1)));
          }
        },
      ),
      { numRuns: 500 },
    );
  }, 60_000);
});
