import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { RESIN_OWNER_CHARS } from '@cohort/session-id';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AdminServer } from '../admin/server.js';
import type { MemberStatus } from '../status.js';
import { CookieJar, startProxy } from '../test/harness.js';

// Seed scenario 1: Apache + mod_caucho in front of a Resin cluster, with cohort-proxy in
// mod_caucho's place (reference loadbalancers.md §5.1, row "mod_caucho"; §5.2 for
// /caucho-status).
//
// Resin encodes the owner in the session id itself: the first character is an index into the
// cluster's server list (a = 0, b = 1, …). mod_caucho decodes it, sends the request to that
// server, and when it is down sends it to another one without rewriting the id; /caucho-status
// shows each server green "ok" or red "down" from a live connect test; the dead server is tried
// again after 20 s and its sessions go back to it. Resin itself is not installable here (no
// Debian package, no network but npm and apt), so the cluster is three small Node HTTP servers
// that issue Resin-style ids (first character = their index) and keep the sessions in one shared
// store — Resin's distributed sessions (`<persistent-store type="cluster">`), without which a
// failed-over user loses the session in Resin too.
//
// cohort-proxy: `affinity.dialect: resin`, the members in the cluster's order; each member's
// `redirect` names the next one (Resin's backup server for the owner's sessions); a TCP health
// check stands in for mod_caucho's connect test; `failback: immediate` is mod_caucho's return
// to the owner. The status page (admin listener) is /caucho-status: health ok (green) / down
// (red).

/** One Resin-like server: issues ids whose first character is its index; can crash and restart. */
class ResinLike {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  served = 0;

  constructor(
    readonly index: number,
    readonly name: string,
    private readonly store: Map<string, number>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.served++;
      const cookie = req.headers.cookie ?? '';
      const m = /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(cookie);
      let id = m?.[1];
      let n: number;
      if (id !== undefined && this.store.has(id)) {
        n = this.store.get(id)! + 1;
      } else {
        // A new session: the owner character is this server's index, the rest is random.
        id =
          RESIN_OWNER_CHARS[this.index]! + Math.random().toString(36).slice(2, 14).padEnd(12, 'x');
        n = 1;
        res.setHeader('Set-Cookie', `JSESSIONID=${id}; Path=/`);
      }
      this.store.set(id, n);
      res.setHeader('Content-Type', 'text/plain');
      res.end(`session=${id} n=${n} server=${this.name}\n`);
    });
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
    const s = this.server;
    this.server = undefined;
    s?.close();
    for (const sock of this.sockets) sock.resetAndDestroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.kill();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/** One simulated user. */
interface User {
  jar: CookieJar;
  id: string | undefined;
  n: number;
  server: string | undefined;
  failed: number;
  changedServer: number;
  lostCounts: number;
}

const LINE = /^session=(\S+) n=(\d+) server=(\S+)\n$/;

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
  const [, id, n, server] = m!;
  if (u.id !== undefined) {
    expect(id).toBe(u.id); // mod_caucho never rewrites the id, neither does cohort-proxy
    if (Number(n) !== u.n + 1) u.lostCounts++;
    if (server !== u.server) u.changedServer++;
  }
  u.id = id;
  u.n = Number(n);
  u.server = server;
}

async function rounds(
  url: string,
  users: User[],
  count: number,
  during?: () => void,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const load = Promise.all(users.map((u) => visit(url, u)));
    if (i === 0 && during) during();
    await load;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('scenario 1: a Resin-style cluster behind cohort-proxy in mod_caucho’s place', () => {
  const store = new Map<string, number>();
  const servers = ['s1', 's2', 's3'].map((name, i) => new ResinLike(i, name, store));
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let admin: AdminServer;
  let statusBase: string;
  // 10 users, not a multiple of 3: round robin alone would move them between rounds.
  const users: User[] = Array.from({ length: 10 }, () => ({
    jar: new CookieJar(),
    id: undefined,
    n: 0,
    server: undefined,
    failed: 0,
    changedServer: 0,
    lostCounts: 0,
  }));
  const table: Record<string, string | number>[] = [];

  let counted = { retries: 0, failovers: 0 };
  function measure(phase: string, s1Page: string): void {
    const { retries, failovers } = proxy.proxy.stats;
    const delta = { retries: retries - counted.retries, failovers: failovers - counted.failovers };
    counted = { retries, failovers };
    table.push({
      phase,
      'requests per user (so far)': users[0]!.n,
      'failed requests': users.reduce((a, u) => a + u.failed, 0),
      'users that changed server': users.filter((u) => u.changedServer > 0).length,
      'lost counter increments': users.reduce((a, u) => a + u.lostCounts, 0),
      'proxy retries': delta.retries,
      'proxy failovers': delta.failovers,
      's1 on the status page': s1Page,
    });
  }

  const member = async (route: string): Promise<MemberStatus> => {
    const r = await request(`${statusBase}/api/status`);
    const s = (await r.body.json()) as { balancers: { members: MemberStatus[] }[] };
    return s.balancers[0]!.members.find((m) => m.route === route)!;
  };
  const pageRow = async (route: string): Promise<string> => {
    const r = await request(statusBase);
    const html = await r.body.text();
    const row = new RegExp(`<tr data-key="resin/${route}" class="row-(\\w+)">`).exec(html);
    const cell = new RegExp(
      `<tr data-key="resin/${route}"[^>]*>(?:(?!</tr>)[\\s\\S])*?<td data-f="health" class="(health-\\w+)"`,
    ).exec(html);
    expect(row, html).not.toBeNull();
    expect(cell![1]).toBe(`health-${row![1]}`);
    return row![1]!;
  };

  beforeAll(async () => {
    for (const s of servers) await s.start();
    proxy = await startProxy({
      log: { level: 'warn', access: false },
      balancers: [
        {
          name: 'resin',
          affinity: { dialect: 'resin' },
          retry: '500ms',
          failback: 'immediate',
          healthCheck: { type: 'tcp', interval: '200ms', timeout: '500ms', fall: 1, rise: 1 },
          members: servers.map((s, i) => ({
            url: s.url,
            route: s.name,
            redirect: servers[(i + 1) % servers.length]!.name,
          })),
        },
      ],
    });
    admin = new AdminServer(proxy.proxy);
    const addr = await admin.listen(0, '127.0.0.1');
    statusBase = `http://127.0.0.1:${addr.port}/cohort-status`;
  });
  afterAll(async () => {
    await admin?.close();
    await proxy?.stop();
    for (const s of servers) await s.stop();
    if (table.length > 0)
      console.log('scenario 1 (Resin + mod_caucho → cohort-proxy)\n' + format(table));
  });

  it('new sessions spread over the cluster; each id’s first character names its owner, which keeps it', async () => {
    await until('every member checked up', async () =>
      (await Promise.all(servers.map((s) => member(s.name)))).every((m) => m.check === 'up')
        ? true
        : undefined,
    );
    await rounds(proxy.url, users, 4);
    for (const u of users) {
      expect(u.failed).toBe(0);
      expect(u.n).toBe(4);
      expect(u.changedServer).toBe(0);
      // a → s1, b → s2, c → s3: the route the proxy read is the server that answered
      expect(u.server).toBe(servers[RESIN_OWNER_CHARS.indexOf(u.id![0]!)]!.name);
    }
    expect(new Set(users.map((u) => u.server))).toEqual(new Set(['s1', 's2', 's3']));
    for (const s of servers) expect(await pageRow(s.name)).toBe('ok');
    measure('sticky, all up', await pageRow('s1'));
  });

  it('s1 crashes under load: no failed request, its sessions go to its backup s2 (counters intact, id unchanged, re-pinned); the page shows s1 red', async () => {
    const owned = users.filter((u) => u.server === 's1');
    expect(owned.length).toBeGreaterThan(0);
    for (const u of users) u.changedServer = 0;
    await rounds(proxy.url, users, 4, () => servers[0]!.kill());
    expect(users.reduce((a, u) => a + u.failed, 0)).toBe(0);
    expect(users.reduce((a, u) => a + u.lostCounts, 0)).toBe(0);
    for (const u of owned) {
      expect(u.server).toBe('s2');
      expect(u.id![0]).toBe('a');
      expect(u.jar.get('ROUTEID')).toBe('.s2'); // cohort re-pins; mod_caucho keeps no such record
    }
    for (const u of users.filter((x) => !owned.includes(x))) expect(u.changedServer).toBe(0);
    const s1 = await until('s1 down', async () => {
      const m = await member('s1');
      return m.health === 'down' ? m : undefined;
    });
    expect(s1.check).toBe('down');
    expect(await pageRow('s1')).toBe('down'); // .health-down: red, like caucho-status
    expect(await pageRow('s2')).toBe('ok');
    expect((await member('s2')).repins).toBeGreaterThanOrEqual(owned.length);
    measure('s1 SIGKILLed under load', await pageRow('s1'));
  });

  it('s1 recovers: the page turns green, and its sessions return to it (failback immediate) with their counters', async () => {
    const owned = users.filter((u) => u.id![0] === 'a');
    await servers[0]!.start(); // same port, as a restarted Resin
    await until('s1 ok', async () => ((await member('s1')).health === 'ok' ? true : undefined));
    expect(await pageRow('s1')).toBe('ok');
    for (const u of users) u.changedServer = 0;
    await rounds(proxy.url, users, 3);
    expect(users.reduce((a, u) => a + u.failed, 0)).toBe(0);
    expect(users.reduce((a, u) => a + u.lostCounts, 0)).toBe(0);
    for (const u of owned) {
      expect(u.server).toBe('s1');
      expect(u.changedServer).toBe(1);
      expect(u.jar.get('ROUTEID')).toBeUndefined(); // the routing cookie is cleared
    }
    for (const u of users) expect(u.n).toBe(11);
    // New sessions are given to s1 again.
    const fresh: User[] = Array.from({ length: 6 }, () => ({
      jar: new CookieJar(),
      id: undefined,
      n: 0,
      server: undefined,
      failed: 0,
      changedServer: 0,
      lostCounts: 0,
    }));
    await rounds(proxy.url, fresh, 1);
    expect(fresh.some((u) => u.server === 's1' && u.id![0] === 'a')).toBe(true);
    measure('s1 restarted (failback immediate)', await pageRow('s1'));
  });
});

/** A markdown table of rows with the same keys. */
function format(rows: Record<string, string | number>[]): string {
  const keys = Object.keys(rows[0]!);
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [
    line(keys),
    line(keys.map(() => '---')),
    ...rows.map((r) => line(keys.map((k) => r[k]!))),
  ].join('\n');
}
