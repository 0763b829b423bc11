// Shared helpers for the package's tests: arbitraries for fast-check and small assertions.
import fc from 'fast-check';
import { expect } from 'vitest';
import { SessionCodecError, type SessionCodecErrorCode } from '../src/errors.js';

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
