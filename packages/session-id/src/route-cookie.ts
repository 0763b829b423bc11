import { ROUTE_CHARS, isAllIn } from './charset.js';
import { SessionIdError } from './errors.js';

/**
 * The value of a separate routing cookie (`ROUTEID=.tc1`), as httpd's
 * `Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e"` + `stickysession=ROUTEID` recipe
 * and mod_jk's `set_session_cookie` write it: a dot, then the route.
 */
export function formatRouteCookie(route: string): string {
  if (!isAllIn(route, ROUTE_CHARS)) {
    throw new SessionIdError('ERR_ROUTE_INVALID', 'route must use only A-Z a-z 0-9 - _ .');
  }
  return '.' + route;
}

/**
 * Reads the route from a routing cookie's value: the text after the first `.`, or the whole value
 * when it has no dot. `undefined` when the value holds no valid route. Never throws.
 */
export function parseRouteCookie(value: string): string | undefined {
  const dot = value.indexOf('.');
  const route = dot === -1 ? value : value.slice(dot + 1);
  return isAllIn(route, ROUTE_CHARS) ? route : undefined;
}
