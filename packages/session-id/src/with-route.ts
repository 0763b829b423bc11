import type { SessionIdDialect } from './dialect.js';
import { tomcatDialect } from './tomcat.js';

const defaultDialect = tomcatDialect();

/**
 * The same session id pinned to another route: `withRoute('4F2A.tc1', 'tc2')` is `'4F2A.tc2'`.
 * The key is kept, so session data stored under it need not move (like Tomcat's
 * JvmRouteBinderValve after failover). Throws `SessionIdError` on an invalid id or route.
 */
export function withRoute(
  id: string,
  route: string,
  dialect: SessionIdDialect = defaultDialect,
): string {
  return dialect.withRoute(id, route);
}
