import { startTomcats, type TomcatHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from './config/load.js';
import { CookieJar, startProxy } from './test/harness.js';

/** One simulated user of index.jsp ("session=<id> n=<n> node=<route>"). */
interface User {
  jar: CookieJar;
  id: string | undefined;
  n: number;
  node: string | undefined;
  failed: number;
}

const LINE = /^session=(\S+) n=(\d+) node=(\S+)\n$/;

async function visit(url: string, u: User): Promise<void> {
  const cookie = u.jar.header();
  const r = await request(`${url}/`, { headers: cookie ? { cookie } : {} });
  const body = await r.body.text();
  if (r.statusCode !== 200) {
    u.failed++;
    return;
  }
  u.jar.apply(r.headers['set-cookie']);
  const m = LINE.exec(body);
  expect(m, body).not.toBeNull();
  const [, id, n, node] = m!;
  if (u.id !== undefined) {
    // Same session (the key before the route), and the counter never resets.
    expect(id!.split('.')[0]).toBe(u.id.split('.')[0]);
    expect(Number(n)).toBe(u.n + 1);
  }
  u.id = id;
  u.n = Number(n);
  u.node = node;
}

async function rounds(
  url: string,
  users: User[],
  count: number,
  during?: () => Promise<void>,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const load = Promise.all(users.map((u) => visit(url, u)));
    if (i === 0 && during) await during();
    await load;
  }
}

const peersMissing = requirePeers(['tomcat10'], 'cohort-proxy Tomcat interop').skip;

describe.skipIf(peersMissing).each(['http', 'ajp'] as const)(
  'two Tomcat 10 (tc1, tc2) behind cohort-proxy over %s',
  (protocol) => {
    const peers = usePeers();
    let tc1: TomcatHandle;
    let tc2: TomcatHandle;
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    const users: User[] = Array.from({ length: 8 }, () => ({
      jar: new CookieJar(),
      id: undefined,
      n: 0,
      node: undefined,
      failed: 0,
    }));

    function config(failback: 'never' | 'immediate') {
      const member = (t: TomcatHandle) =>
        protocol === 'http'
          ? { url: t.url, route: t.route }
          : { url: `ajp://127.0.0.1:${t.ajpPort}`, route: t.route, secret: t.ajpSecret };
      return {
        log: { level: 'warn' },
        balancers: [{ name: 'tomcat', retry: '1s', failback, members: [member(tc1), member(tc2)] }],
      };
    }

    beforeAll(async () => {
      // A DeltaManager cluster without the JvmRouteBinderValve: ids keep their .tc1 suffix after a
      // failover, so the proxy's own re-pinning is what keeps sessions from hopping.
      [tc1, tc2] = (await peers.track(
        startTomcats(['tc1', 'tc2'], { cluster: { binderValve: false } }),
      )) as [TomcatHandle, TomcatHandle];
      proxy = await startProxy(config('never'));
    }, 120_000);
    afterAll(async () => {
      await proxy?.stop();
    });

    it('keeps every session on its node under a small concurrent load', async () => {
      await rounds(proxy.url, users, 4);
      expect(users.every((u) => u.failed === 0 && u.n === 4)).toBe(true);
      for (const u of users) expect(u.id!.endsWith(`.${u.node}`)).toBe(true);
      expect(new Set(users.map((u) => u.node))).toEqual(new Set(['tc1', 'tc2']));
    }, 60_000);

    it('SIGKILL tc1 under load: its sessions continue on tc2, counters intact, no failed GET, re-pinned', async () => {
      const moved = users.filter((u) => u.node === 'tc1');
      expect(moved.length).toBeGreaterThan(0);
      await rounds(proxy.url, users, 4, () => tc1.kill());
      expect(users.reduce((n, u) => n + u.failed, 0)).toBe(0);
      for (const u of users) expect(u.node).toBe('tc2');
      for (const u of moved) {
        expect(u.id!.endsWith('.tc1')).toBe(true);
        expect(u.jar.get('ROUTEID')).toBe('.tc2');
      }
    }, 60_000);

    it('restart tc1: fail-back never keeps moved sessions on tc2; immediate sends them home with their counters', async () => {
      const moved = users.filter((u) => u.id!.endsWith('.tc1'));
      expect(moved.length).toBeGreaterThan(0);
      await tc1.restart();
      await new Promise((r) => setTimeout(r, 1500)); // past the 1 s error period
      await rounds(proxy.url, users, 2);
      for (const u of users) expect(u.node).toBe('tc2');
      proxy.proxy.reload(validateConfig(config('immediate')));
      await rounds(proxy.url, users, 2);
      expect(users.reduce((n, u) => n + u.failed, 0)).toBe(0);
      for (const u of moved) {
        expect(u.node).toBe('tc1');
        expect(u.jar.get('ROUTEID')).toBeUndefined();
      }
    }, 120_000);

    it.runIf(protocol === 'ajp')(
      "a wrong AJP secret: Tomcat's 403 reaches the client and the proxy warns, naming the member",
      async () => {
        const wrong = {
          balancers: [
            {
              name: 'tomcat',
              members: [{ url: `ajp://127.0.0.1:${tc2.ajpPort}`, route: 'tc2', secret: 'wrong' }],
            },
          ],
        };
        proxy.proxy.reload(validateConfig(wrong));
        const r = await request(`${proxy.url}/`);
        expect(r.statusCode).toBe(403);
        await r.body.dump();
        const warned = () => proxy.log.lines.filter((l) => l.code === 'AJP_SECRET_REFUSED');
        for (let i = 0; i < 50 && warned().length === 0; i++)
          await new Promise((r) => setTimeout(r, 20));
        expect(warned()).toHaveLength(1);
        expect(warned()[0]!.member).toBe('tc2');
      },
      30_000,
    );
  },
);
