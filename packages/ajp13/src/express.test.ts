import { Readable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AjpClient, createAjpServer, expressListener, type AjpServer } from './index.js';

// A real Express 5 application mounted on the server adapter, driven by the client pool.

async function text(body: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

describe('Express 5 behind createAjpServer', () => {
  let server: AjpServer;
  let client: AjpClient;
  beforeAll(async () => {
    const app = express();
    const router = express.Router();
    router.get('/item/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.use(express.json());
    app.use('/r', router);
    app.get('/hello', (req, res) => {
      res.cookie('seen', '1', { httpOnly: true });
      res.json({
        name: req.query.name,
        ip: req.ip,
        protocol: req.protocol,
        secure: req.secure,
        hostname: req.hostname,
        ua: req.get('user-agent'),
      });
    });
    app.post('/json', (req, res) => {
      res.status(201).json({ got: req.body as unknown });
    });
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.get('/redirect', (_req, res) => res.redirect('/hello'));
    server = createAjpServer({ secret: 's' }, expressListener(app));
    const { port } = await server.listen();
    client = new AjpClient({ port, secret: 's' });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  const get = (url: string, o: { secure?: boolean } = {}) =>
    client.request({
      method: 'GET',
      url,
      remoteAddress: '198.51.100.4',
      headers: { host: 'app.example', 'user-agent': 'ua/1' },
      ...o,
    });

  it('routes, query, req.ip, req.protocol, req.hostname, res.json, res.cookie', async () => {
    const r = await get('/hello?name=ajp', { secure: true });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['set-cookie']).toEqual(['seen=1; Path=/; HttpOnly']);
    expect(r.headers['x-powered-by']).toBe('Express');
    expect(JSON.parse(await text(r.body))).toEqual({
      name: 'ajp',
      ip: '198.51.100.4',
      protocol: 'https',
      secure: true,
      hostname: 'app.example',
      ua: 'ua/1',
    });
  });

  it('express.json() reads a body of known and of unknown length', async () => {
    for (const body of [
      Buffer.from('{"a":[1,2]}'),
      Readable.from([Buffer.from('{"a":'), Buffer.from('[1,2]}')]),
    ]) {
      const r = await client.request({
        method: 'POST',
        url: '/json',
        remoteAddress: '127.0.0.1',
        headers: { host: 'h', 'content-type': 'application/json' },
        body,
      });
      expect(r.status).toBe(201);
      expect(JSON.parse(await text(r.body))).toEqual({ got: { a: [1, 2] } });
    }
  });

  it('routers, 404 from finalhandler, 500 from a throwing route, redirects; the connection is reused', async () => {
    const item = await get('/r/item/42');
    expect(JSON.parse(await text(item.body))).toEqual({ id: '42' });
    const missing = await get('/nope');
    expect(missing.status).toBe(404);
    await text(missing.body);
    const boom = await get('/boom');
    expect(boom.status).toBe(500);
    await text(boom.body);
    const redirect = await get('/redirect');
    expect([redirect.status, redirect.headers['location']]).toEqual([302, '/hello']);
    await text(redirect.body);
    expect(client.stats.connectionsOpened).toBe(1);
  });
});
