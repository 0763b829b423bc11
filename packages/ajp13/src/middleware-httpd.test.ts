import { gunzipSync } from 'node:zlib';
import { startHttpd, startRedis, type HttpdHandle, type RedisHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import compression from 'compression';
import { RedisStore } from 'connect-redis';
import cookieSession from 'cookie-session';
import express from 'express';
import session from 'express-session';
import finalhandler from 'finalhandler';
import helmet from 'helmet';
import morgan from 'morgan';
import onHeaders from 'on-headers';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieHeader, httpCall } from '../test/http-call.js';
import { createAjpServer, expressListener, type AjpServer } from './index.js';

// The middleware people put in front of Express apps, behind the real httpd (mod_jk and
// mod_proxy_ajp) and the server adapter: each relies on a part of http.ServerResponse
// (_header, _implicitHeader, writeHead hooks, headersSent, 'drain', 'finish'/'close').

const peers = requirePeers(
  ['apache2', 'libapache2-mod-jk', 'redis-server'],
  'middleware behind httpd ↔ ajp13 server adapter',
);
const SECRET = 'middleware-secret';

describe.skipIf(peers.skip)('Express middleware behind httpd and the AJP server adapter', () => {
  const scope = usePeers();
  let server: AjpServer;
  let redis: RedisHandle;
  let redisClient: ReturnType<typeof createClient>;
  const log: string[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    redis = await scope.track(startRedis());
    redisClient = createClient({ url: redis.url });
    redisClient.on('error', () => undefined);
    await redisClient.connect();

    const app = express();
    app.use(
      morgan(':method :url :status :res[content-length] :response-time', {
        stream: { write: (line: string) => void log.push(line.trim()) },
      }),
    );
    app.use(helmet());

    const count = (req: express.Request, res: express.Response) => {
      const s = req.session as unknown as { n?: number };
      s.n = (s.n ?? 0) + 1;
      res.json({ n: s.n });
    };
    const secret = 'session-secret';
    const ms = express.Router();
    ms.use(session({ name: 'ms.sid', secret, resave: false, saveUninitialized: false }));
    ms.get('/count', count);
    // implicit headers from res.write(): express-session sets its cookie from an on-headers hook
    ms.get('/stream', (req, res) => {
      const s = req.session as unknown as { n?: number };
      s.n = (s.n ?? 0) + 1;
      res.write(`n=${s.n};`);
      res.end('end');
    });
    app.use('/ms', ms);
    const rs = express.Router();
    rs.use(
      session({
        name: 'rs.sid',
        secret,
        resave: false,
        saveUninitialized: false,
        store: new RedisStore({ client: redisClient, prefix: 'ajp:' }),
      }),
    );
    rs.get('/count', count);
    app.use('/rs', rs);
    const cs = express.Router();
    cs.use(cookieSession({ name: 'cs', keys: ['k1'] }));
    cs.get('/count', (req, res) => {
      const s = req.session as { n?: number };
      s.n = (s.n ?? 0) + 1;
      res.json({ n: s.n });
    });
    app.use('/cs', cs);

    const gz = express.Router();
    gz.use(compression({ threshold: 1 }));
    gz.get('/stream', (req, res) => {
      const total = Number(req.query.bytes);
      const line = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n'.repeat(100));
      let sent = 0;
      res.setHeader('Content-Type', 'text/plain');
      const pump = () => {
        while (sent < total) {
          const n = Math.min(line.length, total - sent);
          sent += n;
          if (!res.write(line.subarray(0, n))) return;
        }
        res.end();
      };
      // one 'drain' listener: compression hands 'drain' listeners to its zlib stream, where
      // res.once() could not remove them again (the same over node:http)
      res.on('drain', pump);
      pump();
    });
    gz.get('/json', (_req, res) => {
      res.json({ items: Array.from({ length: 500 }, (_, i) => ({ i, name: `item-${i}` })) });
    });
    app.use('/gz', gz);

    app.get('/hook', (req, res) => {
      onHeaders(res, function (this: express.Response) {
        this.setHeader('X-Hook', `status ${this.statusCode}`);
      });
      res.statusCode = 201;
      if (req.query.how === 'write') {
        res.write('a');
        res.end('b');
      } else if (req.query.how === 'flush') {
        res.flushHeaders();
        res.end('ab');
      } else res.end('ab');
    });
    app.get('/err-before', (_req, _res, next) => next(new Error('before')));
    app.get('/err-after', (_req, res, next) => {
      res.write('partial');
      setTimeout(() => next(new Error('after')), 10);
    });
    const router = express.Router();
    // finalhandler used directly (not through Express), after headers went out
    router.get('/fh', (req, res) => {
      res.setHeader('Content-Encoding', 'identity');
      res.write('x');
      finalhandler(req, res)(new Error('late'));
    });
    app.use(router);

    server = createAjpServer({ secret: SECRET }, expressListener(app));
    await server.listen();
  });

  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await server?.close();
    await redisClient?.quit();
  });

  describe.each(['jk', 'proxy_ajp'] as const)('through %s', (mode) => {
    const hscope = usePeers();
    let httpd: HttpdHandle;
    beforeAll(async () => {
      httpd = await hscope.track(
        startHttpd({
          mode,
          backends: [{ port: server.address().port, route: 'n1', secret: SECRET }],
        }),
      );
    });

    it('express-session with MemoryStore keeps a counter across requests (res.json and res.write)', async () => {
      let cookie = '';
      for (const n of [1, 2, 3]) {
        const r = await httpCall(`${httpd.url}/ms/count`, { headers: { Cookie: cookie } });
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body.toString())).toEqual({ n });
        cookie = cookieHeader(r, cookie);
        expect(cookie).toMatch(/ms\.sid=/);
      }
      const s = await httpCall(`${httpd.url}/ms/stream`, { headers: { Cookie: cookie } });
      expect([s.status, s.body.toString()]).toEqual([200, 'n=4;end']);
      const fresh = await httpCall(`${httpd.url}/ms/stream`);
      expect(fresh.body.toString()).toBe('n=1;end');
      expect(fresh.headers['set-cookie']?.[0]).toMatch(/^ms\.sid=/);
    });

    it('express-session with connect-redis on a real redis-server', async () => {
      let cookie = '';
      for (const n of [1, 2, 3]) {
        const r = await httpCall(`${httpd.url}/rs/count`, { headers: { Cookie: cookie } });
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body.toString())).toEqual({ n });
        cookie = cookieHeader(r, cookie);
      }
      const sid = /rs\.sid=s:([^.]+)\./.exec(decodeURIComponent(cookie))![1]!;
      const stored = JSON.parse((await redisClient.get(`ajp:${sid}`))!) as { n: number };
      expect(stored.n).toBe(3);
    });

    it('cookie-session', async () => {
      let cookie = '';
      for (const n of [1, 2]) {
        const r = await httpCall(`${httpd.url}/cs/count`, { headers: { Cookie: cookie } });
        expect(JSON.parse(r.body.toString())).toEqual({ n });
        cookie = cookieHeader(r, cookie);
        expect(cookie).toMatch(/cs=.*cs\.sig=/);
      }
    });

    it('compression: a 1 MB body written with backpressure, and res.json, gzip; identity without Accept-Encoding', async () => {
      const n = 1 << 20;
      const r = await httpCall(`${httpd.url}/gz/stream?bytes=${n}`, {
        headers: { 'Accept-Encoding': 'gzip' },
      });
      expect(r.headers['content-encoding']).toBe('gzip');
      expect(r.headers['vary']).toMatch(/Accept-Encoding/);
      const plain = gunzipSync(r.body);
      expect(plain.length).toBe(n);
      expect(r.body.length).toBeLessThan(n / 10);
      const j = await httpCall(`${httpd.url}/gz/json`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(j.headers['content-encoding']).toBe('gzip');
      expect(JSON.parse(gunzipSync(j.body).toString()).items).toHaveLength(500);
      const id = await httpCall(`${httpd.url}/gz/json`, {
        headers: { 'Accept-Encoding': 'identity' },
      });
      expect(id.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(id.body.toString()).items).toHaveLength(500);
    });

    it('helmet sets its headers and removes X-Powered-By', async () => {
      const r = await httpCall(`${httpd.url}/ms/count`);
      expect(r.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['strict-transport-security']).toMatch(/max-age=/);
      expect(r.headers['x-powered-by']).toBeUndefined();
    });

    it('on-headers hooks run for implicit headers (end, write) and flushHeaders', async () => {
      for (const how of ['end', 'write', 'flush']) {
        const r = await httpCall(`${httpd.url}/hook?how=${how}`);
        expect([r.status, r.headers['x-hook'], r.body.toString()]).toEqual([
          201,
          'status 201',
          'ab',
        ]);
      }
    });

    it('morgan logs the status, length and response time', async () => {
      log.length = 0;
      await httpCall(`${httpd.url}/hook?how=end`);
      await httpCall(`${httpd.url}/cs/count`);
      await new Promise((r) => setTimeout(r, 50));
      // as over node:http, res.end('ab') has no Content-Length header to log; res.json has one
      expect(log).toEqual([
        expect.stringMatching(/^GET \/hook\?how=end 201 - \d+\.\d{3}$/),
        expect.stringMatching(/^GET \/cs\/count 200 7 \d+\.\d{3}$/),
      ]);
    });

    it('finalhandler: 404 and 500 before the headers; an error after them cuts the response; the server keeps serving', async () => {
      const missing = await httpCall(`${httpd.url}/missing`);
      expect(missing.status).toBe(404);
      expect(missing.body.toString()).toMatch(/Cannot GET \/missing/);
      const before = await httpCall(`${httpd.url}/err-before`);
      expect(before.status).toBe(500);
      for (const path of ['/err-after', '/fh']) {
        // the response was cut: the client sees an error or a truncated body, never a 500 page
        const r = await httpCall(`${httpd.url}${path}`).catch((e: Error) => e);
        if (!(r instanceof Error)) expect(r.body.toString()).not.toMatch(/Internal Server Error/);
      }
      const again = await httpCall(`${httpd.url}/ms/count`);
      expect(again.status).toBe(200);
      expect(uncaught).toEqual([]);
    });
  });
});
