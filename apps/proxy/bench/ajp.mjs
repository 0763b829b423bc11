// AJP side by side: cohort-proxy → Tomcat over AJP against httpd mod_proxy_ajp → Tomcat and
// httpd mod_jk → Tomcat, same Tomcat, same run. Load: wrk on Tomcat's static /ping.txt (no
// session). All targets run at once and the rounds are interleaved. Reports requests per second
// (the target: cohort ≥ both), the per-round ratio, and CPU µs per request of each proxy's tree.
//
//   node bench/ajp.mjs     (after tsc -b; env BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_CONNECTIONS=16
//                           BENCH_BASELINE=<cli.js of an older build> BENCH_ONLY=<name prefixes>)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ajpBackends, freePort, startHttpd, startTomcat } from '@cohort/peers';

import { treeCpuUs, waitHttp, wrk } from './run.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const conns = Number(process.env.BENCH_CONNECTIONS ?? 16);

async function cohort(tc, workers = 1, cli = join(pkg, 'dist', 'cli.js')) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cohort-ajp-bench-'));
  const file = join(dir, 'proxy.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}\nworkers: ${workers}\nlog: { level: warn, access: false }\nbalancers:\n  - name: tc\n    members:\n` +
      `      - { url: "ajp://127.0.0.1:${tc.ajpPort}", route: ${tc.route}, secret: "${tc.ajpSecret}" }\n`,
  );
  const c = spawn(process.execPath, [cli, '--config', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitHttp(`http://127.0.0.1:${port}/ping.txt`);
  return {
    url: `http://127.0.0.1:${port}/ping.txt`,
    pid: c.pid,
    stop: () =>
      new Promise((r) => (c.exitCode !== null ? r() : (c.once('exit', r), c.kill('SIGTERM')))),
  };
}

async function httpd(tc, mode) {
  const h = await startHttpd({ backends: ajpBackends([tc]), mode, balancer: false });
  await waitHttp(`${h.url}/ping.txt`);
  return { url: `${h.url}/ping.txt`, pid: h.pid, stop: () => h.stop() };
}

const tc = await startTomcat({ route: 'tc1' });
const results = [];
try {
  const targets = [
    [
      'Tomcat HTTP direct',
      async () => ({ url: `${tc.url}/ping.txt`, pid: tc.pid, stop: async () => undefined }),
    ],
    ['cohort-proxy → AJP', () => cohort(tc)],
    // BENCH_BASELINE=<an older build's cli.js>: the same proxy before a change, in the same run.
    ...(process.env.BENCH_BASELINE
      ? [['cohort-proxy baseline → AJP', () => cohort(tc, 1, process.env.BENCH_BASELINE)]]
      : []),
    ['cohort-proxy (2 workers) → AJP', () => cohort(tc, 2)],
    ['httpd mod_proxy_ajp → AJP', () => httpd(tc, 'proxy_ajp')],
    ['httpd mod_jk → AJP', () => httpd(tc, 'jk')],
  ];
  const only = process.env.BENCH_ONLY?.split(',');
  // Every target runs at once in front of the one Tomcat, and the rounds are interleaved
  // (target order rotated each round), so a burst of load from elsewhere or Tomcat's own drift
  // hits them alike; idle targets cost nothing.
  const live = [];
  try {
    for (const [name, start] of targets) {
      if (only && !only.some((o) => name.startsWith(o))) continue;
      live.push({ name, t: await start(), runs: [] });
    }
    for (const l of live) wrk(l.t.url, 3, conns);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < live.length; k++) {
        const l = live[(k + r) % live.length];
        const before = treeCpuUs(l.t.pid);
        const w = wrk(l.t.url, seconds, conns);
        l.runs.push({ ...w, round: r, cpuUsPerReq: (treeCpuUs(l.t.pid) - before) / w.total });
      }
    }
    for (const { name, runs } of live) {
      const median = (k) =>
        runs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
      results.push({
        name,
        runs,
        rps: median('rps'),
        p50: median('p50'),
        p99: median('p99'),
        cpuUsPerReq: Math.min(...runs.map((x) => x.cpuUsPerReq)),
      });
      process.stderr.write(
        `${name}: ${runs.map((x) => `${Math.round(x.rps)} req/s`).join(' | ')}\n`,
      );
    }
  } finally {
    for (const l of live) await l.t.stop();
  }
} finally {
  await tc.stop();
}
const cohortR = results.find((r) => r.name.startsWith('cohort'));
// Paired by round: cohort's req/s ÷ this target's in the same round, and the rounds cohort won.
const paired = (r) => {
  const ratios = r.runs.map((x) => cohortR.runs[x.round].rps / x.rps).sort((a, b) => a - b);
  return {
    median: ratios[Math.floor(ratios.length / 2)],
    won: ratios.filter((x) => x >= 1).length,
  };
};
const lines = [
  '| path | req/s | p50 ms | p99 ms | proxy CPU µs / request | cohort req/s ÷ this (median of rounds) | rounds cohort ≥ this |',
  '|---|---:|---:|---:|---:|---:|---:|',
];
for (const r of results) {
  const cpu = r.name.startsWith('Tomcat') ? '' : r.cpuUsPerReq.toFixed(1);
  const p = paired(r);
  r.pairedRatio = p.median;
  r.roundsCohortWon = p.won;
  lines.push(
    `| ${r.name} | ${Math.round(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${cpu} | ${p.median.toFixed(2)}× | ${p.won}/${r.runs.length} |`,
  );
}
const table = lines.join('\n');
process.stdout.write(
  `\nwrk -t1 -c${conns} -d${seconds}s on /ping.txt after a 3 s warm-up, ${rounds} interleaved rounds (median req/s, best CPU)\n${table}\n`,
);
mkdirSync(join(pkg, 'bench-results'), { recursive: true });
writeFileSync(
  join(pkg, 'bench-results', 'ajp.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      seconds,
      rounds,
      conns,
      results,
      table,
    },
    null,
    2,
  ),
);
