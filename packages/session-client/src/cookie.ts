import { SessionBackendError } from './errors.js';

/** Options of the session cookie, as express-session names them. */
export interface CookieOptions {
  /** `Path` (default `/`). */
  readonly path?: string;
  /** `Domain` (default none: host-only). */
  readonly domain?: string;
  /** `HttpOnly` (default true). */
  readonly httpOnly?: boolean;
  /** `Secure` (default false). */
  readonly secure?: boolean;
  /** `SameSite` (default `lax`; false leaves the attribute out). */
  readonly sameSite?: 'lax' | 'strict' | 'none' | false;
  /**
   * Lifetime in ms: `Max-Age` and `Expires` are sent. Absent: a browser-session cookie (gone
   * when the browser closes), as express-session's default.
   */
  readonly maxAge?: number;
  /** `Partitioned` (CHIPS; default false). */
  readonly partitioned?: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 av-value: any CHAR except CTLs and ';'.
const AV_VALUE = /^[\x20-\x3a\x3c-\x7e]+$/;
// RFC 6265 cookie-octet.
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/** The checked, complete cookie options. */
export interface ResolvedCookie {
  readonly name: string;
  readonly path: string;
  readonly domain: string | undefined;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none' | false;
  readonly maxAge: number | undefined;
  readonly partitioned: boolean;
}

/**
 * Checks cookie options once, at start-up.
 *
 * @throws SessionBackendError INVALID_ARGUMENT naming the bad option
 */
export function resolveCookie(name: string, o: CookieOptions = {}): ResolvedCookie {
  const bad = (what: string): never => {
    throw new SessionBackendError('INVALID_ARGUMENT', `cookie option ${what}`);
  };
  if (typeof name !== 'string' || !TOKEN.test(name)) bad('name must be an HTTP token');
  const path = o.path ?? '/';
  if (!AV_VALUE.test(path)) bad('path must be printable ASCII without ";"');
  if (o.domain !== undefined && !AV_VALUE.test(o.domain)) {
    bad('domain must be printable ASCII without ";"');
  }
  if (
    o.maxAge !== undefined &&
    (!Number.isFinite(o.maxAge) || o.maxAge < 0 || o.maxAge > 400 * 86_400_000)
  ) {
    bad('maxAge must be a number of ms from 0 to 400 days');
  }
  const sameSite = o.sameSite ?? 'lax';
  if (sameSite !== false && sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') {
    bad('sameSite must be lax, strict, none or false');
  }
  if (sameSite === 'none' && o.secure !== true) bad('sameSite none needs secure: true');
  return {
    name,
    path,
    domain: o.domain,
    httpOnly: o.httpOnly ?? true,
    secure: o.secure ?? false,
    sameSite,
    maxAge: o.maxAge,
    partitioned: o.partitioned ?? false,
  };
}

/**
 * Formats a `Set-Cookie` value. `value` must be cookie-octets (session ids are).
 *
 * @param c - the resolved options
 * @param value - the cookie value
 * @param now - the clock, for `Expires`
 * @param clear - an expired cookie that deletes the one in the browser
 * @throws SessionBackendError INVALID_ARGUMENT for a value that is not cookie-octets
 */
export function serializeCookie(
  c: ResolvedCookie,
  value: string,
  now: number,
  clear = false,
): string {
  if (!COOKIE_VALUE.test(value)) {
    throw new SessionBackendError(
      'INVALID_ARGUMENT',
      'cookie value holds characters a cookie cannot',
    );
  }
  let s = `${c.name}=${value}; Path=${c.path}`;
  if (c.domain !== undefined) s += `; Domain=${c.domain}`;
  if (clear) {
    s += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0';
  } else if (c.maxAge !== undefined) {
    s += `; Expires=${new Date(now + c.maxAge).toUTCString()}; Max-Age=${Math.floor(c.maxAge / 1000)}`;
  }
  if (c.httpOnly) s += '; HttpOnly';
  if (c.secure) s += '; Secure';
  if (c.partitioned) s += '; Partitioned';
  if (c.sameSite !== false) {
    s += `; SameSite=${c.sameSite === 'lax' ? 'Lax' : c.sameSite === 'strict' ? 'Strict' : 'None'}`;
  }
  return s;
}

/** Adds a `Set-Cookie` header to a response, keeping any the application set. */
export function appendSetCookie(
  res: { getHeader(name: string): unknown; setHeader(name: string, value: string[]): unknown },
  cookie: string,
): void {
  const prev = res.getHeader('set-cookie');
  const list =
    prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev as string)];
  res.setHeader('set-cookie', [...list, cookie]);
}
