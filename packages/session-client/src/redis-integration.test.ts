import { randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import { startRedis, type RedisHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { readAttribute } from '@cohort/session-codec';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CohortStore } from './express-store.js';
import { get, serve, type TestServer } from './http.testkit.js';
import {
  cohortSession,
  type CohortSessionMiddleware,
  type CohortSessionRequest,
} from './middleware.js';
import { RedisBackend } from './redis-backend.js';

const need = requirePeers(['redis-server'], 'session-client on redis-server');

describe.skipIf(need.skip)('two Express instances sharing redis-server', () => {
  const peers = usePeers();
  let redis: RedisHandle;
  const open: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    redis = await peers.track(startRedis());
  });
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  /** One app instance: its own Redis connection, as separate processes would have. */
  async function instance(route: string, prefix: string, delayMs: number): Promise<TestServer> {
    const backend = await RedisBackend.connect({ url: redis.url }, { prefix });
    open.push(backend);
    const mw: CohortSessionMiddleware = cohortSession({ backend, route });
    open.push(mw);
    const app = express();
    app.use(mw);
    app.get('/set', async (req, res) => {
      const s = (req as unknown as CohortSessionRequest).session;
      // Read everything first, as a page would, then think, then change one attribute.
      const before = `${String(s.a)},${String(s.b)}`;
      await new Promise((r) => setTimeout(r, delayMs));
      for (const [k, v] of Object.entries(req.query)) s[k] = v;
      res.send(before);
    });
    app.get('/read', (req, res) => {
      const s = (req as unknown as CohortSessionRequest).session;
      res.send(`a=${String(s.a)} b=${String(s.b)}`);
    });
    const server = await serve(app);
    open.push(server);
    return server;
  }

  it('cohortSession(): concurrent requests of one session on two instances change different attributes; both survive', async () => {
    const prefix = `i${randomBytes(4).toString('hex')}:`;
    const a = await instance('a', prefix, 40);
    const b = await instance('b', prefix, 10);
    const first = await get(`${a.url}/set?a=0&b=0`);
    const cookie = { cookie: first.cookie! };
    for (let round = 1; round <= 5; round++) {
      const [ra, rb] = await Promise.all([
        get(`${a.url}/set?a=${round}`, cookie),
        get(`${b.url}/set?b=${round}`, cookie),
      ]);
      // Both read the same state and both wrote after the other had read: a whole-session
      // store would keep only the later write.
      expect(ra.body).toBe(rb.body);
      const check = await RedisBackend.connect({ url: redis.url }, { prefix });
      try {
        const key = first.cookie!.split('=')[1]!.split('.')[0]!;
        const s = (await check.load(key))!;
        expect([readAttribute(s, 'a'), readAttribute(s, 'b')]).toEqual([
          String(round),
          String(round),
        ]);
      } finally {
        await check.close();
      }
      // b re-pinned the session; the browser keeps b's cookie from now on.
      if (rb.cookie) cookie.cookie = rb.cookie;
    }
    expect((await get(`${b.url}/read`, cookie)).body).toBe('a=5 b=5');
  });

  it('CohortStore under express-session: the same race, both attributes survive', async () => {
    const prefix = `e${randomBytes(4).toString('hex')}:`;
    const make = async (delayMs: number): Promise<TestServer> => {
      const backend = await RedisBackend.connect({ url: redis.url }, { prefix });
      open.push(backend);
      const app = express();
      app.use(
        session({
          store: new CohortStore({ backend }),
          secret: 's',
          resave: false,
          saveUninitialized: false,
        }),
      );
      app.get('/set', async (req, res) => {
        const s = req.session as unknown as Record<string, unknown>;
        await new Promise((r) => setTimeout(r, delayMs));
        for (const [k, v] of Object.entries(req.query)) s[k] = v;
        res.send('ok');
      });
      app.get('/read', (req, res) => {
        const s = req.session as unknown as Record<string, unknown>;
        res.send(`a=${String(s.a)} b=${String(s.b)}`);
      });
      const server = await serve(app);
      open.push(server);
      return server;
    };
    const a = await make(40);
    const b = await make(10);
    const first = await get(`${a.url}/set?a=0&b=0`);
    const cookie = { cookie: first.cookie! };
    await Promise.all([get(`${a.url}/set?a=1`, cookie), get(`${b.url}/set?b=1`, cookie)]);
    expect((await get(`${b.url}/read`, cookie)).body).toBe('a=1 b=1');
  });
});
