import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * The admin listener's management token. It never shows itself: `JSON.stringify`, `String` and
 * `util.inspect` (so pino and `console.log`) print `[redacted]`. Candidates are compared in
 * constant time (both sides hashed with SHA-256 first, so the length does not leak either).
 */
export class AdminToken {
  readonly #digest: Buffer;

  /** Wraps a token value (validated by the configuration). */
  constructor(value: string) {
    this.#digest = createHash('sha256').update(value, 'utf8').digest();
  }

  /** True when `candidate` is the token; constant time in the candidate's content. */
  matches(candidate: string | undefined): boolean {
    const d = createHash('sha256')
      .update(candidate ?? '', 'utf8')
      .digest();
    return timingSafeEqual(d, this.#digest) && candidate !== undefined;
  }

  /** `[redacted]`. */
  toJSON(): string {
    return '[redacted]';
  }

  /** `[redacted]`. */
  toString(): string {
    return '[redacted]';
  }

  /** `[redacted]`. */
  [inspect.custom](): string {
    return '[redacted]';
  }
}
