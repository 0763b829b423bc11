// The README's Express example, run as written (Redis on a free port instead of 6379).
import express from 'express';
import { startRedis } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { describe, expect, it } from 'vitest';
import { get, serve } from './http.testkit.js';
import { cohortSession, sessionOf, type CohortSessionRequest } from './middleware.js';
import { RedisBackend } from './redis-backend.js';

const need = requirePeers(['redis-server'], 'README example');

describe.skipIf(need.skip)('README example', () => {
  const peers = usePeers();

  it('counts visits, logs in with a new key, logs out', async () => {
    const redis = await peers.track(startRedis());
    const backend = await RedisBackend.connect({ url: redis.url });
    const mw = cohortSession({
      backend,
      route: 'app1',
      cookie: { maxAge: 30 * 60_000, secure: true },
    });
    const app = express();
    app.use(mw);
    app.get('/', (req, res) => {
      const session = (req as unknown as CohortSessionRequest).session;
      session.visits = ((session.visits as number | undefined) ?? 0) + 1;
      res.send(`visits: ${String(session.visits)}`);
    });
    app.post('/login', (req, res) => {
      const s = sessionOf(req);
      s.regenerate();
      s.set('user', 'ann');
      s.setPrincipal({ name: 'ann', authType: 'FORM' });
      res.redirect('/');
    });
    app.post('/logout', (req, res) => {
      sessionOf(req).destroy();
      res.redirect('/');
    });
    const server = await serve(app);
    try {
      const one = await get(`${server.url}/`);
      expect(one.body).toBe('visits: 1');
      expect(one.setCookies[0]).toMatch(/; Max-Age=1800; HttpOnly; Secure; SameSite=Lax$/);
      const c = { cookie: one.cookie! };
      expect((await get(`${server.url}/`, c)).body).toBe('visits: 2');
      const login = await get(`${server.url}/login`, c, 'POST');
      expect(login.status).toBe(302);
      expect(login.cookie).not.toBe(one.cookie);
      const c2 = { cookie: login.cookie! };
      expect((await get(`${server.url}/`, c2)).body).toBe('visits: 3');
      expect((await get(`${server.url}/`, c)).body).toBe('visits: 1'); // the old key is gone
      const out = await get(`${server.url}/logout`, c2, 'POST');
      expect(out.setCookies[0]).toMatch(/Max-Age=0/);
    } finally {
      await server.close();
      await mw.close();
      await backend.close();
    }
  });
});
