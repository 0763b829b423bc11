import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { makeRunDir, packageRoot, runRoot } from './paths.js';
import { isRunning, processStartTime, waitGone } from './pids.js';
import { freePort, isPortOpen, sleep } from './ports.js';
import { killLeftovers, RECORD_FILE, type PeerRecord } from './registry.js';
import { redisPing } from './redis.js';
import { isCi, requirePeers } from './require.js';

/** A PID that certainly belongs to no running process: a child that already exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

/** Starts redis-server directly (not through the library), as an interrupted run would leave it. */
async function orphanRedis(): Promise<{ pid: number; port: number; dir: string }> {
  const port = await freePort();
  const dir = makeRunDir('redis', 'orphan');
  const child = spawn(
    '/usr/bin/redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--dir', dir],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  for (let i = 0; i < 200 && !(await redisPing(port)); i++) await sleep(25);
  return { pid: child.pid!, port, dir };
}

function writeRecord(
  dir: string,
  r: Partial<PeerRecord> & Pick<PeerRecord, 'pid' | 'ownerPid'>,
): void {
  const record: PeerRecord = {
    kind: 'redis',
    label: 'orphan',
    startTime: processStartTime(r.pid),
    ownerStartTime: processStartTime(r.ownerPid),
    stopSignal: 'SIGTERM',
    ...r,
  };
  writeFileSync(join(dir, RECORD_FILE), JSON.stringify(record));
}

describe.skipIf(requirePeers(['redis-server'], 'registry').skip)('cleanup of leftovers', () => {
  it('stops a peer whose owner process is gone and removes its run directory', async () => {
    const o = await orphanRedis();
    writeRecord(o.dir, { pid: o.pid, ownerPid: deadPid() });
    expect(await killLeftovers()).toBeGreaterThanOrEqual(1);
    expect(await waitGone(o.pid, 2000)).toBe(true);
    expect(await isPortOpen(o.port)).toBe(false);
    expect(existsSync(o.dir)).toBe(false);
  });

  it('leaves peers of a live owner alone, unless asked for its own', async () => {
    const o = await orphanRedis();
    writeRecord(o.dir, { pid: o.pid, ownerPid: process.pid });
    await killLeftovers();
    expect(isRunning(o.pid)).toBe(true);
    await killLeftovers({ includeOwn: true });
    expect(isRunning(o.pid)).toBe(false);
  });

  it('never kills a process that merely reused a recorded PID', async () => {
    const o = await orphanRedis();
    // The record says the PID started at another time: it is not the peer that was recorded.
    writeRecord(o.dir, { pid: o.pid, ownerPid: deadPid(), startTime: '1' });
    await killLeftovers();
    expect(isRunning(o.pid)).toBe(true);
    process.kill(o.pid, 'SIGTERM');
    expect(await waitGone(o.pid, 5000)).toBe(true);
  });

  it('removes record-less run directories only once their creator is gone', async () => {
    const mine = makeRunDir('none', 'x');
    const orphan = join(runRoot(), `none-x-${deadPid()}-1-abcdef`);
    mkdirSync(join(orphan, 'sub'), { recursive: true });
    await killLeftovers();
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(orphan)).toBe(false);
    rmSync(mine, { recursive: true });
  });
});

const dist = join(packageRoot, 'dist', 'index.js');

// Needs the built package (Nx builds before testing); under CI a missing build fails instead.
describe.skipIf(requirePeers(['redis-server'], 'registry').skip || (!existsSync(dist) && !isCi()))(
  'a process that is told to stop',
  () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      it(`stops its peers on ${sig} before it exits`, async () => {
        const script = `import { startRedis } from ${JSON.stringify(dist)};
          const r = await startRedis(); console.log(JSON.stringify({ pid: r.pid, port: r.port }));
          setInterval(() => {}, 1000);`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const line = await new Promise<string>((resolve) =>
          child.stdout.once('data', (d: Buffer) => resolve(String(d))),
        );
        const peer = JSON.parse(line) as { pid: number; port: number };
        expect(isRunning(peer.pid)).toBe(true);
        const exited = new Promise<number | null>((resolve) =>
          child.once('exit', (code) => resolve(code)),
        );
        child.kill(sig);
        expect(await exited).toBe(sig === 'SIGINT' ? 130 : 143);
        expect(isRunning(peer.pid)).toBe(false);
        expect(await isPortOpen(peer.port)).toBe(false);
      });
    }
  },
);
