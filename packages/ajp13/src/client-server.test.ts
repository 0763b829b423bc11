import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AjpClient,
  AjpRequestError,
  ResponseDecoder,
  createAjpServer,
  encodeForwardRequest,
  type AjpClientOptions,
  type AjpRequestListener,
  type AjpRequestOptions,
  type AjpServerOptions,
} from './index.js';

// The client pool against the server adapter, both from this package, over real loopback sockets.

const SECRET = 'test-secret';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  listener: AjpRequestListener,
  serverOpts: Partial<AjpServerOptions> = {},
  clientOpts: Partial<AjpClientOptions> = {},
) {
  const server = createAjpServer({ secret: SECRET, ...serverOpts }, listener);
  const { port } = await server.listen();
  const client = new AjpClient({ port, secret: SECRET, ...clientOpts });
  cleanups.push(
    () => server.close(),
    () => client.close(),
  );
  return { server, client, port };
}

async function text(body: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

const req = (o: Partial<AjpRequestOptions> = {}): AjpRequestOptions => ({
  method: 'GET',
  url: '/',
  remoteAddress: '192.0.2.7',
  headers: { host: 'example.test' },
  ...o,
});

const echo: AjpRequestListener = (rq, rs) => {
  const chunks: Buffer[] = [];
  rq.on('data', (c: Buffer) => chunks.push(c));
  rq.on('end', () => {
    const body = Buffer.concat(chunks);
    rs.setHeader('Content-Type', 'application/json');
    rs.end(
      JSON.stringify({
        method: rq.method,
        url: rq.url,
        headers: rq.headers,
        remoteAddress: rq.socket.remoteAddress,
        remotePort: rq.socket.remotePort,
        encrypted: rq.socket.encrypted,
        attributes: rq.ajp.attributes,
        bodyLength: body.length,
        sha: createHash('sha256').update(body).digest('hex'),
        contentLength: rq.ajp.contentLength,
      }),
    );
  });
};

describe('client ↔ server adapter', () => {
  it('GET with query, headers, remote address and port; reason phrase; connection reuse', async () => {
    const { client } = await setup(echo);
    const r = await client.request(
      req({
        url: '/a/b%20c?x=1&y=2',
        remotePort: 5555,
        headers: [
          ['host', 'example.test:8443'],
          ['X-Multi', 'a'],
          ['x-multi', 'b'],
          ['Cookie', 'a=1'],
          ['cookie', 'b=2'],
        ],
      }),
    );
    expect(r.status).toBe(200);
    expect(r.statusMessage).toBe('OK');
    expect(r.headers['content-type']).toBe('application/json');
    const j = JSON.parse(await text(r.body));
    expect(j).toMatchObject({
      method: 'GET',
      url: '/a/b%20c?x=1&y=2',
      remoteAddress: '192.0.2.7',
      remotePort: 5555,
      encrypted: false,
      contentLength: 0,
      headers: {
        host: 'example.test:8443',
        'x-multi': 'a, b',
        cookie: 'a=1; b=2',
        'content-length': '0',
      },
    });
    expect(j.attributes.secret).toBe(SECRET);
    const r2 = await client.request(req());
    await text(r2.body);
    expect(client.stats.connectionsOpened).toBe(1);
    expect(client.stats.idle).toBe(1);
  });

  it('a 1 MB POST with Content-Length (Buffer) and with a known-length stream', async () => {
    const { client } = await setup(echo);
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const sha = createHash('sha256').update(body).digest('hex');
    const r = await client.request(req({ method: 'POST', body }));
    expect(JSON.parse(await text(r.body))).toMatchObject({
      bodyLength: body.length,
      sha,
      contentLength: body.length,
    });
    const parts = Array.from({ length: 64 }, (_, i) => body.subarray(i * 16384, (i + 1) * 16384));
    const r2 = await client.request(
      req({ method: 'PUT', body: Readable.from(parts), contentLength: body.length }),
    );
    expect(JSON.parse(await text(r2.body))).toMatchObject({ bodyLength: body.length, sha });
    expect(client.stats.connectionsOpened).toBe(1);
  });

  it('a stream longer than its declared contentLength: exactly contentLength bytes are sent', async () => {
    const { client } = await setup(echo);
    const r = await client.request(
      req({
        method: 'POST',
        body: Readable.from([Buffer.alloc(10_000, 1), Buffer.alloc(10_000, 2)]),
        contentLength: 12_345,
      }),
    );
    expect(JSON.parse(await text(r.body))).toMatchObject({
      bodyLength: 12_345,
      contentLength: 12_345,
    });
  });

  it('a chunked POST of unknown length is pulled with GET_BODY_CHUNK and ended with the empty packet', async () => {
    const { client } = await setup(echo);
    async function* gen() {
      for (let i = 0; i < 50; i++) {
        yield Buffer.from(`part ${i};`);
        if (i % 10 === 0) await sleep(2);
      }
    }
    const r = await client.request(
      req({
        method: 'POST',
        body: Readable.from(gen()),
        headers: { host: 'h', 'transfer-encoding': 'chunked' },
      }),
    );
    const j = JSON.parse(await text(r.body));
    const expected = Array.from({ length: 50 }, (_, i) => `part ${i};`).join('');
    expect(j.bodyLength).toBe(expected.length);
    expect(j.contentLength).toBeNull();
    expect(j.headers['transfer-encoding']).toBe('chunked');
  });

  it('HEAD, 204 and 304 have no body whatever Content-Length says', async () => {
    const { client } = await setup((rq, rs) => {
      const status = rq.url === '/204' ? 204 : rq.url === '/304' ? 304 : 200;
      rs.writeHead(status, { 'Content-Length': '100' });
      rs.end('x'.repeat(100));
    });
    for (const [method, url, status] of [
      ['HEAD', '/', 200],
      ['GET', '/204', 204],
      ['GET', '/304', 304],
    ] as const) {
      const r = await client.request(req({ method, url }));
      expect(r.status).toBe(status);
      expect(r.headers['content-length']).toBe('100');
      expect(await text(r.body)).toBe('');
    }
    expect(client.stats.connectionsOpened).toBe(1);
  });

  it('a 10 MB response streamed with backpressure both ways', async () => {
    const total = 10 * 1024 * 1024;
    const { client } = await setup((_rq, rs) => {
      rs.setHeader('Content-Length', String(total));
      let sent = 0;
      const block = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (sent < total) {
          sent += block.length;
          if (!rs.write(block)) {
            rs.once('drain', pump);
            return;
          }
        }
        rs.end();
      };
      pump();
    });
    const r = await client.request(req({ url: '/big' }));
    let got = 0;
    let paused = 0;
    for await (const c of r.body) {
      got += (c as Buffer).length;
      if (got % (1 << 20) < 8192 && paused < 5) {
        paused++;
        await sleep(20);
      }
    }
    expect(got).toBe(total);
    const r2 = await client.request(req());
    await text(r2.body);
    expect(client.stats.connectionsOpened).toBe(1);
  });

  it('many response headers, repeated Set-Cookie, a flush, a custom reason', async () => {
    const { client } = await setup((_rq, rs) => {
      for (let i = 0; i < 60; i++) rs.setHeader(`X-H${i}`, `v${i}`);
      rs.setHeader('Set-Cookie', ['a=1; Path=/', 'JSESSIONID=ABC.node1; Path=/; HttpOnly']);
      rs.statusCode = 201;
      rs.statusMessage = 'Made';
      rs.write('one');
      rs.flush();
      rs.end('two');
    });
    const r = await client.request(req());
    expect(r.status).toBe(201);
    expect(r.statusMessage).toBe('Made');
    expect(r.headers['x-h59']).toBe('v59');
    expect(r.headers['set-cookie']).toEqual([
      'a=1; Path=/',
      'JSESSIONID=ABC.node1; Path=/; HttpOnly',
    ]);
    expect(r.rawHeaders.filter(([n]) => n === 'Set-Cookie')).toHaveLength(2);
    expect(await text(r.body)).toBe('onetwo');
  });

  it('PATCH (stored method), TLS attributes, route', async () => {
    const { client } = await setup(echo);
    const r = await client.request(
      req({
        method: 'PATCH',
        url: '/p?q=%20',
        secure: true,
        route: 'node1',
        body: Buffer.from('{}'),
        attributes: {
          sslCipher: 'TLS_AES_128_GCM_SHA256',
          sslKeySize: 128,
          requestAttributes: [['AJP_SSL_PROTOCOL', 'TLSv1.3']],
        },
      }),
    );
    const j = JSON.parse(await text(r.body));
    expect(j).toMatchObject({ method: 'PATCH', url: '/p?q=%20', encrypted: true, bodyLength: 2 });
    expect(j.attributes).toMatchObject({
      sslCipher: 'TLS_AES_128_GCM_SHA256',
      sslKeySize: 128,
      route: 'node1',
    });
    expect(j.attributes.requestAttributes).toContainEqual(['AJP_SSL_PROTOCOL', 'TLSv1.3']);
  });

  it('a wrong or missing secret gets 403 and the connection is not pooled', async () => {
    const { port } = await setup(echo);
    for (const secret of ['wrong', undefined]) {
      const c = new AjpClient({ port, ...(secret === undefined ? {} : { secret }) });
      cleanups.push(() => c.close());
      const r = await c.request(req());
      expect(r.status).toBe(403);
      expect(r.statusMessage).toBe('Forbidden');
      await text(r.body);
      expect(c.stats.idle).toBe(0);
    }
  });

  it('the server adapter refuses to start without a secret unless told to', () => {
    expect(() => createAjpServer({}, echo)).toThrow(/secret/);
    expect(() => createAjpServer({ secretRequired: false }, echo)).not.toThrow();
  });

  it('Ghostcat: unknown request attributes get 403 unless the pattern allows them', async () => {
    const { client, port } = await setup(echo, { allowedRequestAttributes: /MYATTR|other\..*/ });
    const ghost = await client.request(
      req({
        attributes: {
          requestAttributes: [
            ['MYATTR', '1'],
            ['other.x', '2'],
            ['AJP_LOCAL_ADDR', '127.0.0.1'],
          ],
        },
      }),
    );
    expect(ghost.status).toBe(200);
    await text(ghost.body);
    const bad = await client.request(
      req({ attributes: { requestAttributes: [['MYATTRX', '1']] } }),
    );
    expect(bad.status).toBe(403);
    await text(bad.body);
    // the client itself refuses to send the include trio
    await expect(
      client.request(
        req({ attributes: { requestAttributes: [['javax.servlet.include.request_uri', '/']] } }),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', requestSent: false });
    // a raw sender of the Ghostcat trio gets 403, reuse=0, and the connection closes
    const sock = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(
      encodeForwardRequest({
        method: 'GET',
        protocol: 'HTTP/1.1',
        uri: '/index.jsp',
        remoteAddr: '10.0.0.1',
        remoteHost: null,
        serverName: 'h',
        serverPort: 80,
        isSsl: false,
        headers: [],
        attributes: {
          secret: SECRET,
          requestAttributes: [
            ['javax.servlet.include.request_uri', '/'],
            ['javax.servlet.include.path_info', 'WEB-INF/web.xml'],
            ['javax.servlet.include.servlet_path', '/'],
          ],
        },
      }),
    );
    await closed;
    const ev = new ResponseDecoder().push(Buffer.concat(got));
    expect(ev).toEqual([
      {
        type: 'send-headers',
        response: { status: 403, reason: '403', headers: [['Content-Length', '0']] },
      },
      { type: 'end-response', reuse: false },
    ]);
  });

  it('CPING/CPONG', async () => {
    const { client } = await setup(echo);
    await client.cping();
    expect(client.stats.idle).toBe(1);
  });

  it('request headers that do not fit are refused before sending (413)', async () => {
    const { client, server } = await setup(echo);
    const e = await client
      .request(req({ headers: { host: 'h', 'x-big': 'a'.repeat(9000) } }))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AjpRequestError);
    expect(e).toMatchObject({
      code: 'REQUEST_TOO_LARGE',
      status: 413,
      requestSent: false,
      retryable: true,
    });
    expect(server.connections).toBe(0);
  });

  it('request headers with CR/LF are refused before sending', async () => {
    const { client } = await setup(echo);
    await expect(
      client.request(req({ headers: { host: 'h', 'x-a': 'a\r\nx-b: c' } })),
    ).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      requestSent: false,
    });
  });

  it('a client abort (destroying the response body) closes the backend connection', async () => {
    let closed = false;
    const { client } = await setup((rq, rs) => {
      rs.write(Buffer.alloc(100_000));
      rs.on('close', () => (closed = true));
    });
    const r = await client.request(req());
    r.body.destroy();
    await sleep(50);
    expect(closed).toBe(true);
    expect(client.stats.open).toBe(0);
  });

  it('an AbortSignal aborts before and during the request', async () => {
    const { client } = await setup(() => undefined, {}, { replyTimeout: 5000 });
    const ac = new AbortController();
    const p = client.request(req({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 30);
    await expect(p).rejects.toMatchObject({ code: 'ABORTED', requestSent: true });
    await expect(client.request(req({ signal: AbortSignal.abort() }))).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('a request body read slowly by the app is pulled under backpressure', async () => {
    const size = 2 * 1024 * 1024;
    const { client } = await setup(async (rq, rs) => {
      let n = 0;
      for await (const c of rq) {
        n += (c as Buffer).length;
        if (n % (256 * 1024) < 8192) await sleep(5);
      }
      rs.end(String(n));
    });
    let produced = 0;
    const src = new Readable({
      read() {
        if (produced >= size) return this.push(null);
        produced += 65536;
        this.push(Buffer.alloc(65536, 1));
      },
    });
    const r = await client.request(req({ method: 'POST', body: src }));
    expect(await text(r.body)).toBe(String(size));
  });

  it('the server keeps serving other connections when one sends garbage', async () => {
    const { client, port, server } = await setup(echo);
    const bad = connect(port, '127.0.0.1');
    await new Promise((r) => bad.once('connect', r));
    const closed = new Promise((r) => bad.once('close', r));
    bad.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await closed;
    const r = await client.request(req());
    expect(r.status).toBe(200);
    await text(r.body);
    expect(server.connections).toBe(1);
  });

  it('a listener that throws gets a 500 and the connection closes', async () => {
    const { client } = await setup(() => {
      throw new Error('boom');
    });
    const r = await client.request(req());
    expect(r.status).toBe(500);
    await text(r.body);
    expect(client.stats.idle).toBe(0);
  });

  it('the pool recovers after the server restarts while it holds idle connections', async () => {
    const server1 = createAjpServer({ secret: SECRET }, echo);
    const { port } = await server1.listen();
    const client = new AjpClient({ port, secret: SECRET });
    cleanups.push(() => client.close());
    const rs = await Promise.all([client.request(req()), client.request(req())]);
    for (const r of rs) await text(r.body);
    expect(client.stats.idle).toBe(2);
    await server1.close();
    await sleep(20);
    const server2 = createAjpServer({ secret: SECRET }, echo);
    await server2.listen(port);
    cleanups.push(() => server2.close());
    for (let i = 0; i < 5; i++) {
      const r = await client.request(req());
      expect(r.status).toBe(200);
      await text(r.body);
    }
  });

  it('maxConnections queues requests; acquireTimeout fails them with nothing sent', async () => {
    const { client } = await setup(
      (_rq, rs) => {
        setTimeout(() => rs.end('ok'), 100);
      },
      {},
      { maxConnections: 1, acquireTimeout: 50 },
    );
    const first = client.request(req());
    const second = client.request(req()).catch((e: unknown) => e);
    expect(await second).toMatchObject({ code: 'ACQUIRE_TIMEOUT', requestSent: false });
    const r = await first;
    expect(await text(r.body)).toBe('ok');
  });

  it('connection refused is CONNECT_FAILED, retryable', async () => {
    const { port } = await setup(echo);
    const c = new AjpClient({ port: port === 1 ? 2 : 1 });
    cleanups.push(() => c.close());
    await expect(c.request(req())).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      requestSent: false,
      retryable: true,
      status: 503,
    });
  });
});
