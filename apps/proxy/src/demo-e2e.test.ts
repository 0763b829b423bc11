import { startDemo, type DemoServer } from 'cohort-demo';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';

import { startProxy } from './test/harness.js';

interface Client {
  cookie: string | undefined;
  last: number;
  instance: string | undefined;
  failures: number;
  resets: number;
}

async function step(url: string, c: Client): Promise<void> {
  const r = await request(`${url}/api/session`, { headers: c.cookie ? { cookie: c.cookie } : {} });
  const text = await r.body.text();
  if (r.statusCode !== 200) {
    c.failures++;
    return;
  }
  const setCookies = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
  const jar = new Map(
    (c.cookie ?? '')
      .split('; ')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv] as const),
  );
  for (const sc of setCookies) {
    const kv = sc.slice(0, sc.indexOf(';'));
    const name = kv.slice(0, kv.indexOf('='));
    if (/Max-Age=0/.test(sc)) jar.delete(name);
    else jar.set(name, kv);
  }
  c.cookie = [...jar.values()].join('; ') || undefined;
  const s = JSON.parse(text) as { counter: number; instance: string };
  if (s.instance === c.instance) expect(s.counter).toBe(c.last + 1);
  else {
    if (c.instance !== undefined) c.resets++;
    expect(s.counter).toBe(1);
  }
  c.instance = s.instance;
  c.last = s.counter;
}

describe('apps/demo members behind the proxy', () => {
  const demos: DemoServer[] = [];
  let stop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await stop?.();
    for (const d of demos) await d.close().catch(() => undefined);
  });

  it('keeps every session on its instance under concurrent load; a stopped instance fails no request', async () => {
    for (const route of ['app1', 'app2', 'app3']) demos.push(await startDemo({ route }));
    const p = await startProxy({
      log: { level: 'warn' },
      balancers: [{ name: 'demo', members: demos.map((d) => ({ url: d.url, route: d.route })) }],
    });
    stop = p.stop;
    const clients: Client[] = Array.from({ length: 12 }, () => ({
      cookie: undefined,
      last: 0,
      instance: undefined,
      failures: 0,
      resets: 0,
    }));
    for (let round = 0; round < 5; round++) await Promise.all(clients.map((c) => step(p.url, c)));
    expect(new Set(clients.map((c) => c.instance)).size).toBe(3);
    expect(clients.every((c) => c.last === 5)).toBe(true);

    const victim = demos[1]!;
    await victim.close();
    const moved = clients.filter((c) => c.instance === victim.route);
    for (let round = 0; round < 5; round++) await Promise.all(clients.map((c) => step(p.url, c)));
    expect(clients.reduce((n, c) => n + c.failures, 0)).toBe(0);
    // The demo keeps sessions in memory, so moved sessions start again once on their new instance,
    // and then stay there (re-pinned), never hopping again.
    for (const c of moved) {
      expect(c.resets).toBe(1);
      expect(c.instance).not.toBe(victim.route);
      expect(c.last).toBe(5);
    }
    for (const c of clients.filter((x) => !moved.includes(x))) expect(c.last).toBe(10);
  }, 30_000);
});
