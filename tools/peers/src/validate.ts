import { isAbsolute, normalize } from 'node:path';

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

/**
 * Checks that every key of `files` is a relative path that stays inside its root (no absolute
 * paths, no `..`), so caller-given files cannot be written outside the run directory.
 */
export function checkRelativePaths(
  files: Record<string, unknown>,
  field: string,
  peer: string,
): void {
  for (const rel of Object.keys(files)) {
    const clean = normalize(rel);
    if (
      rel === '' ||
      isAbsolute(rel) ||
      clean === '.' ||
      clean === '..' ||
      clean.startsWith('../')
    ) {
      throw new PeerError(
        'BAD_OPTION',
        peer,
        `${field} path '${rel}' must be relative and stay inside its root`,
      );
    }
  }
}

/**
 * AJP secrets go into XML attributes (Tomcat) and config files: 1–256 printable ASCII
 * characters, no spaces or control characters (XML would normalise or reject those).
 */
export function checkAjpSecret(secret: string, field: string, peer: string): void {
  if (!/^[\x21-\x7e]{1,256}$/.test(secret)) {
    throw new PeerError(
      'BAD_OPTION',
      peer,
      `${field} must be 1-256 printable ASCII characters without spaces`,
    );
  }
}
