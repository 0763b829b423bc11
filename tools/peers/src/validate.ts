import { PeerError } from './errors.js';

/**
 * Routes become Tomcat `jvmRoute`s, mod_jk worker names and config tokens: letters, digits,
 * `_` and `-`, 1–64 characters.
 */
export function checkRoute(route: string, peer: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(route)) {
    throw new PeerError('BAD_OPTION', peer, `route '${route}' must match [A-Za-z0-9_-]{1,64}`);
  }
}

/** Ports are integers 1..65535. */
export function checkPort(port: number, field: string, peer: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PeerError('BAD_OPTION', peer, `${field} ${port} is not a TCP port (1..65535)`);
  }
}
