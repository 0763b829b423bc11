// A/B comparison of two cohort-proxy builds on a noisy machine: both run at once in front of the
// same nginx backend, and wrk rounds alternate between them (A B A B …), so a burst of load from
// elsewhere hits both alike. Reports the median CPU µs per request of each and their ratio.
//
//   mkdir -p node_modules/.cache && cp -r dist node_modules/.cache/baseline-dist   (before the change)
//   node bench/ab.mjs node_modules/.cache/baseline-dist/cli.js [dist/cli.js]   (after it)
//   env: BENCH_SECONDS=4 BENCH_ROUNDS=6 BENCH_CONNECTIONS=32 BENCH_PIN=1 AJP=1 (Tomcat over AJP)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { freePort, startNginx, startTomcat } from '@cohort/peers';

import { cohort, pin, treeCpuUs, waitHttp, wrk } from './run.mjs';

/** AJP=1: both builds in front of one Tomcat over AJP (its /ping.txt) instead of nginx. */
const AJP = process.env.AJP === '1';

async function cohortAjp(tc, cli) {
  const port = await freePort();
  const file = join(mkdtempSync(join(tmpdir(), 'cohort-ab-')), 'proxy.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}\nlog: { level: warn, access: false }\nbalancers:\n  - name: tc\n    members:\n` +
      `      - { url: "ajp://127.0.0.1:${tc.ajpPort}", route: ${tc.route}, secret: "${tc.ajpSecret}" }\n`,
  );
  const c = spawn(process.execPath, [cli, '--config', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/ping.txt`;
  await waitHttp(url);
  const stop = () =>
    new Promise((r) => (c.exitCode !== null ? r() : (c.once('exit', r), c.kill('SIGTERM'))));
  return { url, pid: c.pid, stop };
}

const [baseline, current = 'dist/cli.js'] = process.argv.slice(2).map((p) => resolve(p));
if (!baseline) throw new Error('usage: node bench/ab.mjs <baseline cli.js> [current cli.js]');
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const backend = AJP
  ? await startTomcat({ route: 'tc1' })
  : await startNginx({ staticFiles: { 'hello.txt': 'hello world\n' }, workerProcesses: 1 });
pin(backend.pid, 0);
const start = (cli) => (AJP ? cohortAjp(backend, cli) : cohort(backend.staticPort, 1, cli));
const targets = [
  { name: 'baseline', ...(await start(baseline)), cpu: [], rps: [] },
  { name: 'current', ...(await start(current)), cpu: [], rps: [] },
];
try {
  for (const t of targets) {
    pin(t.pid, 1);
    wrk(t.url, 3);
  }
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const before = treeCpuUs(t.pid);
      const w = wrk(t.url, seconds);
      t.cpu.push((treeCpuUs(t.pid) - before) / w.total);
      t.rps.push(w.rps);
    }
  }
} finally {
  for (const t of targets) await t.stop();
  await backend.stop();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const t of targets)
  process.stdout.write(
    `${t.name}: median ${median(t.cpu).toFixed(1)} µs CPU/req, ${Math.round(median(t.rps))} req/s ` +
      `(rounds: ${t.cpu.map((x) => x.toFixed(0)).join(' ')})\n`,
  );
process.stdout.write(
  `current ÷ baseline CPU/req: ${(median(targets[1].cpu) / median(targets[0].cpu)).toFixed(3)}\n`,
);
