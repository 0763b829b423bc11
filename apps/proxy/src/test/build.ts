import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root directory. */
export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Compiles this package (and its references) with tsc -b, so tests can run the real bin. A
 * build running at the same time (nx run-many -t build test) can make one attempt fail while it
 * writes the same files; the build is retried then.
 */
export function buildPackage(): void {
  const tsc = join(packageDir, '..', '..', 'node_modules', '.bin', 'tsc');
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(tsc, ['-b', packageDir], { stdio: 'pipe' });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      execFileSync('sleep', ['2']);
    }
  }
}
