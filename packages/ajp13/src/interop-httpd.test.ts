import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { startHttpd, type HttpdHandle } from '@cohort/peers';
import { requirePeers, usePeers } from '@cohort/peers/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex } from '../test/hex.js';
import express from 'express';
import {
  createAjpServer,
  expressListener,
  type AjpRequestListener,
  type AjpServer,
} from './index.js';

// The server adapter behind the real Apache httpd: mod_proxy_ajp and mod_jk, each plain and as a
// sticky balancer, with the same request matrix. Under CI=true a missing httpd fails this file.

const peers = requirePeers(
  ['apache2', 'libapache2-mod-jk'],
  'ajp13 server adapter ↔ httpd interop',
);
const SECRET = 'interop-secret-1';

interface Reply {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  firstDataAt: number;
  endAt: number;
}

function call(
  url: string,
  o: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    chunks?: Buffer[];
    slowReader?: boolean;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const req = httpRequest(
      url,
      { method: o.method ?? 'GET', headers: o.headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        let firstDataAt = -1;
        res.on('data', (c: Buffer) => {
          if (firstDataAt < 0) firstDataAt = Date.now() - t0;
          parts.push(c);
          if (o.slowReader && parts.length % 200 === 0) {
            res.pause();
            setTimeout(() => res.resume(), 30);
          }
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? '',
            headers: res.headers,
            body: Buffer.concat(parts),
            firstDataAt,
            endAt: Date.now() - t0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.chunks) {
      let i = 0;
      const next = () => {
        if (i === o.chunks!.length) return req.end();
        req.write(o.chunks![i++]);
        setTimeout(next, 2);
      };
      next();
    } else req.end(o.body);
  });
}

/** The app behind httpd: a small router over the Node-like request/response. */
const app: AjpRequestListener = (req, res) => {
  const url = new URL(req.url, 'http://x');
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  req.on('end', () => {
    switch (url.pathname) {
      case '/echo':
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.headers,
            remoteAddress: req.socket.remoteAddress,
            remotePort: req.socket.remotePort,
            secure: req.secure,
            bytes,
            sha256: hash.digest('hex'),
            contentLength: req.ajp.contentLength,
          }),
        );
        return;
      case '/status': {
        const code = Number(url.searchParams.get('code'));
        res.writeHead(code, { 'Content-Length': '7' });
        res.end('ignored');
        return;
      }
      case '/big': {
        const total = Number(url.searchParams.get('bytes'));
        let sent = 0;
        const block = Buffer.alloc(50_000);
        for (let i = 0; i < block.length; i++) block[i] = 65 + (i % 26);
        res.setHeader('Content-Type', 'application/octet-stream');
        const pump = () => {
          while (sent < total) {
            const n = Math.min(block.length, total - sent);
            sent += n;
            if (!res.write(block.subarray(0, n))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      case '/headers':
        for (let i = 0; i < 80; i++) res.setHeader(`X-Many-${i}`, `value-${i}`);
        res.setHeader('Set-Cookie', ['a=1; Path=/', 'JSESSIONID=ABCDEF.node1; Path=/; HttpOnly']);
        res.end('ok');
        return;
      case '/flush':
        res.setHeader('Content-Type', 'text/plain');
        res.write('first;');
        res.flush();
        setTimeout(() => res.end('second'), 1000);
        return;
      default:
        res.statusCode = 404;
        res.end('no route');
    }
  });
};

const modes = [
  { mode: 'proxy_ajp', balancer: false },
  { mode: 'proxy_ajp', balancer: true },
  { mode: 'jk', balancer: false },
  { mode: 'jk', balancer: true },
] as const;

describe.skipIf(peers.skip)('createAjpServer behind Apache httpd', () => {
  let server: AjpServer;
  let raw: Buffer[] = [];
  beforeAll(async () => {
    server = createAjpServer({ secret: SECRET }, app);
    server.server.prependListener('connection', (s) => s.on('data', (d: Buffer) => raw.push(d)));
    await server.listen();
  });
  afterAll(() => server.close());

  describe.each(modes)('$mode, balancer=$balancer', ({ mode, balancer }) => {
    const scope = usePeers();
    let httpd: HttpdHandle;
    beforeAll(async () => {
      httpd = await scope.track(
        startHttpd({
          mode,
          balancer,
          backends: [{ port: server.address().port, route: 'node1', secret: SECRET }],
        }),
      );
    });

    it('GET with a query string: the app sees method, URL, headers, client address; httpd shows a real reason phrase', async () => {
      const r = await call(`${httpd.url}/echo?a=1&b=two`, {
        headers: { 'X-Test': 'yes', Cookie: 'k=v' },
      });
      expect(r.status).toBe(200);
      expect(r.statusMessage).toBe('OK');
      const j = JSON.parse(r.body.toString());
      expect(j).toMatchObject({
        method: 'GET',
        url: '/echo?a=1&b=two',
        remoteAddress: '127.0.0.1',
        secure: false,
        bytes: 0,
      });
      expect(j.headers).toMatchObject({ 'x-test': 'yes', cookie: 'k=v' });
      expect(j.remotePort).toBeGreaterThan(0);
    });

    it('HEAD, 204 and 304 have no body', async () => {
      const head = await call(`${httpd.url}/echo`, { method: 'HEAD' });
      expect([head.status, head.body.length]).toEqual([200, 0]);
      for (const code of [204, 304]) {
        const r = await call(`${httpd.url}/status?code=${code}`);
        expect([r.status, r.body.length]).toEqual([code, 0]);
      }
    });

    it('a 1 MB upload with Content-Length', async () => {
      const body = Buffer.alloc(1 << 20);
      for (let i = 0; i < body.length; i++) body[i] = (i * 13) & 0xff;
      const r = await call(`${httpd.url}/echo`, {
        method: 'POST',
        body,
        headers: { 'Content-Length': String(body.length) },
      });
      const j = JSON.parse(r.body.toString());
      expect(j).toMatchObject({
        bytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        contentLength: body.length,
      });
    });

    it('a chunked upload of unknown length, ended with the module’s own end-of-body packet', async () => {
      raw = [];
      const chunks = Array.from({ length: 30 }, (_, i) => Buffer.alloc(3000 + i * 100, i));
      const all = Buffer.concat(chunks);
      const r = await call(`${httpd.url}/echo`, { method: 'PUT', chunks });
      const j = JSON.parse(r.body.toString());
      expect(j).toMatchObject({
        bytes: all.length,
        sha256: createHash('sha256').update(all).digest('hex'),
        contentLength: null,
      });
      const seen = Buffer.concat(raw);
      // mod_jk ends with a zero-length payload, mod_proxy_ajp with a payload holding length 0
      expect(seen.includes(mode === 'jk' ? hex('12 34 00 00') : hex('12 34 00 02 00 00'))).toBe(
        true,
      );
    });

    it('a 10 MB response streamed to a slow reader', async () => {
      const n = 10 * 1024 * 1024;
      const r = await call(`${httpd.url}/big?bytes=${n}`, { slowReader: true });
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(n);
      expect(r.body[n - 1]).toBe(65 + (((n - 1) % 50_000) % 26));
    }, 60_000);

    it('80 response headers and two Set-Cookie', async () => {
      const r = await call(`${httpd.url}/headers`);
      expect(r.headers['x-many-79']).toBe('value-79');
      expect(r.headers['set-cookie']).toEqual([
        'a=1; Path=/',
        'JSESSIONID=ABCDEF.node1; Path=/; HttpOnly',
      ]);
      expect(r.body.toString()).toBe('ok');
    });

    it('PATCH with a body (stored method)', async () => {
      const r = await call(`${httpd.url}/echo`, {
        method: 'PATCH',
        body: Buffer.from('{"x":1}'),
        headers: { 'Content-Type': 'application/json' },
      });
      expect(JSON.parse(r.body.toString())).toMatchObject({ method: 'PATCH', bytes: 7 });
    });

    it('an explicit flush reaches the client before the response ends', async () => {
      const r = await call(`${httpd.url}/flush`);
      expect(r.body.toString()).toBe('first;second');
      expect(r.endAt - r.firstDataAt).toBeGreaterThanOrEqual(500);
    });
  });

  describe.each(['proxy_ajp', 'jk'] as const)('%s with a wrong secret', (mode) => {
    const scope = usePeers();
    it('gets 403 from the adapter', async () => {
      const httpd = await scope.track(
        startHttpd({
          mode,
          backends: [{ port: server.address().port, route: 'node1', secret: 'not-the-secret' }],
        }),
      );
      const r = await call(`${httpd.url}/echo`);
      expect(r.status).toBe(403);
    });
  });
});

describe.skipIf(peers.skip)('an Express app behind httpd via AJP', () => {
  const scope = usePeers();
  let server: AjpServer;
  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.get('/hello', (req, res) => {
      res.cookie('seen', '1');
      res.json({ ip: req.ip, host: req.hostname, query: req.query });
    });
    app.post('/json', (req, res) => res.status(201).json({ got: req.body as unknown }));
    server = createAjpServer({ secret: SECRET }, expressListener(app));
    await server.listen();
  });
  afterAll(() => server.close());

  it.each(['proxy_ajp', 'jk'] as const)('through %s', async (mode) => {
    const httpd = await scope.track(
      startHttpd({
        mode,
        backends: [{ port: server.address().port, route: 'node1', secret: SECRET }],
      }),
    );
    const r = await call(`${httpd.url}/hello?x=1`);
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toEqual(['seen=1; Path=/']);
    expect(JSON.parse(r.body.toString())).toEqual({
      ip: '127.0.0.1',
      host: '127.0.0.1',
      query: { x: '1' },
    });
    const p = await call(`${httpd.url}/json`, {
      method: 'POST',
      chunks: [Buffer.from('{"a":'), Buffer.from('[1,2]}')],
      headers: { 'Content-Type': 'application/json' },
    });
    expect(p.status).toBe(201);
    expect(JSON.parse(p.body.toString())).toEqual({ got: { a: [1, 2] } });
  });
});
