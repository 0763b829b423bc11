import { PeerError } from './errors.js';
import { checkPort } from './validate.js';

/** An HTTP server a balancer (HAProxy, nginx, Pen) forwards to. */
export interface HttpBackend {
  /** Host (default 127.0.0.1). */
  host?: string;
  /** HTTP port. */
  port: number;
  /** Server name in the balancer's config (default `s<i>`); letters, digits, `_`, `-`. */
  name?: string;
}

/** Turns Tomcat handles (or anything with route/httpPort) into HTTP backends named by route. */
export function httpBackends(
  servers: readonly { route: string; httpPort: number }[],
): HttpBackend[] {
  return servers.map((s) => ({ host: '127.0.0.1', port: s.httpPort, name: s.route }));
}

/** Validates backends and fills in host and name. */
export function resolveHttpBackends(
  backends: readonly HttpBackend[],
  peer: string,
): Required<HttpBackend>[] {
  if (backends.length === 0) throw new PeerError('BAD_OPTION', peer, 'backends must not be empty');
  return backends.map((b, i) => {
    checkPort(b.port, `backends[${i}].port`, peer);
    const host = b.host ?? '127.0.0.1';
    if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) {
      throw new PeerError(
        'BAD_OPTION',
        peer,
        `backends[${i}].host '${host}' is not a host name or address`,
      );
    }
    const name = b.name ?? `s${i}`;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
      throw new PeerError(
        'BAD_OPTION',
        peer,
        `backends[${i}].name '${name}' must match [A-Za-z0-9_-]{1,64}`,
      );
    }
    return { host, port: b.port, name };
  });
}

/** `host:port`, with brackets for IPv6 literals. */
export function hostPort(b: { host: string; port: number }): string {
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
}
