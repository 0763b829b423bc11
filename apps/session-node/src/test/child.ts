import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ConfigInput } from '../config/schema.js';
import { TEST_TOKEN } from './cluster.js';

/** The built CLI (the tests build it first). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');

/** A session node running as a child process. */
export interface ChildNode {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly gossip: string;
  readonly id: string;
  /** When the process was spawned, and when it said it was listening (Date.now()). */
  readonly spawnedAt: number;
  readonly listeningAt: number;
  readonly exited: Promise<number | null>;
}

/** Starts `cohort-session-node` as a child process and waits for its "listening" line. */
export async function startChild(config: Partial<ConfigInput>): Promise<ChildNode> {
  const dir = mkdtempSync(join(tmpdir(), 'session-node-'));
  const file = join(dir, 'node.yaml');
  writeFileSync(
    file,
    stringify({
      listen: '127.0.0.1:0',
      gossip: { listen: '127.0.0.1:0', preset: 'local' },
      auth: { token: TEST_TOKEN },
      log: { level: 'warn' },
      ...config,
    }),
  );
  const spawnedAt = Date.now();
  const proc = spawn(process.execPath, [CLI, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: proc.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    void exited.then((code) => reject(new Error(`node exited with ${code}: ${stderr}`)));
  });
  const listeningAt = Date.now();
  const info = JSON.parse(first) as { listening: string; gossip: string; id: string };
  return {
    proc,
    url: info.listening,
    gossip: info.gossip,
    id: info.id,
    spawnedAt,
    listeningAt,
    exited,
  };
}

/** GETs a path of a node's HTTP endpoint; resolves with the status (0 when unreachable). */
export async function httpStatus(url: string, path: string): Promise<number> {
  try {
    const res = await fetch(`${url.replace(/^ws/, 'http')}${path}`);
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}
