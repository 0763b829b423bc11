import type { ParseResult, ParsedSessionId, SessionIdDialect } from './dialect.js';
import { SessionIdError } from './errors.js';
import { checkKey, checkRoute, parseKeyRoute } from './tomcat.js';

const DOT = 0x2e;
const DASH = 0x2d;

/**
 * The memcached-session-manager dialect: `<key>-<storeNode>.<route>`
 * (`602F7397FBE4D9932E59A9D0E52FE178-n1.tomcat1`). The store node names the memcached node that
 * holds the session; the route is Tomcat's `jvmRoute`. Keys in this dialect must not contain `-`
 * (MSM's keys are hex), because the last `-` before the route starts the store node.
 */
export function msmDialect(): SessionIdDialect {
  function parse(id: string): ParseResult {
    const base = parseKeyRoute(id, DOT);
    if (!base.ok) return base;
    const dash = base.key.lastIndexOf('-');
    if (dash === -1) return base;
    if (dash === 0) return { ok: false, reason: 'empty-key' };
    if (dash === base.key.length - 1) return { ok: false, reason: 'bad-format' };
    return {
      ok: true,
      key: base.key.slice(0, dash),
      storeNode: base.key.slice(dash + 1),
      route: base.route,
    };
  }
  function format({ key, route, storeNode }: ParsedSessionId): string {
    checkKey(key);
    if (key.indexOf('-') !== -1) {
      throw new SessionIdError('ERR_KEY_INVALID', 'an msm key must not contain "-"');
    }
    let id = key;
    if (storeNode !== undefined) {
      checkKey(storeNode);
      if (storeNode.indexOf('-') !== -1) {
        throw new SessionIdError('ERR_KEY_INVALID', 'an msm store node must not contain "-"');
      }
      id += '-' + storeNode;
    }
    if (route === undefined) return id;
    checkRoute(route);
    return id + '.' + route;
  }
  return {
    name: 'msm',
    format,
    parse,
    withRoute(id: string, route: string): string {
      const parsed = parse(id);
      if (!parsed.ok) {
        throw new SessionIdError('ERR_KEY_INVALID', `not an msm session id (${parsed.reason})`);
      }
      return format({ key: parsed.key, storeNode: parsed.storeNode, route });
    },
  };
}

/** The store-node separator code, exported for the extractor's fast path. */
export const MSM_NODE_SEPARATOR = DASH;
