import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ProxyStatus } from '../status.js';
import { buildPackage, packageDir } from '../test/build.js';
import { routeEcho, startMember, type TestMember } from '../test/harness.js';

// The bin with an admin section: --check reports the listener and a bad state file (exit 0),
// serving starts the admin listener, a change through the API is in the state file, and a
// restarted proxy comes back with it. A corrupt state file is logged, moved aside, ignored.

const cli = join(packageDir, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'cohort-proxy-admin-cli-'));
const TOKEN = 'cli-token-0123456789abcdef';
let a: TestMember;
let b: TestMember;
const children: ChildProcess[] = [];

beforeAll(async () => {
  buildPackage();
  a = await startMember(routeEcho('a'));
  b = await startMember(routeEcho('b'));
}, 180_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all([a.close(), b.close()]);
});

function writeConfig(name: string): string {
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const file = join(dir, name);
  writeFileSync(
    file,
    `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n  tokenFile: token\n  stateFile: proxy.state\nbalancers:\n  - name: app\n    affinity: { dialect: none }\n    members:\n      - url: ${a.url}\n        route: a\n      - url: ${b.url}\n        route: b\n`,
  );
  return file;
}

async function serve(
  file: string,
): Promise<{ child: ChildProcess; out: () => string; admin: string }> {
  const child = spawn(process.execPath, [cli, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const end = Date.now() + 30_000;
  let m: RegExpExecArray | null;
  while ((m = /"statusPage":"(http:\/\/127\.0\.0\.1:\d+\/cohort-status)"/.exec(text)) === null) {
    if (Date.now() > end || child.exitCode !== null)
      throw new Error(`the admin listener did not start; output: ${text}`);
    await sleep(25);
  }
  return { child, out: () => text, admin: m[1]! };
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
}

describe('cohort-proxy with an admin section', () => {
  it('--check names the listener and reports a corrupt state file without failing', () => {
    const file = writeConfig('check.yaml');
    writeFileSync(join(dir, 'proxy.state'), '{"version":1,');
    const r = spawnSync(process.execPath, [cli, '--check', '--config', file], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('  admin http://127.0.0.1:0/cohort-status (changes with the token)');
    expect(r.stdout).toContain(`  state file ${join(dir, 'proxy.state')}: ignored`);
    expect(r.stdout).toMatch(/admin\.stateFile: .*proxy\.state is ignored .*: not JSON/);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    // --check changes nothing.
    expect(readFileSync(join(dir, 'proxy.state'), 'utf8')).toBe('{"version":1,');
  });

  it('keeps a change made through the API across a restart; a corrupt file is moved aside', async () => {
    const file = writeConfig('serve.yaml');
    writeFileSync(join(dir, 'proxy.state'), 'garbage');
    const first = await serve(file);
    expect(first.out()).toContain('state file ignored: not JSON');
    expect(readFileSync(join(dir, 'proxy.state.corrupt'), 'utf8')).toBe('garbage');
    expect(existsSync(join(dir, 'proxy.state'))).toBe(false);
    const r = await fetch(`${first.admin}/api/balancers/app/members/b`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'drain', weight: 7 }),
    });
    expect(r.status).toBe(200);
    const saved = JSON.parse(readFileSync(join(dir, 'proxy.state'), 'utf8')) as {
      overrides: unknown;
    };
    expect(saved.overrides).toEqual({
      members: { app: { b: { state: 'draining', weight: 7 } } },
      added: {},
      removed: {},
    });
    await stop(first.child);
    expect(first.out()).not.toContain(TOKEN);

    const second = await serve(file);
    try {
      expect(second.out()).toContain('management changes restored from the state file');
      const s = (await (await fetch(`${second.admin}/api/status`)).json()) as ProxyStatus;
      expect(s.balancers[0]!.members.map((m) => [m.route, m.state, m.weight])).toEqual([
        ['a', 'active', 1],
        ['b', 'draining', 7],
      ]);
      expect((await fetch(`${second.admin.replace('/cohort-status', '')}/metrics`)).status).toBe(
        200,
      );
    } finally {
      await stop(second.child);
    }
  }, 60_000);
});
