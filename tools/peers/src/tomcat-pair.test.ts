import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpGet } from './http.js';
import { ajpBackends, startHttpd } from './httpd.js';
import { isRunning } from './pids.js';
import { isPortOpen } from './ports.js';
import { requirePeers } from './require.js';
import { PeerScope } from './scope.js';
import { startTomcats, waitForClusterMembers, type TomcatHandle } from './tomcat.js';

/** Follows a session through `url`: returns each response's `n` and `node` and checks the id. */
async function session(url: string, requests: number): Promise<{ id: string; seen: string[] }> {
  let cookie = '';
  let id = '';
  const seen: string[] = [];
  for (let i = 0; i < requests; i++) {
    const r = await httpGet(`${url}/`, cookie ? { cookie } : {});
    expect(r.status).toBe(200);
    const set = r.headers['set-cookie']?.[0];
    if (set) cookie = set.split(';')[0]!;
    const m = /^session=(\S+) n=(\d+) node=(\S+)\n$/.exec(r.body);
    expect(m, r.body).not.toBeNull();
    id ||= m![1]!;
    expect(m![1]).toBe(id);
    seen.push(`n=${m![2]} node=${m![3]}`);
  }
  return { id, seen };
}

// One pair of Tomcats, clustered, serves both halves: httpd in front (the affinity baseline that
// later interop tests reuse) and the cluster's own replication, crash and restart, last.
/** One request to index.jsp with an optional cookie: the parsed line and the cookie to use next. */
async function hit(
  tc: TomcatHandle,
  cookie: string,
): Promise<{ id: string; n: number; node: string; cookie: string }> {
  const r = await httpGet(`${tc.url}/`, cookie ? { cookie } : {});
  expect(r.status).toBe(200);
  const m = /^session=(\S+) n=(\d+) node=(\S+)\n$/.exec(r.body);
  expect(m, r.body).not.toBeNull();
  const set = r.headers['set-cookie']?.[0];
  return { id: m![1]!, n: Number(m![2]), node: m![3]!, cookie: set ? set.split(';')[0]! : cookie };
}

describe.skipIf(
  requirePeers(['tomcat10', 'apache2', 'libapache2-mod-jk'], 'tomcat-pair.test').skip,
)('httpd in front of two Tomcats that form a DeltaManager cluster', () => {
  const peers = new PeerScope();
  let tcs: TomcatHandle[];
  let cookie = '';
  beforeAll(async () => {
    tcs = await peers.track(startTomcats(['tc1', 'tc2'], { cluster: true }));
  });
  afterAll(() => peers.stop());

  for (const mode of ['jk', 'proxy_ajp'] as const) {
    it(`${mode} balancer keeps a session on its node`, async () => {
      const httpd = await peers.track(startHttpd({ backends: ajpBackends(tcs), mode }));
      expect(httpd.balancer).toBe(true);
      const a = await session(httpd.url, 3);
      const route = a.id.slice(a.id.lastIndexOf('.') + 1);
      expect(['tc1', 'tc2']).toContain(route);
      expect(a.seen).toEqual([1, 2, 3].map((n) => `n=${n} node=${route}`));
      // New sessions are spread over both nodes.
      const nodes = new Set<string>();
      for (let i = 0; i < 6; i++)
        nodes.add((await session(httpd.url, 1)).seen[0]!.split('node=')[1]!);
      expect(nodes).toEqual(new Set(['tc1', 'tc2']));
      await httpd.stop();
      expect(isRunning(httpd.pid)).toBe(false);
      expect(await isPortOpen(httpd.port)).toBe(false);
    });
  }

  it('proxy_ajp without a balancer goes straight to one backend', async () => {
    const httpd = await peers.track(
      startHttpd({ backends: ajpBackends([tcs[1]!]), mode: 'proxy_ajp' }),
    );
    expect(httpd.balancer).toBe(false);
    expect((await session(httpd.url, 2)).seen).toEqual(['n=1 node=tc2', 'n=2 node=tc2']);
    await httpd.stop();
  });

  it('passes extra worker parameters: CPing before requests through both modules', async () => {
    const jk = await peers.track(
      startHttpd({
        backends: ajpBackends(tcs),
        mode: 'jk',
        jkWorkerProperties: { ping_mode: 'A', ping_timeout: 2000 },
      }),
    );
    const proxy = await peers.track(
      startHttpd({ backends: ajpBackends(tcs), mode: 'proxy_ajp', proxyParams: { ping: 1 } }),
    );
    expect(readFileSync(join(jk.dir, 'workers.properties'), 'utf8')).toContain(
      'worker.tc1.ping_mode=A',
    );
    expect(readFileSync(proxy.configFile, 'utf8')).toMatch(/route=tc2 retry=2 secret=\S+ ping=1/);
    for (const h of [jk, proxy]) {
      const s = await session(h.url, 2);
      expect(s.seen[1]).toMatch(/^n=2 node=tc[12]$/);
      await h.stop();
    }
  });

  it('forwards AJP_* variables as request attributes, which the default Tomcat accepts', async () => {
    const httpd = await peers.track(
      startHttpd({
        backends: ajpBackends([tcs[0]!]),
        mode: 'proxy_ajp',
        extraConfig:
          'LoadModule env_module /usr/lib/apache2/modules/mod_env.so\nSetEnv AJP_cohort_probe hello',
      }),
    );
    const r = await httpGet(`${httpd.url}/any/x?attr=cohort_probe`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      node: 'tc1',
      attributes: { cohort_probe: 'hello' },
    });
    await httpd.stop();
  });

  for (const mode of ['jk', 'proxy_ajp'] as const) {
    it(`${mode} with a wrong AJP secret gets 403 from Tomcat`, async () => {
      const backends = ajpBackends([tcs[0]!]).map((b) => ({ ...b, secret: 'wrong-secret' }));
      const httpd = await peers.track(startHttpd({ backends, mode }));
      expect((await httpGet(`${httpd.url}/ping.txt`)).status).toBe(403);
      await httpd.stop();
    });
  }

  it('listens for replication on its own Tribes port', () => {
    expect(tcs[0]!.receiverPort).toBeGreaterThan(0);
    expect(tcs[1]!.receiverPort).toBeGreaterThan(0);
    expect(tcs[0]!.receiverPort).not.toBe(tcs[1]!.receiverPort);
    expect(tcs[0]!.countLog(/SimpleTcpCluster\.memberAdded/)).toBeGreaterThanOrEqual(1);
  });

  it('replicates a session: tc1 counts to 2, tc2 continues at 3, tc1 at 4', async () => {
    const a = await hit(tcs[0]!, '');
    expect([a.n, a.node]).toEqual([1, 'tc1']);
    expect(a.id.endsWith('.tc1')).toBe(true);
    const b = await hit(tcs[0]!, a.cookie);
    expect(b.n).toBe(2);
    const c = await hit(tcs[1]!, b.cookie);
    expect([c.n, c.node]).toEqual([3, 'tc2']);
    // JvmRouteBinderValve re-pins the id to the node that served it.
    expect(c.id).toBe(a.id.replace(/\.tc1$/, '.tc2'));
    const d = await hit(tcs[0]!, c.cookie);
    expect([d.n, d.node]).toEqual([4, 'tc1']);
    cookie = d.cookie;
  });

  it('survives a crash of tc1 and hands the session back after its restart', async () => {
    const oldPid = tcs[0]!.pid;
    await tcs[0]!.kill();
    expect(tcs[0]!.running).toBe(false);
    const e = await hit(tcs[1]!, cookie);
    expect([e.n, e.node]).toEqual([5, 'tc2']);
    const joined = tcs[1]!.countLog(/SimpleTcpCluster\.memberAdded/);
    await tcs[0]!.restart();
    expect(tcs[0]!.pid).not.toBe(oldPid);
    // The survivor re-admits the restarted node at its next heartbeat (tomcat-cluster.md §5.5).
    await waitForClusterMembers(tcs[1]!, joined + 1);
    const f = await hit(tcs[0]!, e.cookie);
    expect([f.n, f.node]).toEqual([6, 'tc1']);
  });
});

describe('startHttpd option errors', () => {
  it('names the bad option', async () => {
    await expect(startHttpd({ backends: [], mode: 'jk' })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
    await expect(
      startHttpd({
        backends: [{ port: 8009, route: 'a', secret: 'has space' }],
        mode: 'proxy_ajp',
      }),
    ).rejects.toThrow(/secret/);
    await expect(
      startHttpd({ backends: [{ port: 70000, route: 'a' }], mode: 'proxy_ajp' }),
    ).rejects.toThrow(/port 70000/);
    await expect(
      startHttpd({
        backends: [
          { port: 1, route: 'a' },
          { port: 2, route: 'a' },
        ],
        mode: 'jk',
      }),
    ).rejects.toThrow(/used twice/);
    await expect(
      startHttpd({
        backends: [{ port: 1, route: 'a' }],
        mode: 'jk',
        jkWorkerProperties: { 'x\ny': 1 },
      }),
    ).rejects.toThrow(/jkWorkerProperties/);
    await expect(
      startHttpd({
        backends: [{ port: 1, route: 'a' }],
        mode: 'proxy_ajp',
        proxyParams: { ping: '1 evil' },
      }),
    ).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});
