// What the machine was when the benchmarks ran: CPU, cores, memory, load, OS, Node, the versions
// of the real peers (Debian packages) and of the npm packages compared against, and the commit.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** Debian packages of the peers the benches compare against (tools/peers PEER_PACKAGES, the
 * benchmark ones). */
export const PEER_DEBIAN_PACKAGES = [
  'tomcat10',
  'apache2',
  'libapache2-mod-jk',
  'haproxy',
  'nginx',
  'pen',
  'memcached',
  'redis-server',
  'wrk',
];

/** npm packages the benches compare against, with the workspace whose node_modules may hold them. */
export const PEER_NPM_PACKAGES = [
  'http-proxy',
  'express-session',
  'connect-redis',
  'connect-memcached',
  'redis',
  'express',
  'cookie',
];

/** The 1, 5 and 15 minute load averages, two decimals. */
export function loadAverage() {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * The installed version of each Debian package (`dpkg-query`), or null when it is not installed.
 *
 * @param {readonly string[]} pkgs
 * @returns {Record<string, string | null>}
 */
export function debianVersions(pkgs) {
  /** @type {Record<string, string | null>} */
  const out = {};
  for (const p of pkgs) {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', p], { encoding: 'utf8' });
    const [status, version] = (r.stdout ?? '').split('\t');
    out[p] = r.status === 0 && status?.includes('install ok installed') ? version : null;
  }
  return out;
}

/**
 * The version of each npm package as installed in the repository's node_modules (hoisted) or a
 * workspace's own, or null.
 *
 * @param {string} root
 * @param {readonly string[]} pkgs
 * @returns {Record<string, string | null>}
 */
export function npmVersions(root, pkgs) {
  const dirs = [root, join(root, 'apps', 'proxy'), join(root, 'packages', 'session-client')];
  /** @type {Record<string, string | null>} */
  const out = {};
  for (const p of pkgs) {
    out[p] = null;
    for (const d of dirs) {
      const file = join(d, 'node_modules', p, 'package.json');
      if (existsSync(file)) {
        out[p] = JSON.parse(readFileSync(file, 'utf8')).version;
        break;
      }
    }
  }
  return out;
}

/**
 * The commit checked out in `root`, its subject, and how many tracked files differ from it (the
 * benches run the working tree's build, not the commit's).
 *
 * @param {string} root
 */
export function gitState(root) {
  const git = (/** @type {string[]} */ ...args) => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const status = git('status', '--porcelain', '--untracked-files=no');
  return {
    commit: git('rev-parse', 'HEAD'),
    subject: git('log', '-1', '--format=%s'),
    modifiedTrackedFiles: status === null ? null : status.split('\n').filter(Boolean).length,
  };
}

/** The CPU model from /proc/cpuinfo, else what Node reports. */
function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** PRETTY_NAME of /etc/os-release, else the kernel's name. */
function osName() {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()}`;
}

/** The Java that runs Tomcat (`java -version`), or null. */
function javaVersion() {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return (r.stderr || r.stdout).split('\n')[0]?.trim() || null;
}

/**
 * Describes the machine at the start of a run; the caller adds `loadAverageEnd` at the end.
 *
 * @param {string} root the repository root
 */
export function describeMachine(root) {
  return {
    hostname: os.hostname(),
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    memoryMiB: Math.round(os.totalmem() / 1048576),
    freeMemoryMiBAtStart: Math.round(os.freemem() / 1048576),
    loadAverageStart: loadAverage(),
    os: osName(),
    kernel: os.release(),
    node: process.version,
    java: javaVersion(),
    peers: debianVersions(PEER_DEBIAN_PACKAGES),
    npmPeers: npmVersions(root, PEER_NPM_PACKAGES),
    git: gitState(root),
  };
}
