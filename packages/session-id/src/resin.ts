import { KEY_CHARS } from './charset.js';
import type { ParseResult, ParsedSessionId, SessionIdDialect } from './dialect.js';
import { SessionIdError } from './errors.js';
import { checkKey } from './tomcat.js';

/** The 64 owner characters in index order: `a`…`z` = 0…25, `A`…`Z` = 26…51, `0`…`9` = 52…61, `_`, `-`. */
export const RESIN_OWNER_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';

const OWNER_INDEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < RESIN_OWNER_CHARS.length; i++) t[RESIN_OWNER_CHARS.charCodeAt(i)] = i;
  return t;
})();

/** Options of the Resin dialect. */
export interface ResinDialectOptions {
  /**
   * The cluster's servers in configuration order; the owner index (the decoded first character,
   * modulo the number of servers) picks one, and its name is the route. 1 to 64 names.
   */
  readonly servers: readonly string[];
}

/**
 * Decodes the owner of a Resin session id: the first character's index modulo `clusterSize`, as
 * mod_caucho does; `-1` when the first character is not an owner character or the id is empty.
 */
export function resinOwnerIndex(id: string, clusterSize: number): number {
  if (id.length === 0 || clusterSize < 1) return -1;
  const c = id.charCodeAt(0);
  const index = c > 255 ? -1 : OWNER_INDEX[c]!;
  return index < 0 ? -1 : index % clusterSize;
}

/**
 * The Resin / mod_caucho dialect: the owner server is encoded as the first character of the id
 * (`bXyZ…` is owned by the second server). The key is the rest of the id, so re-pinning changes
 * only the first character.
 */
export function resinDialect(options: ResinDialectOptions): SessionIdDialect {
  const servers = options.servers;
  if (servers.length < 1 || servers.length > 64 || new Set(servers).size !== servers.length) {
    throw new SessionIdError(
      'ERR_OPTION_INVALID',
      `resin servers must be 1 to 64 distinct names (got ${servers.length})`,
    );
  }
  function ownerChar(route: string | undefined): string {
    const index = route === undefined ? -1 : servers.indexOf(route);
    if (index === -1) {
      throw new SessionIdError('ERR_ROUTE_INVALID', 'resin route must name one of the servers');
    }
    return RESIN_OWNER_CHARS[index]!;
  }
  function parse(id: string): ParseResult {
    if (id.length === 0) return { ok: false, reason: 'empty' };
    const index = resinOwnerIndex(id, servers.length);
    if (index === -1) return { ok: false, reason: 'bad-character' };
    if (id.length === 1) return { ok: false, reason: 'empty-key' };
    for (let i = 1; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c > 255 || KEY_CHARS[c] === 0) return { ok: false, reason: 'bad-character' };
    }
    return { ok: true, key: id.slice(1), route: servers[index] };
  }
  function format({ key, route }: ParsedSessionId): string {
    checkKey(key);
    return ownerChar(route) + key;
  }
  return {
    name: 'resin',
    format,
    parse,
    withRoute(id: string, route: string): string {
      if (id.length < 2) throw new SessionIdError('ERR_KEY_INVALID', 'not a resin session id');
      return format({ key: id.slice(1), route });
    },
  };
}
