/**
 * Issue 14 scenario 3, the Redis half: memcached-session-manager's experiment with Redis Cluster
 * in memcached's place. MSM keeps each Tomcat session in memcached with a backup node and lets a
 * session continue on another Tomcat when its sticky node dies; here two Express instances use
 * `cohortSession()` + `RedisBackend` on a real 3-master × 1-replica Redis Cluster with
 * `replicaAcks: 1` (a write is acknowledged once a replica holds it), behind cohort-proxy.
 * Concurrent clients count in their sessions while (1) one app instance is stopped and (2) one
 * Redis master is SIGKILLed (the cluster promotes its replica; the killed node is restarted and
 * rejoins as a replica). Every client's history is then checked: no session and no acknowledged
 * increment may be lost. Run once in MSM's sticky mode (`cacheValidation: 'none'`) and once in
 * the non-sticky-safe mode (`'version'`).
 */
import { execFileSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { startRedisCluster, type RedisClusterHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { cohortSession, RedisBackend, sessionOf } from '@cohort/session-client';
import express from 'express';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkCounterHistory, type CounterOp } from './msm-redis/counter-history.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PROXY_CLI = join(root, 'apps', 'proxy', 'dist', 'cli.js');
const CLIENTS = 10;
const COOKIE = 'JSESSIONID';

const need = requirePeers(['redis-server'], 'MSM analogue on Redis Cluster');

/** Builds cohort-proxy's `dist/` (`tsc -b`), retried: a parallel build may write the same files. */
function buildProxy(): void {
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(tsc, ['-b', join(root, 'apps', 'proxy')], { stdio: 'pipe' });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      execFileSync('sleep', ['2']);
    }
  }
}

/** Polls `test` every `everyMs` until true; throws after `timeoutMs`. */
async function until(what: string, test: () => Promise<boolean>, timeoutMs: number, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  while (!(await test().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** One Express instance with `cohortSession()`; `/count` adds one to the session's counter. */
interface App {
  readonly route: string;
  readonly url: string;
  readonly sessions: ReturnType<typeof cohortSession>;
  stop(): Promise<void>;
}

async function startApp(
  route: string,
  backend: RedisBackend,
  cacheValidation: 'none' | 'version',
): Promise<App> {
  const sessions = cohortSession({ backend, route, name: COOKIE, cacheValidation });
  const app = express();
  app.use(sessions);
  app.get('/count', (req, res) => {
    const s = sessionOf(req);
    const counter = ((s.get('counter') as number | undefined) ?? 0) + 1;
    s.set('counter', counter);
    res.json({ key: s.key, createdAt: s.createdAt, counter, instance: route });
  });
  app.use(
    (err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const e = err as { code?: string; message?: string };
      res.status(500).send(`${e.code ?? ''} ${e.message ?? String(err)}`);
    },
  );
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  let stopped = false;
  return {
    route,
    url: `http://127.0.0.1:${port}`,
    sessions,
    async stop() {
      if (stopped) return;
      stopped = true;
      // The instance dies: its listener closes and its connections drop, requests in flight too.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await sessions.close();
    },
  };
}

/** cohort-proxy spawned from its `dist/` with a YAML configuration. */
async function startProxy(dir: string, members: readonly App[]) {
  const file = join(dir, 'proxy.yaml');
  writeFileSync(
    file,
    [
      '# cohort-proxy of the MSM + Redis scenario',
      'listen: 127.0.0.1:0',
      'log: { level: info, access: false }',
      'balancers:',
      '  - name: msm',
      '    method: byrequests',
      `    affinity: { cookie: ${COOKIE} }`,
      '    repin: cookie',
      '    failback: never',
      '    retry: 2s',
      // A store outage of one Redis master makes the app answer 5xx for a third of the sessions;
      // with the default (5 in a row) the proxy ejects the last app instance and fails them all.
      '    outlier: { consecutiveFailures: 1000 }',
      '    members:',
      ...members.map((m) => `      - { url: "${m.url}", route: ${m.route} }`),
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [PROXY_CLI, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`proxy not listening: ${lines.join(' | ')}`)),
      60_000,
    );
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (line.includes('"cohort-proxy listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        }
      });
    }
    void exited.then(() => reject(new Error(`proxy exited: ${lines.join(' | ')}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One request of a client, for the figures. */
interface Record {
  readonly phase: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ms: number;
  readonly status: number;
  readonly error?: string;
}

/** A browser: a cookie jar and one request at a time. */
class Client {
  readonly ops: (CounterOp & { startedAt: number; endedAt: number })[] = [];
  readonly records: Record[] = [];
  readonly instances: string[] = [];
  readonly #jar = new Map<string, string>();
  key: string | undefined;

  constructor(readonly phase: () => string) {}

  /** The instance of the last successful response. */
  get instance(): string | undefined {
    return this.instances.at(-1);
  }

  async count(base: string): Promise<void> {
    const startedAt = Date.now();
    const phase = this.phase();
    let status: number;
    let seen: CounterOp['seen'];
    let error: string | undefined;
    try {
      const cookie = [...this.#jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(`${base}/count`, {
        headers: cookie ? { cookie } : {},
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq).trim();
        const value = pair!.slice(eq + 1).trim();
        if (/max-age=0|expires=thu, 01 jan 1970/i.test(c) || value === '') this.#jar.delete(name);
        else this.#jar.set(name, value);
      }
      const text = await res.text();
      if (status !== 200) error = text.slice(0, 120);
      if (status === 200) {
        const j = JSON.parse(text) as {
          key: string;
          createdAt: number;
          counter: number;
          instance: string;
        };
        seen = { key: j.key, createdAt: j.createdAt, counter: j.counter };
        this.key = j.key;
        if (this.instance !== j.instance) this.instances.push(j.instance);
      }
    } catch (e) {
      status = 0; // no answer (or no whole one)
      error = String(e);
    }
    const endedAt = Date.now();
    this.records.push({ phase, startedAt, endedAt, ms: endedAt - startedAt, status, error });
    this.ops.push({ ok: status === 200, uncertain: false, seen, startedAt, endedAt });
  }
}

/** Figures of the requests of one phase. */
function figures(records: readonly Record[], phase: string) {
  const mine = records.filter((r) => r.phase === phase);
  const ms = mine.map((r) => r.ms).sort((a, b) => a - b);
  return {
    requests: mine.length,
    failed: mine.filter((r) => r.status !== 200).length,
    p50: ms[Math.floor(ms.length / 2)] ?? 0,
    max: ms.at(-1) ?? 0,
  };
}

/** The longest time one client went without a successful response, from `from` to `to`. */
function longestOutage(clients: readonly Client[], from: number, to: number): number {
  let worst = 0;
  for (const c of clients) {
    let lastOk = from;
    for (const op of c.ops) {
      if (op.endedAt < from || op.startedAt > to) continue;
      if (op.ok) {
        worst = Math.max(worst, op.endedAt - lastOk);
        lastOk = op.endedAt;
      }
    }
  }
  return worst;
}

describe.skipIf(need.skip)(
  'MSM analogue: cohortSession + RedisBackend on Redis Cluster behind cohort-proxy',
  () => {
    const peers = usePeers();
    let cluster: RedisClusterHandle;
    let dir: string;

    beforeAll(async () => {
      buildProxy();
      dir = mkdtempSync(join(tmpdir(), 'cohort-msm-redis-'));
      cluster = await peers.track(
        startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 }),
      );
    }, 180_000);
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Each node's role from `CLUSTER NODES` as one surviving node sees it. */
    async function slotMasterPort(anyUrl: string, slot: number): Promise<number | undefined> {
      const c = createClient({ url: anyUrl });
      c.on('error', () => undefined);
      await c.connect();
      try {
        const slots = (await c.sendCommand(['CLUSTER', 'SLOTS'])) as [
          number,
          number,
          [string, number],
        ][];
        const hit = slots.find(([lo, hi]) => slot >= lo && slot <= hi);
        return hit?.[2][1];
      } finally {
        await c.close();
      }
    }

    async function info(url: string, section: string): Promise<string> {
      const c = createClient({ url });
      c.on('error', () => undefined);
      await c.connect();
      try {
        return await c.info(section);
      } finally {
        await c.close();
      }
    }

    it.each([
      ['sticky (cacheValidation none, MSM sticky)', 'none' as const],
      ['validated (cacheValidation version, non-sticky safe)', 'version' as const],
    ])(
      '%s: an app instance stopped, then a Redis master SIGKILLed: no session, no acknowledged increment lost',
      async (_label, cacheValidation) => {
        const backend = await RedisBackend.connect(
          { cluster: cluster.urls.map((url) => ({ url })) },
          { prefix: `msm-${cacheValidation}:`, commandTimeoutMs: 1000, replicaAcks: 1 },
        );
        const apps = [
          await startApp('app1', backend, cacheValidation),
          await startApp('app2', backend, cacheValidation),
        ];
        const proxy = await startProxy(dir, apps);
        let phase = 'warm-up';
        let stop = false;
        const clients = Array.from({ length: CLIENTS }, () => new Client(() => phase));
        try {
          const loadStart = Date.now();
          const load = clients.map(async (c) => {
            while (!stop) {
              await c.count(proxy.url);
              await sleep(c.ops.at(-1)!.ok ? 10 : 100); // a user retries a failed page after a while
            }
          });
          await sleep(1500);
          expect(new Set(clients.map((c) => c.instance)).size).toBe(2);

          // 1. Stop the app instance that serves the most sessions: its sessions go on on the
          //    other instance with their counters (MSM: the sticky Tomcat died).
          const byRoute = (r: string) => clients.filter((c) => c.instance === r);
          const victimApp = [...apps].sort(
            (a, b) => byRoute(b.route).length - byRoute(a.route).length,
          )[0]!;
          const moved = byRoute(victimApp.route);
          phase = 'app-stop';
          const appStoppedAt = Date.now();
          await victimApp.stop();
          await sleep(2500);
          const appPhaseEnd = Date.now();

          // 2. SIGKILL the Redis master holding the first client's session; the cluster promotes
          //    its replica; the killed node is restarted and rejoins as the new master's replica.
          const probe = createClient({ url: cluster.urls[0]! });
          await probe.connect();
          const slots = new Map<Client, number>();
          for (const c of clients)
            slots.set(c, await probe.clusterKeySlot(backend.hashKey(c.key!)));
          await probe.close();
          const slot = slots.get(clients[0]!)!;
          const oldPort = (await slotMasterPort(cluster.urls[0]!, slot))!;
          const victim = cluster.nodes.find((n) => n.port === oldPort)!;
          const survivorUrl = cluster.nodes.find((n) => n !== victim)!.url;
          const sameMaster = async (c: Client) =>
            (await slotMasterPort(survivorUrl, slots.get(c)!)) === oldPort;
          const onVictim: Client[] = [];
          for (const c of clients) if (await sameMaster(c)) onVictim.push(c);
          phase = 'redis-kill';
          const killedAt = Date.now();
          await victim.kill();
          let newPort: number | undefined;
          await until(
            'replica promoted',
            async () => {
              newPort = await slotMasterPort(survivorUrl, slot);
              return newPort !== undefined && newPort !== oldPort;
            },
            20_000,
            50,
          );
          const promotedAt = Date.now();
          phase = 'redis-promoted';
          await victim.restart();
          const promoted = cluster.nodes.find((n) => n.port === newPort)!;
          await until(
            'killed master back as a replica',
            async () =>
              /master_link_status:up/.test(await info(victim.url, 'replication')) &&
              /connected_slaves:1/.test(await info(promoted.url, 'replication')),
            20_000,
            50,
          );
          const rejoinedAt = Date.now();
          phase = 'redis-rejoined';
          await sleep(2000);
          stop = true;
          await Promise.all(load);
          // Every session once more, after the load: each must be served, with its counter.
          phase = 'final';
          await Promise.all(clients.map((c) => c.count(proxy.url)));
          const end = Date.now();

          // Requests in flight at the instance when it stopped: the proxy retries a GET that got no
          // response on the other instance, and the stopped one may have stored it.
          for (const c of clients)
            for (const op of c.ops)
              if (op.startedAt <= appStoppedAt && op.endedAt >= appStoppedAt)
                Object.assign(op, { uncertain: true });
          const verdicts = clients.map((c) => checkCounterHistory(c.ops));
          const sum = (f: (v: (typeof verdicts)[number]) => number) =>
            verdicts.reduce((n, v) => n + f(v), 0);
          const records = clients.flatMap((c) => c.records);
          const line = {
            cacheValidation,
            sessions: clients.length,
            requests: records.length,
            failed: records.filter((r) => r.status !== 200).length,
            phases: Object.fromEntries(
              [
                'warm-up',
                'app-stop',
                'redis-kill',
                'redis-promoted',
                'redis-rejoined',
                'final',
              ].map((p) => [p, figures(records, p)]),
            ),
            appStop: {
              victim: victimApp.route,
              moved: moved.length,
              longestOutageMs: longestOutage(moved, appStoppedAt, appPhaseEnd),
              // Requests that ended between the stop and the Redis kill.
              failed: records.filter(
                (r) => r.status !== 200 && r.endedAt >= appStoppedAt && r.endedAt < killedAt,
              ).length,
            },
            redisKill: {
              sessionsOnVictim: onVictim.length,
              failoverMs: promotedAt - killedAt,
              rejoinMs: rejoinedAt - promotedAt,
              longestOutageMs: longestOutage(onVictim, killedAt, end),
              longestOutageOthersMs: longestOutage(
                clients.filter((c) => !onVictim.includes(c)),
                killedAt,
                end,
              ),
              sessionsWithFailures: clients.filter((c) =>
                c.ops.some((op) => !op.ok && op.endedAt >= killedAt),
              ).length,
            },
            lostSessions: sum((v) => v.lostSessions),
            lostIncrements: sum((v) => v.lostIncrements),
            unexplained: sum((v) => v.unexplained),
            extraIncrements: sum((v) => v.extraIncrements),
            storeStats: apps.map((a) => ({ route: a.route, ...a.sessions.stats })),
            failures: records
              .filter((r) => r.status !== 200)
              .filter((r, i, all) => i === 0 || r.error !== all[i - 1]!.error)
              .slice(0, 12)
              .map((r) => ({
                ...r,
                startedAt: r.startedAt - loadStart,
                endedAt: r.endedAt - loadStart,
              })),
          };
          console.log(`msm-redis: ${JSON.stringify(line)}`);

          expect(verdicts.flatMap((v) => v.problems)).toEqual([]);
          expect(line.lostSessions).toBe(0);
          expect(line.lostIncrements).toBe(0);
          expect(line.unexplained).toBe(0);
          for (const [name, p] of Object.entries(line.phases))
            expect(p.requests, name).toBeGreaterThan(0);
          // No request failed while the instance stopped (the proxy retried on the other one), nor
          // at the end.
          expect(line.appStop.failed).toBe(0);
          expect(line.phases.final!.failed).toBe(0);
          // The stopped instance's sessions continued on the other one, counters going on.
          expect(moved.length).toBeGreaterThan(0);
          for (const c of moved) {
            expect(c.instance).not.toBe(victimApp.route);
            expect(c.instances).toContain(victimApp.route);
          }
          // The sessions of the killed master are served again after the failover.
          expect(onVictim.length).toBeGreaterThan(0);
          for (const c of onVictim)
            expect(c.ops.some((op) => op.ok && op.startedAt > promotedAt)).toBe(true);
          for (const c of clients) expect(c.ops.at(-1)!.seen!.counter).toBeGreaterThan(5);
        } finally {
          stop = true;
          await proxy.stop();
          for (const a of apps) await a.stop();
          await backend.close();
        }
      },
      60_000,
    );
  },
);
