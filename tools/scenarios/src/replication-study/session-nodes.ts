import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

import { ScenarioError } from '../errors.js';

/** The built cohort-session-node CLI (`apps/session-node/dist/cli.js`). */
export function sessionNodeCli(): string {
  const require = createRequire(import.meta.url);
  // The entry resolves to src/ or dist/ depending on the conditions in force; the CLI that a
  // process runs is always the built one, dist/cli.js at the package's root.
  let dir = dirname(require.resolve('cohort-session-node'));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new ScenarioError('NODE_START_FAILED', 'cohort-session-node not found');
    dir = up;
  }
  return join(dir, 'dist', 'cli.js');
}

/** One cohort-session-node process. */
export interface SessionNodeProcess {
  /** Its OS process id. */
  readonly pid: number;
  /** `ws://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its WebSocket/HTTP port. */
  readonly port: number;
  /** Its gossip address. */
  readonly gossip: string;
}

/** A running cluster of session nodes. */
export interface SessionNodeCluster {
  /** The nodes, in start order. */
  readonly nodes: readonly SessionNodeProcess[];
  /** The client token. */
  readonly token: string;
  /** Sum of `cohort_session_replication_bytes_sent` over the nodes (their own count). */
  replicationBytesSent(): Promise<number>;
  /** SIGTERMs every node (SIGKILL after 5 s) and removes their configuration folder. */
  stop(): Promise<void>;
}

const TOKEN = 'replication-study-token';

async function httpStatus(url: string): Promise<number> {
  try {
    const r = await fetch(url);
    await r.text();
    return r.status;
  } catch {
    return 0;
  }
}

/**
 * Starts `count` cohort-session-node processes on 127.0.0.1 (free ports, `local` gossip preset,
 * 3 copies per session) and resolves once every one answers `/readyz` 200.
 */
export async function startSessionNodes(
  count = 3,
  readyTimeoutMs = 30_000,
): Promise<SessionNodeCluster> {
  const cli = sessionNodeCli();
  const dir = mkdtempSync(join(tmpdir(), 'cohort-study-nodes-'));
  const procs: ChildProcess[] = [];
  const nodes: SessionNodeProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 5000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const file = join(dir, `sn${i + 1}.yaml`);
      // JSON is YAML: the node's loader reads it as is.
      writeFileSync(
        file,
        JSON.stringify({
          name: `sn${i + 1}`,
          listen: '127.0.0.1:0',
          gossip: { listen: '127.0.0.1:0', preset: 'local' },
          seeds: nodes.length > 0 ? [nodes[0]!.gossip] : [],
          replicas: 3,
          auth: { token: TOKEN },
          // drainMs: a SIGTERM at the end need not wait for a hand-off nobody uses
          drainMs: 1000,
          log: { level: 'warn' },
        }),
      );
      const proc = spawn(process.execPath, [cli, '--config', file], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(proc);
      let stderr = '';
      proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: proc.stdout! }).once('line', resolve);
        proc.once('exit', (code) =>
          reject(
            new ScenarioError('NODE_START_FAILED', `sn${i + 1} exited with ${code}: ${stderr}`),
          ),
        );
      });
      const info = JSON.parse(first) as { listening: string; gossip: string };
      const port = Number(new URL(info.listening).port);
      nodes.push({ pid: proc.pid!, url: info.listening, port, gossip: info.gossip });
      proc.stdout!.resume();
    }
    const end = Date.now() + readyTimeoutMs;
    for (const n of nodes) {
      while ((await httpStatus(`http://127.0.0.1:${n.port}/readyz`)) !== 200) {
        if (Date.now() > end) {
          throw new ScenarioError(
            'NODE_START_FAILED',
            `${n.url} not ready within ${readyTimeoutMs} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    nodes,
    token: TOKEN,
    async replicationBytesSent() {
      let total = 0;
      for (const n of nodes) {
        const r = await fetch(`http://127.0.0.1:${n.port}/metrics`);
        const text = await r.text();
        const m = /^cohort_session_replication_bytes_sent (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(text);
        if (m) total += Number(m[1]);
      }
      return total;
    },
    stop,
  };
}
