// Profiling helper: nginx backend + one cohort-proxy process run with --cpu-prof under wrk load.
//   node bench/profile.mjs [seconds] [outdir]    (after tsc -b; the .cpuprofile lands in outdir)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort, startNginx } from '@cohort/peers';

import { waitHttp, wrk } from './run.mjs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const secs = Number(process.argv[2] ?? 10);
const out = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'cohort-prof-'));
const backend = await startNginx({
  staticFiles: { 'hello.txt': 'hello world\n' },
  workerProcesses: 1,
});
const port = await freePort();
const file = join(mkdtempSync(join(tmpdir(), 'cohort-prof-')), 'proxy.yaml');
writeFileSync(
  file,
  `listen: 127.0.0.1:${port}\nlog: { level: warn, access: ${process.env.ACCESS === '1'} }\n` +
    `balancers:\n  - name: bench\n    members:\n      - url: http://127.0.0.1:${backend.staticPort}\n`,
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
const url = `http://127.0.0.1:${port}/hello.txt`;
await waitHttp(url);
wrk(url, 3);
process.stdout.write(JSON.stringify(wrk(url, secs)) + '\n');
await new Promise((r) => (c.once('exit', r), c.kill('SIGTERM')));
await backend.stop();
process.stdout.write(`profile in ${out}\n`);
