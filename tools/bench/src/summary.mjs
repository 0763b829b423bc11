// The summary of a run: summary.json (everything, each bench's own JSON included) and summary.md
// (the machine, one line per bench, then each bench's tables and each failure's last lines).

/**
 * The markdown tables in a bench's printed output, each with the line just before it when that
 * line is text (most benches print a caption there). Box-drawn tables (console.table) are not
 * markdown and are not picked up.
 *
 * @param {string} text
 * @returns {string[]}
 */
export function markdownTables(text) {
  const lines = text.split('\n').map((l) => l.trimEnd());
  /** @type {string[]} */
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const isRow = (/** @type {string} */ l) => l.startsWith('|') && l.endsWith('|');
    if (isRow(lines[i]) && i + 1 < lines.length && /^\|[\s:|-]+\|$/.test(lines[i + 1])) {
      let j = i;
      while (j < lines.length && isRow(lines[j])) j++;
      let caption = '';
      for (let k = i - 1; k >= 0 && k >= i - 2; k--) {
        if (lines[k] === '') continue;
        if (!isRow(lines[k]) && lines[k].length <= 300) caption = lines[k];
        break;
      }
      out.push([...(caption ? [caption, ''] : []), ...lines.slice(i, j)].join('\n'));
      i = j;
    } else i++;
  }
  return out;
}

/**
 * The markdown a bench contributes to the summary: its `render` when it has one, else the
 * `table` field of its JSON files, else the markdown tables it printed.
 *
 * @param {import('./benches.mjs').Bench} bench
 * @param {{ results: Record<string, unknown>, stdout: string }} run
 */
export function benchMarkdown(bench, run) {
  if (bench.render) return bench.render(run.results, run.stdout);
  const fromJson = Object.values(run.results)
    .map((j) => (j && typeof j === 'object' && 'table' in j ? j.table : undefined))
    .filter((t) => typeof t === 'string' && t.length > 0);
  if (fromJson.length > 0) return fromJson.join('\n\n');
  return markdownTables(run.stdout).join('\n\n');
}

const fmtLoad = (/** @type {number[]} */ l) => l.map((x) => x.toFixed(2)).join(' ');

/** Seconds as `1 min 05 s` or `42.3 s`. */
export function duration(/** @type {number} */ s) {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
}

/**
 * @typedef {object} Summary
 * @property {'full' | 'quick'} mode
 * @property {string | null} only
 * @property {string} startedAt
 * @property {string} finishedAt
 * @property {number} seconds
 * @property {boolean} passed
 * @property {boolean} interrupted
 * @property {ReturnType<typeof import('./machine.mjs').describeMachine> & { loadAverageEnd: number[] }} machine
 * @property {{ command: string, status: 'passed' | 'failed', exitCode: number | null, seconds: number, tail: string[] }} build
 * @property {Array<import('./run-bench.mjs').BenchRun & { title: string, markdown: string }>} benches
 * @property {string[]} notRun benches selected but not run (the run was interrupted)
 */

/**
 * The markdown summary.
 *
 * @param {Summary} s
 */
export function renderMarkdown(s) {
  const m = s.machine;
  const failed = s.benches.filter((b) => b.status === 'failed');
  const out = [];
  out.push(`# cohort benchmarks (${s.mode} run)`);
  out.push('');
  out.push(
    `${s.startedAt} → ${s.finishedAt}, ${duration(s.seconds)}. ` +
      `${s.benches.length - failed.length} of ${s.benches.length} benches passed` +
      `${s.build.status === 'failed' ? '; the build failed' : ''}` +
      `${s.interrupted ? `; interrupted (not run: ${s.notRun.join(', ') || 'none'})` : ''}.` +
      `${s.only ? ` BENCH_ONLY=${s.only}.` : ''}`,
  );
  if (s.mode === 'quick') {
    out.push('');
    out.push(
      "A quick run (`BENCH_QUICK=1`): each bench's short mode, fewer rounds and seconds. It shows " +
        'that every bench works; its figures are not the ones to quote (run `npm run bench`).',
    );
  }
  out.push('');
  out.push('## Machine');
  out.push('');
  const peers = Object.entries(m.peers)
    .map(([k, v]) => `${k} ${v ?? '**not installed**'}`)
    .join(', ');
  const npm = Object.entries(m.npmPeers)
    .map(([k, v]) => `${k} ${v ?? '**not installed**'}`)
    .join(', ');
  out.push('| | |');
  out.push('|---|---|');
  out.push(`| CPU | ${m.cpuModel}, ${m.cores} cores |`);
  out.push(`| memory | ${m.memoryMiB} MiB (${m.freeMemoryMiBAtStart} MiB free at the start) |`);
  out.push(
    `| load average (1/5/15 min) | ${fmtLoad(m.loadAverageStart)} at the start, ${fmtLoad(m.loadAverageEnd)} at the end |`,
  );
  out.push(`| OS | ${m.os}, kernel ${m.kernel}, host ${m.hostname} |`);
  out.push(`| Node | ${m.node} |`);
  out.push(`| Java | ${m.java ?? 'not found'} |`);
  out.push(`| peers (dpkg) | ${peers} |`);
  out.push(`| npm peers | ${npm} |`);
  out.push(
    `| git | ${m.git.commit ?? 'unknown'} (${m.git.modifiedTrackedFiles ?? '?'} tracked files modified in the working tree) |`,
  );
  out.push('');
  out.push('## Benches');
  out.push('');
  out.push(`Build: \`${s.build.command}\` — ${s.build.status} in ${duration(s.build.seconds)}.`);
  out.push('');
  out.push('| bench | compares | result | time | load at start → end | command (in its package) |');
  out.push('|---|---|---|---:|---|---|');
  for (const b of s.benches) {
    const result = b.status === 'passed' ? 'passed' : `**failed**: ${b.problems.join('; ')}`;
    out.push(
      `| ${b.name} | ${b.title} | ${result} | ${duration(b.seconds)} | ${b.loadAverageStart[0].toFixed(2)} → ${b.loadAverageEnd[0].toFixed(2)} | \`${b.command}\` (${b.cwd}) |`,
    );
  }
  for (const n of s.notRun) out.push(`| ${n} | | not run | | | |`);
  for (const b of s.benches) {
    out.push('');
    out.push(`## ${b.name}: ${b.title}`);
    out.push('');
    const files = Object.keys(b.results).filter((f) => f !== 'stdout');
    out.push(
      `\`${b.command}\` in ${b.cwd}, ${duration(b.seconds)}, ${b.status}` +
        `${files.length ? `; JSON: ${files.map((f) => `\`${f}\``).join(', ')}` : ''}; log: \`${b.log}\`.`,
    );
    if (b.markdown) {
      out.push('');
      out.push(b.markdown);
    }
    if (b.status === 'failed') {
      out.push('');
      out.push(
        `**Failed** (${b.problems.join('; ')}); exit code ${b.exitCode ?? 'none'}${b.signal ? `, signal ${b.signal}` : ''}. Last lines:`,
      );
      out.push('');
      out.push('```');
      out.push(...b.tail);
      out.push('```');
    }
  }
  if (s.build.status === 'failed') {
    out.push('');
    out.push('## Build failure');
    out.push('');
    out.push('```');
    out.push(...s.build.tail);
    out.push('```');
  }
  return `${out.join('\n')}\n`;
}
