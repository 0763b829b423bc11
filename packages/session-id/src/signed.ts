import { createHmac, timingSafeEqual } from 'node:crypto';
import { SessionIdError } from './errors.js';

/** The result of checking a signed cookie value. */
export type UnsignResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly reason: 'not-signed' | 'bad-signature' };

function signature(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
}

/**
 * Signs a session id the way express-session does: `s:<value>.<base64 HMAC-SHA256 without padding>`.
 * The result is the cookie's value before URL encoding (express-session writes `s%3A…`).
 */
export function signSessionId(value: string, secret: string): string {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new SessionIdError('ERR_SECRET_MISSING', 'a non-empty secret is required to sign');
  }
  return 's:' + value + '.' + signature(value, secret);
}

/**
 * Checks a signed value (`s:<value>.<sig>`, already URL-decoded) against every secret in turn
 * (the first signs, all verify: rotation), comparing in constant time. Never throws.
 */
export function unsignSessionId(signed: string, secrets: readonly string[]): UnsignResult {
  if (!signed.startsWith('s:')) return { ok: false, reason: 'not-signed' };
  const dot = signed.lastIndexOf('.');
  if (dot <= 2) return { ok: false, reason: 'not-signed' };
  const value = signed.slice(2, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  let match = false;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const expected = Buffer.from(signature(value, secret));
    // Compare every secret, so the time taken does not tell which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) match = true;
  }
  return match ? { ok: true, value } : { ok: false, reason: 'bad-signature' };
}
