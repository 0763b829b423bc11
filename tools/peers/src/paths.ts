import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `tools/peers/src` or `tools/peers/dist`). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** The package root, `tools/peers`. */
export const packageRoot: string = fileURLToPath(new URL('../', import.meta.url));

/**
 * The directory under which every started peer gets its own run directory:
 * `$COHORT_PEERS_RUN_DIR` if set, else `<repo>/.run/peers` (git-ignored) — moved by
 * {@link reachableRunRoot} when running as root and another user could not reach it.
 */
export function runRoot(): string {
  const wanted = process.env['COHORT_PEERS_RUN_DIR'] ?? join(repoRoot, '.run', 'peers');
  return reachableRunRoot(wanted, process.getuid?.());
}

/**
 * Whether every existing directory on the way to `path` (and `path` itself, if it exists) lets
 * other users through (`o+x`). Peers that drop privileges (httpd's workers as www-data,
 * memcached as memcache) must reach their run directory.
 */
export function traversableByOthers(path: string): boolean {
  for (let d = resolve(path); ; d = dirname(d)) {
    let mode: number | undefined;
    try {
      mode = statSync(d).mode;
    } catch {
      mode = undefined; // not created yet: makeRunDir creates it 0755 (less the umask)
    }
    if (mode !== undefined && (mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * The run root actually used for `wanted`. As an ordinary user, or when `wanted` is reachable by
 * other users, it is `wanted`. As root with `wanted` under a folder other users cannot enter (a
 * clone under `/root`, a `mktemp -d` folder), peers whose workers run as another user would get
 * 403s or fail to open their files, so the run root moves to `<tmpdir>/cohort-peers-<hash of
 * wanted>` (mode 0755, owned by root; the same folder every time for the same `wanted`, so
 * `killLeftovers` finds earlier runs). If no such folder can be used safely (it exists and
 * is not a root-owned directory, or the temp folder is closed too), `wanted` is kept.
 */
export function reachableRunRoot(wanted: string, uid: number | undefined): string {
  if (uid !== 0 || traversableByOthers(wanted)) return wanted;
  const hash = createHash('sha256').update(resolve(wanted)).digest('hex').slice(0, 12);
  for (const base of [...new Set([tmpdir(), '/tmp'])]) {
    if (!traversableByOthers(base)) continue;
    const dir = join(base, `cohort-peers-${hash}`);
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch {
      // exists already (checked below) or cannot be made (next candidate)
    }
    try {
      const st = lstatSync(dir);
      if (st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0) return dir;
    } catch {
      // cannot be made here
    }
  }
  return wanted;
}

let counter = 0;

/**
 * Creates a fresh, unique run directory for one peer instance and returns its absolute path.
 * The name carries the peer kind, a label, this process's PID and a random suffix, so parallel
 * test runs in the same checkout never share a directory.
 */
export function makeRunDir(kind: string, label: string): string {
  counter += 1;
  const safe = label.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  const name = `${kind}-${safe}-${process.pid}-${counter}-${randomBytes(3).toString('hex')}`;
  const dir = join(runRoot(), name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** Removes a run directory whose peer never started (unless COHORT_PEERS_KEEP=1). */
export function discardRunDir(dir: string): void {
  if (process.env['COHORT_PEERS_KEEP'] !== '1') rmSync(dir, { recursive: true, force: true });
}

/** The PID of the process that created a run directory, read from its name (see makeRunDir). */
export function runDirCreator(name: string): number | undefined {
  const m = /-(\d+)-\d+-[0-9a-f]{6}$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
