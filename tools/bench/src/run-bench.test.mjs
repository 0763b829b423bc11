/* global setTimeout */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { lastJsonLine, runBench, tail } from './run-bench.mjs';

let root;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cohort-bench-test-'));
  mkdirSync(join(root, 'pkg', 'bench'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A bench script in the temporary package, and its registry entry. */
function bench(source, extra = {}) {
  writeFileSync(join(root, 'pkg', 'bench', 'b.mjs'), source);
  return {
    name: 'b',
    group: 'g',
    project: 'p',
    dir: 'pkg',
    script: 'bench/b.mjs',
    title: 't',
    results: ['bench-results/b.json'],
    full: { args: ['full-arg'], env: { B_MODE: 'full' }, timeoutMinutes: 1 },
    quick: { args: ['quick-arg'], env: { B_MODE: 'quick' }, timeoutMinutes: 1 },
    ...extra,
  };
}

const writes = `
import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/b.json', JSON.stringify({ arg: process.argv[2], mode: process.env.B_MODE }));
console.log('| a |');
console.log('|---|');
`;

const run = (b, mode = 'quick', extra = {}) =>
  runBench({
    bench: b,
    mode,
    root,
    env: { ...process.env, ...b[mode].env },
    logFile: 'b.log',
    echo: false,
    ...extra,
  });

describe('runBench', () => {
  it('runs the mode in the package folder and reads the JSON it wrote', async () => {
    const r = await run(bench(writes));
    expect(r.status).toBe('passed');
    expect(r.problems).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.command).toBe('B_MODE=quick node bench/b.mjs quick-arg');
    expect(r.results).toEqual({ 'pkg/bench-results/b.json': { arg: 'quick-arg', mode: 'quick' } });
    expect(r.stdout).toBe('| a |\n|---|\n');
    expect(readFileSync(join(root, 'b.log'), 'utf8')).toContain('| a |');
    expect(r.loadAverageStart).toHaveLength(3);
  });

  it('reports a failing bench with its exit code and last lines', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => `console.log('line ${i}');`).join('\n');
    const r = await run(bench(`${lines}\nconsole.error('Error: boom');\nprocess.exit(3);`));
    expect(r.status).toBe('failed');
    expect(r.exitCode).toBe(3);
    expect(r.problems).toEqual(['exit code 3', 'did not write pkg/bench-results/b.json']);
    expect(r.tail).toHaveLength(30);
    expect(r.tail.at(-1)).toBe('Error: boom');
    expect(r.tail[0]).toBe('line 11');
  });

  it('fails a bench that exits 0 but leaves its JSON file as an earlier run wrote it', async () => {
    const b = bench(writes);
    expect((await run(b)).status).toBe('passed');
    writeFileSync(join(root, 'pkg', 'bench', 'b.mjs'), 'console.log("nothing written");');
    const r = await run(b);
    expect(r.status).toBe('failed');
    expect(r.exitCode).toBe(0);
    expect(r.problems).toEqual(['did not write pkg/bench-results/b.json']);
  });

  it('fails a bench whose JSON file is not JSON', async () => {
    const r = await run(
      bench(`import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('bench-results', { recursive: true }); writeFileSync('bench-results/b.json', '{ half');`),
    );
    expect(r.status).toBe('failed');
    expect(r.problems[0]).toMatch(/^pkg\/bench-results\/b.json is not JSON/);
  });

  it('takes the last JSON line of stdout for a bench that only prints', async () => {
    const b = bench(
      'console.log(JSON.stringify({ n: 1 })); console.log(JSON.stringify({ n: 2 })); console.log("done");',
      {
        results: [],
        json: 'stdout',
      },
    );
    expect((await run(b)).results).toEqual({ stdout: { n: 2 } });
    writeFileSync(join(root, 'pkg', 'bench', 'b.mjs'), 'console.log("no json");');
    const r = await run(b);
    expect(r.status).toBe('failed');
    expect(r.problems).toEqual(['printed no JSON line']);
  });

  it('stops a bench that runs out of time, with SIGKILL if it ignores SIGTERM', async () => {
    const b = bench(
      "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('started'); setInterval(() => {}, 1000);",
      { quick: { timeoutMinutes: 0.04 } },
    );
    const t0 = Date.now();
    const r = await run(b, 'quick', { graceSeconds: 0.3 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.status).toBe('failed');
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(r.problems.slice(0, 2)).toEqual(['stopped after 0.04 min', 'ended by SIGKILL']);
    expect(r.stdout).toContain('ignoring SIGTERM');
  });

  it('can be stopped from outside (an interrupted run)', async () => {
    const b = bench("console.log('started'); setInterval(() => {}, 1000);");
    const r = await run(b, 'full', {
      onStart: (stop) => setTimeout(stop, 300),
    });
    expect(r.signal).toBe('SIGTERM');
    expect(r.status).toBe('failed');
  });
});

describe('tail and lastJsonLine', () => {
  it('keeps the last non-empty lines', () => {
    expect(tail('a\n\nb\nc\n\n', 2)).toEqual(['b', 'c']);
  });

  it('skips lines that only look like JSON', () => {
    expect(lastJsonLine('{"a":1}\n{ not json\n')).toEqual({ a: 1 });
    expect(lastJsonLine('nothing')).toBeUndefined();
  });
});
