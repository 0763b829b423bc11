#!/usr/bin/env node
// `npm test`: provision the real peers when this machine allows it, build every project, lint,
// run every project's tests, and print `tests: N passed, N failed` as the very last line,
// counted from the vitest JSON reports (one `test-results.json` per project).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

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

// 3. The summary, from the JSON reports.
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
if (failures.length > 0) console.log(`\nfailed steps:\n  ${failures.join('\n  ')}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failures.length > 0 || failed > 0 || passed === 0 ? 1 : 0);
