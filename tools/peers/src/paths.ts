import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `tools/peers/src` or `tools/peers/dist`). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** The package root, `tools/peers`. */
export const packageRoot: string = fileURLToPath(new URL('../', import.meta.url));

/**
 * The directory under which every started peer gets its own run directory:
 * `$COHORT_PEERS_RUN_DIR` if set, else `<repo>/.run/peers` (git-ignored).
 */
export function runRoot(): string {
  return process.env['COHORT_PEERS_RUN_DIR'] ?? join(repoRoot, '.run', 'peers');
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
  mkdirSync(dir, { recursive: true });
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
