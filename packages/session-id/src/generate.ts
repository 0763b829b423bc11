import { randomBytes } from 'node:crypto';
import type { SessionIdDialect } from './dialect.js';
import { SessionIdError } from './errors.js';
import { tomcatDialect } from './tomcat.js';

/** How a session key is generated. */
export interface GenerateKeyOptions {
  /** Random bytes in the key: at least 16 (128 bits), at most 64. Default 16. */
  readonly bytes?: number;
  /**
   * `base64url` (default: 22 characters for 16 bytes), `hex` (32 lowercase characters), or
   * `HEX` (uppercase, as Tomcat writes its ids).
   */
  readonly encoding?: 'base64url' | 'hex' | 'HEX';
  /** The source of randomness; `crypto.randomBytes` unless a test injects its own. */
  readonly random?: (size: number) => Uint8Array;
}

/** How a whole session id is generated: a fresh key, and the route of the server issuing it. */
export interface GenerateSessionIdOptions extends GenerateKeyOptions {
  /** The route of the server that will own the session; omit for an id without a route. */
  readonly route?: string;
  /** The dialect to format the id in; Tomcat's `<key>.<route>` by default. */
  readonly dialect?: SessionIdDialect;
}

/** A new session key: `bytes` bytes from a CSPRNG, URL- and cookie-safe. */
export function generateKey(options: GenerateKeyOptions = {}): string {
  const bytes = options.bytes ?? 16;
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 64) {
    throw new SessionIdError(
      'ERR_ENTROPY_TOO_LOW',
      `bytes must be an integer from 16 (128 bits) to 64 (got ${bytes})`,
    );
  }
  const raw = (options.random ?? randomBytes)(bytes);
  if (raw.length !== bytes) {
    throw new SessionIdError(
      'ERR_ENTROPY_TOO_LOW',
      `random source returned ${raw.length} bytes, not ${bytes}`,
    );
  }
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (options.encoding ?? 'base64url') {
    case 'base64url':
      return buf.toString('base64url');
    case 'hex':
      return buf.toString('hex');
    case 'HEX':
      return buf.toString('hex').toUpperCase();
    default:
      throw new SessionIdError(
        'ERR_OPTION_INVALID',
        `unknown encoding ${String(options.encoding)}`,
      );
  }
}

/** A new session id: a fresh key joined with `route` in the given dialect (Tomcat's by default). */
export function generateSessionId(options: GenerateSessionIdOptions = {}): string {
  const dialect = options.dialect ?? tomcatDialect();
  return dialect.format({ key: generateKey(options), route: options.route });
}
