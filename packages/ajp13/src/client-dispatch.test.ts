import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { collector } from '../test/collect.js';
import { fakeContainer } from '../test/fake-container.js';
import {
  AjpClient,
  AjpRequestError,
  CPONG_PACKET,
  createAjpServer,
  encodeEndResponse,
  encodeSendBodyChunk,
  encodeSendHeaders,
  type AjpClientOptions,
  type AjpDispatchOptions,
  type AjpRequestListener,
  type RequestEvent,
} from './index.js';
import type { Socket } from 'node:net';

// AjpClient.dispatch(), the callback API, against the server adapter of this package and a
// scripted container: success, backpressure, aborts, errors in each phase, reuse rules.

const SECRET = 'dispatch-secret';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(listener: AjpRequestListener, clientOpts: Partial<AjpClientOptions> = {}) {
  const s = createAjpServer({ secret: SECRET }, listener);
  const { port } = await s.listen();
  const client = new AjpClient({ port, secret: SECRET, ...clientOpts });
  cleanups.push(
    () => s.close(),
    () => client.close(),
  );
  return { server: s, client };
}

async function scripted(
  script: (e: RequestEvent, s: Socket, conn: number) => void,
  clientOpts: Partial<AjpClientOptions> = {},
) {
  const fake = await fakeContainer((e, s, _d, conn) => {
    if (e.type === 'cping') s.write(CPONG_PACKET);
    else script(e, s, conn);
  });
  const client = new AjpClient({ port: fake.port, replyTimeout: 300, ...clientOpts });
  cleanups.push(
    () => fake.close(),
    () => client.close(),
  );
  return { fake, client };
}

const GET: AjpDispatchOptions = {
  method: 'GET',
  url: '/p?q=1',
  remoteAddress: '192.0.2.7',
  remotePort: 5555,
  headers: ['Host', 'example.test:8080', 'X-A', '1', 'X-A', '2', 'Content-Length', '99'],
};
const HEADERS_200 = encodeSendHeaders({ status: 200, reason: '200', headers: [['X-R', 'r']] });

describe('AjpClient.dispatch', () => {
  it('forwards a request with flat headers and returns flat headers, body and end', async () => {
    const { client } = await server((rq, rs) => {
      rs.setHeader('Content-Type', 'application/json');
      rs.appendHeader('Set-Cookie', 'a=1');
      rs.appendHeader('Set-Cookie', 'b=2');
      rs.end(
        JSON.stringify({
          url: rq.url,
          raw: rq.rawHeaders,
          port: rq.socket.remotePort,
          serverName: rq.ajp.serverName,
          serverPort: rq.ajp.serverPort,
        }),
      );
    });
    const { c, handler } = collector();
    client.dispatch(GET, handler);
    expect(await c.done).toBe(true);
    expect(c.calls[0]).toBe('headers');
    expect(c.calls.at(-1)).toBe('end');
    expect([c.status, c.statusMessage]).toEqual([200, 'OK']);
    const h = c.headers!;
    expect(h.length % 2).toBe(0);
    expect(h.filter((_, i) => i % 2 === 0 && /^set-cookie$/i.test(h[i]!)).length).toBe(2);
    const j = JSON.parse(c.text()) as {
      url: string;
      raw: string[];
      port: number;
      serverName: string;
      serverPort: number;
    };
    expect(j.url).toBe('/p?q=1');
    expect(j.port).toBe(5555);
    expect([j.serverName, j.serverPort]).toEqual(['example.test', 8080]);
    // repeated headers kept in order; the caller's Content-Length replaced by the framing (0)
    expect(j.raw.filter((_, i) => i % 2 === 0 && j.raw[i]!.toLowerCase() === 'x-a').length).toBe(2);
    expect(j.raw).toContain('0');
    expect(j.raw).not.toContain('99');
    expect(client.stats.idle).toBe(1);
    // the connection is reused
    const second = collector();
    client.dispatch(GET, second.handler);
    expect(await second.c.done).toBe(true);
    expect(client.stats.connectionsOpened).toBe(1);
  });

  it('sends a Buffer body and a stream body', async () => {
    const { client } = await server((rq, rs) => {
      let n = 0;
      rq.on('data', (b: Buffer) => (n += b.length));
      rq.on('end', () => rs.end(String(n)));
    });
    const a = collector();
    client.dispatch({ ...GET, method: 'POST', body: Buffer.alloc(100_000, 1) }, a.handler);
    expect(await a.c.done).toBe(true);
    expect(a.c.text()).toBe('100000');
    const b = collector();
    client.dispatch(
      { ...GET, method: 'POST', body: Readable.from([Buffer.alloc(30_000), Buffer.alloc(5)]) },
      b.handler,
    );
    expect(await b.c.done).toBe(true);
    expect(b.c.text()).toBe('30005');
  });

  it('pauses on false from onHeaders and onData and resumes with resume()', async () => {
    const total = 2 * 1024 * 1024;
    const { client } = await server((_rq, rs) => {
      rs.end(Buffer.alloc(total, 7));
    });
    // paused at the headers: nothing more arrives until resume()
    const p = collector({ pauseAt: 0 });
    client.dispatch(GET, p.handler);
    while (p.c.status === undefined) await sleep(5);
    await sleep(100);
    const early = p.c.chunks.reduce((s, b) => s + b.length, 0);
    expect(early).toBeLessThan(total);
    expect(p.c.ended).toBe(false);
    p.c.resume!();
    expect(await p.c.done).toBe(true);
    expect(p.c.chunks.reduce((s, b) => s + b.length, 0)).toBe(total);
    // paused at the first chunk: the rest of that socket read may come, then nothing
    const q = collector({ pauseAt: 1 });
    client.dispatch(GET, q.handler);
    while (q.c.chunks.length === 0) await sleep(5);
    await sleep(100);
    const got = q.c.chunks.reduce((s, b) => s + b.length, 0);
    expect(got).toBeLessThan(total);
    expect(q.c.ended).toBe(false);
    q.c.resume!();
    expect(await q.c.done).toBe(true);
    expect(q.c.chunks.reduce((s, b) => s + b.length, 0)).toBe(total);
  });

  it('abort before the headers: ABORTED through onError before abort() returns, connection closed', async () => {
    const { client } = await server(() => undefined, { replyTimeout: 5000 });
    const { c, handler } = collector();
    const abort = client.dispatch(GET, handler);
    await sleep(50);
    abort(new Error('client went away'));
    expect(c.calls).toEqual(['error']);
    expect(c.error).toBeInstanceOf(AjpRequestError);
    expect(c.error).toMatchObject({ code: 'ABORTED', requestSent: true, responseStarted: false });
    expect((c.error!.cause as Error).message).toBe('client went away');
    abort(); // a second abort does nothing
    expect(c.calls).toEqual(['error']);
    await sleep(20);
    expect(client.stats.open).toBe(0);
  });

  it('abort after the headers, and abort after the end does nothing', async () => {
    const { client } = await server((_rq, rs) => {
      rs.write('partial');
    });
    const { c, handler } = collector();
    const abort = client.dispatch(GET, handler);
    while (c.chunks.length === 0) await sleep(5);
    abort();
    expect(c.calls.at(-1)).toBe('error');
    expect(c.error).toMatchObject({ code: 'ABORTED', responseStarted: true });
    await sleep(20);
    expect(client.stats.open).toBe(0);

    const done = await server((_rq, rs) => rs.end('x'));
    const d = collector();
    const abortDone = done.client.dispatch(GET, d.handler);
    expect(await d.c.done).toBe(true);
    abortDone();
    expect(d.c.calls).toEqual(['headers', 'data', 'end']);
    expect(done.client.stats.idle).toBe(1);
  });

  it('abort while waiting for a connection: nothing sent, the connection stays pooled', async () => {
    const { client } = await server(
      (_rq, rs) => {
        setTimeout(() => rs.end('ok'), 80);
      },
      { maxConnections: 1 },
    );
    const first = collector();
    client.dispatch(GET, first.handler);
    const second = collector();
    const abort = client.dispatch(GET, second.handler);
    await sleep(10);
    expect(client.stats.waiting).toBe(1);
    abort();
    expect(second.c.error).toMatchObject({ code: 'ABORTED', requestSent: false, retryable: true });
    expect(client.stats.waiting).toBe(0);
    expect(await first.c.done).toBe(true);
    expect(client.stats.idle).toBe(1);
  });

  it('refusals before sending fail on a later microtask, never inside dispatch()', async () => {
    const { client } = await server((_rq, rs) => rs.end());
    const big = collector();
    client.dispatch({ ...GET, headers: ['x-big', 'a'.repeat(9000)] }, big.handler);
    expect(big.c.calls).toEqual([]);
    expect(await big.c.done).toBe(false);
    expect(big.c.error).toMatchObject({ code: 'REQUEST_TOO_LARGE', requestSent: false });
    const crlf = collector();
    client.dispatch({ ...GET, headers: ['x-a', 'a\r\nx-b: c'] }, crlf.handler);
    expect(crlf.c.calls).toEqual([]);
    expect(await crlf.c.done).toBe(false);
    expect(crlf.c.error).toMatchObject({ code: 'INVALID_REQUEST', requestSent: false });
    await client.close();
    const closed = collector();
    client.dispatch(GET, closed.handler);
    expect(closed.c.calls).toEqual([]);
    expect(await closed.c.done).toBe(false);
    expect(closed.c.error).toMatchObject({ code: 'CLIENT_CLOSED', requestSent: false });
  });

  it('connect phase: a refused connection is CONNECT_FAILED with nothing sent', async () => {
    const client = new AjpClient({ port: 1 });
    cleanups.push(() => client.close());
    const { c, handler } = collector();
    client.dispatch(GET, handler);
    expect(await c.done).toBe(false);
    expect(c.error).toMatchObject({ code: 'CONNECT_FAILED', requestSent: false, retryable: true });
  });

  it('sent phase: no reply is REPLY_TIMEOUT; a close before answering is CONNECTION_CLOSED', async () => {
    const silent = await scripted(() => undefined, { replyTimeout: 100 });
    const t = collector();
    const t0 = Date.now();
    silent.client.dispatch(GET, t.handler);
    expect(await t.c.done).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(t.c.error).toMatchObject({
      code: 'REPLY_TIMEOUT',
      requestSent: true,
      responseStarted: false,
    });
    expect(silent.client.stats.open).toBe(0);

    const closing = await scripted((e, s) => {
      if (e.type === 'forward-request') s.destroy();
    });
    const k = collector();
    closing.client.dispatch({ ...GET, method: 'POST' }, k.handler);
    expect(await k.c.done).toBe(false);
    expect(k.c.error).toMatchObject({
      code: 'CONNECTION_CLOSED',
      requestSent: true,
      responseStarted: false,
    });
  });

  it('responding phase: a close mid-body and a protocol error after the headers', async () => {
    const cut = await scripted((e, s) => {
      if (e.type === 'forward-request')
        s.end(Buffer.concat([HEADERS_200, encodeSendBodyChunk(Buffer.from('part'))]));
    });
    const a = collector();
    cut.client.dispatch(GET, a.handler);
    expect(await a.c.done).toBe(false);
    expect(a.c.text()).toBe('part');
    expect(a.c.error).toMatchObject({
      code: 'CONNECTION_CLOSED',
      responseStarted: true,
      retryable: false,
    });

    const twice = await scripted((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, HEADERS_200, encodeEndResponse(true)]));
    });
    const b = collector();
    twice.client.dispatch(GET, b.handler);
    expect(await b.c.done).toBe(false);
    expect(b.c.calls).toEqual(['headers', 'error']);
    expect(b.c.error).toMatchObject({ code: 'PROTOCOL_ERROR', responseStarted: true });
    expect(twice.client.stats.open).toBe(0);
  });

  it('END_RESPONSE reuse=0 closes the connection; bytes after END_RESPONSE too', async () => {
    const noReuse = await scripted((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, encodeEndResponse(false)]));
    });
    for (let i = 0; i < 2; i++) {
      const { c, handler } = collector();
      noReuse.client.dispatch(GET, handler);
      expect(await c.done).toBe(true);
    }
    expect(noReuse.fake.connections).toBe(2);
    expect(noReuse.client.stats.idle).toBe(0);

    const extra = await scripted((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, encodeEndResponse(true), HEADERS_200]));
    });
    for (let i = 0; i < 2; i++) {
      const { c, handler } = collector();
      extra.client.dispatch(GET, handler);
      expect(await c.done).toBe(true);
      expect(c.calls).toEqual(['headers', 'end']);
    }
    expect(extra.fake.connections).toBe(2);
  });

  it('HEAD, 204 and 304 bodies are dropped', async () => {
    const { client } = await scripted((e, s) => {
      if (e.type === 'forward-request')
        s.write(
          Buffer.concat([
            encodeSendHeaders({ status: 304, reason: '304', headers: [['Content-Length', '5']] }),
            encodeSendBodyChunk(Buffer.from('hello')),
            encodeEndResponse(true),
          ]),
        );
    });
    const { c, handler } = collector();
    client.dispatch(GET, handler);
    expect(await c.done).toBe(true);
    expect(c.calls).toEqual(['headers', 'end']);
    expect([c.status, c.statusMessage]).toEqual([304, 'Not Modified']);
  });

  it('a GET on a pooled connection the backend closed is retried once on a new one', async () => {
    const { client, fake } = await scripted(
      (e, s, conn) => {
        if (e.type !== 'forward-request') return;
        if (conn === 0)
          s.write(Buffer.concat([HEADERS_200, encodeEndResponse(true)]), () =>
            setTimeout(() => s.destroy(), 5),
          );
        else s.write(Buffer.concat([HEADERS_200, encodeEndResponse(true)]));
      },
      { ping: { onConnect: false } },
    );
    const a = collector();
    client.dispatch(GET, a.handler);
    expect(await a.c.done).toBe(true);
    await sleep(30);
    const b = collector();
    client.dispatch(GET, b.handler);
    expect(await b.c.done).toBe(true);
    expect(b.c.calls).toEqual(['headers', 'end']);
    expect(fake.connections).toBe(2);
  });
});
