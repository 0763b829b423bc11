import type { NoSessionReason, SessionIdDialect } from './dialect.js';
import { SessionIdError } from './errors.js';
import { parseRouteCookie } from './route-cookie.js';
import { unsignSessionId } from './signed.js';
import { tomcatDialect } from './tomcat.js';

/** Raw request input: a string, a Buffer slice of the raw request, or absent. */
export type RawInput = string | Buffer | undefined;

/** Where a session id was found. */
export type SessionSource = 'path-parameter' | 'cookie';

/** How an extractor finds session ids in a request. */
export interface ExtractorOptions {
  /** Cookie names to read, tried in this order (default `['JSESSIONID']`; `connect.sid` for Express). */
  readonly cookieNames?: readonly string[];
  /** The path parameter (`;jsessionid=`), read before any cookie; `null` turns it off. */
  readonly pathParameter?: string | null;
  /** How an id splits into key and route (default Tomcat's `<key>.<route>`). */
  readonly dialect?: SessionIdDialect;
  /** A separate routing cookie (`ROUTEID`): when present and valid, its route wins over the id's. */
  readonly routeCookie?: string;
  /**
   * The cookie values are express-session signed values (`s%3A<id>.<sig>`): they are URL-decoded
   * and the signature is stripped; with `secrets` it must verify against one of them.
   */
  readonly signed?: { readonly secrets?: readonly string[] };
  /** Longest session id accepted (default 256 characters). */
  readonly maxIdLength?: number;
  /** Longest Cookie header scanned, all values together (default 65 536 characters). */
  readonly maxHeaderLength?: number;
  /**
   * When several ids are present (duplicate cookies on different paths), the first whose route
   * this accepts wins, as mod_jk tries each; without it, the first valid id wins.
   */
  readonly isKnownRoute?: (route: string) => boolean;
}

/** A session id found in a request. */
export interface FoundSession {
  readonly found: true;
  /** The whole session id (for signed cookies, the id inside the signature). */
  readonly id: string;
  /** The key: what session data is stored under. */
  readonly key: string;
  /** The route to send the request to: from the routing cookie if configured, else from the id. */
  readonly route: string | undefined;
  /** memcached-session-manager's store node, when the dialect carries one. */
  readonly storeNode: string | undefined;
  /** Where the id was found. */
  readonly source: SessionSource;
  /** The cookie or path-parameter name it was found under. */
  readonly name: string;
}

/** No usable session id in the request. */
export interface NoSession {
  readonly found: false;
  /** Why: `absent`, or the reason the first candidate was refused. */
  readonly reason: NoSessionReason;
  /** A route from the routing cookie, if one was configured and present. */
  readonly route: string | undefined;
}

/** The outcome of extracting a session id from a request; never an exception. */
export type Extraction = FoundSession | NoSession;

/** Extracts the session id from a request's raw target and Cookie header value(s). */
export type Extractor = (
  target: RawInput,
  cookie: RawInput | readonly (string | Buffer)[],
) => Extraction;

const SEMI = 0x3b;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const QMARK = 0x3f;
const HASH = 0x23;
const SLASH = 0x2f;
/** A path parameter's value: everything up to `;` `?` `#` or `/`. */
const PATH_VALUE = /[^;?#/]*/y;

interface Pattern {
  readonly name: string;
  readonly text: string;
  readonly bytes: Buffer;
}

function pattern(name: string, text: string): Pattern {
  return { name, text, bytes: Buffer.from(text, 'latin1') };
}

function checkName(name: string, what: string): void {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new SessionIdError(
      'ERR_OPTION_INVALID',
      `${what} ${JSON.stringify(name)} is not a valid token`,
    );
  }
}

function codeAt(src: string | Buffer, i: number): number {
  return typeof src === 'string' ? src.charCodeAt(i) : src[i]!;
}

function find(src: string | Buffer, p: Pattern, from: number): number {
  return typeof src === 'string' ? src.indexOf(p.text, from) : src.indexOf(p.bytes, from);
}

function slice(src: string | Buffer, start: number, end: number): string {
  return typeof src === 'string' ? src.slice(start, end) : src.toString('latin1', start, end);
}

/** True when a cookie name found at `at` starts a cookie pair (start, or after `;` and blanks). */
function atPairStart(src: string | Buffer, at: number): boolean {
  let i = at - 1;
  while (i >= 0) {
    const c = codeAt(src, i);
    if (c === SEMI) return true;
    if (c !== SPACE && c !== TAB) return false;
    i--;
  }
  return true;
}

/**
 * Builds an extractor. It reads the `;jsessionid=` path parameter first, then every cookie of the
 * configured names in order, without building a cookie map: a native substring search for each
 * name, a check that the match starts a cookie pair, and a scan of the value only. Hostile input
 * (overlong values, control characters, `%`, empty routes, thousands of cookies) yields
 * `{ found: false, reason }` in time linear in the input; it never throws.
 */
export function createExtractor(options: ExtractorOptions = {}): Extractor {
  const dialect = options.dialect ?? tomcatDialect();
  const cookieNames = options.cookieNames ?? ['JSESSIONID'];
  const pathParameter = options.pathParameter === undefined ? 'jsessionid' : options.pathParameter;
  const maxIdLength = options.maxIdLength ?? 256;
  const maxHeaderLength = options.maxHeaderLength ?? 65_536;
  const signed = options.signed;
  const secrets = signed?.secrets;
  const isKnownRoute = options.isKnownRoute;
  // A signed value is longer than its id: `s%3A`, the signature, and percent-encoded `+` `/`.
  const maxValueLength = signed ? maxIdLength * 3 + 256 : maxIdLength;

  for (const n of cookieNames) checkName(n, 'cookie name');
  if (pathParameter !== null) checkName(pathParameter, 'path parameter');
  if (options.routeCookie !== undefined) checkName(options.routeCookie, 'route cookie');
  if (!Number.isInteger(maxIdLength) || maxIdLength < 1) {
    throw new SessionIdError('ERR_OPTION_INVALID', `maxIdLength must be a positive integer`);
  }
  const cookiePatterns = cookieNames.map((n) => pattern(n, n + '='));
  const pathPattern =
    pathParameter === null ? null : pattern(pathParameter, ';' + pathParameter + '=');
  const routePattern = options.routeCookie
    ? pattern(options.routeCookie, options.routeCookie + '=')
    : null;

  /** State of one extraction: the fallback candidate and the first refusal reason. */
  let fallback: FoundSession | undefined;
  let firstReason: NoSessionReason | undefined;

  /** Judges one raw value; returns a session when it should win now. */
  function consider(raw: string, source: SessionSource, name: string): FoundSession | undefined {
    let id = raw;
    if (signed) {
      let decoded: string;
      try {
        decoded = raw.indexOf('%') === -1 ? raw : decodeURIComponent(raw);
      } catch {
        firstReason ??= 'not-signed';
        return undefined;
      }
      if (secrets) {
        const r = unsignSessionId(decoded, secrets);
        if (!r.ok) {
          firstReason ??= r.reason;
          return undefined;
        }
        id = r.value;
      } else {
        const dot = decoded.lastIndexOf('.');
        if (!decoded.startsWith('s:') || dot <= 2) {
          firstReason ??= 'not-signed';
          return undefined;
        }
        id = decoded.slice(2, dot);
      }
      if (id.length > maxIdLength) {
        firstReason ??= 'too-long';
        return undefined;
      }
    }
    const parsed = dialect.parse(id);
    if (!parsed.ok) {
      firstReason ??= parsed.reason;
      return undefined;
    }
    const found: FoundSession = {
      found: true,
      id,
      key: parsed.key,
      route: parsed.route,
      storeNode: parsed.storeNode,
      source,
      name,
    };
    if (isKnownRoute && (parsed.route === undefined || !isKnownRoute(parsed.route))) {
      fallback ??= found;
      return undefined;
    }
    return found;
  }

  /**
   * Trims blanks and one pair of quotes off `src[start, end)` and returns the value, or records
   * why it is unusable.
   */
  function valueIn(src: string | Buffer, start: number, end: number): string | undefined {
    if (end - start > maxValueLength) {
      firstReason ??= 'too-long';
      return undefined;
    }
    let s = start;
    let e = end;
    while (s < e && (codeAt(src, s) === SPACE || codeAt(src, s) === TAB)) s++;
    while (e > s && (codeAt(src, e - 1) === SPACE || codeAt(src, e - 1) === TAB)) e--;
    if (e - s >= 2 && codeAt(src, s) === QUOTE && codeAt(src, e - 1) === QUOTE) {
      s++;
      e--;
    }
    if (s === e) {
      firstReason ??= 'empty';
      return undefined;
    }
    return slice(src, s, e);
  }

  /**
   * End of a path parameter's value: the first `;` `?` `#` `/` or the end of the path. Strings
   * are scanned by a native sticky regex; the next search starts at the end, so each character is
   * scanned once (linear time).
   */
  function pathValueEnd(target: string | Buffer, start: number, pathEnd: number): number {
    if (typeof target === 'string') {
      PATH_VALUE.lastIndex = start;
      PATH_VALUE.test(target);
      return Math.min(PATH_VALUE.lastIndex, pathEnd);
    }
    let end = start;
    while (end < pathEnd) {
      const c = target[end]!;
      if (c === SEMI || c === QMARK || c === HASH || c === SLASH) break;
      end++;
    }
    return end;
  }

  function fromPath(target: string | Buffer): FoundSession | undefined {
    if (pathPattern === null) return undefined;
    let at = find(target, pathPattern, 0);
    if (at === -1) return undefined;
    let pathEnd = typeof target === 'string' ? target.indexOf('?') : target.indexOf(QMARK);
    if (pathEnd === -1) pathEnd = target.length;
    while (at !== -1 && at < pathEnd) {
      const start = at + pathPattern.text.length;
      const end = pathValueEnd(target, start, pathEnd);
      const raw = valueIn(target, start, end);
      if (raw !== undefined) {
        const hit = consider(raw, 'path-parameter', pathPattern.name);
        if (hit) return hit;
      }
      at = find(target, pathPattern, end);
    }
    return undefined;
  }

  /** End of the cookie value starting at `start`: the next `;` (a native search) or the end. */
  function cookieValueEnd(src: string | Buffer, start: number): number {
    const end = typeof src === 'string' ? src.indexOf(';', start) : src.indexOf(SEMI, start);
    return end === -1 ? src.length : end;
  }

  function fromCookie(src: string | Buffer, p: Pattern): FoundSession | undefined {
    let at = find(src, p, 0);
    while (at !== -1) {
      const start = at + p.text.length;
      // No cookie pair can start before the `;` that ends this value, so the next search starts
      // there: every character is looked at a bounded number of times (linear time).
      const end = cookieValueEnd(src, start);
      if (atPairStart(src, at)) {
        const raw = valueIn(src, start, end);
        if (raw !== undefined) {
          const hit = consider(raw, 'cookie', p.name);
          if (hit) return hit;
        }
      }
      at = find(src, p, end);
    }
    return undefined;
  }

  function routeFrom(headers: readonly (string | Buffer)[]): string | undefined {
    if (routePattern === null) return undefined;
    for (const src of headers) {
      let at = find(src, routePattern, 0);
      while (at !== -1) {
        const start = at + routePattern.text.length;
        const end = cookieValueEnd(src, start);
        if (atPairStart(src, at) && end - start <= maxIdLength) {
          const route = parseRouteCookie(slice(src, start, end).trim());
          if (route !== undefined) return route;
        }
        at = find(src, routePattern, end);
      }
    }
    return undefined;
  }

  const none: readonly (string | Buffer)[] = [];
  const one: (string | Buffer)[] = [''];

  return function extract(target, cookie): Extraction {
    fallback = undefined;
    firstReason = undefined;
    let headers: readonly (string | Buffer)[];
    if (cookie === undefined) headers = none;
    else if (typeof cookie === 'string' || Buffer.isBuffer(cookie)) {
      one[0] = cookie;
      headers = one;
    } else headers = cookie as readonly (string | Buffer)[];

    let total = 0;
    for (let i = 0; i < headers.length; i++) total += headers[i]!.length;
    const scanCookies = total <= maxHeaderLength;
    if (!scanCookies) headers = none;

    const routeOverride = routeFrom(headers);
    let hit = target === undefined ? undefined : fromPath(target);
    if (!hit && scanCookies) {
      for (let p = 0; p < cookiePatterns.length && !hit; p++) {
        for (let h = 0; h < headers.length && !hit; h++)
          hit = fromCookie(headers[h]!, cookiePatterns[p]!);
      }
    }
    one[0] = '';
    hit ??= fallback;
    if (hit) {
      return routeOverride === undefined || routeOverride === hit.route
        ? hit
        : { ...hit, route: routeOverride };
    }
    return {
      found: false,
      reason: !scanCookies ? 'header-too-long' : (firstReason ?? 'absent'),
      route: routeOverride,
    };
  };
}
