// The side-by-side benchmarks `npm run bench` runs, in the order it runs them. Each entry says how
// to run the bench as its package documents it (full) and in a short smoke run (quick), which
// JSON files it writes, and how to turn its output into the summary's tables. The benches
// themselves live in their packages and are not changed by this runner.

/**
 * @typedef {object} Mode
 * @property {string[]} [args] arguments after the script
 * @property {Record<string, string>} [env] environment for this bench (over the caller's)
 * @property {number} timeoutMinutes the bench is stopped (and reported failed) after this
 */

/**
 * @typedef {object} Bench
 * @property {string} name short name for BENCH_ONLY and the summary
 * @property {string} group what BENCH_ONLY also accepts for every bench of the group
 * @property {string} project the Nx project to build before running it
 * @property {string} dir the package folder, relative to the repository root (the bench's cwd)
 * @property {string} script the script, relative to `dir`
 * @property {string[]} [nodeArgs] Node options before the script
 * @property {string} title what is compared with what
 * @property {string[]} results JSON files the bench writes, relative to `dir`
 * @property {Mode} full the documented run
 * @property {Mode} quick the short run (`BENCH_QUICK=1`)
 * @property {'stdout'} [json] the bench prints its result as the last JSON line of stdout
 * @property {(files: Record<string, unknown>, stdout: string) => string} [render] markdown for
 *   the summary when the bench's own tables are not markdown (default: the `table` field of its
 *   JSON, else the markdown tables it printed)
 */

/** Renders an array of flat objects as a markdown table (keys of the first as columns). */
export function objectsTable(rows) {
  if (!Array.isArray(rows) || rows.length === 0) return '';
  const keys = Object.keys(rows[0]);
  const cell = (v) => (v === undefined || v === null ? '' : String(v).replaceAll('|', '\\|'));
  return [
    `| ${keys.join(' | ')} |`,
    `|${keys.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${keys.map((k) => cell(r[k])).join(' | ')} |`),
  ].join('\n');
}

/** One JSON result of a bench, or undefined. */
const first = (files) => Object.values(files)[0];

/** @type {Bench[]} */
export const BENCHES = [
  {
    name: 'proxy-http',
    group: 'proxy',
    project: 'cohort-proxy',
    dir: 'apps/proxy',
    script: 'bench/run.mjs',
    title: 'cohort-proxy vs HAProxy 2.6, nginx 1.22, http-proxy 1.18 (HTTP, wrk, CPU µs/request)',
    results: ['bench-results/proxy.json'],
    full: { timeoutMinutes: 20 },
    quick: {
      env: { BENCH_SECONDS: '2', BENCH_ROUNDS: '1', BENCH_WARMUP: '1' },
      timeoutMinutes: 10,
    },
  },
  {
    name: 'proxy-ajp',
    group: 'proxy',
    project: 'cohort-proxy',
    dir: 'apps/proxy',
    script: 'bench/ajp.mjs',
    title: 'cohort-proxy → Tomcat AJP vs httpd mod_proxy_ajp and mod_jk (interleaved rounds)',
    results: ['bench-results/ajp.json'],
    full: { timeoutMinutes: 20 },
    quick: { env: { BENCH_SECONDS: '2', BENCH_ROUNDS: '1' }, timeoutMinutes: 10 },
  },
  {
    name: 'proxy-attacks',
    group: 'proxy',
    project: 'cohort-proxy',
    dir: 'apps/proxy',
    script: 'bench/attacks.mjs',
    title: 'issue #11 attacks: cohort-proxy vs HAProxy 2.6 and nginx 1.22 (others OK %, p99, RSS)',
    results: ['bench-results/attacks.json'],
    full: { timeoutMinutes: 20 },
    // no quick mode of its own: the baseline and the reset storm only (about 8 s per proxy)
    quick: { env: { ATTACKS: '0,1a' }, timeoutMinutes: 10 },
  },
  {
    name: 'session-client',
    group: 'sessions',
    project: '@cohort/session-client',
    dir: 'packages/session-client',
    script: 'bench/session.bench.mjs',
    title:
      'session-heavy Express route: cohort + Redis / 3 session nodes vs connect-redis, connect-memcached, MemoryStore',
    results: ['bench-results/session.json'],
    full: { timeoutMinutes: 20 },
    quick: { args: ['--quick'], timeoutMinutes: 10 },
  },
  {
    name: 'session-node-latency',
    group: 'session-node',
    project: 'cohort-session-node',
    dir: 'apps/session-node',
    script: 'bench/latency.mjs',
    title: 'session-node write latency at a fixed rate, 3 nodes, quorum acks (target p99 ≤ 1 ms)',
    results: ['bench-results/latency.json'],
    full: { timeoutMinutes: 10 },
    quick: { args: ['1000', '3'], timeoutMinutes: 5 },
    render: (files) => objectsTable(/** @type {any} */ (first(files))?.rows),
  },
  {
    name: 'session-node-memory',
    group: 'session-node',
    project: 'cohort-session-node',
    dir: 'apps/session-node',
    script: 'bench/memory.mjs',
    title:
      'session-node memory per 1 KB session in one node (1 000 000 sessions in the full run; target < 3 GB RSS)',
    results: ['bench-results/memory.json'],
    full: { args: ['1000000', '1'], timeoutMinutes: 40 },
    quick: { args: ['20000', '1'], timeoutMinutes: 5 },
    render: (files) => {
      const m = /** @type {any} */ (first(files));
      if (!m) return '';
      return (
        `${m.created} of ${m.sessions} sessions created on ${m.nodes} node(s) in ` +
        `${Number(m.loadSeconds).toFixed(1)} s (${m.createsPerSecond} creates/s), ${m.failed} failed\n\n` +
        objectsTable(m.rows)
      );
    },
  },
  {
    name: 'session-node-engine-memory',
    group: 'session-node',
    project: 'cohort-session-node',
    dir: 'apps/session-node',
    script: 'bench/engine-memory.mjs',
    nodeArgs: ['--expose-gc'],
    title: 'replication engine alone: bytes of JS heap and array buffers per 1 KB session',
    results: [],
    json: 'stdout',
    full: { args: ['50000'], timeoutMinutes: 10 },
    quick: { args: ['10000'], timeoutMinutes: 5 },
    render: (files) => objectsTable([first(files)].filter(Boolean)),
  },
  {
    name: 'session-codec',
    group: 'codecs',
    project: '@cohort/session-codec',
    dir: 'packages/session-codec',
    script: 'bench/session.bench.mjs',
    title: 'session codec vs JSON (express-session stores), Tomcat sizes as anchors',
    results: ['bench-results/session-codec.json'],
    full: { timeoutMinutes: 15 },
    quick: { args: ['--quick'], timeoutMinutes: 5 },
  },
  {
    name: 'ajp13-codec',
    group: 'codecs',
    project: '@cohort/ajp13',
    dir: 'packages/ajp13',
    script: 'bench/codec.mjs',
    title: 'AJP13 codec vs JSON.parse / JSON.stringify of the same message',
    results: ['bench-results/codec.json'],
    // no quick mode of its own (about half a minute)
    full: { timeoutMinutes: 10 },
    quick: { timeoutMinutes: 5 },
  },
  {
    name: 'ajp13-body',
    group: 'codecs',
    project: '@cohort/ajp13',
    dir: 'packages/ajp13',
    script: 'bench/body.mjs',
    title: 'AJP13 body framing (zero-copy) vs one Buffer.concat copy',
    results: ['bench-results/body.json'],
    full: { timeoutMinutes: 10 },
    quick: { timeoutMinutes: 5 },
  },
  {
    name: 'ajp13-e2e',
    group: 'ajp13',
    project: '@cohort/ajp13',
    dir: 'packages/ajp13',
    script: 'bench/e2e.mjs',
    title:
      '@cohort/ajp13 pool → Tomcat vs httpd mod_proxy_ajp and mod_jk, Tomcat HTTP as reference',
    results: ['bench-results/e2e.json'],
    full: { timeoutMinutes: 15 },
    quick: { env: { BENCH_SECONDS: '2' }, timeoutMinutes: 10 },
  },
  {
    name: 'session-id',
    group: 'codecs',
    project: '@cohort/session-id',
    dir: 'packages/session-id',
    script: 'bench/extract.bench.mjs',
    title: 'route extraction vs cookie.parse + split',
    results: ['bench-results/extract.json'],
    // no quick mode of its own (about 20 s)
    full: { timeoutMinutes: 10 },
    quick: { timeoutMinutes: 5 },
  },
  {
    name: 'replication',
    group: 'codecs',
    project: '@cohort/replication',
    dir: 'packages/replication',
    script: 'bench/replication.bench.mjs',
    title: 'replication bytes per change vs whole-session JSON and Tomcat DeltaManager; engine CPU',
    results: ['bench-results/replication.json'],
    full: { timeoutMinutes: 10 },
    quick: { timeoutMinutes: 5 },
  },
  {
    name: 'membership',
    group: 'membership',
    project: '@cohort/membership',
    dir: 'packages/membership',
    script: 'bench/goal-report.mjs',
    title:
      'membership goal table G1–G17 in the simulator vs memberlist / Tomcat anchors; wire codec vs JSON',
    results: ['bench-results/goal-report.json'],
    // its own BENCH_QUICK=1: a smoke run of about 5 minutes (the full run is about 15)
    full: { timeoutMinutes: 60 },
    quick: { env: { BENCH_QUICK: '1' }, timeoutMinutes: 25 },
  },
];
