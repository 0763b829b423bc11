import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

import {
  ajpBackends,
  startHttpd,
  startNginx,
  startTomcats,
  waitForClusterMembers,
  type NginxHandle,
  type TomcatHandle,
} from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CookieJar, startProxy } from '../test/harness.js';

// Seed scenario 4: the stickiness of nginx ip_hash, httpd mod_proxy_balancer and mod_jk, each
// next to the cohort-proxy configuration that gives the same stickiness (reference
// loadbalancers.md §5.1), driven with the same client sequence through the real peer and through
// cohort-proxy: sticky while all members are up, then the sticky member dies, then it comes back.
//
// Scaled down for CI: a few clients, a few requests each; nginx's fail_timeout is set to 2 s
// (default 10 s), as tools/peers sets httpd's retry=2 and mod_jk's recover_time=2.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

type Row = Record<string, string | number>;

function printTable(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  console.log(
    `${title}\n` +
      [
        line(keys),
        line(keys.map(() => '---')),
        ...rows.map((r) => line(keys.map((k) => r[k]!))),
      ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------
// nginx ip_hash ≈ cohort `method: hash` + `hashKey.source: client`

/**
 * The cohort-proxy configuration that sticks like nginx's `ip_hash`: the client address is the
 * key of a weighted rendezvous hash (nginx hashes the first three octets, cohort the whole
 * address); session ids are ignored, as ip_hash ignores cookies.
 */
const ipHashEquivalent = (members: { url: string; route: string }[]) => ({
  log: { level: 'warn', access: false },
  balancers: [
    {
      name: 'iphash',
      method: 'hash',
      hashKey: { source: 'client' },
      affinity: { dialect: 'none' },
      retry: '2s', // nginx max_fails=1 fail_timeout=2s
      members,
    },
  ],
});

/**
 * nginx's `ip_hash` choice for an IPv4 client among `n` equal-weight servers, skipping `failed`
 * ones (ngx_http_upstream_get_ip_hash_peer: hash 89, `hash = (hash * 113 + octet) % 6271` over the
 * first three octets, server = hash % total weight; a failed server continues the same hash).
 */
function nginxIpHash(address: string, n: number, failed: ReadonlySet<number> = new Set()): number {
  const octets = address.split('.').slice(0, 3).map(Number);
  let hash = 89;
  for (let tries = 0; tries < 20; tries++) {
    for (const o of octets) hash = (hash * 113 + o) % 6271;
    const p = hash % n;
    if (!failed.has(p)) return p;
  }
  throw new Error('nginx falls back to round robin after 20 tries');
}

/** A small HTTP backend that names itself; can crash and restart on its port. */
class NamedBackend {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(readonly name: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((_req, res) => res.end(`server=${this.name}\n`));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** A crash: the listener closes and every connection is reset. */
  kill(): void {
    this.server?.close();
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }
}

/** One GET on a fresh connection from `localAddress` (a loopback address of the client's /24). */
function getFrom(url: string, localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/`, { localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Turns the peer's round-robin upstream into `ip_hash` (tools/peers writes no balancing method)
 * with nginx's own reload: rewrite nginx.conf, check it with `nginx -t`, SIGHUP the master, and
 * wait until none of the old workers is left.
 */
async function switchToIpHash(nginx: NginxHandle): Promise<void> {
  const file = join(nginx.dir, 'nginx.conf');
  const conf = readFileSync(file, 'utf8')
    .replace(/(zone backends 64k;)/, '$1\n    ip_hash;')
    .replace(/(server 127\.0\.0\.1:\d+);/g, '$1 max_fails=1 fail_timeout=2s;');
  expect(conf).toContain('ip_hash;');
  expect(conf).toContain('fail_timeout=2s;');
  writeFileSync(file, conf);
  const check = spawnSync(
    '/usr/sbin/nginx',
    ['-p', nginx.dir, '-c', file, '-e', join(nginx.dir, 'logs', 'error.log'), '-t', '-q'],
    { encoding: 'utf8' },
  );
  expect(check.status, check.stderr).toBe(0);
  const children = () =>
    readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, 'utf8').trim().split(/\s+/);
  const old = children();
  process.kill(nginx.pid, 'SIGHUP');
  await until(
    'the reloaded nginx workers',
    async () => {
      const now = children().filter((c) => c !== '');
      return now.length > 0 && now.every((c) => !old.includes(c)) ? true : undefined;
    },
    10_000,
  );
}

const nginxMissing = requirePeers(['nginx'], 'cohort-proxy scenario 4 (nginx ip_hash)').skip;

describe.skipIf(nginxMissing)('scenario 4a: nginx ip_hash and cohort-proxy method hash', () => {
  const peers = usePeers();
  const backends = [new NamedBackend('n1'), new NamedBackend('n2')];
  const fronts: { name: string; url: string }[] = [];
  let cohort: Awaited<ReturnType<typeof startProxy>>;
  const rows: Row[] = [];
  // Clients from distinct /24s of 127/8 (all loopback on Linux): three that nginx's hash sends
  // to n1 and three to n2, chosen with nginx's own formula.
  const clients = [0, 1].flatMap((target) =>
    Array.from({ length: 40 }, (_, i) => `127.0.${i + 1}.1`)
      .filter((a) => nginxIpHash(a, 2) === target)
      .slice(0, 3),
  );
  /** front → client → the backends it was served by in the current phase */
  let seen = new Map<string, Map<string, string[]>>();
  let failed = new Map<string, number>();

  async function sequence(perClient: number): Promise<void> {
    seen = new Map(fronts.map((f) => [f.name, new Map(clients.map((c) => [c, [] as string[]]))]));
    failed = new Map(fronts.map((f) => [f.name, 0]));
    for (let i = 0; i < perClient; i++) {
      await Promise.all(
        fronts.flatMap((f) =>
          clients.map(async (c) => {
            const r = await getFrom(f.url, c);
            if (r.status !== 200) failed.set(f.name, failed.get(f.name)! + 1);
            else
              seen
                .get(f.name)!
                .get(c)!
                .push(/server=(\w+)/.exec(r.body)![1]!);
          }),
        ),
      );
    }
  }
  /** Each client's one backend in the phase (throws if a client was not sticky). */
  const placement = (front: string): Map<string, string> =>
    new Map(
      [...seen.get(front)!].map(([c, list]) => {
        expect(new Set(list).size, `${front} ${c}: ${list.join(',')}`).toBe(1);
        return [c, list[0]!];
      }),
    );
  const record = (phase: string, extra: Record<string, Row> = {}) => {
    for (const f of fronts) {
      const p = placement(f.name);
      rows.push({
        front: f.name,
        phase,
        requests:
          [...seen.get(f.name)!.values()].reduce((a, l) => a + l.length, 0) + failed.get(f.name)!,
        'failed requests': failed.get(f.name)!,
        'clients on n1 / n2': `${[...p.values()].filter((b) => b === 'n1').length} / ${[...p.values()].filter((b) => b === 'n2').length}`,
        ...(extra[f.name] ?? { 'back on n1 after its restart (ms)': '' }),
      });
    }
  };
  let before: Map<string, Map<string, string>>;

  beforeAll(async () => {
    for (const b of backends) await b.start();
    const nginx = await peers.track(
      startNginx({
        backends: backends.map((b) => ({ port: b.port, name: b.name })),
        workerProcesses: 1,
      }),
    );
    await switchToIpHash(nginx);
    cohort = await startProxy(
      ipHashEquivalent(backends.map((b) => ({ url: b.url, route: b.name }))),
    );
    fronts.push(
      { name: 'nginx ip_hash', url: nginx.url! },
      { name: 'cohort hash(client)', url: cohort.url },
    );
  }, 60_000);
  afterAll(async () => {
    await cohort?.stop();
    for (const b of backends) b.kill();
    printTable('scenario 4a (nginx ip_hash vs cohort-proxy hash on the client address)', rows);
  });

  it('each client always reaches the same backend; nginx’s choice is its documented hash', async () => {
    expect(clients).toHaveLength(6);
    await sequence(3);
    before = new Map(fronts.map((f) => [f.name, placement(f.name)]));
    for (const f of fronts) expect(failed.get(f.name)).toBe(0);
    for (const c of clients)
      expect(before.get('nginx ip_hash')!.get(c)).toBe(`n${nginxIpHash(c, 2) + 1}`);
    // cohort's rendezvous hash is another function, so another mapping, but spread over both
    expect(new Set(before.get('cohort hash(client)')!.values())).toEqual(new Set(['n1', 'n2']));
    record('all up');
  });

  it('n1 dies: both fail no request and remap its clients to n2; the others stay', async () => {
    backends[0]!.kill();
    await sequence(3);
    for (const f of fronts) {
      expect(failed.get(f.name)).toBe(0); // nginx: proxy_next_upstream error; cohort: connect retry
      const p = placement(f.name);
      for (const c of clients) expect(p.get(c)).toBe('n2');
    }
    for (const c of clients) expect(`n${nginxIpHash(c, 2, new Set([0])) + 1}`).toBe('n2'); // the hash's alternate
    record('n1 killed');
  });

  it('n1 comes back: both snap its clients back to it once the failure period ends (no re-pin: no session is known)', async () => {
    await backends[0]!.start();
    const t0 = Date.now();
    const back: Record<string, Row> = {};
    await Promise.all(
      fronts.map(async (f) => {
        const probe = [...before.get(f.name)!].find(([, b]) => b === 'n1')![0];
        await until(
          `${f.name} back on n1`,
          async () => ((await getFrom(f.url, probe)).body.includes('n1') ? true : undefined),
          15_000,
        );
        back[f.name] = { 'back on n1 after its restart (ms)': Date.now() - t0 };
      }),
    );
    await sequence(2);
    for (const f of fronts) {
      expect(failed.get(f.name)).toBe(0);
      expect(placement(f.name)).toEqual(before.get(f.name));
    }
    record('n1 restarted', back);
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// httpd mod_proxy_balancer and mod_jk ≈ cohort-proxy `affinity` on JSESSIONID with routes

const LINE = /^session=(\S+) n=(\d+) node=(\S+)\n$/;

/** One simulated browser of index.jsp. */
interface User {
  jar: CookieJar;
  id: string | undefined;
  n: number;
  node: string | undefined;
  requests: number;
  failed: number;
  changedNode: number;
  lostIncrements: number;
  lostSessions: number;
  /** The previous request failed: it may have run, so a jump of the counter is not a loss. */
  lastFailed: boolean;
}

const newUser = (): User => ({
  jar: new CookieJar(),
  id: undefined,
  n: 0,
  node: undefined,
  requests: 0,
  failed: 0,
  changedNode: 0,
  lostIncrements: 0,
  lostSessions: 0,
  lastFailed: false,
});

async function visit(url: string, u: User): Promise<void> {
  const cookie = u.jar.header();
  u.requests++;
  const r = await request(`${url}/`, { headers: cookie ? { cookie } : {} });
  const body = await r.body.text();
  if (r.statusCode !== 200) {
    u.failed++;
    u.lastFailed = true;
    return;
  }
  u.jar.apply(r.headers['set-cookie']);
  const m = LINE.exec(body);
  expect(m, body).not.toBeNull();
  const [, id, n, node] = m!;
  if (u.id !== undefined) {
    if (id!.split('.')[0] !== u.id.split('.')[0]) u.lostSessions++;
    else if (Number(n) !== u.n + 1 && !(u.lastFailed && Number(n) === u.n + 2)) u.lostIncrements++;
    if (node !== u.node) u.changedNode++;
  }
  u.id = id;
  u.n = Number(n);
  u.node = node;
  u.lastFailed = false;
}

/**
 * The cohort-proxy balancer that sticks as httpd's `balancer://` with `BalancerMember … route=tcN`
 * and `ProxySet stickysession=JSESSIONID|jsessionid`, and as mod_jk's `lb` worker with
 * `sticky_session=true` and workers named by jvmRoute: the route after the id's `.`, the
 * `;jsessionid=` path parameter first. `asHttpd` also copies their failover: no re-pin (the id
 * keeps `.tc1`) and an implicit immediate fail-back after `retry`; otherwise cohort's own: the
 * domain partner, re-pinned with `ROUTEID`, and `failback: never`.
 */
const stickyEquivalent = (tcs: TomcatHandle[], asHttpd: boolean) => ({
  log: { level: 'warn', access: false },
  balancers: [
    {
      name: 'tomcat',
      method: 'byrequests', // lbmethod=byrequests / method=R
      affinity: { dialect: 'tomcat', cookie: 'JSESSIONID', pathParameter: 'jsessionid' },
      retry: '2s', // retry=2 / recover_time=2
      ...(asHttpd
        ? { repin: 'none', failback: 'immediate' }
        : { repin: 'cookie', failback: 'never' }),
      members: tcs.map((t) => ({
        url: `ajp://127.0.0.1:${t.ajpPort}`,
        route: t.route, // route=tc1 / worker.tc1
        secret: t.ajpSecret,
        ...(asHttpd ? {} : { domain: 'pair' }), // mod_jk worker.tcN.domain
      })),
    },
  ],
});

const httpdMissing = requirePeers(
  ['tomcat10', 'apache2', 'libapache2-mod-jk'],
  'cohort-proxy scenario 4 (mod_proxy_balancer, mod_jk)',
).skip;

describe.skipIf(httpdMissing)(
  'scenario 4b: httpd mod_proxy_balancer and mod_jk, and cohort-proxy affinity, in front of a Tomcat pair',
  () => {
    const peers = usePeers();
    let tc1: TomcatHandle;
    let tc2: TomcatHandle;
    const fronts: { name: string; url: string; users: User[]; returns: boolean }[] = [];
    const proxies: Awaited<ReturnType<typeof startProxy>>[] = [];
    const rows: Row[] = [];
    const all = () => fronts.flatMap((f) => f.users);

    async function rounds(count: number, during?: () => Promise<void>): Promise<void> {
      for (let i = 0; i < count; i++) {
        const load = Promise.all(fronts.flatMap((f) => f.users.map((u) => visit(f.url, u))));
        if (i === 0 && during) await during();
        await load;
      }
    }

    async function phase(
      name: string,
      run: () => Promise<void>,
      extra: Record<string, Row> = {},
    ): Promise<void> {
      const before = fronts.map((f) => f.users.map((u) => ({ ...u })));
      await run();
      fronts.forEach((f, i) => {
        const sum = (k: keyof User) =>
          f.users.reduce((a, u, j) => a + (u[k] as number) - (before[i]![j]![k] as number), 0);
        rows.push({
          front: f.name,
          phase: name,
          requests: sum('requests'),
          'failed requests': sum('failed'),
          'requests that changed node': sum('changedNode'),
          'lost counter increments': sum('lostIncrements'),
          'lost sessions': sum('lostSessions'),
          'sessions on tc1 / tc2': `${f.users.filter((u) => u.node === 'tc1').length} / ${f.users.filter((u) => u.node === 'tc2').length}`,
          'ROUTEID cookies': f.users.filter((u) => u.jar.get('ROUTEID') !== undefined).length,
          ...(extra[f.name] ?? { 'back on tc1 after its restart (ms)': '' }),
        });
      });
    }

    beforeAll(async () => {
      // A DeltaManager pair without the binder valve: a failed-over id keeps `.tc1`.
      [tc1, tc2] = (await peers.track(
        startTomcats(['tc1', 'tc2'], { cluster: { binderValve: false } }),
      )) as [TomcatHandle, TomcatHandle];
      const tcs = [tc1, tc2];
      const proxyAjp = await peers.track(
        startHttpd({ backends: ajpBackends(tcs), mode: 'proxy_ajp' }),
      );
      const jk = await peers.track(startHttpd({ backends: ajpBackends(tcs), mode: 'jk' }));
      for (const asHttpd of [true, false])
        proxies.push(await startProxy(stickyEquivalent(tcs, asHttpd)));
      const users = () => Array.from({ length: 4 }, newUser);
      fronts.push(
        { name: 'httpd mod_proxy_balancer', url: proxyAjp.url, users: users(), returns: true },
        { name: 'httpd mod_jk', url: jk.url, users: users(), returns: true },
        {
          name: 'cohort (as httpd)',
          url: proxies[0]!.url,
          users: users(),
          returns: true,
        },
        {
          name: 'cohort (domain, repin cookie, failback never)',
          url: proxies[1]!.url,
          users: users(),
          returns: false,
        },
      );
    }, 120_000);
    afterAll(async () => {
      for (const p of proxies) await p.stop();
      printTable('scenario 4b (httpd mod_proxy_balancer / mod_jk vs cohort-proxy affinity)', rows);
    });

    it('every front keeps each session on the node its id names', async () => {
      await phase('both up', () => rounds(3));
      for (const f of fronts) {
        for (const u of f.users) {
          expect(u.failed + u.changedNode + u.lostIncrements + u.lostSessions, f.name).toBe(0);
          expect(u.id!.endsWith(`.${u.node}`)).toBe(true);
        }
        expect(new Set(f.users.map((u) => u.node)), f.name).toEqual(new Set(['tc1', 'tc2']));
      }
    }, 60_000);

    it('tc1 SIGKILLed under load: every front fails over to tc2 with the replicated counter; only cohort re-pins', async () => {
      await phase('tc1 SIGKILLed under load', () => rounds(3, () => tc1.kill()));
      for (const f of fronts) {
        for (const u of f.users) {
          expect(u.node, f.name).toBe('tc2');
          expect(u.lostIncrements + u.lostSessions, f.name).toBe(0);
        }
      }
      // cohort retries a GET whose member died before answering; httpd's numbers are in the table
      for (const f of fronts.slice(2)) for (const u of f.users) expect(u.failed, f.name).toBe(0);
      const moved = (f: (typeof fronts)[number]) => f.users.filter((u) => u.id!.endsWith('.tc1'));
      for (const f of fronts) expect(moved(f).length, f.name).toBeGreaterThan(0);
      for (const f of fronts.slice(0, 3))
        for (const u of moved(f)) expect(u.jar.get('ROUTEID'), f.name).toBeUndefined();
      for (const u of moved(fronts[3]!)) expect(u.jar.get('ROUTEID')).toBe('.tc2');
    }, 60_000);

    it('tc1 back: httpd, mod_jk and cohort-as-httpd send its sessions home; cohort with failback never keeps them on tc2', async () => {
      const joined = tc2.countLog(/SimpleTcpCluster\.memberAdded/);
      await tc1.restart();
      const t0 = Date.now();
      await waitForClusterMembers(tc2, joined + 1, 30_000);
      const back: Record<string, Row> = {};
      await phase(
        'tc1 restarted',
        async () => {
          // The same rounds through every front until the returning ones have every .tc1 session
          // home (httpd retry=2, mod_jk recover_time=2 checked by worker.maintain=2, cohort retry).
          await until(
            'the .tc1 sessions back home',
            async () => {
              await rounds(1);
              for (const f of fronts) {
                if (back[f.name] === undefined && f.returns) {
                  const home = f.users.filter((u) => u.id!.endsWith('.tc1'));
                  if (home.every((u) => u.node === 'tc1'))
                    back[f.name] = { 'back on tc1 after its restart (ms)': Date.now() - t0 };
                }
              }
              return fronts.every((f) => !f.returns || back[f.name] !== undefined)
                ? true
                : undefined;
            },
            20_000,
          );
          await rounds(1);
        },
        back,
      );
      for (const f of fronts) {
        for (const u of f.users) {
          expect(u.lostIncrements + u.lostSessions, f.name).toBe(0);
          expect(u.node, f.name).toBe(f.returns ? u.id!.split('.')[1] : 'tc2');
        }
      }
      expect(
        all().filter((u) => u.failed > 0 && fronts.slice(2).some((f) => f.users.includes(u))),
      ).toEqual([]);
    }, 90_000);
  },
);
