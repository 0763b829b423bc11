// Session-heavy Express route, side by side (issue 12): each request reads 3 attributes of a
// typical session (20 attributes x 256 B, sessions.md §8) and changes 1.
//
//   cohort + 3 nodes      cohortSession() + NodeBackend + 3 cohort-session-node processes
//                         (3 copies, ack quorum)
//   cohort sticky + 3 nodes  the same with cacheValidation: 'none'
//   cohort + redis        cohortSession() + RedisBackend + redis-server
//   cohort sticky + redis the same with cacheValidation: 'none' (no store round trip for reads)
//   CohortStore + redis   express-session + CohortStore + RedisBackend + redis-server
//   connect-redis         express-session + connect-redis 9 + redis-server
//   connect-memcached     express-session + connect-memcached 3 + memcached
//   MemoryStore           express-session's MemoryStore (the floor: no store at all)
//
// Load: wrk (1 thread, 16 connections) over 200 sessions; setups interleaved per round. Per
// request: requests/s, p50/p99 latency, store round trips, bytes on the wire to and from the
// store, CPU of the store process (from /proc) and of the app process.
//
//   npx nx bench @cohort/session-client     (builds first), or after a build:
//   node bench/session.bench.mjs [--duration 6] [--rounds 3] [--quick] [--only 'a,b']
//   (--only: these setups, comma-separated names, connect-redis among them; profile the nodes
//   with COHORT_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir /tmp/prof')
import { Buffer } from 'node:buffer';
import { setTimeout as sleep } from 'node:timers/promises';
import { clearTimeout, setTimeout } from 'node:timers';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import connectMemcached from 'connect-memcached';
import { createClient } from 'redis';
import { parseWrkOutput, startMemcached, startRedis, tcpExchange } from '@cohort/peers';
import { spawn } from 'node:child_process';
import { freePorts, httpGet } from '@cohort/peers';
import { cohortSession, NodeBackend, RedisBackend } from '@cohort/session-client';
import { CohortStore } from '@cohort/session-client/express-session';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes('--quick');
// --only 'cohort + 3 nodes,connect-redis': run only these setups (comma-separated names).
const onlyAt = args.indexOf('--only');
const ONLY = onlyAt >= 0 ? new Set(args[onlyAt + 1].split(',').map((x) => x.trim())) : null;
// COHORT_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir /tmp/prof': extra node flags for the session
// nodes (they are stopped with SIGTERM, so a profile is written).
const NODE_ARGS = (process.env.COHORT_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const DURATION = opt('duration', quick ? 3 : 6);
const ROUNDS = opt('rounds', quick ? 1 : 3);
const SESSIONS = 200;
const CONNECTIONS = 16;
const ATTRS = 20;
const SIZE = 256;
const here = dirname(fileURLToPath(import.meta.url));

const value = (i, n) => `${String(n).padStart(8, '0')}:${'abcdefghij'[i % 10].repeat(SIZE - 9)}`;

/** The app: /init fills a session, /work reads 3 attributes and changes 1. */
function buildApp(mount) {
  const app = express();
  app.set('etag', false);
  app.use(mount);
  let n = 0;
  app.get('/init', (req, res) => {
    for (let i = 0; i < ATTRS; i++) req.session[`a${i}`] = value(i, 0);
    res.type('text').send('ok');
  });
  app.get('/work', (req, res) => {
    const s = req.session;
    const len = s.a0.length + s.a1.length + s.a2.length;
    s.a3 = value(3, ++n);
    res.type('text').send(`read ${len}`);
  });
  return app;
}

function listen(app) {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function get(port, path, cookie) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: cookie ? { cookie } : {} },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode, setCookie: res.headers['set-cookie'] }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function wrk(port, script) {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/wrk',
      [
        '-t1',
        `-c${CONNECTIONS}`,
        `-d${DURATION}s`,
        '--latency',
        '-s',
        script,
        `http://127.0.0.1:${port}/work`,
      ],
      { timeout: (DURATION + 30) * 1000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(parseWrkOutput(stdout)),
    );
  });
}

/** utime + stime of a process, in µs. */
function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // CLK_TCK = 100 on Linux
}

async function redisInfo(port) {
  const text = await tcpExchange(port, 'INFO everything\r\n', (s) => {
    const m = /^\$(\d+)\r\n/.exec(s);
    return m !== null && Buffer.byteLength(s, 'latin1') >= m[0].length + Number(m[1]) + 2;
  });
  let calls = 0;
  let netIn = 0;
  let netOut = 0;
  for (const line of text.split('\r\n')) {
    const c = /^cmdstat_(\w+):calls=(\d+)/.exec(line);
    if (c && c[1] !== 'info') calls += Number(c[2]);
    const i = /^total_net_input_bytes:(\d+)/.exec(line);
    if (i) netIn = Number(i[1]);
    const o = /^total_net_output_bytes:(\d+)/.exec(line);
    if (o) netOut = Number(o[1]);
  }
  return { ops: calls, bytes: netIn + netOut };
}

async function memcachedStats(port) {
  const text = await tcpExchange(port, 'stats\r\n', (s) => s.endsWith('END\r\n'));
  const stat = (name) => Number(new RegExp(`STAT ${name} (\\d+)`).exec(text)?.[1] ?? 0);
  return {
    ops:
      stat('cmd_get') +
      stat('cmd_set') +
      stat('cmd_touch') +
      stat('delete_hits') +
      stat('delete_misses'),
    bytes: stat('bytes_read') + stat('bytes_written'),
  };
}

const NODE_CLI = join(here, '..', '..', '..', 'apps', 'session-node', 'dist', 'cli.js');
const NODE_TOKEN = 'bench-token-0123456789';

/** Starts 3 cohort-session-node processes (CLI, YAML config) and waits for /readyz. */
async function startNodes(dir) {
  const ports = await freePorts(6);
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `node${i}.yaml`);
    writeFileSync(
      file,
      [
        `name: n${i + 1}`,
        `listen: 127.0.0.1:${ports[i]}`,
        `gossip: { listen: '127.0.0.1:${ports[3 + i]}', preset: local }`,
        `seeds: [${i === 0 ? '' : `'127.0.0.1:${ports[3]}'`}]`,
        `auth: { token: ${NODE_TOKEN} }`,
        `log: { level: warn }`,
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [...NODE_ARGS, NODE_CLI, '--config', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    nodes.push({
      child,
      pid: child.pid,
      url: `ws://127.0.0.1:${ports[i]}`,
      http: `http://127.0.0.1:${ports[i]}`,
    });
  }
  const end = Date.now() + 20_000;
  for (const n of nodes) {
    for (;;) {
      const r = await httpGet(`${n.http}/readyz`).catch(() => ({ status: 0 }));
      if (r.status === 200) break;
      if (Date.now() > end) throw new Error('session nodes not ready');
      await sleep(100);
    }
  }
  return nodes;
}

/** syscr + syscw of a process: its read and write system calls (a socket message costs one). */
function syscallsOf(pid) {
  const text = readFileSync(`/proc/${pid}/io`, 'latin1');
  return Number(/syscr: (\d+)/.exec(text)[1]) + Number(/syscw: (\d+)/.exec(text)[1]);
}

/** rchar + wchar of a process: every byte it read and wrote (sockets; the nodes write no files). */
function ioOf(pid) {
  const text = readFileSync(`/proc/${pid}/io`, 'latin1');
  return Number(/rchar: (\d+)/.exec(text)[1]) + Number(/wchar: (\d+)/.exec(text)[1]);
}

async function main() {
  const redis = await startRedis();
  const memcached = await startMemcached();
  const work = mkdtempSync(join(tmpdir(), 'cohort-session-bench-'));
  const clients = [];
  const nodes = await startNodes(work);
  const allSetups = [
    {
      name: 'cohort + 3 nodes',
      store: 'nodes',
      make: async () => {
        const backend = new NodeBackend({ nodes: [nodes[0].url], token: NODE_TOKEN });
        clients.push(backend);
        const mw = cohortSession({ backend, route: 'app1' });
        return {
          mount: mw,
          roundTrips: () =>
            mw.stats.revalidations +
            mw.stats.loads +
            mw.stats.creates +
            mw.stats.applies +
            mw.stats.touchBatches,
        };
      },
    },
    {
      name: 'cohort sticky + 3 nodes',
      store: 'nodes',
      make: async () => {
        const backend = new NodeBackend({ nodes: [nodes[0].url], token: NODE_TOKEN });
        clients.push(backend);
        const mw = cohortSession({ backend, route: 'app1', cacheValidation: 'none' });
        return {
          mount: mw,
          roundTrips: () =>
            mw.stats.revalidations +
            mw.stats.loads +
            mw.stats.creates +
            mw.stats.applies +
            mw.stats.touchBatches,
        };
      },
    },
    {
      name: 'cohort + redis',
      store: 'redis',
      make: async () => {
        const backend = await RedisBackend.connect({ url: redis.url }, { prefix: 'bench:c:' });
        clients.push(backend);
        const mw = cohortSession({ backend, route: 'app1' });
        return {
          mount: mw,
          roundTrips: () =>
            mw.stats.revalidations +
            mw.stats.loads +
            mw.stats.creates +
            mw.stats.applies +
            mw.stats.touchBatches,
        };
      },
    },
    {
      name: 'cohort sticky + redis',
      store: 'redis',
      make: async () => {
        const backend = await RedisBackend.connect({ url: redis.url }, { prefix: 'bench:s:' });
        clients.push(backend);
        const mw = cohortSession({ backend, route: 'app1', cacheValidation: 'none' });
        return {
          mount: mw,
          roundTrips: () =>
            mw.stats.revalidations +
            mw.stats.loads +
            mw.stats.creates +
            mw.stats.applies +
            mw.stats.touchBatches,
        };
      },
    },
    {
      name: 'CohortStore + redis',
      store: 'redis',
      make: async () => {
        const backend = await RedisBackend.connect({ url: redis.url }, { prefix: 'bench:x:' });
        clients.push(backend);
        // Count the backend's calls: each is one round trip (Redis's commandstats would also
        // count the commands the Lua scripts run inside Redis).
        let calls = 0;
        for (const m of ['load', 'create', 'apply', 'touch', 'destroy']) {
          const f = backend[m].bind(backend);
          backend[m] = (...a) => (calls++, f(...a));
        }
        const store = new CohortStore({ backend });
        return {
          mount: session({ store, secret: 'bench', resave: false, saveUninitialized: false }),
          roundTrips: () => calls,
        };
      },
    },
    {
      name: 'connect-redis',
      store: 'redis',
      make: async () => {
        const client = createClient({ url: redis.url });
        await client.connect();
        clients.push(client);
        const store = new RedisStore({ client, prefix: 'bench:r:' });
        return {
          mount: session({ store, secret: 'bench', resave: false, saveUninitialized: false }),
        };
      },
    },
    {
      name: 'connect-memcached',
      store: 'memcached',
      make: async () => {
        const MemcachedStore = connectMemcached(session);
        const store = new MemcachedStore({
          hosts: [`127.0.0.1:${memcached.port}`],
          prefix: 'bench:m:',
        });
        clients.push({ close: () => store.client.end() });
        return {
          mount: session({ store, secret: 'bench', resave: false, saveUninitialized: false }),
        };
      },
    },
    {
      name: 'MemoryStore',
      store: null,
      make: async () => ({
        mount: session({
          store: new session.MemoryStore(),
          secret: 'bench',
          resave: false,
          saveUninitialized: false,
        }),
      }),
    },
  ];

  const setups = ONLY ? allSetups.filter((s) => ONLY.has(s.name)) : allSetups;
  if (!setups.some((s) => s.name === 'connect-redis'))
    throw new Error('--only: include connect-redis');
  // Build every app once; create its sessions.
  const apps = [];
  for (const s of setups) {
    const built = await s.make();
    const server = await listen(buildApp(built.mount));
    const port = server.address().port;
    const cookies = [];
    for (let i = 0; i < SESSIONS; i++) {
      const r = await get(port, '/init');
      if (r.status !== 200 || !r.setCookie)
        throw new Error(`${s.name}: /init answered ${r.status}`);
      cookies.push(r.setCookie[0].split(';')[0]);
    }
    const script = join(work, `${s.name.replace(/\W+/g, '-')}.lua`);
    writeFileSync(
      script,
      `local cookies = {${cookies.map((c) => JSON.stringify(c)).join(',')}}\n` +
        `local i = 0\n` +
        `init = function(args) i = math.random(1, #cookies) end\n` +
        `request = function()\n  i = i + 1\n  return wrk.format("GET", "/work", { ["Cookie"] = cookies[(i % #cookies) + 1] })\nend\n`,
    );
    apps.push({ setup: s, built, server, port, script, runs: [] });
  }

  // For the session nodes: every byte their processes read and wrote (client and replication
  // traffic, a node-to-node byte counted at both ends), and no command count.
  const nodeStats = async () => ({ ops: 0, bytes: nodes.reduce((n, x) => n + ioOf(x.pid), 0) });
  const storeOf = (s) =>
    s.store === 'nodes'
      ? { pids: nodes.map((n) => n.pid), stats: nodeStats }
      : s.store === 'redis'
        ? { pids: [redis.pid], stats: () => redisInfo(redis.port) }
        : s.store === 'memcached'
          ? { pids: [memcached.pid], stats: () => memcachedStats(memcached.port) }
          : null;
  const cpuOfAll = (pids) => pids.reduce((n, p) => n + cpuOf(p), 0);

  // Warm up every app, then measure, interleaving setups in each round.
  for (const a of apps) {
    await wrk(a.port, a.script).catch(() => undefined);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const a of apps) {
      const store = storeOf(a.setup);
      const before = store ? { cpu: cpuOfAll(store.pids), ...(await store.stats()) } : null;
      const rt0 = a.built.roundTrips?.() ?? 0;
      const app0 = process.cpuUsage();
      const sys0 =
        syscallsOf(process.pid) + (store ? store.pids.reduce((n, p) => n + syscallsOf(p), 0) : 0);
      const r = await wrk(a.port, a.script);
      const appCpu = process.cpuUsage(app0);
      const sys1 =
        syscallsOf(process.pid) + (store ? store.pids.reduce((n, p) => n + syscallsOf(p), 0) : 0);
      const after = store ? { cpu: cpuOfAll(store.pids), ...(await store.stats()) } : null;
      const n = r.requests;
      a.runs.push({
        requestsPerSec: r.requestsPerSec,
        p50Ms: r.latencyMs.p50,
        p99Ms: r.latencyMs.p99,
        non2xx: r.non2xx3xx,
        storeRoundTripsPerReq: a.built.roundTrips
          ? (a.built.roundTrips() - rt0) / n
          : after
            ? (after.ops - before.ops) / n
            : 0,
        storeOpsPerReq: after ? (after.ops - before.ops) / n : 0,
        storeBytesPerReq: after ? (after.bytes - before.bytes) / n : 0,
        storeCpuUsPerReq: after ? (after.cpu - before.cpu) / n : 0,
        appCpuUsPerReq: (appCpu.user + appCpu.system) / n,
        // read/write system calls of the app and store processes (wrk's excluded)
        syscallsPerReq: (sys1 - sys0) / n,
      });
      process.stderr.write(
        `round ${round + 1} ${a.setup.name}: ${r.requestsPerSec.toFixed(0)} req/s\n`,
      );
    }
  }

  const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const rows = apps.map((a) => {
    const keys = Object.keys(a.runs[0]);
    const row = { setup: a.setup.name };
    for (const k of keys) row[k] = median(a.runs.map((r) => r[k]));
    return row;
  });
  // The machine is shared: throughput moves with the load between rounds, so the ratio against
  // connect-redis is taken per round (measured seconds apart) and its median reported.
  const ref = apps.find((a) => a.setup.name === 'connect-redis');
  for (const [i, a] of apps.entries()) {
    rows[i].vsConnectRedis = median(
      a.runs.map((r, k) => r.requestsPerSec / ref.runs[k].requestsPerSec),
    );
    rows[i].totalCpuUsPerReq = rows[i].appCpuUsPerReq + rows[i].storeCpuUsPerReq;
  }

  const fmt = (x, d = 1) => (x === 0 ? '0' : x.toFixed(d));
  console.log(
    `\nSession-heavy route (read 3 of ${ATTRS} x ${SIZE} B attributes, change 1); wrk -t1 -c${CONNECTIONS} ${DURATION}s x ${ROUNDS} rounds, ${SESSIONS} sessions; median of rounds\n`,
  );
  console.log(
    '| setup | req/s | vs connect-redis (median of per-round ratios) | p50 ms | p99 ms | store round trips / req | store commands / req | store bytes / req | store CPU µs / req | app CPU µs / req | app + store CPU µs / req | app + store read/write syscalls / req |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.setup} | ${fmt(r.requestsPerSec, 0)} | ${fmt(r.vsConnectRedis, 2)}x | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.storeRoundTripsPerReq, 2)} | ${fmt(r.storeOpsPerReq, 2)} | ${fmt(r.storeBytesPerReq, 0)} | ${fmt(r.storeCpuUsPerReq, 1)} | ${fmt(r.appCpuUsPerReq, 1)} | ${fmt(r.totalCpuUsPerReq, 1)} | ${fmt(r.syscallsPerReq, 1)} |`,
    );
  }
  const out = join(here, '..', 'bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'session.json'),
    JSON.stringify(
      {
        node: process.version,
        durationS: DURATION,
        rounds: ROUNDS,
        sessions: SESSIONS,
        connections: CONNECTIONS,
        rows,
        runs: Object.fromEntries(apps.map((a) => [a.setup.name, a.runs])),
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten: ${join(out, 'session.json')}`);

  for (const a of apps) await new Promise((r) => a.server.close(r));
  for (const c of clients) await Promise.resolve(c.close()).catch(() => undefined);
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise((resolve) => {
          const t = setTimeout(() => n.child.kill('SIGKILL'), 5000);
          n.child.once('exit', () => resolve(clearTimeout(t)));
          n.child.kill('SIGTERM');
        }),
    ),
  );
  await redis.stop();
  await memcached.stop();
  rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
