import { existsSync } from 'node:fs';

import { PeerError } from './errors.js';
import { INSTALL_HINT } from './require.js';

/** Throws MISSING_PACKAGE naming the Debian package when `binary` does not exist. */
export function needBinary(binary: string, pkg: string, peer: string): void {
  if (!existsSync(binary)) {
    throw new PeerError(
      'MISSING_PACKAGE',
      peer,
      `${binary} not found: Debian package ${pkg} is missing; install the peers with: ${INSTALL_HINT}`,
    );
  }
}
