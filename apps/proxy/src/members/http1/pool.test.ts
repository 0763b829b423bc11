import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  createServer,
  Socket as NetSocket,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import type { FailurePhase } from '../../balancer/retry.js';
import type { ForwardRequest } from '../transport.js';
import type { ClientError } from './errors.js';
import { ResponseParseError } from './errors.js';
import { Http1Pool, type Http1PoolOptions } from './pool.js';

interface Outcome {
  status: number;
  reason: string;
  headers: string[];
  body: Buffer;
  error: Error | undefined;
  phase: FailurePhase | undefined;
}

function request(
  method: string,
  path: string,
  body: Buffer | Readable | null = null,
  headers: string[] = [],
): ForwardRequest {
  return {
    method,
    path,
    headers,
    body,
    clientIp: '127.0.0.1',
    clientPort: 1,
    localIp: '127.0.0.1',
    localPort: 2,
    host: undefined,
  };
}

/** Sends `req` and collects the outcome; `onChunk` may pause (returns false). */
function send(
  pool: Http1Pool,
  req: ForwardRequest,
  opts: { onChunk?: (c: Buffer, resume: () => void) => boolean } = {},
): { done: Promise<Outcome>; abort: (e?: Error) => void } {
  let resume: () => void = () => {};
  let settle!: (o: Outcome) => void;
  const done = new Promise<Outcome>((r) => (settle = r));
  const chunks: Buffer[] = [];
  const o: Outcome = {
    status: 0,
    reason: '',
    headers: [],
    body: Buffer.alloc(0),
    error: undefined,
    phase: undefined,
  };
  let calls = 0;
  const abort = pool.request(req, {
    onResponse(status, reason, headers, r) {
      o.status = status;
      o.reason = reason;
      o.headers = headers;
      resume = r;
      return true;
    },
    onData(chunk) {
      chunks.push(chunk);
      return opts.onChunk ? opts.onChunk(chunk, resume) : true;
    },
    onEnd() {
      calls++;
      o.body = Buffer.concat(chunks);
      settle(o);
    },
    onError(err, phase) {
      calls++;
      o.error = err;
      o.phase = phase;
      o.body = Buffer.concat(chunks);
      settle(o);
    },
  });
  void done.then(() => setImmediate(() => expect(calls).toBe(1)));
  return { done, abort };
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pool(port: number, o: Partial<Http1PoolOptions> = {}): Http1Pool {
  const p = new Http1Pool({
    origin: `http://127.0.0.1:${port}`,
    maxConnections: 4,
    connectTimeout: 1_000,
    responseTimeout: 2_000,
    bodyTimeout: 2_000,
    ...o,
  });
  cleanups.push(() => p.destroy());
  return p;
}

async function httpServer(
  handler: Parameters<typeof createHttpServer>[1],
): Promise<{ server: HttpServer; port: number; connections: () => number }> {
  const server = createHttpServer({ keepAliveTimeout: 30_000 }, handler);
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

/** A raw TCP member: `onRequest` sees each socket and the bytes it receives. */
async function rawServer(
  onData: (socket: Socket, data: string, index: number) => void,
): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    const index = sockets.length - 1;
    s.on('error', () => {});
    s.on('data', (d) => onData(s, d.toString('latin1'), index));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

describe('Http1Pool against a node:http member', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const m = await httpServer((req, res) => res.end(`hello ${req.url}`));
    const p = pool(m.port);
    for (let i = 0; i < 5; i++) {
      const o = await send(p, request('GET', `/${i}`)).done;
      expect(o.error).toBeUndefined();
      expect(o.status).toBe(200);
      expect(o.body.toString()).toBe(`hello /${i}`);
    }
    expect(m.connections()).toBe(1);
    expect(p.idleCount).toBe(1);
  });

  it('sends Host, buffered bodies with Content-Length, and Content-Length: 0 on an empty POST', async () => {
    const seen: { host?: string; cl?: string; body: string }[] = [];
    const m = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ host: req.headers.host, cl: req.headers['content-length'], body });
        res.end('ok');
      });
    });
    const p = pool(m.port);
    await send(p, request('POST', '/a', Buffer.from('small body'))).done;
    const big = Buffer.alloc(100_000, 'b');
    await send(p, request('PUT', '/b', big, ['X-Y', 'z'])).done;
    await send(p, request('POST', '/c')).done;
    expect(seen[0]).toEqual({ host: `127.0.0.1:${m.port}`, cl: '10', body: 'small body' });
    expect(seen[1]!.cl).toBe('100000');
    expect(seen[1]!.body.length).toBe(100_000);
    expect(seen[2]).toMatchObject({ cl: '0', body: '' });
  });

  it('streams request bodies: chunked without Content-Length, raw with it', async () => {
    const seen: { te?: string; cl?: string; body: string }[] = [];
    const m = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          te: req.headers['transfer-encoding'],
          cl: req.headers['content-length'],
          body,
        });
        res.end(String(body.length));
      });
    });
    const p = pool(m.port);
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, 97 + (i % 26)));
    const o1 = await send(p, request('POST', '/s', Readable.from(parts))).done;
    expect(o1.body.toString()).toBe('500000');
    const o2 = await send(
      p,
      request('POST', '/s', Readable.from([Buffer.from('abc'), Buffer.from('de')]), [
        'Content-Length',
        '5',
      ]),
    ).done;
    expect(o2.body.toString()).toBe('5');
    const o3 = await send(p, request('POST', '/s', Readable.from([]))).done;
    expect(o3.body.toString()).toBe('0');
    expect(seen[0]!.te).toBe('chunked');
    expect(seen[0]!.body).toBe(Buffer.concat(parts).toString());
    expect(seen[1]).toEqual({ te: undefined, cl: '5', body: 'abcde' });
    expect(seen[2]!.te).toBe('chunked');
    expect(m.connections()).toBe(1);
  });

  it('a streamed body shorter or longer than its Content-Length fails the request', async () => {
    const m = await httpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end());
    });
    const p = pool(m.port);
    const short = await send(
      p,
      request('POST', '/', Readable.from([Buffer.from('abc')]), ['Content-Length', '5']),
    ).done;
    expect((short.error as ClientError).code).toBe('CONTENT_LENGTH_MISMATCH');
    const long = await send(
      p,
      request('POST', '/', Readable.from([Buffer.from('abcdefg')]), ['Content-Length', '5']),
    ).done;
    expect((long.error as ClientError).code).toBe('CONTENT_LENGTH_MISMATCH');
  });

  it('a streamed body that fails before its first byte reaches nobody: phase connect, connection kept', async () => {
    let requests = 0;
    const m = await httpServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    const p = pool(m.port);
    await send(p, request('GET', '/warm')).done;
    const body = new Readable({ read() {} });
    const pending = send(p, request('POST', '/', body)).done;
    await sleep(20);
    body.destroy(new Error('client went away'));
    const o = await pending;
    expect(o.error?.message).toBe('client went away');
    expect(o.phase).toBe('connect');
    expect(requests).toBe(1);
    const again = await send(p, request('GET', '/again')).done;
    expect(again.status).toBe(200);
    expect(m.connections()).toBe(1);
  });

  it('chunked responses, HEAD, 204 and 304, all on one connection', async () => {
    const m = await httpServer((req, res) => {
      if (req.url === '/chunked') {
        res.write('one,');
        setTimeout(() => {
          res.write('two,');
          res.end('three');
        }, 10);
      } else if (req.url === '/204') {
        res.writeHead(204).end();
      } else if (req.url === '/304') {
        res.writeHead(304, { ETag: '"x"' }).end();
      } else {
        res.setHeader('Content-Length', '11');
        res.end(req.method === 'HEAD' ? undefined : 'hello world');
      }
    });
    const p = pool(m.port);
    const c = await send(p, request('GET', '/chunked')).done;
    expect(c.body.toString()).toBe('one,two,three');
    expect(c.headers.map((h) => h.toLowerCase())).toContain('transfer-encoding');
    const h = await send(p, request('HEAD', '/head')).done;
    expect(h).toMatchObject({ status: 200, error: undefined });
    expect(h.body.length).toBe(0);
    expect((await send(p, request('GET', '/204')).done).status).toBe(204);
    expect((await send(p, request('GET', '/304')).done).status).toBe(304);
    expect((await send(p, request('GET', '/x')).done).body.toString()).toBe('hello world');
    expect(m.connections()).toBe(1);
  });

  it('limits connections and queues the rest in order', async () => {
    let open = 0;
    let most = 0;
    const order: string[] = [];
    const m = await httpServer((req, res) => {
      open++;
      most = Math.max(most, open);
      order.push(req.url!);
      setTimeout(() => {
        open--;
        res.end(req.url);
      }, 30);
    });
    const p = pool(m.port, { maxConnections: 2 });
    const all = Array.from({ length: 8 }, (_, i) => send(p, request('GET', `/${i}`)).done);
    expect(p.queued).toBe(8);
    const outs = await Promise.all(all);
    expect(outs.map((o) => o.body.toString())).toEqual(outs.map((_, i) => `/${i}`));
    expect(most).toBe(2);
    expect(m.connections()).toBe(2);
    expect(order).toEqual(order.slice().sort());
  });

  it('an aborted waiting request fails at once with phase connect and is never sent', async () => {
    const urls: string[] = [];
    const m = await httpServer((req, res) => {
      urls.push(req.url!);
      setTimeout(() => res.end(), 30);
    });
    const p = pool(m.port, { maxConnections: 1 });
    const first = send(p, request('GET', '/first'));
    const second = send(p, request('GET', '/second'));
    second.abort(new Error('client left'));
    const o = await second.done;
    expect(o.phase).toBe('connect');
    expect((await first.done).error).toBeUndefined();
    expect(urls).toEqual(['/first']);
  });

  it('pauses the socket while the handler holds back, and resumes', async () => {
    const size = 8 * 1024 * 1024;
    const m = await httpServer((_req, res) => {
      res.setHeader('Content-Length', String(size));
      res.end(Buffer.alloc(size, 'x'));
    });
    const p = pool(m.port);
    let received = 0;
    let resumeLater: (() => void) | undefined;
    const pending = send(p, request('GET', '/big'), {
      onChunk(c, resume) {
        received += c.length;
        if (resumeLater === undefined) {
          resumeLater = resume;
          return false;
        }
        return true;
      },
    }).done;
    await sleep(200);
    const whilePaused = received;
    expect(whilePaused).toBeLessThan(size / 2);
    await sleep(100);
    expect(received).toBe(whilePaused);
    resumeLater!();
    const o = await pending;
    expect(o.error).toBeUndefined();
    expect(o.body.length).toBe(size);
  });

  it('close() lets requests in flight finish; destroy() fails them', async () => {
    const m = await httpServer((req, res) => setTimeout(() => res.end(req.url), 50));
    const p = pool(m.port);
    const inflight = send(p, request('GET', '/a')).done;
    await sleep(10);
    await p.close();
    expect((await inflight).body.toString()).toBe('/a');
    expect(p.size).toBe(0);
    const late = await send(p, request('GET', '/late')).done;
    expect((late.error as ClientError).code).toBe('POOL_CLOSED');
    expect(late.phase).toBe('connect');

    const q = pool(m.port);
    const running = send(q, request('GET', '/b')).done;
    await sleep(10);
    await q.destroy();
    const o = await running;
    expect(o.phase).toBe('sent');
  });

  it('refuses to send invalid requests (phase request, nothing written)', async () => {
    const m = await httpServer((_req, res) => res.end());
    const p = pool(m.port);
    for (const req of [
      request('GET', '/a b'),
      request('GET', '/', null, ['X', 'a\r\nInjected: 1']),
      request('GET', '/', null, ['Bad Name', 'v']),
      request('G T', '/'),
      request('GET', '/', null, ['Transfer-Encoding', 'chunked']),
    ]) {
      const o = await send(p, req).done;
      expect((o.error as ClientError).code).toBe('INVALID_REQUEST');
      expect(o.phase).toBe('request');
    }
    expect(m.connections()).toBe(0);
  });
});

describe('Http1Pool failures and their phases', () => {
  it('connection refused → connect', async () => {
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const p = pool(port);
    const outs = await Promise.all([1, 2, 3].map(() => send(p, request('GET', '/')).done));
    for (const o of outs) {
      expect(o.phase).toBe('connect');
      expect((o.error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    }
  });

  it('connect timeout → connect', async () => {
    // A socket that never connects (a SYN into the void, without depending on the network).
    const sockets: NetSocket[] = [];
    const p = pool(1, {
      maxConnections: 2,
      connectTimeout: 100,
      connect: () => {
        const s = new NetSocket();
        sockets.push(s);
        return s;
      },
    });
    const started = Date.now();
    const outs = await Promise.all([1, 2, 3].map(() => send(p, request('GET', '/')).done));
    for (const o of outs) {
      expect(o.phase).toBe('connect');
      expect((o.error as ClientError).code).toBe('CONNECT_TIMEOUT');
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sockets.length).toBe(2);
    expect(sockets.every((s) => s.destroyed)).toBe(true);
  });

  it('no response head in time → timeout', async () => {
    const m = await rawServer(() => {});
    const p = pool(m.port, { responseTimeout: 150 });
    const started = Date.now();
    const o = await send(p, request('GET', '/')).done;
    expect((o.error as ClientError).code).toBe('RESPONSE_TIMEOUT');
    expect(o.phase).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a body that stalls → BODY_TIMEOUT in phase responding', async () => {
    const m = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const p = pool(m.port, { bodyTimeout: 150 });
    const o = await send(p, request('GET', '/')).done;
    expect((o.error as ClientError).code).toBe('BODY_TIMEOUT');
    expect(o.phase).toBe('responding');
    expect(o.body.toString()).toBe('abc');
  });

  it('closes idle connections after the keep-alive timeout', async () => {
    const m = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const p = pool(m.port, { keepAliveTimeout: 100 });
    await send(p, request('GET', '/')).done;
    expect(p.idleCount).toBe(1);
    const closed = once(m.sockets[0]!, 'end');
    await closed;
    expect(p.size).toBe(0);
  });

  it('honours a shorter Keep-Alive timeout from the member (with a second of margin)', async () => {
    const m = await rawServer((s) =>
      s.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok'),
    );
    const p = pool(m.port);
    await send(p, request('GET', '/')).done;
    expect(p.size).toBe(0);
  });

  it('a member that closes an idle connection: the next request opens a new one', async () => {
    const m = await rawServer((s) => {
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const p = pool(m.port);
    expect((await send(p, request('GET', '/1')).done).status).toBe(200);
    await sleep(30);
    expect(p.size).toBe(0);
    expect((await send(p, request('GET', '/2')).done).status).toBe(200);
    expect(m.sockets.length).toBe(2);
  });

  it('a reused connection reset when the request arrives → sent (bytes were written)', async () => {
    const seen = new WeakMap<Socket, number>();
    const m = await rawServer((s) => {
      const n = seen.get(s) ?? 0;
      seen.set(s, n + 1);
      if (n === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.resetAndDestroy();
    });
    const p = pool(m.port);
    expect((await send(p, request('GET', '/1')).done).status).toBe(200);
    const o = await send(p, request('GET', '/2')).done;
    expect(o.phase).toBe('sent');
    expect(['ECONNRESET', 'CONNECTION_CLOSED', 'EPIPE']).toContain(
      (o.error as { code?: string }).code,
    );
  });

  it('EOF on a reused connection before any response byte → sent', async () => {
    let n = 0;
    const m = await rawServer((s) => {
      if (n++ === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.end();
    });
    const p = pool(m.port);
    await send(p, request('GET', '/1')).done;
    const o = await send(p, request('GET', '/2')).done;
    expect(o.phase).toBe('sent');
    expect((o.error as ClientError).code).toBe('CONNECTION_CLOSED');
  });

  it('reset after part of the head → sent; after the head → responding', async () => {
    const m = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    const o = await send(pool(m.port), request('GET', '/')).done;
    expect(o.phase).toBe('sent');

    const m2 = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    const o2 = await send(pool(m2.port), request('GET', '/')).done;
    expect(o2.phase).toBe('responding');
    expect(o2.body.toString()).toBe('some');
  });

  it('a protocol error from the member (CL + TE) → ResponseParseError, invalid, connection closed', async () => {
    const m = await rawServer((s) =>
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'),
    );
    const p = pool(m.port);
    const o = await send(p, request('GET', '/')).done;
    expect(o.error).toBeInstanceOf(ResponseParseError);
    expect((o.error as ResponseParseError).code).toBe('CONTENT_LENGTH_WITH_TRANSFER_ENCODING');
    expect(o.phase).toBe('invalid');
    expect(p.size).toBe(0);
  });

  it('an unasked 101 fails the request; bytes after a response close the connection', async () => {
    const m = await rawServer((s) => s.write('HTTP/1.1 101 Switching Protocols\r\n\r\n'));
    const o = await send(pool(m.port), request('GET', '/')).done;
    expect((o.error as ClientError).code).toBe('UNEXPECTED_UPGRADE');

    const m2 = await rawServer((s) =>
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n'),
    );
    const p2 = pool(m2.port);
    const o2 = await send(p2, request('GET', '/')).done;
    expect(o2.body.toString()).toBe('ok');
    expect(p2.size).toBe(0);
  });

  it('a close-delimited body ends with the connection', async () => {
    const m = await rawServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    const p = pool(m.port);
    const o = await send(p, request('GET', '/')).done;
    expect(o.error).toBeUndefined();
    expect(o.body.toString()).toBe('until the end');
  });

  it('aborting a request in flight closes its connection', async () => {
    const m = await rawServer(() => {});
    const p = pool(m.port);
    const r = send(p, request('GET', '/'));
    await sleep(20);
    r.abort(new Error('client closed'));
    const o = await r.done;
    expect(o.error?.message).toBe('client closed');
    expect(o.phase).toBe('sent');
    await once(m.sockets[0]!, 'close');
  });
});
