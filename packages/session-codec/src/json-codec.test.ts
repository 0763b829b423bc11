import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionCodecError } from './errors.js';
import {
  sessionFromJson,
  sessionToJson,
  stringifySession,
  valueFromJson,
  valueToJson,
} from './json-codec.js';
import { createSession, sessionsEqual } from './session.js';
import { ValueCodec } from './value-codec.js';
import { arbitrarySession, arbitraryValue, expectCodecError, Money } from '../test/support.js';

const types = [
  {
    name: 'Money',
    type: Money,
    encode: (m: Money) => [m.cents, m.currency],
    decode: (v: unknown) => new Money((v as [number, string])[0], (v as [number, string])[1]),
  },
];
const codec = new ValueCodec({ types });

describe('tagged JSON values', () => {
  it('writes plain JSON for JSON-native values', () => {
    expect(valueToJson({ a: [1, 'x', true, null, 2.5] })).toEqual({ a: [1, 'x', true, null, 2.5] });
  });

  it('tags what JSON cannot hold', () => {
    expect(
      valueToJson(
        {
          big: 10n,
          bytes: Buffer.from([1, 2]),
          when: new Date(0),
          bad: new Date(Number.NaN),
          nan: Number.NaN,
          negz: -0,
          inf: -Infinity,
          m: new Money(5, 'EUR'),
          $weird: 1,
        },
        codec,
      ),
    ).toEqual({
      $object: {
        $weird: 1,
        bad: { $date: null },
        big: { $bigint: '10' },
        bytes: { $bytes: 'AQI=' },
        inf: { $double: '-Infinity' },
        m: { $type: 'Money', value: [5, 'EUR'] },
        nan: { $double: 'NaN' },
        negz: { $double: '-0' },
        when: { $date: '1970-01-01T00:00:00.000Z' },
      },
    });
  });

  it('round-trips through JSON text (property)', () => {
    fc.assert(
      fc.property(arbitraryValue(), (value) => {
        const text = JSON.stringify(valueToJson(value));
        expect(valueFromJson(JSON.parse(text))).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses malformed tags, naming the path', () => {
    for (const bad of [
      { $bigint: '01' },
      { $bytes: 'not base64!' },
      { $date: 'yesterday' },
      { $double: '1.5' },
      { $nope: 1 },
      { $bigint: '1', extra: 2 },
    ]) {
      expect(
        expectCodecError(() => valueFromJson({ a: [bad] }, codec, 'attr'), 'MALFORMED').path,
      ).toBe('attr.a[0]');
    }
    expectCodecError(() => valueFromJson({ $type: 'Nope', value: 1 }), 'UNKNOWN_TYPE');
    expect(valueFromJson({ value: [3, 'USD'], $type: 'Money' }, codec)).toEqual(
      new Money(3, 'USD'),
    );
    expectCodecError(() => valueToJson({ f: () => 0 }), 'UNSUPPORTED_TYPE');
  });

  it('does not pollute prototypes from JSON keys', () => {
    const back = valueFromJson(JSON.parse('{"__proto__":{"x":1}}')) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__']);
    expect((back as { x?: unknown }).x).toBeUndefined();
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });
});

describe('session JSON', () => {
  it('round-trips (property)', () => {
    fc.assert(
      fc.property(arbitrarySession(), (s) => {
        expect(sessionsEqual(sessionFromJson(stringifySession(s)), s)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps attributes it cannot decode as $encoded bytes', () => {
    const s = createSession(
      { key: 'k', now: 1, maxInactiveSeconds: 60, attributes: { m: new Money(1, 'EUR') } },
      codec,
    );
    const json = sessionToJson(s); // the default codec does not know Money
    expect(Object.keys(json.attributes.m as object)).toEqual(['$encoded']);
    expect(sessionsEqual(sessionFromJson(json), s)).toBe(true);
    expect(sessionToJson(s, codec).attributes.m).toEqual({ $type: 'Money', value: [1, 'EUR'] });
  });

  it('refuses bad input with typed errors', () => {
    expectCodecError(() => sessionFromJson('{'), 'MALFORMED');
    expectCodecError(() => sessionFromJson('[]'), 'MALFORMED');
    expectCodecError(() => sessionFromJson({ format: 2 }), 'UNSUPPORTED_FORMAT');
    const good = sessionToJson(createSession({ key: 'k', now: 1, maxInactiveSeconds: 60 }));
    expectCodecError(() => sessionFromJson({ ...good, attributes: null }), 'MALFORMED');
    expectCodecError(() => sessionFromJson({ ...good, key: 5 }), 'INVALID_ARGUMENT');
    expectCodecError(
      () => sessionFromJson({ ...good, version: { epoch: -1, seq: 0 } }),
      'INVALID_ARGUMENT',
    );
    expectCodecError(
      () => sessionFromJson({ ...good, attributes: { a: { $encoded: '!!' } } }),
      'MALFORMED',
    );
  });

  it('gives a typed error or a session for mutated session JSON (fuzz)', () => {
    fc.assert(
      fc.property(
        arbitrarySession(),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom('$', '"', '{', '}', '[', ']', ':', ',', '0', '-', 'x', ' '),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (s, edits) => {
          const chars = [...stringifySession(s)];
          for (const [at, c] of edits) chars[at % chars.length] = c;
          try {
            sessionFromJson(chars.join(''));
          } catch (err) {
            if (!(err instanceof SessionCodecError)) throw err;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives a typed error or a value for arbitrary tagged JSON (fuzz)', () => {
    const tagged = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 2 }),
        fc.record({ $bigint: fc.string() }),
        fc.record({ $bytes: fc.string() }),
        fc.record({ $date: fc.oneof(fc.string(), fc.constant(null)) }),
        fc.record({ $double: fc.string() }),
        fc.record({ $type: fc.string(), value: tie('v') }),
        fc.record({ $object: tie('v') }),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    fc.assert(
      fc.property(tagged, (json) => {
        try {
          valueFromJson(json);
        } catch (err) {
          if (!(err instanceof SessionCodecError)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('gives a typed error or a session for arbitrary JSON (fuzz)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          sessionFromJson(text);
        } catch (err) {
          if (!(err instanceof SessionCodecError)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
