import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { packageRoot } from './paths.js';
import { isRunning, waitGone } from './pids.js';
import { isPortOpen } from './ports.js';
import { redisPing } from './redis.js';
import { isCi, requirePeers } from './require.js';

const cli = join(packageRoot, 'dist', 'cli.js');
// A private run root, so `stop-all` here cannot touch peers of other test runs.
// mkdtemp makes it 0700; opened up so that, as root, runRoot keeps it rather than moving it.
const runDir = mkdtempSync(join(tmpdir(), 'cohort-peers-cli-'));
chmodSync(runDir, 0o755);
const env = { ...process.env, COHORT_PEERS_RUN_DIR: runDir };
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

function startCli(
  args: string[],
): Promise<{ child: ReturnType<typeof spawn>; peer: { pid: number; port: number } }> {
  const child = spawn(process.execPath, [cli, 'start', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, peer: JSON.parse(line) as { pid: number; port: number } });
    });
    child.once('exit', (code) => reject(new Error(`cli exited ${code}: ${out}`)));
  });
}

// Needs the built CLI (Nx builds before testing); under CI a missing build fails instead.
describe.skipIf(!existsSync(cli) && !isCi())('cohort-peers CLI', () => {
  it('prints usage and the peer package versions', () => {
    const help = spawnSync(process.execPath, [cli, 'help'], { encoding: 'utf8', env });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('cohort-peers start <peer>');
    const versions = spawnSync(process.execPath, [cli, 'versions'], { encoding: 'utf8', env });
    expect(versions.status).toBe(0);
    expect(versions.stdout).toMatch(/^tomcat10 +\S+/m);
  });

  it('rejects unknown commands and bad options with exit code 2', () => {
    const r = spawnSync(process.execPath, [cli, 'start', 'redis', '--port', '99999'], {
      encoding: 'utf8',
      env,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--port '99999' is not a port");
    expect(spawnSync(process.execPath, [cli, 'frobnicate'], { env }).status).toBe(2);
    const unknown = spawnSync(process.execPath, [cli, 'start', 'redis', '--bogus'], {
      encoding: 'utf8',
      env,
    });
    expect([unknown.status, unknown.stderr]).toEqual([
      2,
      "cohort-peers: Unknown option '--bogus'\n",
    ]);
  });

  it.skipIf(requirePeers(['redis-server'], 'cli').skip)(
    'start runs a peer until Ctrl-C',
    async () => {
      const { child, peer } = await startCli(['redis']);
      expect(await redisPing(peer.port)).toBe(true);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
      expect(isRunning(peer.pid)).toBe(false);
      expect(await isPortOpen(peer.port)).toBe(false);
    },
  );

  it.skipIf(requirePeers(['memcached'], 'cli').skip)(
    'stop-all stops recorded peers; start then exits',
    async () => {
      const { child, peer } = await startCli(['memcached']);
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      const r = spawnSync(process.execPath, [cli, 'stop-all'], { encoding: 'utf8', env });
      expect(r.stdout).toContain('stopped 1 peer(s)');
      expect(await waitGone(peer.pid, 5000)).toBe(true);
      expect(await exited).toBe(1);
      expect(readdirSync(runDir)).toEqual([]);
    },
  );
});
