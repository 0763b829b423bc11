import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

import { startProxy } from './test/harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function echoMember(route: string): Promise<string> {
  const server = createServer((req, res) => res.end(route));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.on('message', (data, binary) =>
      ws.send(binary ? data : `${route}:${data.toString()}:${req.headers['x-forwarded-for']}`),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('WebSocket through the proxy', () => {
  it('echoes through the same affinity decision as plain requests', async () => {
    const [a, b] = [await echoMember('tc1'), await echoMember('tc2')];
    const p = await startProxy({
      balancers: [
        {
          name: 'ws',
          members: [
            { url: a, route: 'tc1' },
            { url: b, route: 'tc2' },
          ],
        },
      ],
    });
    cleanups.push(p.stop);
    for (const route of ['tc2', 'tc1', 'tc2']) {
      const ws = new WebSocket(`ws://127.0.0.1:${p.port}/chat`, {
        headers: { Cookie: `JSESSIONID=K.${route}` },
      });
      await once(ws, 'open');
      ws.send('hello');
      const [msg] = (await once(ws, 'message')) as [Buffer];
      expect(msg.toString()).toBe(`${route}:hello:127.0.0.1`);
      const big = Buffer.alloc(300_000, 7);
      ws.send(big);
      const [echo] = (await once(ws, 'message')) as [Buffer];
      expect(Buffer.compare(echo, big)).toBe(0);
      ws.close();
      await once(ws, 'close');
    }
    expect(p.proxy.stats.upgrades).toBe(3);
  });

  it('a handshake routed to an AJP member gets a clear 501', async () => {
    const p = await startProxy({
      balancers: [{ name: 'ajp', members: [{ url: 'ajp://127.0.0.1:1', route: 'tc1' }] }],
    });
    cleanups.push(p.stop);
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/`);
    ws.on('error', () => undefined);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(501);
    ws.terminate();
  });

  it('a dead owner fails the handshake over to another member', async () => {
    const b = await echoMember('tc2');
    const p = await startProxy({
      balancers: [
        {
          name: 'ws',
          members: [
            { url: 'http://127.0.0.1:1', route: 'tc1' },
            { url: b, route: 'tc2' },
          ],
        },
      ],
    });
    cleanups.push(p.stop);
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/`, {
      headers: { Cookie: 'JSESSIONID=K.tc1' },
    });
    await once(ws, 'open');
    ws.send('x');
    const [msg] = (await once(ws, 'message')) as [Buffer];
    expect(msg.toString()).toBe('tc2:x:127.0.0.1');
    ws.close();
  });
});
