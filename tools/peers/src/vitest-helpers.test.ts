import { describe, expect, it } from 'vitest';

import setup from './global-setup.js';
import { isRunning } from './pids.js';
import { isPortOpen } from './ports.js';
import { startRedis } from './redis.js';
import { requirePeers } from './require.js';
import { usePeers } from './vitest.js';

const need = requirePeers(['redis-server'], 'vitest helpers');
let tracked = { pid: 0, port: 0 };

describe.skipIf(need.skip)('usePeers', () => {
  const peers = usePeers();
  it('tracks a peer for this suite', async () => {
    const r = await peers.track(startRedis());
    tracked = { pid: r.pid, port: r.port };
    expect(peers.size).toBe(1);
    expect(r.running).toBe(true);
  });
});

describe.skipIf(need.skip)('after the suite that used usePeers', () => {
  it('its afterAll stopped the peer', async () => {
    expect(tracked.pid).toBeGreaterThan(0);
    expect(isRunning(tracked.pid)).toBe(false);
    expect(await isPortOpen(tracked.port)).toBe(false);
  });
});

describe.skipIf(need.skip)('the globalSetup module', () => {
  it("stops at teardown what this run's processes left running", async () => {
    const teardown = await setup();
    const r = await startRedis(); // deliberately never stopped by the test
    expect(r.running).toBe(true);
    await teardown();
    expect(isRunning(r.pid)).toBe(false);
    expect(await isPortOpen(r.port)).toBe(false);
  });
});
