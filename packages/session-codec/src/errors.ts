/**
 * What went wrong, as a stable machine-readable code.
 *
 * - `UNSUPPORTED_TYPE`: a value of a type that cannot be stored (function, symbol, class instance
 *   without a registered codec, sparse/undefined array item, ...).
 * - `CYCLE`: a value refers to itself.
 * - `INVALID_STRING`: a string with a lone surrogate (it would not survive UTF-8).
 * - `LIMIT_EXCEEDED`: a configured limit (depth, count, size) was passed.
 * - `MALFORMED`: bytes or JSON that are not a valid encoding.
 * - `UNSUPPORTED_FORMAT`: an envelope with a format version this code does not read.
 * - `UNKNOWN_TYPE`: a custom value whose type has no registered codec.
 * - `CUSTOM_CODEC_FAILED`: a registered codec threw.
 * - `VERSION_MISMATCH`: a delta applied to a state other than its base.
 * - `KEY_MISMATCH`: a delta applied to another session.
 * - `INVALID_ARGUMENT`: an argument outside its documented range.
 * - `INVALID_STATE`: an operation on a tracked session that was committed or invalidated.
 * - `NOT_REPRESENTABLE`: two sessions whose difference no delta can express.
 */
export type SessionCodecErrorCode =
  | 'UNSUPPORTED_TYPE'
  | 'CYCLE'
  | 'INVALID_STRING'
  | 'LIMIT_EXCEEDED'
  | 'MALFORMED'
  | 'UNSUPPORTED_FORMAT'
  | 'UNKNOWN_TYPE'
  | 'CUSTOM_CODEC_FAILED'
  | 'VERSION_MISMATCH'
  | 'KEY_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'INVALID_STATE'
  | 'NOT_REPRESENTABLE';

/** Details attached to a {@link SessionCodecError}. */
export interface SessionCodecErrorDetails {
  /** Where in a value the problem is, e.g. `cart.items[3].price` (attribute name first). */
  readonly path?: string;
  /** Byte offset in the input being decoded, when decoding. */
  readonly offset?: number;
  /** What was expected instead, in words. */
  readonly expected?: string;
  /** The error that caused this one (e.g. thrown by a custom codec). */
  readonly cause?: unknown;
}

/**
 * The one error type this package throws for bad input. The message starts with the path when
 * there is one (`cart.items[3].price: function is not serializable`), and names the offset and
 * what was expected when decoding.
 */
export class SessionCodecError extends Error {
  /** Stable code, see {@link SessionCodecErrorCode}. */
  readonly code: SessionCodecErrorCode;
  /** Path inside the value, attribute name first; absent when the error is not about a value. */
  readonly path: string | undefined;
  /** Byte offset in the decoded input, when decoding bytes. */
  readonly offset: number | undefined;
  /** What was expected, in words. */
  readonly expected: string | undefined;

  /**
   * @param code - stable error code
   * @param problem - what is wrong, without the path (it is prefixed automatically)
   * @param details - path, offset, expectation and cause
   */
  constructor(
    code: SessionCodecErrorCode,
    problem: string,
    details: SessionCodecErrorDetails = {},
  ) {
    let message = details.path !== undefined ? `${details.path}: ${problem}` : problem;
    if (details.offset !== undefined) message += ` (at byte ${details.offset})`;
    if (details.expected !== undefined) message += `; expected ${details.expected}`;
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'SessionCodecError';
    this.code = code;
    this.path = details.path;
    this.offset = details.offset;
    this.expected = details.expected;
  }
}
