// Start-to-ready and stop times of each peer, as @cohort/peers starts them (wall clock: these are
// other processes, so this process's CPU time says nothing). Prints a table, writes
// bench-results/startup.json. Usage: npm run bench -w @cohort/peers [-- --runs N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import {
  ajpBackends,
  httpGet,
  startHaproxy,
  startHttpd,
  startMemcached,
  startNginx,
  startPen,
  startRedis,
  startTomcat,
  stopAll,
  TOMCAT_BENCH_JAVA_OPTS,
} from '../dist/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);

/** Times `runs` starts and stops of one peer; `extra` runs after ready (e.g. the first JSP). */
async function measure(name, start, extra) {
  const ready = [];
  const first = [];
  const stop = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const peer = await start();
    const t1 = performance.now();
    if (extra) await extra(peer);
    const t2 = performance.now();
    await peer.stop();
    const t3 = performance.now();
    ready.push(t1 - t0);
    first.push(t2 - t1);
    stop.push(t3 - t2);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    name,
    runs,
    readyMs: med(ready),
    firstRequestMs: extra ? med(first) : null,
    stopMs: med(stop),
  };
}

const rows = [];
try {
  const tc = await startTomcat({ route: 'b1' });
  const backends = [{ port: tc.httpPort }];
  rows.push(
    await measure(
      'tomcat (test JVM options)',
      () => startTomcat({ route: 'bench' }),
      (t) => httpGet(`${t.url}/`),
    ),
    await measure(
      'tomcat (TOMCAT_BENCH_JAVA_OPTS)',
      () => startTomcat({ route: 'bench', javaOpts: [...TOMCAT_BENCH_JAVA_OPTS] }),
      (t) => httpGet(`${t.url}/`),
    ),
    await measure('httpd mod_jk', () => startHttpd({ backends: ajpBackends([tc]), mode: 'jk' })),
    await measure('httpd mod_proxy_ajp', () =>
      startHttpd({ backends: ajpBackends([tc]), mode: 'proxy_ajp' }),
    ),
    await measure('haproxy', () => startHaproxy({ backends })),
    await measure('nginx', () => startNginx({ backends })),
    await measure('pen', () => startPen({ backends })),
    await measure('redis', () => startRedis()),
    await measure('memcached', () => startMemcached()),
  );
} finally {
  await stopAll();
}

const fmt = (v) => (v === null ? '–' : v.toFixed(0));
console.log(
  `\nmedian of ${runs} runs, ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}\n`,
);
console.log('| peer | start → ready (ms) | first request (ms) | stop (ms) |');
console.log('|---|---:|---:|---:|');
for (const r of rows)
  console.log(`| ${r.name} | ${fmt(r.readyMs)} | ${fmt(r.firstRequestMs)} | ${fmt(r.stopMs)} |`);
mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../bench-results/startup.json', import.meta.url),
  JSON.stringify(
    { date: new Date().toISOString(), cores: cpus().length, loadavg: loadavg(), rows },
    null,
    2,
  ),
);
