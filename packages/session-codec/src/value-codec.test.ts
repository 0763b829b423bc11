import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cohort } from '../gen/session.js';
import { SessionCodecError } from './errors.js';
import { TypeRegistry } from './type-registry.js';
import { ValueCodec } from './value-codec.js';
import { arbitraryValue, expectCodecError, Money } from '../test/support.js';

const ProtoValue = cohort.session.v1.Value;
const codec = new ValueCodec();

function roundTrip(value: unknown): unknown {
  return codec.decode(codec.encode(value, 'a'), 'a');
}

describe('ValueCodec: each value type', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['zero', 0],
    ['small int', 42],
    ['negative int', -7],
    ['max safe int', Number.MAX_SAFE_INTEGER],
    ['min safe int', Number.MIN_SAFE_INTEGER],
    ['2^31', 2 ** 31],
    ['-2^31', -(2 ** 31)],
    ['double', 3.25],
    ['-0', -0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['2^53', 2 ** 53],
    ['bigint', 123456789012345678901234567890n],
    ['negative bigint', -5n],
    ['zero bigint', 0n],
    ['empty string', ''],
    ['ascii string', 'hello'],
    ['unicode string', 'grüße 🎉 日本'],
    ['long string', 'x'.repeat(300)],
    ['very long string', 'ü'.repeat(20_000)],
    ['date', new Date(1_700_000_000_123)],
    ['invalid date', new Date(Number.NaN)],
    ['empty list', []],
    ['empty object', {}],
    ['nested', { cart: { items: [{ sku: 'a', qty: 2, price: 9.99 }], total: 1998n }, tags: ['x'] }],
  ])('%s round-trips', (_label, value) => {
    expect(roundTrip(value)).toEqual(value);
  });

  it('keeps bigint and number apart', () => {
    expect(roundTrip(5n)).toBe(5n);
    expect(roundTrip(5)).toBe(5);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it('decodes bytes as a Buffer copy', () => {
    const source = new Uint8Array([1, 2, 3]);
    const bytes = codec.encode(source, 'b');
    const back = codec.decode(bytes, 'b') as Buffer;
    expect(Buffer.isBuffer(back)).toBe(true);
    expect([...back]).toEqual([1, 2, 3]);
    back[0] = 9;
    expect(codec.decode(bytes, 'b')).toEqual(Buffer.from([1, 2, 3]));
    expect(roundTrip(Buffer.from('hi'))).toEqual(Buffer.from('hi'));
  });

  it('decodes objects as plain objects and keeps __proto__ and constructor as own keys', () => {
    const input = JSON.parse(
      '{"__proto__": {"polluted": true}, "constructor": 1, "a": 2}',
    ) as object;
    const back = roundTrip(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'a', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('treats null-prototype objects as plain objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.x = 1;
    expect(roundTrip(o)).toEqual({ x: 1 });
  });

  it('leaves out object keys whose value is undefined, as JSON does', () => {
    expect(roundTrip({ a: 1, b: undefined })).toEqual({ a: 1 });
    expect(codec.encode({ a: 1, b: undefined })).toEqual(codec.encode({ a: 1 }));
  });

  it('encodes deterministically: key order does not matter', () => {
    expect(codec.encode({ b: 1, a: [1, { y: 2, x: 1 }] })).toEqual(
      codec.encode({ a: [1, { x: 1, y: 2 }], b: 1 }),
    );
  });

  it('encodes shared (non-cyclic) references twice', () => {
    const shared = { n: 1 };
    expect(roundTrip({ a: shared, b: shared })).toEqual({ a: { n: 1 }, b: { n: 1 } });
  });
});

describe('ValueCodec: refused values name the path', () => {
  it('names a function deep inside', () => {
    const cart = { items: [{}, {}, {}, { price: () => 1 }] };
    const err = expectCodecError(() => codec.encode(cart, 'cart'), 'UNSUPPORTED_TYPE');
    expect(err.path).toBe('cart.items[3].price');
    expect(err.message).toBe('cart.items[3].price: function is not serializable');
  });

  it.each([
    ['symbol', Symbol('s'), 'UNSUPPORTED_TYPE', 'symbol is not serializable'],
    ['undefined', undefined, 'UNSUPPORTED_TYPE', 'undefined is not serializable'],
    ['Map', new Map(), 'UNSUPPORTED_TYPE', 'instance of Map is not serializable'],
    [
      'class instance',
      new (class Foo {})(),
      'UNSUPPORTED_TYPE',
      'instance of Foo is not serializable',
    ],
    ['Float64Array', new Float64Array(2), 'UNSUPPORTED_TYPE', 'instance of Float64Array'],
    ['lone surrogate', 'a\ud800b', 'INVALID_STRING', 'lone surrogate'],
  ])('%s', (_label, value, code, text) => {
    const err = expectCodecError(() => codec.encode({ x: [value] }, 'attr'), code);
    expect(err.path).toBe('attr.x[0]');
    expect(err.message).toContain(text);
  });

  it('refuses undefined list items (JSON would turn them into null)', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(expectCodecError(() => codec.encode([1, , 3], 'l'), 'UNSUPPORTED_TYPE').path).toBe(
      'l[1]',
    );
  });

  it('refuses cycles', () => {
    const a: Record<string, unknown> = { b: { c: [] } };
    ((a.b as Record<string, unknown>).c as unknown[]).push(a);
    expect(expectCodecError(() => codec.encode(a, 'a'), 'CYCLE').path).toBe('a.b.c[0]');
  });

  it('quotes keys that are not identifiers', () => {
    expect(
      expectCodecError(() => codec.encode({ 'dark mode': () => 0 }, 'prefs'), 'UNSUPPORTED_TYPE')
        .path,
    ).toBe('prefs["dark mode"]');
  });

  it('enforces the limits', () => {
    const small = new ValueCodec({
      limits: { maxDepth: 3, maxItems: 4, maxValueBytes: 100, maxNameBytes: 5 },
    });
    expectCodecError(() => small.encode([[[[]]]], 'd'), 'LIMIT_EXCEEDED');
    expect(small.encode([[[]]], 'd')).toBeInstanceOf(Uint8Array);
    expectCodecError(() => small.encode([1, 2, 3, 4, 5], 'n'), 'LIMIT_EXCEEDED');
    expectCodecError(() => small.encode({ a: 1, b: 2, c: 3, d: 4, e: 5 }, 'n'), 'LIMIT_EXCEEDED');
    expectCodecError(() => small.encode('x'.repeat(101), 's'), 'LIMIT_EXCEEDED');
    expectCodecError(() => small.encode({ longkey: 1 }, 'k'), 'LIMIT_EXCEEDED');
    // decoding refuses what encoding refused
    const deep = codec.encode([[[[]]]], 'd');
    expectCodecError(() => small.decode(deep, 'd'), 'LIMIT_EXCEEDED');
    const many = codec.encode([1, 2, 3, 4, 5], 'n');
    expectCodecError(() => small.decode(many, 'n'), 'LIMIT_EXCEEDED');
  });
});

describe('ValueCodec: custom types', () => {
  const types = new TypeRegistry().with({
    name: 'Money',
    type: Money,
    encode: (m: Money) => ({ cents: m.cents, currency: m.currency }),
    decode: (v) => {
      const o = v as { cents: number; currency: string };
      return new Money(o.cents, o.currency);
    },
  });
  const custom = new ValueCodec({ types });

  it('round-trips a registered class', () => {
    const back = custom.decode(custom.encode({ total: new Money(1999, 'EUR') }, 'order')) as {
      total: Money;
    };
    expect(back.total).toBeInstanceOf(Money);
    expect(back.total).toEqual(new Money(1999, 'EUR'));
  });

  it('refuses the class without a codec, and unknown names when decoding', () => {
    expectCodecError(() => codec.encode(new Money(1, 'EUR'), 'm'), 'UNSUPPORTED_TYPE');
    const bytes = custom.encode(new Money(1, 'EUR'), 'm');
    const err = expectCodecError(() => codec.decode(bytes, 'm'), 'UNKNOWN_TYPE');
    expect(err.message).toContain('Money');
  });

  it('names the path inside a custom value and wraps codec failures', () => {
    const bad = new ValueCodec({
      types: [
        {
          name: 'Money',
          type: Money,
          encode: () => ({ f: Symbol('x') }),
          decode: () => new Money(0, ''),
        },
      ],
    });
    expect(
      expectCodecError(() => bad.encode({ t: new Money(1, 'EUR') }, 'o'), 'UNSUPPORTED_TYPE').path,
    ).toBe('o.t<Money>.f');
    const throwing = new ValueCodec({
      types: [
        {
          name: 'Money',
          type: Money,
          encode: () => {
            throw new Error('boom');
          },
          decode: () => {
            throw new Error('boom');
          },
        },
      ],
    });
    expectCodecError(() => throwing.encode(new Money(1, 'EUR'), 'm'), 'CUSTOM_CODEC_FAILED');
    expectCodecError(
      () => throwing.decode(custom.encode(new Money(1, 'EUR'), 'm'), 'm'),
      'CUSTOM_CODEC_FAILED',
    );
  });

  it('refuses registering plain objects or a name twice', () => {
    expect(
      () =>
        new TypeRegistry([
          { name: 'O', type: Object, encode: (x) => x, decode: (x) => x as object },
        ]),
    ).toThrow(TypeError);
    expect(() =>
      types.with({ name: 'Money', type: class X {}, encode: () => 1, decode: () => ({}) }),
    ).toThrow(TypeError);
  });
});

describe('ValueCodec: the bytes are the protobuf Value message', () => {
  it('matches protobufjs static code in both directions (property)', () => {
    fc.assert(
      fc.property(arbitraryValue(), (value) => {
        const ours = codec.encode(value, 'v');
        // protobufjs reads our bytes ...
        const message = ProtoValue.decode(ours);
        // ... and writes the same bytes back (canonical form agrees).
        const theirs = ProtoValue.encode(message).finish();
        expect(Buffer.from(theirs).equals(Buffer.from(ours))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the documented bytes for simple values', () => {
    expect([...codec.encode(null)]).toEqual([0x08, 0x01]);
    expect([...codec.encode(true)]).toEqual([0x10, 0x01]);
    expect([...codec.encode(-1)]).toEqual([0x18, 0x01]);
    // text of characters up to U+00FF: latin1_value, one byte each; other text: UTF-8 string_value
    expect([...codec.encode('hi')]).toEqual([0x62, 0x02, 0x68, 0x69]);
    expect([...codec.encode('é')]).toEqual([0x62, 0x01, 0xe9]);
    expect([...codec.encode('€')]).toEqual([0x32, 0x03, 0xe2, 0x82, 0xac]);
    expect([...codec.encode({ a: 1 })]).toEqual([
      0x52, 0x09, 0x0a, 0x07, 0x0a, 0x01, 0x61, 0x12, 0x02, 0x18, 0x02,
    ]);
  });
});

describe('ValueCodec: properties', () => {
  it('decode(encode(v)) equals v, and re-encoding gives the same bytes', () => {
    fc.assert(
      fc.property(arbitraryValue(), (value) => {
        const bytes = codec.encode(value, 'v');
        const back = codec.decode(bytes, 'v');
        expect(back).toEqual(value);
        expect(Buffer.from(codec.encode(back, 'v')).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('ValueCodec: decoding hostile bytes (fuzz)', () => {
  function decodeOrTypedError(bytes: Uint8Array): void {
    try {
      const value = codec.decode(bytes, 'f');
      // Whatever decodes is canonical: it encodes back to the same bytes.
      expect(Buffer.from(codec.encode(value, 'f')).equals(Buffer.from(bytes))).toBe(true);
    } catch (err) {
      if (!(err instanceof SessionCodecError)) throw err;
      expect(['MALFORMED', 'LIMIT_EXCEEDED', 'UNKNOWN_TYPE']).toContain(err.code);
    }
  }

  it('random bytes give a value or a typed error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodeOrTypedError), {
      numRuns: 3000,
    });
  });

  it('mutated valid encodings give a value or a typed error', () => {
    fc.assert(
      fc.property(
        arbitraryValue(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
        (value, flips, cut) => {
          const bytes = Buffer.from(codec.encode(value, 'v'));
          for (const [at, b] of flips) bytes[at % bytes.length] = b;
          decodeOrTypedError(bytes);
          decodeOrTypedError(bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses invalid UTF-8 in a top-level string of any length', () => {
    for (const len of [1, 100, 200, 20_000]) {
      const body = Buffer.alloc(len, 0x61);
      body[len - 1] = 0xff;
      const bytes = Buffer.concat([Buffer.from([0x32]), varint(len), body]);
      expectCodecError(() => codec.decode(bytes, 's'), 'MALFORMED');
    }
  });

  it('refuses input that is not bytes', () => {
    expectCodecError(() => codec.decode('08 01' as unknown as Uint8Array, 'x'), 'INVALID_ARGUMENT');
  });

  it('refuses specific non-canonical or hostile forms', () => {
    const cases: [string, number[]][] = [
      ['empty', []],
      ['unknown tag', [0x60, 0x01]],
      ['two fields', [0x08, 0x01, 0x10, 0x01]],
      ['null false', [0x08, 0x00]],
      ['bool 2', [0x10, 0x02]],
      ['non-minimal varint', [0x18, 0x81, 0x00]],
      ['huge length', [0x32, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      ['double holding an int', [0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]],
      ['invalid utf-8', [0x32, 0x01, 0xff]],
      ['Latin-1 text as string_value', [0x32, 0x02, 0xc3, 0xa9]],
      ['bigint leading zero', [0x22, 0x02, 0x30, 0x31]],
      ['bigint minus zero', [0x22, 0x02, 0x2d, 0x30]],
      [
        'unsorted keys',
        [
          0x52, 0x12, 0x0a, 0x07, 0x0a, 0x01, 0x62, 0x12, 0x02, 0x08, 0x01, 0x0a, 0x07, 0x0a, 0x01,
          0x61, 0x12, 0x02, 0x08, 0x01,
        ],
      ],
      ['int beyond 2^53', [0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]],
    ];
    for (const [label, bytes] of cases) {
      const err = expectCodecError(() => codec.decode(Uint8Array.from(bytes), 'x'), 'MALFORMED');
      expect(err.offset, label).toBeTypeOf('number');
      if (label === 'unsorted keys') expect(err.message).toContain('out of order');
    }
  });

  it('refuses nesting past the limit without recursing into it', () => {
    // 100 000 nested lists, written from the inside out.
    let bytes = Buffer.from([0x4a, 0x00]);
    for (let i = 0; i < 100_000; i++) {
      const item = Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
      bytes = Buffer.concat([Buffer.from([0x4a]), varint(item.length), item]);
      if (bytes.length > 4096) break;
    }
    expectCodecError(() => codec.decode(bytes, 'x'), 'LIMIT_EXCEEDED');
    const nested = codec.encode([[[[[[]]]]]], 'x');
    expectCodecError(
      () => new ValueCodec({ limits: { maxDepth: 4 } }).decode(nested, 'x'),
      'LIMIT_EXCEEDED',
    );
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
