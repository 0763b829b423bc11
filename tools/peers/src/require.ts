import { PeerError } from './errors.js';
import { missingPackages, type PeerPackage } from './packages.js';

/** The install command printed whenever a peer is missing. */
export const INSTALL_HINT = 'sudo bash tools/peers/install.sh';

/** What {@link requirePeers} decided. */
export interface PeerRequirement {
  /** Debian packages that are missing (empty when all are installed). */
  missing: string[];
  /** True when the suite should be skipped: something is missing and this is not CI. */
  skip: boolean;
  /** A sentence saying what is missing and how to install it ('' when nothing is). */
  reason: string;
}

/** True when `CI` is `true` or `1`: then missing peers fail instead of skipping. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] === 'true' || env['CI'] === '1';
}

/**
 * The decision behind {@link requirePeers}, for given missing packages and CI flag: under CI a
 * missing package is a MISSING_PACKAGE error naming it; otherwise the suite is skipped with a
 * reason that tells the user how to install the peers.
 */
export function decidePeers(suite: string, missing: string[], ci: boolean): PeerRequirement {
  if (missing.length === 0) return { missing, skip: false, reason: '' };
  const reason = `${suite} needs the Debian package(s) ${missing.join(', ')}, which are not installed; install the peers with: ${INSTALL_HINT}`;
  if (ci)
    throw new PeerError(
      'MISSING_PACKAGE',
      suite,
      `${reason} (CI=true: a missing peer fails the run)`,
    );
  return { missing, skip: true, reason };
}

/**
 * Checks that the Debian packages of the peers a suite needs are installed. Use it as
 * `describe.skipIf(requirePeers(['tomcat10', 'apache2']).skip)('…', () => …)`:
 * - all installed: `skip` is false;
 * - something missing, not CI: `skip` is true and a warning naming the packages and the install
 *   command is printed;
 * - something missing under `CI=true`: it throws a {@link PeerError} (code MISSING_PACKAGE) naming
 *   the packages, so the test file fails; a CI run never skips silently.
 */
export function requirePeers(pkgs: readonly PeerPackage[], suite = 'this suite'): PeerRequirement {
  const decision = decidePeers(suite, missingPackages(pkgs), isCi());
  if (decision.skip) console.warn(`[@cohort/peers] skipped: ${decision.reason}`);
  return decision;
}
