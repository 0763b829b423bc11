/* global fetch, setTimeout */
// Side-by-side benchmark of cohort-proxy against HAProxy, nginx (upstream keep-alive) and
// http-proxy (keep-alive agent), all in front of the same small-response backend (nginx serving a
// 12-byte file), plus direct to the backend. Load: wrk. The steady figure is CPU time per proxied
// request from the proxy processes' own kernel accounting (utime + stime of the process tree in
// /proc), which survives a noisy shared machine far better than requests per second.
//
//   npm run bench -w apps/proxy          (or: npx nx bench cohort-proxy)
//   options (env): BENCH_SECONDS=5 BENCH_CONNECTIONS=32 BENCH_ROUNDS=3 BENCH_WARMUP=3 BENCH_PIN=1
//                  HTTP_PROXY_DIR=<dir containing node_modules/http-proxy> (default: this package)
//                  BENCH_BASELINE=<cli.js of an older build, e.g. a copy of dist in node_modules/.cache/>
//                  BENCH_ONLY=<comma-separated name prefixes of the targets to run>
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, startHaproxy, startNginx } from '@cohort/peers';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime + stime (µs) of a process and all its descendants. */
const PIN = process.env.BENCH_PIN === '1';
const BASELINE = process.env.BENCH_BASELINE;

/** Every process id of a tree (the root and its descendants). */
export function treePids(root) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  return [...parent.keys()].filter((pid) => {
    let p = pid;
    while (p > 1 && p !== root) p = parent.get(p) ?? 0;
    return p === root;
  });
}

/** With BENCH_PIN=1 (as in reference §3.2): the measured proxy on CPU 1, wrk and the backend on CPU 0. */
export function pin(root, cpu) {
  if (!PIN) return;
  for (const pid of treePids(root)) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    } catch {
      // exited meanwhile
    }
  }
}

export function treeCpuUs(root) {
  const parent = new Map();
  const cpu = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(d), Number(f[1]));
    cpu.set(Number(d), (Number(f[11]) + Number(f[12])) * TICK_US);
  }
  let total = 0;
  for (const [pid, us] of cpu) {
    let p = pid;
    while (p > 1 && p !== root) p = parent.get(p) ?? 0;
    if (p === root) total += us;
  }
  return total;
}

export function wrk(url, secs, conns = connections) {
  const args = ['-t1', `-c${conns}`, `-d${secs}s`, '--latency', url];
  const out = execFileSync(PIN ? 'taskset' : 'wrk', PIN ? ['-c', '0', 'wrk', ...args] : args, {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const total = Number(/(\d+) requests in/.exec(out)[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const toMs = (v, unit) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
  const pct = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  return {
    rps,
    total,
    p50: pct(50),
    p99: pct(99),
    errors:
      (errors ? Number(errors[1]) : 0) +
      (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

export async function waitHttp(url) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered`);
}

function child(args) {
  const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    pid: c.pid,
    stop: () =>
      new Promise((r) => (c.exitCode !== null ? r() : (c.once('exit', r), c.kill('SIGTERM')))),
  };
}

export async function cohort(backendPort, workers, cli = join(pkg, 'dist', 'cli.js')) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cohort-bench-'));
  const file = join(dir, 'proxy.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}\nworkers: ${workers}\nlog: { level: warn, access: false }\n` +
      `balancers:\n  - name: bench\n    members:\n      - url: http://127.0.0.1:${backendPort}\n        route: b1\n`,
  );
  const c = child([cli, '--config', file]);
  await waitHttp(`http://127.0.0.1:${port}/hello.txt`);
  return { url: `http://127.0.0.1:${port}/hello.txt`, pid: c.pid, stop: c.stop };
}

async function httpProxy(backendUrl) {
  const dirs = [process.env.HTTP_PROXY_DIR, pkg, join(pkg, '..', '..')].filter(Boolean);
  const dir = dirs.find((d) => existsSync(join(d, 'node_modules', 'http-proxy', 'package.json')));
  if (!dir) return undefined;
  const port = await freePort();
  const c = child([join(here, 'http-proxy-server.mjs'), String(port), backendUrl, dir]);
  await waitHttp(`http://127.0.0.1:${port}/hello.txt`);
  return { url: `http://127.0.0.1:${port}/hello.txt`, pid: c.pid, stop: c.stop };
}

async function main() {
  const backend = await startNginx({
    staticFiles: { 'hello.txt': 'hello world\n' },
    workerProcesses: 1,
  });
  pin(backend.pid, 0);
  const backendPort = backend.staticPort;
  const backendUrl = backend.staticUrl;
  const targets = [
    [
      'direct (backend)',
      async () => ({
        url: `${backendUrl}/hello.txt`,
        pid: backend.pid,
        stop: async () => undefined,
      }),
    ],
    ['cohort-proxy (1 worker)', () => cohort(backendPort, 1)],
    // BENCH_BASELINE=<an older build's cli.js>: the same proxy before a change, in the same run.
    ...(BASELINE
      ? [['cohort-proxy baseline (1 worker)', () => cohort(backendPort, 1, BASELINE)]]
      : []),
    ['cohort-proxy (2 workers)', () => cohort(backendPort, 2)],
    [
      'HAProxy 2.6 (http-reuse always)',
      async () => {
        const h = await startHaproxy({
          backends: [{ port: backendPort }],
          healthCheck: false,
          extraConfig: '  http-reuse always\n',
        });
        return { url: `${h.url}/hello.txt`, pid: h.pid, stop: () => h.stop() };
      },
    ],
    [
      'nginx 1.22 (1 worker, keepalive 64)',
      async () => {
        const n = await startNginx({
          backends: [{ port: backendPort }],
          upstreamKeepalive: 64,
          workerProcesses: 1,
        });
        return { url: `${n.url}/hello.txt`, pid: n.pid, stop: () => n.stop() };
      },
    ],
    ['http-proxy 1.18.1 (keep-alive agent)', () => httpProxy(backendUrl)],
  ];
  const only = process.env.BENCH_ONLY?.split(',');
  const results = [];
  try {
    for (const [name, start] of targets) {
      if (only && !only.some((o) => name.startsWith(o))) continue;
      const t = await start();
      if (!t) {
        process.stderr.write(
          `skipped ${name}: http-proxy is not installed (npm i http-proxy@1.18.1 --prefix <dir>; HTTP_PROXY_DIR=<dir>)\n`,
        );
        continue;
      }
      pin(t.pid, t.pid === backend.pid ? 0 : 1);
      try {
        wrk(t.url, warmup); // warm-up: lets V8 optimise the Node proxies before measuring
        const runs = [];
        for (let r = 0; r < rounds; r++) {
          const before = treeCpuUs(t.pid);
          const w = wrk(t.url, seconds);
          const cpu = treeCpuUs(t.pid) - before;
          runs.push({ ...w, cpuUsPerReq: cpu / w.total });
        }
        const best = runs.reduce((a, b) => (a.cpuUsPerReq <= b.cpuUsPerReq ? a : b));
        const median = (k) =>
          runs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
        results.push({
          name,
          runs,
          rps: median('rps'),
          p50: median('p50'),
          p99: median('p99'),
          cpuUsPerReq: best.cpuUsPerReq,
          errors: runs.reduce((a, b) => a + b.errors, 0),
        });
        process.stderr.write(
          `${name}: ${runs.map((x) => `${Math.round(x.rps)} req/s, ${x.cpuUsPerReq.toFixed(1)} µs CPU/req`).join(' | ')}\n`,
        );
      } finally {
        await t.stop();
      }
    }
  } finally {
    await backend.stop();
  }
  const byName = (prefix) => results.find((r) => r.name.startsWith(prefix));
  const haproxy = byName('HAProxy');
  const hp = byName('http-proxy');
  const lines = [
    '| target | req/s | p50 ms | p99 ms | CPU µs / request | vs HAProxy | vs http-proxy |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const vsH =
      haproxy && !r.name.startsWith('direct')
        ? `${(r.cpuUsPerReq / haproxy.cpuUsPerReq).toFixed(2)}×`
        : '';
    const vsP =
      hp && !r.name.startsWith('direct') ? `${(r.cpuUsPerReq / hp.cpuUsPerReq).toFixed(2)}×` : '';
    lines.push(
      `| ${r.name} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUsPerReq.toFixed(1)} | ${vsH} | ${vsP} |`,
    );
  }
  const table = lines.join('\n');
  process.stdout.write(
    `\nwrk -t1 -c${connections} -d${seconds}s after a ${warmup} s warm-up, ${rounds} rounds each (CPU: best round; req/s and latency: median)\n${table}\n`,
  );
  mkdirSync(join(pkg, 'bench-results'), { recursive: true });
  writeFileSync(
    join(pkg, 'bench-results', 'proxy.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        pinned: PIN,
        seconds,
        connections,
        rounds,
        results,
        table,
      },
      null,
      2,
    ),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
