// Profiling helper: nginx backend + one cohort-proxy process run with --cpu-prof under wrk load.
//   node bench/profile.mjs [seconds] [outdir]    (after tsc -b; the .cpuprofile lands in outdir)
//   env: AJP=1 (Tomcat over AJP), ACCESS=1 (access log on), STRACE=1 (count system calls)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, startNginx, startTomcat } from '@cohort/peers';

import { waitHttp, wrk } from './run.mjs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const secs = Number(process.argv[2] ?? 10);
const out = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'cohort-prof-'));
// AJP=1: a Tomcat member over AJP (its /ping.txt) instead of nginx over HTTP.
const ajp = process.env.AJP === '1';
const backend = ajp
  ? await startTomcat({ route: 'tc1' })
  : await startNginx({ staticFiles: { 'hello.txt': 'hello world\n' }, workerProcesses: 1 });
const member = ajp
  ? `{ url: "ajp://127.0.0.1:${backend.ajpPort}", route: tc1, secret: "${backend.ajpSecret}" }`
  : `{ url: "http://127.0.0.1:${backend.staticPort}" }`;
const port = await freePort();
const file = join(mkdtempSync(join(tmpdir(), 'cohort-prof-')), 'proxy.yaml');
writeFileSync(
  file,
  `listen: 127.0.0.1:${port}\nlog: { level: warn, access: ${process.env.ACCESS === '1'} }\n` +
    `balancers:\n  - name: bench\n    members:\n      - ${member}\n`,
);
const nodeArgs = [join(pkg, 'dist', 'cli.js'), '--config', file];
// STRACE=1: count the proxy's system calls instead of profiling (strace -c into outdir).
const c =
  process.env.STRACE === '1'
    ? spawn('strace', ['-f', '-c', '-o', join(out, 'strace.txt'), process.execPath, ...nodeArgs], {
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    : spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${out}`, ...nodeArgs], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
const url = `http://127.0.0.1:${port}/${ajp ? 'ping' : 'hello'}.txt`;
await waitHttp(url);
wrk(url, 3);
process.stdout.write(JSON.stringify(wrk(url, secs)) + '\n');
await new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')));
await backend.stop();
process.stdout.write(`profile in ${out}\n`);
