import { spawnSync } from 'node:child_process';

/** The Debian packages `install.sh` installs; a suite names the ones it needs. */
export const PEER_PACKAGES = [
  'tomcat10',
  'apache2',
  'libapache2-mod-jk',
  'haproxy',
  'nginx',
  'pen',
  'memcached',
  'redis-server',
  'wrk',
  'netcat-openbsd',
  /** Headless browser for the status-page tests (playwright-core drives /usr/bin/chromium). */
  'chromium',
] as const;

/** One of {@link PEER_PACKAGES}. */
export type PeerPackage = (typeof PEER_PACKAGES)[number];

const cache = new Map<string, string | undefined>();

/** The installed version of a Debian package, or undefined if it is not installed. */
export function installedVersion(pkg: string): string | undefined {
  if (cache.has(pkg)) return cache.get(pkg);
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg], { encoding: 'utf8' });
  let version: string | undefined;
  if (r.status === 0) {
    const [status, v] = r.stdout.split('\t');
    if (status?.includes('install ok installed')) version = v;
  }
  cache.set(pkg, version);
  return version;
}

/** Which of `pkgs` are not installed (empty when all are). */
export function missingPackages(pkgs: readonly string[]): string[] {
  return pkgs.filter((p) => installedVersion(p) === undefined);
}
