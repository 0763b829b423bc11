import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildPackage, packageDir } from './test/build.js';
import { deadPort, routeEcho, startMember, type TestMember } from './test/harness.js';

const cli = join(packageDir, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'cohort-proxy-cli-'));
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
  await a.close();
  await b.close();
});

function yaml(port: number, member: TestMember, route: string, extra = ''): string {
  return `listen: 127.0.0.1:${port}\n${extra}log: { level: info }\nbalancers:\n  - name: app\n    members:\n      - url: ${member.url}\n        route: ${route}\n`;
}

async function waitFor(out: () => string, text: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!out().includes(text)) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${JSON.stringify(text)}; output: ${out()}`);
    await sleep(25);
  }
}

function start(file: string): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [cli, '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return { child, out: () => text };
}

async function routeAt(port: number): Promise<string> {
  const r = await request(`http://127.0.0.1:${port}/`);
  return ((await r.body.json()) as { route: string }).route;
}

describe('cohort-proxy bin', () => {
  it('--help describes the options and signals', () => {
    const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--config');
    expect(r.stdout).toContain('--check');
    expect(r.stdout).toContain('SIGHUP');
  });

  it('--check accepts a valid file and refuses an invalid one naming the key', () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, yaml(8000, a, 'a'));
    const ok = spawnSync(process.execPath, [cli, '--check', '-c', good], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('OK');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'balancers:\n  - name: app\n    members:\n      - url: http://x:1\n        loadfactor: heavy\n',
    );
    const r = spawnSync(process.execPath, [cli, '--check', '-c', bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('balancers[0].members[0].weight');
  });

  it('--check shows default ports, prints the warnings, and places a YAML error by line', () => {
    const file = join(dir, 'warn.yaml');
    writeFileSync(
      file,
      'balancers:\n  - name: app\n    members:\n      - url: ajp://127.0.0.1\n      - url: http://127.0.0.1\n        route: b\n      - url: ajp://[::1]:8010\n        route: c\n        secret: s\n',
    );
    const r = spawnSync(process.execPath, [cli, '--check', '-c', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('m1=ajp://127.0.0.1:8009 (default ajp port)[active]');
    expect(r.stdout).toContain('b=http://127.0.0.1:80 (default http port)[active]');
    expect(r.stdout).toContain('c=ajp://[::1]:8010[active]');
    expect(r.stdout).toContain('2 warnings:');
    expect(r.stdout).toContain('  balancers[0].members: a member has no route');
    expect(r.stdout).toContain('  balancers[0].members[0].secret: ajp:// member without a secret');
    const syntax = join(dir, 'syntax.yaml');
    writeFileSync(syntax, 'balancers:\n  - name: app\n    members:\n\t- url: http://x:1\n');
    const bad = spawnSync(process.execPath, [cli, '--check', '-c', syntax], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('line 4, column 1: Tabs are not allowed');
    expect(bad.stderr).not.toContain('(top level)');
  });

  it('logs the warnings of the configuration at start', async () => {
    const port = await deadPort();
    const file = join(dir, 'warn-run.yaml');
    writeFileSync(
      file,
      `listen: 127.0.0.1:${port}\nbalancers:\n  - name: app\n    members:\n      - url: ${a.url}\n`,
    );
    const { child, out } = start(file);
    await waitFor(out, 'cohort-proxy listening');
    expect(out()).toMatch(/"path":"balancers\[0\]\.members"[^\n]*a member has no route/);
    expect(await routeAt(port)).toBe('a');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }, 90_000);

  it('serves, reloads on SIGHUP (a bad file is refused), and drains on SIGTERM', async () => {
    const port = await deadPort();
    const file = join(dir, 'run.yaml');
    writeFileSync(file, yaml(port, a, 'a'));
    const { child, out } = start(file);
    await waitFor(out, 'cohort-proxy listening');
    expect(await routeAt(port)).toBe('a');
    writeFileSync(file, 'balancers: nope\n');
    child.kill('SIGHUP');
    await waitFor(out, 'reload refused');
    expect(await routeAt(port)).toBe('a');
    writeFileSync(file, yaml(port, b, 'b'));
    child.kill('SIGHUP');
    await waitFor(out, 'configuration reloaded');
    expect(await routeAt(port)).toBe('b');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
    expect(out()).toContain('stopped');
  }, 90_000);

  it('workers: 2 runs two processes on one listen socket', async () => {
    const port = await deadPort();
    const file = join(dir, 'workers.yaml');
    writeFileSync(file, yaml(port, a, 'a', 'workers: 2\n'));
    const { child, out } = start(file);
    await waitFor(out, '"worker":2');
    await waitFor(out, '"worker":1');
    const pids = new Set(
      [...out().matchAll(/"pid":(\d+)[^\n]*cohort-proxy listening/g)].map((m) => m[1]),
    );
    expect(pids.size).toBe(2);
    for (let i = 0; i < 4; i++) expect(await routeAt(port)).toBe('a');
    // Clients that reset mid-body (the crash of #11 item 1 killed both workers at once) end
    // only their own requests: no worker exits and everyone else is served.
    for (let i = 0; i < 20; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      await once(s, 'connect');
      s.write(
        i % 2 === 0
          ? 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc'
          : 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n',
      );
      await sleep(20);
      s.resetAndDestroy();
    }
    await sleep(300);
    for (let i = 0; i < 4; i++) expect(await routeAt(port)).toBe('a');
    expect(out()).not.toContain('worker exited');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
  }, 90_000);
});
