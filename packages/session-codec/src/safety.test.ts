import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { applyDelta } from './apply-delta.js';
import { createDelta } from './delta.js';
import { SessionCodecError } from './errors.js';
import { bytesEqual, createSession, readAttribute } from './session.js';
import { TrackedSession } from './tracked-session.js';
import { ValueCodec } from './value-codec.js';
import { decodeDelta, decodeSession, encodeDelta, encodeSession } from './wire.js';
import { expectCodecError } from '../test/support.js';

const SECRET = 'Sup3rS3cretPassw0rd';
const KEY = 'Jx2w5Qk3l8Zr0aYbTqP7vN';

describe('error messages carry no secrets', () => {
  it('never quote attribute values or session keys', () => {
    const codec = new ValueCodec({ limits: { maxValueBytes: 64 } });
    const errors: SessionCodecError[] = [];
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        if (err instanceof SessionCodecError) errors.push(err);
        else throw err;
      }
    };
    const s = createSession({
      key: KEY,
      now: 0,
      maxInactiveSeconds: 60,
      attributes: { pw: SECRET },
    });
    attempt(() => codec.encode({ password: SECRET, more: SECRET.repeat(10) }, 'login'));
    attempt(() => codec.encode({ password: SECRET, f: () => 0 }, 'login'));
    attempt(() => codec.encode(`${SECRET}\ud800`, 'login'));
    attempt(() => applyDelta(s, createDelta('other', s.version, [])));
    attempt(() => applyDelta(s, createDelta(KEY, { epoch: 9, seq: 9 }, [])));
    const bytes = Buffer.from(encodeSession(s));
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] ^= 0xff;
      attempt(() => decodeSession(copy, { verifyValues: true }));
      attempt(() => decodeSession(copy.subarray(0, i), { verifyValues: true }));
    }
    expect(errors.length).toBeGreaterThan(5);
    for (const err of errors) {
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain(KEY);
    }
  });
});

describe('bytes and buffers', () => {
  it('decodes sessions and deltas from plain Uint8Arrays as well as Buffers', () => {
    const s = createSession({
      key: KEY,
      now: 5,
      maxInactiveSeconds: 60,
      attributes: { a: 'x'.repeat(100), b: [1] },
    });
    const plain = new Uint8Array(encodeSession(s));
    const back = decodeSession(plain, { verifyValues: true });
    expect(readAttribute(back, 'a')).toBe('x'.repeat(100));
    const t = new TrackedSession(back);
    t.get('b');
    expect(t.commit().delta).toBeNull();
    const delta = createDelta(KEY, s.version, [
      { op: 'set', name: 'a', value: new ValueCodec().encode('y') },
    ]);
    expect(
      decodeDelta(new Uint8Array(encodeDelta(delta)), { verifyValues: true }).ops,
    ).toHaveLength(1);
  });

  it('compares long and short, Buffer and plain bytes alike', () => {
    const long = Buffer.alloc(100, 7);
    expect(bytesEqual(long, Buffer.alloc(100, 7))).toBe(true);
    expect(bytesEqual(long, new Uint8Array(100).fill(7))).toBe(true);
    expect(bytesEqual(long, Buffer.alloc(100, 8))).toBe(false);
    expect(bytesEqual(Buffer.from([1]), Buffer.from([1, 2]))).toBe(false);
  });

  it('verifyValues refuses a delta whose value is malformed', () => {
    const delta = createDelta(KEY, { epoch: 0, seq: 0 }, [
      { op: 'set', name: 'a', value: Uint8Array.from([0x60]) },
    ]);
    expectCodecError(() => decodeDelta(encodeDelta(delta), { verifyValues: true }), 'MALFORMED');
  });
});

describe('custom codecs that use the codec themselves', () => {
  it('can encode and decode nested values with the same ValueCodec', () => {
    class Box {
      constructor(readonly inner: unknown) {}
    }
    const codec: ValueCodec = new ValueCodec({
      types: [
        {
          name: 'Box',
          type: Box,
          // stores its content pre-encoded, which re-enters the codec
          encode: (b: Box) => codec.encode(b.inner, 'inner'),
          decode: (v) => new Box(codec.decode(v as Uint8Array, 'inner')),
        },
      ],
    });
    const value = { box: new Box({ deep: [1, 'two', new Box(3n)] }) };
    expect(codec.decode(codec.encode(value, 'v'), 'v')).toEqual(value);
  });
});
