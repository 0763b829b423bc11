import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionCodecError } from './errors.js';
import { ObjectShapes } from './object-shapes.js';
import { createSession, readAttributes, type Session } from './session.js';
import { decodeSessionValues, type SessionValues } from './session-values.js';
import { ValueCodec } from './value-codec.js';
import { decodeSession, encodeSession } from './wire.js';
import { arbitrarySession, expectCodecError, Money } from '../test/support.js';

/** What decodeSessionValues must return: decodeSession's fields and readAttributes' values. */
function expected(s: Session, codec?: ValueCodec): SessionValues {
  const { attributes: _a, ...fields } = s;
  return { ...fields, values: readAttributes(s, codec) };
}

/** Long strings too (ASCII, Latin-1, emoji), so the word-wise ASCII check and UTF-8 path run. */
const longStrings = fc.oneof(
  fc.string({ minLength: 20, maxLength: 300 }),
  fc.string({ unit: 'grapheme', minLength: 20, maxLength: 120 }),
  fc
    .tuple(fc.string({ minLength: 30, maxLength: 200 }), fc.constantFrom('é', '€', '😀', '\u2028'))
    .map(([s, c]) => s + c + s),
);

/** The same bytes at every alignment, in a Buffer and as a plain Uint8Array. */
function placements(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [bytes];
  for (let shift = 1; shift < 4; shift++) {
    const big = Buffer.alloc(bytes.byteLength + shift);
    big.set(bytes, shift);
    out.push(big.subarray(shift));
  }
  out.push(new Uint8Array(bytes));
  return out;
}

describe('decodeSessionValues', () => {
  it('equals decodeSession + readAttributes on arbitrary sessions, at every alignment', () => {
    fc.assert(
      fc.property(arbitrarySession(), (s) => {
        const bytes = encodeSession(s);
        const want = expected(decodeSession(bytes));
        // twice: the second decode of a shape goes through the compiled object factory
        for (const input of [...placements(bytes), bytes]) {
          expect(decodeSessionValues(input)).toEqual(want);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('long ASCII and non-ASCII strings, as attributes and inside objects', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), longStrings, {
          minKeys: 1,
          maxKeys: 8,
        }),
        (attrs) => {
          const s = createSession({
            key: 'k',
            now: 1,
            maxInactiveSeconds: 60,
            attributes: { ...attrs, nested: { list: Object.values(attrs), obj: attrs } },
          });
          for (const input of placements(encodeSession(s))) {
            const got = decodeSessionValues(input);
            expect(got).toEqual(expected(s));
            expect(Object.keys(got.values)).toEqual(Object.keys(readAttributes(s)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps __proto__ and constructor as plain own properties, also on the compiled path', () => {
    const s = createSession({
      key: 'k',
      now: 1,
      maxInactiveSeconds: 60,
      attributes: JSON.parse('{"__proto__":{"admin":true},"constructor":1,"a":{"__proto__":2}}'),
    });
    const bytes = encodeSession(s);
    for (let i = 0; i < 4; i++) {
      const { values } = decodeSessionValues(bytes);
      expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
      expect(Object.keys(values)).toEqual(['__proto__', 'a', 'constructor']);
      expect((values as { admin?: unknown }).admin).toBeUndefined();
      expect(Object.getOwnPropertyDescriptor(values, '__proto__')!.value).toEqual({ admin: true });
      expect(Object.getOwnPropertyDescriptor(values.a, '__proto__')!.value).toBe(2);
    }
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });

  it('every call returns new objects', () => {
    const s = createSession({ key: 'k', now: 1, maxInactiveSeconds: 60, attributes: { a: [1] } });
    const bytes = encodeSession(s);
    const one = decodeSessionValues(bytes);
    const two = decodeSessionValues(bytes);
    expect(one.values).not.toBe(two.values);
    expect(one.values.a).not.toBe(two.values.a);
  });

  it('reads negative times and large versions', () => {
    const s: Session = {
      ...createSession({ key: 'k', now: -86_400_000, maxInactiveSeconds: -1 }),
      principal: { name: 'ann', authType: 'FORM' },
      version: { epoch: 2 ** 40, seq: Number.MAX_SAFE_INTEGER },
    };
    expect(decodeSessionValues(encodeSession(s))).toEqual(expected(s));
  });

  it('uses the codec given: custom types and limits', () => {
    const codec = new ValueCodec({
      limits: { maxAttributes: 2 },
      types: [
        {
          name: 'Money',
          type: Money,
          encode: (m) => [m.cents, m.currency],
          decode: (v) => new Money(...(v as [number, string])),
        },
      ],
    });
    const s = createSession(
      { key: 'k', now: 1, maxInactiveSeconds: 60, attributes: { total: new Money(5, 'EUR') } },
      codec,
    );
    const got = decodeSessionValues(encodeSession(s), { codec });
    expect(got.values.total).toEqual(new Money(5, 'EUR'));
    expect(got.values.total).toBeInstanceOf(Money);
    expect(expectCodecError(() => decodeSessionValues(encodeSession(s)), 'UNKNOWN_TYPE').path).toBe(
      'total',
    );
    const three = createSession({
      key: 'k',
      now: 1,
      maxInactiveSeconds: 60,
      attributes: { a: 1, b: 2, c: 3 },
    });
    expectCodecError(() => decodeSessionValues(encodeSession(three), { codec }), 'LIMIT_EXCEEDED');
  });

  it('refuses bad input with typed errors', () => {
    const s = createSession({ key: 'k', now: 1, maxInactiveSeconds: 60, attributes: { a: 'x' } });
    const bytes = Buffer.from(encodeSession(s));
    expectCodecError(() => decodeSessionValues('x' as unknown as Uint8Array), 'INVALID_ARGUMENT');
    const wrongFormat = Buffer.from(bytes);
    wrongFormat[1] = 2; // format = 2
    expectCodecError(() => decodeSessionValues(wrongFormat), 'UNSUPPORTED_FORMAT');
    expectCodecError(() => decodeSessionValues(new Uint8Array(0)), 'UNSUPPORTED_FORMAT');
    const cut = expectCodecError(
      () => decodeSessionValues(bytes.subarray(0, bytes.length - 1)),
      'MALFORMED',
    );
    expect(cut.offset).toBeGreaterThan(0);
    // an attribute written twice
    const attr = Buffer.from([0x42, 0x06, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x08]);
    const a = Buffer.from([0x42, 0x07, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x08, 0x01]);
    const base = encodeSession(createSession({ key: 'k', now: 1, maxInactiveSeconds: 60 }));
    expect(
      expectCodecError(() => decodeSessionValues(Buffer.concat([base, a, a])), 'MALFORMED').message,
    ).toContain('appears twice');
    // a malformed value names its attribute and its offset in the message
    const bad = expectCodecError(
      () => decodeSessionValues(Buffer.concat([base, attr])),
      'MALFORMED',
    );
    expect(bad.path).toBe('a');
    expect(bad.offset).toBe(base.length + 8);
    // unknown fields are skipped, as protobuf requires
    const unknown = Buffer.concat([bytes, Buffer.from([0x78, 0x05, 0x82, 0x01, 0x01, 0x7a])]);
    expect(decodeSessionValues(unknown)).toEqual(expected(s));
    const limited = new ValueCodec({ limits: { maxValueBytes: 2 } });
    expect(
      expectCodecError(() => decodeSessionValues(bytes, { codec: limited }), 'LIMIT_EXCEEDED').path,
    ).toBe('a');
  });

  it('refuses an empty object key written out, also once the shape with that key is compiled', () => {
    const base = encodeSession(createSession({ key: 'k', now: 1, maxInactiveSeconds: 60 }));
    // Value { struct { Field { value: 1 } (empty name left out), Field { name: "a", value: 2 } } }
    const good = [0x52, 0x0f, 0x0a, 0x04, 0x12, 0x02, 0x18, 0x02];
    const tail = [0x0a, 0x07, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x18, 0x04];
    // the same with the empty name written: Field { name: "", value: 1 }
    const bad = [0x52, 0x11, 0x0a, 0x06, 0x0a, 0x00, 0x12, 0x02, 0x18, 0x02];
    const attribute = (value: number[]): Buffer =>
      Buffer.from([0x42, value.length + 5, 0x0a, 0x01, 0x6f, 0x12, value.length, ...value]);
    const goodBytes = Buffer.concat([base, attribute([...good, ...tail])]);
    for (let i = 0; i < 4; i++) {
      expect(decodeSessionValues(goodBytes).values).toEqual({ o: { '': 1, a: 2 } });
    }
    const badBytes = Buffer.concat([base, attribute([...bad, ...tail])]);
    expectCodecError(() => decodeSession(badBytes, { verifyValues: true }), 'MALFORMED');
    expectCodecError(() => decodeSessionValues(badBytes), 'MALFORMED');
  });

  it('reads dates in a compiled object as the general code does, and refuses the same times', () => {
    const encode = (d: Date): Buffer =>
      Buffer.from(
        encodeSession(
          createSession({
            key: 'k',
            now: 1,
            maxInactiveSeconds: 60,
            attributes: { o: { d, n: 1 } },
          }),
        ),
      );
    const good = encode(new Date(86_400_000));
    for (let i = 0; i < 4; i++) {
      const { o } = decodeSessionValues(good).values as { o: { d: Date; n: number } };
      expect(o.d).toBeInstanceOf(Date);
      expect(o.d.getTime()).toBe(86_400_000);
      expect(o.n).toBe(1);
    }
    const invalid = (decodeSessionValues(encode(new Date(NaN))).values as { o: { d: Date } }).o.d;
    expect(invalid).toBeInstanceOf(Date);
    expect(Number.isNaN(invalid.getTime())).toBe(true);
    // The same message with other times in the date's 8 bytes: not integers, -0, out of range.
    const at = good.indexOf(Buffer.from(new Float64Array([86_400_000]).buffer));
    expect(at).toBeGreaterThan(0);
    for (const ms of [1.5, -0, 8.64e15 + 1, Infinity]) {
      const bad = Buffer.from(good);
      Buffer.from(new Float64Array([ms]).buffer).copy(bad, at);
      expectCodecError(() => decodeSession(bad, { verifyValues: true }), 'MALFORMED');
      expectCodecError(() => decodeSessionValues(bad), 'MALFORMED');
    }
  });

  it('on hostile bytes: a typed error, or exactly what decodeSession with verifyValues reads', () => {
    const check = (bytes: Uint8Array): void => {
      let got: SessionValues;
      try {
        got = decodeSessionValues(bytes);
      } catch (err) {
        if (!(err instanceof SessionCodecError)) throw err;
        expect(['MALFORMED', 'LIMIT_EXCEEDED', 'UNSUPPORTED_FORMAT', 'UNKNOWN_TYPE']).toContain(
          err.code,
        );
        return;
      }
      // never more permissive than the protobufjs envelope decoder
      expect(got).toEqual(expected(decodeSession(bytes, { verifyValues: true })));
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 3000 });
    fc.assert(
      fc.property(
        arbitrarySession(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
        (s, flips, cut) => {
          const bytes = Buffer.from(encodeSession(s));
          for (const [at, b] of flips) bytes[at % bytes.length] = b;
          check(bytes);
          check(bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      { numRuns: 1000 },
    );
  }, 60_000);
});

describe('ObjectShapes', () => {
  it('builds the same objects with and without a compiled factory, whatever the names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 10 }), { maxLength: 8 }), (names) => {
        const shapes = new ObjectShapes();
        const values = names.map((_, i) => i);
        const want: Record<string, unknown> = {};
        names.forEach((n, i) =>
          Object.defineProperty(want, n, {
            value: i,
            enumerable: true,
            writable: true,
            configurable: true,
          }),
        );
        for (let round = 0; round < 3; round++) {
          const got = shapes.build(names, values);
          expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
          expect(Reflect.ownKeys(got)).toEqual(Reflect.ownKeys(want));
          for (const n of names)
            expect(Object.getOwnPropertyDescriptor(got, n)!.value).toBe(want[n]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps names that look like code as plain keys', () => {
    const shapes = new ObjectShapes();
    const names = ['"', '\\', '}; globalThis.pwned = 1; ({', '\u2028', '__proto__', '0', 'x'];
    for (let i = 0; i < 3; i++) {
      const got = shapes.build(
        names,
        names.map((n) => n),
      );
      for (const n of names) expect(Object.getOwnPropertyDescriptor(got, n)!.value).toBe(n);
    }
    const noProto = names.filter((n) => n !== '__proto__');
    for (let i = 0; i < 3; i++) shapes.build(noProto, noProto);
    expect((globalThis as { pwned?: unknown }).pwned).toBeUndefined();
  });
});
