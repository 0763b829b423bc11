import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './test/child.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sn-cli-'));

beforeAll(() => {
  execFileSync('npx', ['tsc', '-b'], { cwd: join(here, '..'), stdio: 'inherit' });
}, 120_000);

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cohort-session-node CLI', () => {
  it('--check validates a configuration and prints a summary', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      'name: sn1\nseeds: ["10.0.0.2:7946"]\nauth:\n  token: abcdefghijklmnopqrstuvwx\n',
    );
    const r = run(['--config', file, '--check']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^configuration ok: node sn1, listen 127\.0\.0\.1:8700, .*1 seed\(s\), 3 copies, ack quorum/,
    );
    expect(r.stdout).toContain('client token set');
    expect(r.stdout).not.toContain('abcdefghijklmnopqrstuvwx');
  });

  it('--check names the bad key and exits 2', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'limits:\n  maxAttributeBytes: 0\n');
    const r = run(['--config', file, '--check']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^cohort-session-node: limits\.maxAttributeBytes: /);
  });

  it('refuses a missing --config and unknown options with exit 2', () => {
    expect(run([]).status).toBe(2);
    const r = run(['--colour']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: cohort-session-node');
  });
});
