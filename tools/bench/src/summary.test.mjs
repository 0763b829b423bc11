import { describe, expect, it } from 'vitest';

import { benchMarkdown, duration, markdownTables, renderMarkdown } from './summary.mjs';

const printed = [
  'Cookie header: 609 bytes',
  '',
  '| case | ns/op |',
  '|---|---:|',
  '| cookie | 159.6 |',
  'written: x.json',
  '┌─────────┬──────┐',
  '│ (index) │ rows │',
  '└─────────┴──────┘',
  'a | b',
  '| not | a table |',
  'Second caption',
  '| x |',
  '| :-- |',
  '| 1 |',
].join('\n');

describe('markdownTables', () => {
  it('finds each markdown table with its caption and skips box tables and stray pipes', () => {
    expect(markdownTables(printed)).toEqual([
      'Cookie header: 609 bytes\n\n| case | ns/op |\n|---|---:|\n| cookie | 159.6 |',
      'Second caption\n\n| x |\n| :-- |\n| 1 |',
    ]);
  });

  it('finds nothing in output without tables', () => {
    expect(markdownTables('no tables\n| half')).toEqual([]);
  });
});

describe('benchMarkdown', () => {
  const base = { name: 'b', results: [] };
  it("prefers the bench's render, then the table field of its JSON, then the printed tables", () => {
    const run = { results: { 'x.json': { table: '| t |\n|---|' } }, stdout: printed };
    expect(benchMarkdown({ ...base, render: () => 'R' }, run)).toBe('R');
    expect(benchMarkdown(base, run)).toBe('| t |\n|---|');
    expect(benchMarkdown(base, { results: { 'x.json': { rows: [] } }, stdout: printed })).toContain(
      '| cookie | 159.6 |',
    );
  });
});

describe('duration', () => {
  it('says seconds under a minute, minutes and seconds above', () => {
    expect(duration(42.34)).toBe('42.3 s');
    expect(duration(125)).toBe('2 min 05 s');
  });
});

describe('renderMarkdown', () => {
  const machine = {
    hostname: 'vm',
    cpuModel: 'AMD EPYC',
    cores: 2,
    availableParallelism: 2,
    memoryMiB: 24105,
    freeMemoryMiBAtStart: 20000,
    loadAverageStart: [1, 2, 3],
    loadAverageEnd: [4, 5, 6],
    os: 'Debian GNU/Linux 12 (bookworm)',
    kernel: '6.1',
    node: 'v20.20.2',
    java: null,
    peers: { haproxy: '2.6.12', pen: null },
    npmPeers: { 'http-proxy': '1.18.1' },
    git: { commit: 'abc123', subject: 's', modifiedTrackedFiles: 2 },
  };
  const run = (name, status, extra = {}) => ({
    name,
    status,
    title: `${name} vs peers`,
    command: 'node bench/x.mjs',
    cwd: 'packages/x',
    exitCode: status === 'passed' ? 0 : 3,
    signal: null,
    timedOut: false,
    problems: status === 'passed' ? [] : ['exit code 3'],
    seconds: 12.5,
    startedAt: '2026-01-01T00:00:00.000Z',
    loadAverageStart: [1.5, 0, 0],
    loadAverageEnd: [2.25, 0, 0],
    results: { 'packages/x/bench-results/x.json': {} },
    stdout: '',
    tail: ['line 1', 'Error: boom'],
    log: 'bench-results/logs/x.log',
    markdown: status === 'passed' ? '| a |\n|---|\n| 1 |' : '',
    ...extra,
  });
  const summary = {
    mode: 'quick',
    only: null,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    seconds: 60,
    passed: false,
    interrupted: false,
    machine,
    build: {
      command: 'npx nx run-many -t build',
      status: 'passed',
      exitCode: 0,
      seconds: 3,
      tail: [],
    },
    benches: [run('good', 'passed'), run('bad', 'failed')],
    notRun: [],
  };

  it('describes the machine, lists every bench, gives the tables and a failure’s last lines', () => {
    const md = renderMarkdown(summary);
    expect(md).toContain('# cohort benchmarks (quick run)');
    expect(md).toContain('1 of 2 benches passed');
    expect(md).toContain('| CPU | AMD EPYC, 2 cores |');
    expect(md).toContain('1.00 2.00 3.00 at the start, 4.00 5.00 6.00 at the end');
    expect(md).toContain('haproxy 2.6.12, pen **not installed**');
    expect(md).toContain('| Java | not found |');
    expect(md).toContain('abc123 (2 tracked files modified');
    expect(md).toContain('| good | good vs peers | passed | 12.5 s | 1.50 → 2.25 |');
    expect(md).toContain('| bad | bad vs peers | **failed**: exit code 3 |');
    expect(md).toContain('## good: good vs peers\n\n`node bench/x.mjs` in packages/x');
    expect(md).toContain('| a |\n|---|\n| 1 |');
    expect(md).toContain(
      '**Failed** (exit code 3); exit code 3. Last lines:\n\n```\nline 1\nError: boom\n```',
    );
    expect(md).not.toContain('Build failure');
    expect(md).toContain("A quick run (`BENCH_QUICK=1`): each bench's short mode");
    expect(renderMarkdown({ ...summary, mode: 'full' })).not.toContain('A quick run');
  });

  it('reports a failed build with its last lines, and an interrupted run with what did not run', () => {
    const md = renderMarkdown({
      ...summary,
      interrupted: true,
      notRun: ['later'],
      build: { ...summary.build, status: 'failed', exitCode: 1, tail: ['TS2322: nope'] },
    });
    expect(md).toContain('; the build failed; interrupted (not run: later).');
    expect(md).toContain('| later | | not run | | | |');
    expect(md).toContain('## Build failure\n\n```\nTS2322: nope\n```');
  });
});
