import { KEY_CHARS, ROUTE_CHARS, isAllIn } from './charset.js';
import type { ParseResult, ParsedSessionId, SessionIdDialect } from './dialect.js';
import { SessionIdError } from './errors.js';

/** Options of the Tomcat dialect. */
export interface TomcatDialectOptions {
  /**
   * The character between key and route: `.` (Tomcat, mod_jk, mod_proxy_balancer; the default)
   * or `!` (WebLogic), or any other single character that cannot occur in a key.
   */
  readonly separator?: string;
}

/** Checks a separator: one character, outside the key alphabet. */
export function checkSeparator(separator: string): number {
  const code = separator.charCodeAt(0);
  if (separator.length !== 1 || code > 127 || code <= 0x20 || KEY_CHARS[code] === 1) {
    throw new SessionIdError(
      'ERR_SEPARATOR_INVALID',
      `separator must be one printable ASCII character that cannot occur in a key (got ${JSON.stringify(separator)})`,
    );
  }
  return code;
}

/** Throws unless `key` is a valid session key. */
export function checkKey(key: string): void {
  if (!isAllIn(key, KEY_CHARS)) {
    throw new SessionIdError(
      'ERR_KEY_INVALID',
      'key must be non-empty and use only A-Z a-z 0-9 - _',
    );
  }
}

/** Throws unless `route` is a valid route. */
export function checkRoute(route: string): void {
  if (!isAllIn(route, ROUTE_CHARS)) {
    throw new SessionIdError(
      'ERR_ROUTE_INVALID',
      'route must be non-empty and use only A-Z a-z 0-9 - _ .',
    );
  }
}

// Sticky regular expressions run the character-class scans natively (measured about 40 % faster
// than a charCodeAt loop over a lookup table); they hold no state between calls beyond lastIndex,
// which is set before every use.
const KEY_RUN = /[A-Za-z0-9_-]+/y;
const ROUTE_RUN = /[A-Za-z0-9_.-]+/y;

/** Length of the run of characters matching `run` that starts at `from` (0 when none). */
function runLength(run: RegExp, s: string, from: number): number {
  run.lastIndex = from;
  return run.test(s) ? run.lastIndex - from : 0;
}

/** Per separator: one anchored expression that accepts exactly the valid `<key>[<sep><route>]`. */
const VALID_ID = new Map<number, RegExp>();

function validIdPattern(separatorCode: number): RegExp {
  let re = VALID_ID.get(separatorCode);
  if (re === undefined) {
    const sep = '\\x' + separatorCode.toString(16).padStart(2, '0');
    re = new RegExp(`^[A-Za-z0-9_-]+(?:${sep}[A-Za-z0-9_.-]+)?$`);
    VALID_ID.set(separatorCode, re);
  }
  return re;
}

/**
 * Parses `<key>[<sep><route>]`: the route is everything after the first separator, as mod_jk and
 * mod_proxy_balancer read it (so a route may itself contain dots).
 */
export function parseKeyRoute(id: string, separatorCode: number): ParseResult {
  // Fast path: one native match decides a valid id; only a refused id is scanned again for the
  // reason.
  if (validIdPattern(separatorCode).test(id)) {
    const sep = id.indexOf(String.fromCharCode(separatorCode));
    return sep === -1
      ? { ok: true, key: id, route: undefined }
      : { ok: true, key: id.slice(0, sep), route: id.slice(sep + 1) };
  }
  const n = id.length;
  if (n === 0) return { ok: false, reason: 'empty' };
  const sep = runLength(KEY_RUN, id, 0);
  if (sep === n) return { ok: true, key: id, route: undefined };
  if (id.charCodeAt(sep) !== separatorCode) return { ok: false, reason: 'bad-character' };
  if (sep === 0) return { ok: false, reason: 'empty-key' };
  if (sep === n - 1) return { ok: false, reason: 'empty-route' };
  if (runLength(ROUTE_RUN, id, sep + 1) !== n - sep - 1)
    return { ok: false, reason: 'bad-character' };
  return { ok: true, key: id.slice(0, sep), route: id.slice(sep + 1) };
}

/**
 * The Tomcat / mod_jk / mod_proxy_balancer dialect: `<key>.<route>` (`JSESSIONID=4F…A.tc1`).
 * With `separator: '!'` it reads WebLogic-style ids.
 */
export function tomcatDialect(options: TomcatDialectOptions = {}): SessionIdDialect {
  const separator = options.separator ?? '.';
  const code = checkSeparator(separator);
  function format({ key, route }: ParsedSessionId): string {
    checkKey(key);
    if (route === undefined) return key;
    checkRoute(route);
    return key + separator + route;
  }
  return {
    name: 'tomcat',
    format,
    parse: (id) => parseKeyRoute(id, code),
    withRoute(id: string, route: string): string {
      const sep = id.indexOf(separator);
      return format({ key: sep === -1 ? id : id.slice(0, sep), route });
    },
  };
}
