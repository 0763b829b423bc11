import { randomBytes } from 'node:crypto';
import { startRedisCluster, type RedisClusterHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { createClient } from 'redis';
import { readAttribute } from '@cohort/session-codec';
import { beforeAll, describe, expect, it } from 'vitest';
import { deltaOf, describeBackend, newKey, newRequestId, sessionWith } from './backend.testkit.js';
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

describe.skipIf(need.skip)('RedisBackend on a 3 x 2 Redis Cluster, a master SIGKILLed', () => {
  const peers = usePeers();

  it('with replicaAcks 1: every session served again after the failover, no acknowledged write lost', async () => {
    const cluster = await peers.track(
      startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 }),
    );
    const b = await RedisBackend.connect(
      { cluster: cluster.urls.map((url) => ({ url })) },
      { prefix: 'f:', commandTimeoutMs: 1000, replicaAcks: 1 },
    );
    try {
      const keys = Array.from({ length: 30 }, () => newKey());
      for (const k of keys) {
        await b.create(sessionWith(k, { n: 1 }), { requestId: newRequestId() });
        // acknowledged only once the replica has it (replicaAcks: 1 → WAIT 1)
        await b.apply(k, deltaOf(k, { n: 2 }), { requestId: newRequestId() });
      }
      // Kill the master of the first key's slot.
      const probe = createClient({ url: cluster.urls[0]! });
      await probe.connect();
      const slotByKey = new Map<string, number>();
      for (const k of keys) slotByKey.set(k, await probe.clusterKeySlot(b.hashKey(k)));
      const slotOf = (k: string): number => slotByKey.get(k)!;
      const slots = (await probe.sendCommand(['CLUSTER', 'SLOTS'])) as [
        number,
        number,
        [string, number],
      ][];
      await probe.close();
      const [lo, hi, [, port]] = slots.find(
        ([l, h]) => slotOf(keys[0]!) >= l && slotOf(keys[0]!) <= h,
      )!;
      const victim = cluster.nodes.find((n) => n.port === port)!;
      await victim.kill();
      // Every session is readable again after the failover (within 15 s), with its value.
      const deadline = Date.now() + 15_000;
      const seen = new Set<string>();
      while (seen.size < keys.length) {
        for (const k of keys) {
          if (seen.has(k)) continue;
          const s = await b.load(k).catch(() => undefined);
          if (s !== undefined) {
            expect(s).not.toBeNull();
            expect(readAttribute(s!, 'n')).toBe(2); // no acknowledged write lost
            seen.add(k);
          }
        }
        if (Date.now() > deadline) break;
        if (seen.size < keys.length) await new Promise((r) => setTimeout(r, 200));
      }
      expect(seen.size).toBe(keys.length);
      // Writable again; but the promoted master has no replica left, so a write that asks for
      // one is not acknowledged (TIMEOUT), while level 'owner' is.
      const lone = keys.find((k) => slotOf(k) >= lo && slotOf(k) <= hi)!;
      for (const k of keys) {
        await b.apply(k, deltaOf(k, { n: 3 }), { requestId: newRequestId(), level: 'owner' });
      }
      await expect(
        b.apply(lone, deltaOf(lone, { n: 4 }), { requestId: newRequestId() }),
      ).rejects.toMatchObject({ code: 'TIMEOUT' });
    } finally {
      await b.close();
    }
  });
});
