import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root directory. */
export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Compiles this package (and its references) with tsc -b, so tests can run the real bin. */
export function buildPackage(): void {
  const tsc = join(packageDir, '..', '..', 'node_modules', '.bin', 'tsc');
  execFileSync(tsc, ['-b', packageDir], { stdio: 'pipe' });
}
