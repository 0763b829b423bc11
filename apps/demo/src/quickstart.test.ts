import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

async function freePorts(n: number, at?: number): Promise<number[]> {
  // A run of n consecutive free ports, for the quick start's first-app-port (at `at` if given:
  // an empty list when those are not free).
  for (let attempt = 0; attempt < (at === undefined ? 20 : 1); attempt++) {
    const base = at ?? 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once('error', () => resolve(false));
            s.listen(base + i, '127.0.0.1', () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return Array.from({ length: n }, (_, i) => base + i);
  }
  if (at !== undefined) return [];
  throw new Error('no free port range');
}

function build(): void {
  // Build as `npm start` does; retried, since a parallel nx build may be writing the same files.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(join(pkg, '..', '..', 'node_modules', '.bin', 'tsc'), ['-b', pkg], {
        stdio: 'pipe',
      });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      execFileSync('sleep', ['2']);
    }
  }
}

/** Runs the quick start, counts 3 on one instance, stops it, and returns the next answer. */
async function stopOneInstance(
  replicated: boolean,
): Promise<{ out: string; before: string; after: { counter: number; instance: string } }> {
  build();
  const [proxyPort, first] = await freePorts(4);
  const nodePorts = replicated ? await freePorts(3) : [];
  const gossipFree = replicated ? await freePorts(3, nodePorts[0]! + 100) : [];
  expect(gossipFree).toHaveLength(replicated ? 3 : 0);
  const child = spawn(
    process.execPath,
    [
      join(pkg, 'dist', 'quickstart.js'),
      '--port',
      String(proxyPort),
      '--first-app-port',
      String(first! + 0),
      ...(replicated ? ['--replicated', '--first-node-port', String(nodePorts[0])] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    for (let i = 0; i < 900 && !out.includes('Ctrl-C stops everything'); i++) await sleep(100);
    expect(out).toContain(`http://127.0.0.1:${proxyPort}/`);
    let cookie = '';
    let instance = '';
    for (let n = 1; n <= 3; n++) {
      const r = await fetch(`http://127.0.0.1:${proxyPort}/api/session`, { headers: { cookie } });
      const set = r.headers.get('set-cookie');
      if (set) cookie = set.slice(0, set.indexOf(';'));
      const s = (await r.json()) as { counter: number; instance: string };
      expect(s.counter).toBe(n);
      instance = s.instance;
    }
    const pid = Number(new RegExp(`${instance}\\s+\\S+\\s+pid (\\d+)`).exec(out)![1]);
    process.kill(pid, 'SIGTERM');
    await sleep(300);
    const r = await fetch(`http://127.0.0.1:${proxyPort}/api/session`, { headers: { cookie } });
    expect(r.status).toBe(200);
    return {
      out,
      before: instance,
      after: (await r.json()) as { counter: number; instance: string },
    };
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    await exited;
    expect(out).toContain('stopping');
  }
}

describe('the quick start', () => {
  it('starts the proxy in front of three demo instances, survives one being stopped, and Ctrl-C stops all', async () => {
    const { before, after } = await stopOneInstance(false);
    expect(after.instance).not.toBe(before);
    expect(after.counter).toBe(1); // in memory: the session starts over on the other instance
  }, 150_000);

  it('with --replicated, three session nodes keep the sessions: the counter goes on on another instance', async () => {
    const { out, before, after } = await stopOneInstance(true);
    expect(out).toMatch(/sn1\s+ws:\/\/127\.0\.0\.1:\d+\s+pid \d+/);
    expect(out).toContain('sessions in 3 session node(s)');
    expect(after.instance).not.toBe(before);
    expect(after.counter).toBe(4);
  }, 150_000);
});
