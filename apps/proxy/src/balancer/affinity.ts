import {
  createExtractor,
  formatRouteCookie,
  msmDialect,
  resinDialect,
  tomcatDialect,
  type Extractor,
  type SessionIdDialect,
} from '@cohort/session-id';

/** The affinity settings of a balancer (see the `affinity` config key). */
export interface AffinityOptions {
  readonly dialect: 'tomcat' | 'resin' | 'msm' | 'none';
  readonly separator: string;
  readonly cookie: string | readonly string[];
  readonly pathParameter: string | null;
  readonly routeCookie: string;
  readonly routeCookiePath: string;
}

/** The routes a request carries. */
export interface RequestRoutes {
  /** The route in the session id: the session's owner. */
  owner: string | undefined;
  /** The route in the routing cookie: where the session was re-pinned. */
  pin: string | undefined;
}

/** Reads the owner route and the pinned route from a request target and its Cookie header. */
export type RouteReader = (target: string, cookie: string | string[] | undefined) => RequestRoutes;

function dialectOf(o: AffinityOptions, routes: readonly string[]): SessionIdDialect | undefined {
  switch (o.dialect) {
    case 'tomcat':
      return tomcatDialect({ separator: o.separator });
    case 'msm':
      return msmDialect();
    case 'resin':
      return resinDialect({ servers: routes });
    case 'none':
      return undefined;
  }
}

/**
 * Builds the route reader of a balancer with @cohort/session-id: the session id from the
 * `;jsessionid=` path parameter first, then each cookie of the configured names (the first whose
 * route names a member wins, as mod_jk tries duplicates), and separately the routing cookie.
 * With the Resin dialect the members' routes, in order, are the cluster's servers.
 */
export function createRouteReader(o: AffinityOptions, routes: readonly string[]): RouteReader {
  const known = new Set(routes);
  const dialect = dialectOf(o, routes);
  const owner: Extractor | undefined = dialect
    ? createExtractor({
        dialect,
        cookieNames: typeof o.cookie === 'string' ? [o.cookie] : o.cookie,
        pathParameter: o.pathParameter,
        isKnownRoute: (r) => known.has(r),
      })
    : undefined;
  const pin = createExtractor({ cookieNames: [], pathParameter: null, routeCookie: o.routeCookie });
  const pinName = o.routeCookie + '=';
  return (target, cookie) => {
    let ownerRoute: string | undefined;
    if (owner) {
      const r = owner(target, cookie);
      if (r.found) ownerRoute = r.route;
    }
    let pinRoute: string | undefined;
    if (
      cookie !== undefined &&
      (typeof cookie === 'string'
        ? cookie.includes(pinName)
        : cookie.some((c) => c.includes(pinName)))
    ) {
      pinRoute = pin(undefined, cookie).route;
    }
    return { owner: ownerRoute, pin: pinRoute };
  };
}

/**
 * The `Set-Cookie` value that pins a session to `route` (mod_jk `set_session_cookie`, httpd's
 * `ROUTEID` recipe). With `maxAgeMs` (fail-back `when-idle`) the cookie expires after that much
 * idle time; it is refreshed on every request that uses it.
 */
export function pinCookie(o: AffinityOptions, route: string, maxAgeMs?: number): string {
  const age = maxAgeMs === undefined ? '' : `; Max-Age=${Math.max(1, Math.floor(maxAgeMs / 1000))}`;
  return `${o.routeCookie}=${formatRouteCookie(route)}; Path=${o.routeCookiePath}${age}; HttpOnly; SameSite=Lax`;
}

/** The `Set-Cookie` value that removes the routing cookie. */
export function clearPinCookie(o: AffinityOptions): string {
  return `${o.routeCookie}=; Path=${o.routeCookiePath}; Max-Age=0; HttpOnly; SameSite=Lax`;
}
