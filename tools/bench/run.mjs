#!/usr/bin/env node
// `npm run bench`: every side-by-side benchmark of cohort in one command. Builds what the benches
// need, runs them one after another (the machine has 2 cores: never two at once), and writes
// bench-results/summary.json and bench-results/summary.md at the repository root, with each
// bench's output in bench-results/logs/<name>.log.
//
//   npm run bench                                 every bench, as each package documents it
//   BENCH_QUICK=1 npm run bench                   the short run (each bench's quick mode)
//   BENCH_ONLY=proxy,session-codec npm run bench  some benches (names, groups or name prefixes)
//   node tools/bench/run.mjs --list               the benches, what each runs
//
// Exit code: 0 when the build and every bench passed, 1 when any failed, 2 for a bad option,
// 130 when interrupted (the summary is still written).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BENCHES } from './src/benches.mjs';
import { describeMachine, loadAverage } from './src/machine.mjs';
import { BenchOptionError, benchEnv, isQuick, selectBenches } from './src/options.mjs';
import { runBench, tail } from './src/run-bench.mjs';
import { benchMarkdown, duration, renderMarkdown } from './src/summary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'bench-results');
const mode = isQuick(process.env.BENCH_QUICK) ? 'quick' : 'full';

let selected;
try {
  selected = selectBenches(BENCHES, process.env.BENCH_ONLY);
} catch (err) {
  if (err instanceof BenchOptionError) {
    console.error(`bench: ${err.code}: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

if (process.argv.includes('--list')) {
  for (const b of BENCHES) {
    const m = b[mode];
    const env = Object.entries(m.env ?? {}).map(([k, v]) => `${k}=${v} `);
    console.log(
      `${b.name.padEnd(27)} ${b.group.padEnd(13)} (cd ${b.dir} && ${env.join('')}node ${[...(b.nodeArgs ?? []), b.script, ...(m.args ?? [])].join(' ')})`,
    );
  }
  process.exit(0);
}

mkdirSync(join(outDir, 'logs'), { recursive: true });
const started = Date.now();
const machine = describeMachine(root);
const say = (/** @type {string} */ s) => process.stdout.write(`\n[bench] ${s}\n`);
say(
  `${mode} run of ${selected.length} bench(es): ${selected.map((b) => b.name).join(', ')}; ` +
    `load average ${machine.loadAverageStart.join(' ')}`,
);

// ---- interruption: stop the running bench, still write the summary
let interrupted = false;
/** @type {(() => void) | undefined} */
let stopCurrent;
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${sig}: stopping the running bench, then writing the summary (again to quit at once)`);
    stopCurrent?.();
  });
}

// ---- build what the selected benches need (and @cohort/peers, which starts the real servers)
const projects = [...new Set(['@cohort/peers', ...selected.map((b) => b.project)])];
const nxArgs = ['run-many', '-t', 'build', '-p', projects.join(','), '--output-style=static'];
const build = await new Promise((resolve) => {
  const t0 = Date.now();
  const command = `npx nx ${nxArgs.join(' ')}`;
  say(command);
  let out = '';
  const child = spawn(join(root, 'node_modules', '.bin', 'nx'), nxArgs, {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopCurrent = () => child.kill('SIGTERM');
  const take = (/** @type {Buffer} */ d, /** @type {NodeJS.WriteStream} */ to) => {
    out += d.toString();
    to.write(d);
  };
  child.stdout.on('data', (d) => take(d, process.stdout));
  child.stderr.on('data', (d) => take(d, process.stderr));
  child.on('close', (code) => {
    writeFileSync(join(outDir, 'logs', 'build.log'), out);
    resolve({
      command,
      status: code === 0 ? 'passed' : 'failed',
      exitCode: code,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      tail: code === 0 ? [] : tail(out),
    });
  });
});
if (build.status === 'failed') say('the build failed; running the benches on what is built');

// ---- the benches, one at a time
const runs = [];
const notRun = [];
for (const [i, bench] of selected.entries()) {
  if (interrupted) {
    notRun.push(bench.name);
    continue;
  }
  say(`[${i + 1}/${selected.length}] ${bench.name}: ${bench.title}`);
  const run = await runBench({
    bench,
    mode,
    root,
    env: benchEnv(process.env, bench[mode].env),
    logFile: relative(root, join(outDir, 'logs', `${bench.name}.log`)),
    onStart: (stop) => (stopCurrent = stop),
  });
  stopCurrent = undefined;
  if (run.status === 'failed') await cleanLeftovers();
  let markdown;
  try {
    markdown = benchMarkdown(bench, run);
  } catch (err) {
    markdown = `(could not render its results: ${/** @type {Error} */ (err).message})`;
  }
  // stderr (progress lines) stays in the log only
  const { stderr: _stderr, ...kept } = run;
  runs.push({ ...kept, title: bench.title, markdown });
  say(
    `${bench.name}: ${run.status}${run.problems.length ? ` (${run.problems.join('; ')})` : ''} in ${duration(run.seconds)}`,
  );
}

// ---- the summary
const summary = {
  mode,
  only: process.env.BENCH_ONLY || null,
  startedAt: new Date(started).toISOString(),
  finishedAt: new Date().toISOString(),
  seconds: Math.round((Date.now() - started) / 100) / 10,
  passed: build.status === 'passed' && runs.every((r) => r.status === 'passed') && !interrupted,
  interrupted,
  machine: { ...machine, loadAverageEnd: loadAverage() },
  build,
  benches: runs,
  notRun,
};
writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
writeFileSync(join(outDir, 'summary.md'), renderMarkdown(summary));
const failed = runs.filter((r) => r.status === 'failed');
say(
  `${runs.length - failed.length} of ${runs.length} passed${failed.length ? `; failed: ${failed.map((r) => r.name).join(', ')}` : ''}` +
    `${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}` +
    `${build.status === 'failed' ? '; the build failed' : ''} in ${duration(summary.seconds)}; ` +
    `wrote ${relative(root, join(outDir, 'summary.md'))} and summary.json`,
);
process.exit(interrupted ? 130 : summary.passed ? 0 : 1);

/** Stops real peers a stopped or crashed bench left behind (only those whose owner is gone). */
async function cleanLeftovers() {
  try {
    const { killLeftovers } = await import('@cohort/peers');
    const n = await killLeftovers();
    if (n > 0) say(`stopped ${n} peer(s) the bench left running`);
  } catch (err) {
    say(`could not look for leftover peers: ${/** @type {Error} */ (err).message}`);
  }
}
