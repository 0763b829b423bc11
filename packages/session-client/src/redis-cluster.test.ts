import { randomBytes } from 'node:crypto';
import { startRedisCluster, type RedisClusterHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { createClient } from 'redis';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeBackend, newKey, newRequestId, sessionWith } from './backend.testkit.js';
import { RedisBackend } from './redis-backend.js';

const need = requirePeers(['redis-server'], 'RedisBackend on Redis Cluster');

describe.skipIf(need.skip)('RedisBackend on a 3-master Redis Cluster', () => {
  const peers = usePeers();
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await peers.track(startRedisCluster({ masters: 3 }));
  });
  const prefix = (): string => `t${randomBytes(4).toString('hex')}:`;
  const connect = (p = prefix()): Promise<RedisBackend> =>
    RedisBackend.connect(
      { cluster: cluster.urls.map((url) => ({ url })) },
      { prefix: p, idleGraceMs: 100 },
    );

  describeBackend('RedisBackend (cluster)', {
    make: () => connect(),
    expiry: { graceMs: 100, advance: (ms) => new Promise((r) => setTimeout(r, ms)) },
  });

  it('spreads sessions over every master, each session whole on one node; all() and length() scan every master', async () => {
    const b = await connect();
    try {
      const keys = Array.from({ length: 30 }, () => newKey());
      for (const k of keys)
        await b.create(sessionWith(k, { k, n: 1 }), { requestId: newRequestId() });
      const perNode: number[] = [];
      for (const url of cluster.urls) {
        const c = createClient({ url });
        await c.connect();
        try {
          const me = (await c.sendCommand(['CLUSTER', 'MYID'])) as string;
          const slots = (await c.sendCommand(['CLUSTER', 'SLOTS'])) as [
            number,
            number,
            [string, number, string],
          ][];
          const mine = slots.filter(([, , [, , id]]) => id === me);
          let n = 0;
          for (const k of keys) {
            const slot = await c.clusterKeySlot(b.hashKey(k));
            if (!mine.some(([lo, hi]) => slot >= lo && slot <= hi)) continue;
            // redis-cli (package redis-tools) comes with redis-server. The node that owns the slot holds the whole session: one hash, every field.
            expect(await c.exists(b.hashKey(k))).toBe(1);
            expect(await c.hLen(b.hashKey(k))).toBe(8);
            n++;
          }
          perNode.push(n);
        } finally {
          await c.close();
        }
      }
      expect(perNode.reduce((x, y) => x + y, 0)).toBe(30);
      expect(perNode.every((n) => n > 0)).toBe(true);
      expect(await b.length()).toBe(30);
      expect((await b.all()).map((s) => s.key).sort()).toEqual([...keys].sort());
      await b.touch(keys.map((key) => ({ key, at: Date.now() + 5000 }))); // one batch, three nodes
      await b.clear();
      expect(await b.length()).toBe(0);
    } finally {
      await b.close();
    }
  });
});
