import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribute } from '@cohort/session-codec';
import { deltaOf, newKey, newRequestId, sessionWith } from '../backend.testkit.js';
import { NodeBackend } from './node-backend.js';

// cohort-session-node as real processes: the installed package (node_modules), its CLI built
// from source first.
const nodeRoot = realpathSync(
  join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    '..',
    'node_modules',
    'cohort-session-node',
  ),
);
const TOKEN = 'node-backend-kill-test-token';

interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly gossip: string;
}

async function startChild(name: string, seeds: string[]): Promise<Child> {
  const file = join(mkdtempSync(join(tmpdir(), 'nb-kill-')), 'node.json');
  writeFileSync(
    file,
    JSON.stringify({
      name,
      listen: '127.0.0.1:0',
      gossip: { listen: '127.0.0.1:0', preset: 'local' },
      seeds,
      auth: { token: TOKEN },
      log: { level: 'warn' },
    }),
  );
  const proc = spawn(process.execPath, [join(nodeRoot, 'dist', 'cli.js'), '--config', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: proc.stdout! }).once('line', resolve),
  );
  const info = JSON.parse(line) as { listening: string; gossip: string };
  return { proc, url: info.listening, gossip: info.gossip };
}

async function ready(c: Child): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const status = await fetch(`${c.url.replace(/^ws/, 'http')}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > end) throw new Error('session node not ready');
    await new Promise((r) => setTimeout(r, 50));
  }
}

let children: Child[] = [];
beforeAll(async () => {
  execFileSync('npx', ['tsc', '-b'], { cwd: nodeRoot, stdio: 'inherit' });
  const first = await startChild('kb1', []);
  children = [
    first,
    await startChild('kb2', [first.gossip]),
    await startChild('kb3', [first.gossip]),
  ];
  for (const c of children) await ready(c);
}, 180_000);
afterAll(() => {
  for (const c of children) c.proc.kill('SIGKILL');
});

describe('NodeBackend and a SIGKILLed session node', () => {
  it('fails over while the node is down: every write acknowledged at quorum is read back', async () => {
    const b = new NodeBackend({ nodes: [children[0]!.url], token: TOKEN, deadlineMs: 30_000 });
    const keys = Array.from({ length: 10 }, () => newKey());
    for (const key of keys) await b.create(sessionWith(key, {}), { requestId: newRequestId() });
    const acked = new Map<string, number>();
    let stop = false;
    let writes = 0;
    let longest = 0;
    const writers = keys.map(async (key) => {
      for (let n = 1; !stop; n++) {
        const t0 = Date.now();
        await b.apply(key, deltaOf(key, { n }), { requestId: newRequestId(), level: 'quorum' });
        longest = Math.max(longest, Date.now() - t0);
        acked.set(key, n);
        writes++;
      }
    });
    await new Promise((r) => setTimeout(r, 1000));
    const victim = children[1]!;
    victim.proc.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 6000));
    stop = true;
    await Promise.all(writers);
    // The longest write is the failover time of the dead node's sessions: its death detected by
    // membership, ownership claimed by the next node, the client redirected.
    console.log(
      `NodeBackend kill test: ${writes} acknowledged writes on ${keys.length} sessions, longest write ${longest} ms`,
    );
    expect(longest).toBeLessThan(6000);
    for (const key of keys) {
      const s = await b.load(key);
      expect(readAttribute(s!, 'n')).toBe(acked.get(key));
    }
    expect(writes).toBeGreaterThan(100);
    await b.close();
  }, 90_000);
});
