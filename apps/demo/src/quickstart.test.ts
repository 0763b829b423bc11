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

interface Answer {
  counter: number;
  instance: string;
  owner?: string;
  backups?: string[];
}

/**
 * Runs the quick start (`--memory` when `memory`), counts 3 on one instance, calls `act` with a
 * way to read the session through the proxy, and stops it with Ctrl-C.
 */
async function withQuickstart<T>(
  memory: boolean,
  act: (q: {
    out: () => string;
    proxy: string;
    get: (path?: string) => Promise<Answer>;
    instance: string;
  }) => Promise<T>,
): Promise<T> {
  build();
  const [proxyPort, first] = await freePorts(4);
  const [adminPort] = await freePorts(1);
  // The nodes' ports and their gossip ports (+ 100) must all be free: pick again until they are
  // (another test binding one of them made a single pick fail now and then).
  let nodePorts: number[] = [];
  for (let attempt = 0; !memory && nodePorts.length === 0 && attempt < 20; attempt++) {
    const picked = await freePorts(3);
    if ((await freePorts(3, picked[0]! + 100)).length === 3) nodePorts = picked;
  }
  expect(nodePorts).toHaveLength(memory ? 0 : 3);
  const child = spawn(
    process.execPath,
    [
      join(pkg, 'dist', 'quickstart.js'),
      '--port',
      String(proxyPort),
      '--first-app-port',
      String(first! + 0),
      '--admin-port',
      String(adminPort),
      ...(memory ? ['--memory'] : ['--first-node-port', String(nodePorts[0])]),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const proxy = `http://127.0.0.1:${proxyPort}`;
  try {
    for (let i = 0; i < 900 && !out.includes('Ctrl-C stops everything'); i++) await sleep(100);
    expect(out).toContain(`${proxy}/`);
    let cookie = '';
    const get = async (path = '/api/session'): Promise<Answer> => {
      const r = await fetch(`${proxy}${path}`, { headers: { cookie } });
      const set = r.headers.get('set-cookie');
      if (set) cookie = set.slice(0, set.indexOf(';'));
      expect(r.status).toBe(200);
      return (await r.json()) as Answer;
    };
    let instance = '';
    for (let n = 1; n <= 3; n++) {
      const s = await get();
      expect(s.counter).toBe(n);
      instance = s.instance;
    }
    return await act({ out: () => out, proxy, get, instance });
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    await exited;
    expect(out).toContain('stopping');
  }
}

/** Stops the instance that served the session (kill <pid> as printed) and reads it again. */
function stopOneInstance(memory: boolean): Promise<{ out: string; before: string; after: Answer }> {
  return withQuickstart(memory, async ({ out, get, instance }) => {
    const pid = Number(new RegExp(`${instance}\\s+\\S+\\s+pid (\\d+)`).exec(out())![1]);
    process.kill(pid, 'SIGTERM');
    await sleep(300);
    return { out: out(), before: instance, after: await get() };
  });
}

describe('the quick start', () => {
  it('with --memory: the proxy in front of three demo instances, survives one being stopped, and Ctrl-C stops all', async () => {
    const { before, after } = await stopOneInstance(true);
    expect(after.instance).not.toBe(before);
    expect(after.counter).toBe(1); // in memory: the session starts over on the other instance
  }, 150_000);

  it('by default, three session nodes keep the sessions: the counter goes on on another instance', async () => {
    const { out, before, after } = await stopOneInstance(false);
    expect(out).toMatch(/sn1\s+ws:\/\/127\.0\.0\.1:\d+\s+pid \d+/);
    expect(out).toContain('sessions in 3 session node(s)');
    expect(after.instance).not.toBe(before);
    expect(after.counter).toBe(4);
  }, 150_000);

  it("the page's buttons kill the serving instance, then the owner session node: the counter goes on, the owner changes", async () => {
    await withQuickstart(false, async ({ out, proxy, get, instance }) => {
      // The status page of the proxy's admin listener is up, its token printed.
      expect(out()).toMatch(
        /status\s+http:\/\/127\.0\.0\.1:\d+\/cohort-status\s+admin token \S{16,}/,
      );
      const status = /status\s+(http:\/\/\S+)/.exec(out())![1]!;
      expect((await fetch(status)).status).toBe(200);

      // The page and the buttons use the session's cookie (the buttons' route needs none).
      let jar = '';
      const page = async (): Promise<string> =>
        (await fetch(`${proxy}/`, { headers: { cookie: jar } })).text();
      const first = await get();
      expect(first.counter).toBe(4);
      expect(first.owner).toMatch(/^sn\d#/);
      expect(first.backups).toHaveLength(2);
      jar = `JSESSIONID=${(first as unknown as { id: string }).id}`;
      const html = await page();
      expect(html).toContain(`data-kill="${instance}"`);
      const ownerName = first.owner!.slice(0, first.owner!.indexOf('#'));
      expect(html).toContain(`data-kill="${ownerName}"`);
      expect(html).toContain(`<code id="owner">${first.owner}</code>`);

      const press = (name: string, header = true): Promise<Response> =>
        fetch(`${proxy}/api/control/kill/${name}`, {
          method: 'POST',
          headers: header ? { cookie: jar, 'x-cohort-demo': 'control' } : { cookie: jar },
        });
      // Without the page's header (a cross-site form) nothing is killed.
      expect((await press(instance, false)).status).toBe(403);

      expect(await (await press(instance)).json()).toEqual({ killed: instance });
      await sleep(500);
      const afterInstance = await get();
      expect(afterInstance.instance).not.toBe(instance);
      expect(afterInstance.counter).toBe(6); // the page view counted 5
      expect(out()).toContain(`[${instance}] stopped (SIGKILL)`);

      expect(await (await press(ownerName)).json()).toEqual({ killed: ownerName });
      let afterNode: Answer | undefined;
      for (let i = 0; i < 100; i++) {
        await sleep(200);
        afterNode = await get();
        if (afterNode.owner !== first.owner) break;
      }
      expect(afterNode!.counter).toBeGreaterThanOrEqual(7);
      expect(afterNode!.owner).not.toBe(first.owner);
      expect(afterNode!.owner).toMatch(/^sn\d#/);
      expect(afterNode!.backups).toHaveLength(1);
      const last = await get();
      expect(last.counter).toBe(afterNode!.counter + 1);
    });
  }, 150_000);
});
