// Shared helpers of the ajp13 benchmarks: timing loops that report wall-clock throughput and CPU
// time per operation (process.cpuUsage), tables, and JSON results in bench-results/.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));

/** Runs `fn(n)` (which does n operations) until `ms` have passed; returns per-op figures. */
export function measure(fn, { ms = 1000, batch = 1000 } = {}) {
  fn(Math.min(batch, 1000)); // warm-up
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    fn(batch);
    ops += batch;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / ops;
  return { ops, opsPerSec: ops / (elapsed / 1000), cpuNsPerOp: cpuUs * 1000 };
}

/** Median of several alternating rounds, to damp noise on a shared machine. */
export function rounds(cases, { rounds: r = 5, ms = 400, batch = 1000 } = {}) {
  const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < r; i++)
    for (const [k, fn] of Object.entries(cases)) results[k].push(measure(fn, { ms, batch }));
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(
    Object.entries(results).map(([k, rs]) => [
      k,
      { opsPerSec: med(rs.map((x) => x.opsPerSec)), cpuNsPerOp: med(rs.map((x) => x.cpuNsPerOp)) },
    ]),
  );
}

/** Prints rows as a Markdown table. */
export function table(headers, rows) {
  const out = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  console.log(out.join('\n'));
}

/** Writes `bench-results/<name>.json`. */
export function save(name, data) {
  const dir = join(here, '..', 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, ...data }, null, 2),
  );
  console.log(`\nwrote ${file}`);
}

/** CPU time (ms) used so far by every process in a process group (a peer and its children). */
export function groupCpuMs(pgid) {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
      if (Number(f[2]) === pgid) total += Number(f[11]) + Number(f[12]);
    } catch {
      // the process went away
    }
  }
  return (total * 1000) / tick;
}

export const fmt = (x, d = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
