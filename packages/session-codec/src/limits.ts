/**
 * Size and shape limits applied when values are set or decoded. Every limit is checked both when
 * encoding (a value over a limit is refused at `set`) and when decoding (hostile bytes cannot make
 * the decoder allocate or recurse beyond them).
 */
export interface Limits {
  /** Deepest nesting of lists, objects and custom values inside one attribute value. */
  readonly maxDepth: number;
  /** Most items in one list or fields in one object. */
  readonly maxItems: number;
  /** Largest encoded attribute value, in bytes. */
  readonly maxValueBytes: number;
  /** Largest attribute name or object key, in UTF-8 bytes. */
  readonly maxNameBytes: number;
  /** Most attributes in one session. */
  readonly maxAttributes: number;
  /** Largest encoded session or delta, in bytes. */
  readonly maxEnvelopeBytes: number;
  /** Most operations in one delta. */
  readonly maxOps: number;
}

/** The limits used when none are given. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxDepth: 64,
  maxItems: 100_000,
  maxValueBytes: 1024 * 1024,
  maxNameBytes: 1024,
  maxAttributes: 10_000,
  maxEnvelopeBytes: 16 * 1024 * 1024,
  maxOps: 20_000,
});

/**
 * Completes a partial set of limits with the defaults and checks that each is a positive integer.
 *
 * @param partial - the limits to override
 * @returns the full set
 * @throws TypeError for an unknown limit or one that is not a positive integer (a programming
 *   error, not bad input)
 */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  for (const name of Object.keys(partial)) {
    if (!(name in DEFAULT_LIMITS)) {
      throw new TypeError(
        `unknown limit ${name}; known: ${Object.keys(DEFAULT_LIMITS).join(', ')}`,
      );
    }
  }
  const merged = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze(merged);
}
