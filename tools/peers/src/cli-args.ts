import type { HttpBackend } from './backends.js';
import { PeerError } from './errors.js';
import type { AjpBackend } from './httpd.js';

const CLI = 'cohort-peers';

/** Parses a CLI port value: an integer 1..65535, or undefined when absent. */
export function parsePort(v: string | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new PeerError('BAD_OPTION', CLI, `${field} '${v}' is not a port (1..65535)`);
  }
  return n;
}

/** Parses `HOST:PORT` (the port after the last colon, so `[::1]:80` works). */
export function parseHttpBackend(spec: string): HttpBackend {
  const i = spec.lastIndexOf(':');
  if (i <= 0) throw new PeerError('BAD_OPTION', CLI, `--backend '${spec}' must be HOST:PORT`);
  const host = spec.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: parsePort(spec.slice(i + 1), '--backend port')! };
}

/** Parses `HOST:PORT:ROUTE[:SECRET]` (the secret may itself contain colons). */
export function parseAjpBackend(spec: string): AjpBackend {
  const [host, port, route, ...secret] = spec.split(':');
  if (!host || !port || !route) {
    throw new PeerError('BAD_OPTION', CLI, `--backend '${spec}' must be HOST:PORT:ROUTE[:SECRET]`);
  }
  return {
    host,
    port: parsePort(port, '--backend port')!,
    route,
    secret: secret.length > 0 ? secret.join(':') : undefined,
  };
}
