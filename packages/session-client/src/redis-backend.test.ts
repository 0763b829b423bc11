import { randomBytes } from 'node:crypto';
import { startRedis, type RedisHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { createDelta } from '@cohort/session-codec';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeBackend, newKey, newRequestId, sessionWith } from './backend.testkit.js';
import { SessionBackendError } from './errors.js';
import { RedisBackend } from './redis-backend.js';

const need = requirePeers(['redis-server'], 'RedisBackend');

describe.skipIf(need.skip)('RedisBackend on redis-server', () => {
  const peers = usePeers();
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await peers.track(startRedis());
  });
  const prefix = (): string => `t${randomBytes(4).toString('hex')}:`;

  describeBackend('RedisBackend', {
    make: () => RedisBackend.connect({ url: redis.url }, { prefix: prefix(), idleGraceMs: 100 }),
    expiry: {
      graceMs: 100,
      advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    },
  });

  it('keeps one hash per session: a field per attribute, HSET/HDEL of the changed ones only', async () => {
    const p = prefix();
    const b = await RedisBackend.connect({ url: redis.url }, { prefix: p });
    const raw = await RedisBackend.connect({ url: redis.url });
    try {
      const key = newKey();
      const s = sessionWith(key, { a: 'x'.repeat(100), b: 2, c: 3 });
      await b.create(s, { requestId: newRequestId() });
      const hk = b.hashKey(key);
      expect(hk).toBe(`${p}{${key}}`);
      const { createClient } = await import('redis');
      const c = createClient({ url: redis.url });
      await c.connect();
      try {
        expect((await c.hKeys(hk)).sort()).toEqual([
          '@a',
          '@b',
          '@c',
          'a',
          'c',
          'n',
          'q',
          't',
          'v',
        ]);
        const ttl = await c.pTTL(hk);
        expect(ttl).toBeGreaterThan(1800_000);
        expect(ttl).toBeLessThanOrEqual(1800_000 + 60_000);
        await c.sendCommand(['CONFIG', 'RESETSTAT']);
        await b.apply(
          key,
          createDelta(key, s.version, [
            { op: 'set', name: 'b', value: Uint8Array.of(0x18, 0x0a) },
            { op: 'remove', name: 'c' },
          ]),
          { requestId: newRequestId() },
        );
        const info = await c.info('commandstats');
        expect(info).toMatch(/cmdstat_hset:calls=2,/); // @b and q
        expect(info).toMatch(/cmdstat_hdel:calls=1,/); // @c
        expect((await c.hKeys(hk)).sort()).toEqual(['@a', '@b', 'a', 'c', 'n', 'q', 't', 'v']);
      } finally {
        await c.close();
      }
    } finally {
      await b.close();
      await raw.close();
    }
  });

  it('sends a batch of touches in one round trip (pipelined)', async () => {
    const b = await RedisBackend.connect({ url: redis.url }, { prefix: prefix() });
    try {
      const keys = Array.from({ length: 50 }, () => newKey());
      for (const k of keys) await b.create(sessionWith(k, { k }), { requestId: newRequestId() });
      const at = Date.now() + 1000;
      await b.touch(keys.map((key) => ({ key, at })));
      for (const k of keys) expect((await b.load(k))!.lastAccessedAt).toBe(at);
    } finally {
      await b.close();
    }
  });

  it('a stopped server gives UNAVAILABLE at once, not a hang', async () => {
    const own = await startRedis();
    const b = await RedisBackend.connect({ url: own.url }, { prefix: prefix() });
    try {
      await own.stop();
      const t0 = Date.now();
      const err = await b.load(newKey()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionBackendError);
      expect(['UNAVAILABLE', 'TIMEOUT']).toContain((err as SessionBackendError).code);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await b.close();
    }
  });

  it('a server that does not answer in commandTimeoutMs gives TIMEOUT', async () => {
    const b = await RedisBackend.connect(
      { url: redis.url },
      { prefix: prefix(), commandTimeoutMs: 200 },
    );
    const { createClient } = await import('redis');
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      const t0 = Date.now();
      const err = await b.load(newKey()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionBackendError);
      expect((err as SessionBackendError).code).toBe('TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(1200);
    } finally {
      await new Promise((r) => setTimeout(r, 1500));
      await admin.close();
      await b.close();
    }
  });

  it('connect to a closed port is UNAVAILABLE', async () => {
    const err = await RedisBackend.connect({
      url: 'redis://127.0.0.1:1',
      client: { socket: { reconnectStrategy: false } },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionBackendError);
    expect((err as SessionBackendError).code).toBe('UNAVAILABLE');
  });
});
