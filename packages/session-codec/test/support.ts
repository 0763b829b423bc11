// Shared helpers for the package's tests: arbitraries for fast-check and small assertions.
import fc from 'fast-check';
import { expect } from 'vitest';
import { SessionCodecError, type SessionCodecErrorCode } from '../src/errors.js';
import type { Principal, Session } from '../src/session.js';
import { defaultValueCodec, type ValueCodec } from '../src/value-codec.js';

/** A tiny application class used to exercise custom type codecs. */
export class Money {
  constructor(
    readonly cents: number,
    readonly currency: string,
  ) {}
}

/** Runs `fn`, expects a SessionCodecError with `code`, and returns it. */
export function expectCodecError(
  fn: () => unknown,
  code: SessionCodecErrorCode,
): SessionCodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SessionCodecError);
    expect((err as SessionCodecError).code).toBe(code);
    return err as SessionCodecError;
  }
  throw new Error(`expected a SessionCodecError ${code}, nothing was thrown`);
}

/** Arbitrary storable values (everything the codec accepts, nested). */
export function arbitraryValue(): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.bigInt(),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.date({ noInvalidDate: false }),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
    ),
  }));
  return value;
}

/** Arbitrary attribute names (including awkward ones). */
export function arbitraryName(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('cart', 'user', 'csrf', '__proto__', 'constructor', 'a b', 'ü'),
    fc.string({ minLength: 1, maxLength: 12 }),
  );
}

/** Arbitrary principals or null. */
export function arbitraryPrincipal(): fc.Arbitrary<Principal | null> {
  return fc.option(
    fc.record({
      name: fc.string({ minLength: 1, maxLength: 10 }),
      authType: fc.constantFrom('', 'FORM', 'BASIC'),
    }),
  );
}

/** Arbitrary sessions with encoded attributes. */
export function arbitrarySession(codec: ValueCodec = defaultValueCodec): fc.Arbitrary<Session> {
  return fc
    .record({
      key: fc.string({ minLength: 1, maxLength: 30 }),
      createdAt: fc.integer({ min: 0, max: 2 ** 42 }),
      idle: fc.integer({ min: 0, max: 10 ** 7 }),
      maxInactiveSeconds: fc.integer({ min: -1, max: 86_400 * 30 }),
      isNew: fc.boolean(),
      principal: arbitraryPrincipal(),
      attributes: fc.dictionary(arbitraryName(), arbitraryValue(), { maxKeys: 6 }),
      epoch: fc.integer({ min: 0, max: 1000 }),
      seq: fc.integer({ min: 0, max: 10 ** 6 }),
    })
    .map((r) => ({
      key: r.key,
      createdAt: r.createdAt,
      lastAccessedAt: r.createdAt + r.idle,
      maxInactiveSeconds: r.maxInactiveSeconds,
      isNew: r.isNew,
      principal: r.principal,
      attributes: new Map(Object.entries(r.attributes).map(([n, v]) => [n, codec.encode(v, n)])),
      version: { epoch: r.epoch, seq: r.seq },
    }));
}

/** A session and a later state of it (same key and creation time, a newer version). */
export function arbitrarySessionPair(
  codec: ValueCodec = defaultValueCodec,
): fc.Arbitrary<[Session, Session]> {
  return arbitrarySession(codec).chain((from) =>
    fc
      .record({
        keep: fc.array(fc.boolean(), {
          minLength: from.attributes.size,
          maxLength: from.attributes.size,
        }),
        added: fc.dictionary(arbitraryName(), arbitraryValue(), { maxKeys: 4 }),
        maxInactiveSeconds: fc.oneof(
          fc.constant(from.maxInactiveSeconds),
          fc.integer({ min: -1, max: 7200 }),
        ),
        principal: fc.oneof(fc.constant(from.principal), arbitraryPrincipal()),
        touch: fc.option(fc.integer({ min: 0, max: 10 ** 6 })),
        seqStep: fc.integer({ min: 1, max: 5 }),
      })
      .map((c): [Session, Session] => {
        const attributes = new Map([...from.attributes].filter((_, i) => c.keep[i]));
        for (const [n, v] of Object.entries(c.added)) attributes.set(n, codec.encode(v, n));
        const touched = c.touch !== null;
        return [
          from,
          {
            ...from,
            attributes,
            maxInactiveSeconds: c.maxInactiveSeconds,
            principal: c.principal,
            lastAccessedAt: touched ? from.lastAccessedAt + c.touch! : from.lastAccessedAt,
            isNew: touched ? false : from.isNew,
            version: { epoch: from.version.epoch, seq: from.version.seq + c.seqStep },
          },
        ];
      }),
  );
}
