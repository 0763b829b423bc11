import { createServer, type AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { startMemcached } from './memcached.js';
import { isRunning } from './pids.js';
import { isPortOpen } from './ports.js';
import { startRedis } from './redis.js';
import { requirePeers } from './require.js';
import { withPeer } from './scope.js';
import { tcpExchange } from './tcp.js';

describe.skipIf(requirePeers(['redis-server'], 'redis').skip)('redis', () => {
  it('answers PONG, stores a value, survives kill + restart, and stops', async () => {
    const r = await startRedis();
    try {
      expect(await tcpExchange(r.port, 'PING\r\n', (s) => s.endsWith('\r\n'))).toBe('+PONG\r\n');
      const answer = await tcpExchange(r.port, 'SET k hello\r\nGET k\r\n', (s) =>
        s.endsWith('hello\r\n'),
      );
      expect(answer).toBe('+OK\r\n$5\r\nhello\r\n');
      // A crash and a restart on the same port, from the same directory.
      const before = r.pid;
      await r.kill();
      expect(r.running).toBe(false);
      expect(await isPortOpen(r.port)).toBe(false);
      await r.restart();
      expect(r.pid).not.toBe(before);
      expect(r.running).toBe(true);
      expect(await tcpExchange(r.port, 'PING\r\n', (s) => s.endsWith('\r\n'))).toBe('+PONG\r\n');
    } finally {
      await r.stop();
    }
    expect(isRunning(r.pid)).toBe(false);
    await expect(r.restart()).rejects.toMatchObject({ code: 'BAD_OPTION' });
    expect(await isPortOpen(r.port)).toBe(false);
  });
});

describe.skipIf(requirePeers(['redis-server'], 'redis').skip)(
  'a port someone else listens on',
  () => {
    it('is PORT_IN_USE, not mistaken for the peer being ready', async () => {
      const other = createServer();
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      const port = (other.address() as AddressInfo).port;
      try {
        await expect(startRedis({ port })).rejects.toMatchObject({ code: 'PORT_IN_USE' });
      } finally {
        other.close();
      }
    });
  },
);

describe.skipIf(requirePeers(['memcached'], 'memcached').skip)('memcached', () => {
  it('answers STORED and the value, and stops', async () => {
    let pid = 0;
    let port = 0;
    await withPeer(startMemcached(), async (m) => {
      ({ pid, port } = m);
      const answer = await tcpExchange(m.port, 'set k 0 0 5\r\nhello\r\nget k\r\n', (s) =>
        s.endsWith('END\r\n'),
      );
      expect(answer).toBe('STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n');
    });
    expect(isRunning(pid)).toBe(false);
    expect(await isPortOpen(port)).toBe(false);
  });

  it('rejects a bad size', async () => {
    await expect(startMemcached({ memoryMb: 0 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});
