/* global setTimeout, clearTimeout */
// Runs one bench as a child process: streams its output to the terminal and a log file, keeps it
// for the summary, stops it when its time is up, and reads the JSON files it wrote.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { loadAverage } from './machine.mjs';

/** Lines of output kept for a failed bench's report. */
export const TAIL_LINES = 30;

/** Seconds between SIGTERM and SIGKILL when a bench is stopped. */
export const KILL_GRACE_SECONDS = 15;

/**
 * The last `n` non-empty lines of `text`.
 *
 * @param {string} text
 * @param {number} [n]
 */
export function tail(text, n = TAIL_LINES) {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-n);
}

/**
 * The last line of `stdout` that parses as a JSON object, or undefined.
 *
 * @param {string} stdout
 */
export function lastJsonLine(stdout) {
  const lines = stdout.split('\n').reverse();
  for (const l of lines) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      return JSON.parse(t);
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/**
 * @typedef {object} BenchRun
 * @property {string} name
 * @property {'passed' | 'failed'} status
 * @property {string} command
 * @property {string} cwd relative to the repository root
 * @property {number | null} exitCode
 * @property {string | null} signal
 * @property {boolean} timedOut
 * @property {string[]} problems why the run counts as failed (empty when it passed)
 * @property {number} seconds
 * @property {string} startedAt
 * @property {number[]} loadAverageStart
 * @property {number[]} loadAverageEnd
 * @property {Record<string, unknown>} results the JSON the bench wrote, by file (relative to the
 *   repository root), or `stdout` for a bench that prints it
 * @property {string} stdout
 * @property {string} stderr
 * @property {string[]} tail the last lines of its output (stdout and stderr interleaved)
 * @property {string} log the log file, relative to the repository root
 */

/**
 * Runs `bench` in `mode` and resolves when it has ended (never rejects for a failing bench).
 * A bench fails when it exits non-zero or by a signal, runs out of time, or does not write (or
 * rewrite) each of its JSON files.
 *
 * @param {object} o
 * @param {import('./benches.mjs').Bench} o.bench
 * @param {'full' | 'quick'} o.mode
 * @param {string} o.root the repository root
 * @param {NodeJS.ProcessEnv} o.env the bench's environment
 * @param {string} o.logFile where its output goes, relative to the root
 * @param {boolean} [o.echo] copy its output to this process's stdout / stderr (default true)
 * @param {(stop: () => void) => void} [o.onStart] receives a function that stops the bench
 * @param {number} [o.graceSeconds] SIGTERM to SIGKILL (default {@link KILL_GRACE_SECONDS})
 * @returns {Promise<BenchRun>}
 */
export function runBench({ bench, mode, root, env, logFile, echo = true, onStart, graceSeconds }) {
  const m = bench[mode];
  const cwd = join(root, bench.dir);
  const args = [...(bench.nodeArgs ?? []), bench.script, ...(m.args ?? [])];
  const envText = Object.entries(m.env ?? {})
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const command = `${envText}node ${args.join(' ')}`;
  const started = Date.now();
  const loadAverageStart = loadAverage();
  /** @type {Record<string, number>} */
  const before = {};
  for (const f of bench.results) {
    const p = join(cwd, f);
    before[f] = existsSync(p) ? statSync(p).mtimeMs : -1;
  }
  const log = createWriteStream(join(root, logFile));
  log.write(`$ (cd ${bench.dir} && ${command})\n`);
  let stdout = '';
  let stderr = '';
  let both = '';
  let timedOut = false;

  return new Promise((resolve) => {
    // its own process group, so a stop reaches whatever it started that stays in the group
    const child = spawn(process.execPath, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    /** @type {NodeJS.Timeout | undefined} */
    let killTimer;
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-(/** @type {number} */ (child.pid)), 'SIGTERM');
      } catch {
        // gone
      }
      killTimer ??= setTimeout(
        () => {
          try {
            process.kill(-(/** @type {number} */ (child.pid)), 'SIGKILL');
          } catch {
            // gone
          }
        },
        (graceSeconds ?? KILL_GRACE_SECONDS) * 1000,
      );
    };
    const timer = setTimeout(() => {
      timedOut = true;
      const note = `\n[bench] ${bench.name}: stopped after ${m.timeoutMinutes} min\n`;
      both += note;
      log.write(note);
      if (echo) process.stderr.write(note);
      stop();
    }, m.timeoutMinutes * 60_000);
    onStart?.(stop);
    child.stdout.on('data', (d) => {
      const s = d.toString();
      stdout += s;
      both += s;
      log.write(d);
      if (echo) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      const s = d.toString();
      stderr += s;
      both += s;
      log.write(d);
      if (echo) process.stderr.write(d);
    });
    let done = false;
    child.on('error', (err) => {
      const note = `\n[bench] could not start: ${err.message}\n`;
      both += note;
      log.write(note);
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
    /**
     * @param {number | null} code
     * @param {NodeJS.Signals | null} signal
     */
    function finish(code, signal) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      const problems = [];
      if (timedOut) problems.push(`stopped after ${m.timeoutMinutes} min`);
      if (signal) problems.push(`ended by ${signal}`);
      else if (code === null) problems.push('did not start');
      else if (code !== 0) problems.push(`exit code ${code}`);
      /** @type {Record<string, unknown>} */
      const results = {};
      for (const f of bench.results) {
        const p = join(cwd, f);
        const rel = join(bench.dir, f);
        if (!existsSync(p) || statSync(p).mtimeMs <= before[f]) {
          problems.push(`did not write ${rel}`);
          continue;
        }
        try {
          results[rel] = JSON.parse(readFileSync(p, 'utf8'));
        } catch (err) {
          problems.push(`${rel} is not JSON: ${/** @type {Error} */ (err).message}`);
        }
      }
      if (bench.json === 'stdout') {
        const j = lastJsonLine(stdout);
        if (j === undefined) problems.push('printed no JSON line');
        else results.stdout = j;
      }
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      log.end(`\n[bench] ${problems.length ? problems.join('; ') : 'passed'} in ${seconds} s\n`);
      resolve({
        name: bench.name,
        status: problems.length ? 'failed' : 'passed',
        command,
        cwd: bench.dir,
        exitCode: code,
        signal,
        timedOut,
        problems,
        seconds,
        startedAt: new Date(started).toISOString(),
        loadAverageStart,
        loadAverageEnd: loadAverage(),
        results,
        stdout,
        stderr,
        tail: tail(both),
        log: logFile,
      });
    }
  });
}
