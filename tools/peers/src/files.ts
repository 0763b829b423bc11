import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/**
 * Writes `files` (path relative to `root` → content) under `root`, creating `root` and the
 * folders on the way. The paths must have passed `checkRelativePaths`. Folders are made 0755
 * and files 0644 (less the umask), so a peer's workers running as another user can read them.
 */
export function writeFiles(root: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(root, { recursive: true, mode: 0o755 });
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, normalize(rel));
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, content, { mode: 0o644 });
  }
}
