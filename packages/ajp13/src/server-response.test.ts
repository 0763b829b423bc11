import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import onHeaders from 'on-headers';
import { afterEach, describe, expect, it } from 'vitest';
import { httpCall } from '../test/http-call.js';
import {
  AjpClient,
  CPING_PACKET,
  createAjpServer,
  encodeForwardRequest,
  type AjpIncomingRequest,
  type AjpServerResponse,
} from './index.js';
import { nodeHttpBehaviour } from './server/node-behaviour.js';

// AjpServerResponse against Node's own http.ServerResponse: the same probe runs on both and must
// record the same calls, results, errors and events, and produce the same response.

type Res = ServerResponse | AjpServerResponse;
type Req = IncomingMessage | AjpIncomingRequest;
type Probe = (req: Req, res: Res, rec: (line: string) => void) => void;

interface Outcome {
  records: string[];
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The x-* headers, repeated ones joined with ', ' (Node's client joins them, AjpClient lists them). */
const xHeaders = (h: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(h)
      .filter(([k]) => k.startsWith('x-'))
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
  );

/** Runs `probe` in a listener; the records are collected until the response's 'close' + 50 ms. */
function recorder(probe: Probe) {
  const records: string[] = [];
  let closed!: () => void;
  const whenClosed = new Promise<void>((r) => (closed = r));
  const listener = (req: Req, res: Res) => {
    const rec = (line: string) => records.push(line);
    res.on('close', () => {
      rec('close');
      setTimeout(closed, 50);
    });
    try {
      probe(req, res, rec);
    } catch (e) {
      rec(`probe threw ${(e as { code?: string }).code}`);
    }
  };
  return { records, whenClosed, listener };
}

async function onNode(probe: Probe): Promise<Outcome> {
  const r = recorder(probe);
  const server = createServer((req, res) => r.listener(req, res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  try {
    const reply = await httpCall(`http://127.0.0.1:${port}/`);
    await r.whenClosed;
    return {
      records: r.records,
      status: reply.status,
      headers: xHeaders(reply.headers),
      body: reply.body.toString(),
    };
  } finally {
    await new Promise((ok) => server.close(ok));
  }
}

async function onAjp(probe: Probe): Promise<Outcome> {
  const r = recorder(probe);
  const server = createAjpServer({ secret: 's' }, (req, res) => r.listener(req, res));
  const { port } = await server.listen();
  const client = new AjpClient({ port, secret: 's' });
  try {
    const reply = await client.request({ method: 'GET', url: '/', remoteAddress: '127.0.0.1' });
    const parts: Buffer[] = [];
    for await (const c of reply.body) parts.push(c as Buffer);
    await r.whenClosed;
    return {
      records: r.records,
      status: reply.status,
      headers: xHeaders(reply.headers),
      body: Buffer.concat(parts).toString(),
    };
  } finally {
    await client.close();
    await server.close();
  }
}

async function same(probe: Probe): Promise<Outcome> {
  const node = await onNode(probe);
  const ajp = await onAjp(probe);
  expect(ajp).toEqual(node);
  return ajp;
}

const code = (e: unknown) => (e as { code?: string } | undefined)?.code;
const attempt = (rec: (l: string) => void, what: string, f: () => unknown) => {
  try {
    f();
    rec(`${what} ok`);
  } catch (e) {
    rec(`${what} threw ${code(e)}: ${(e as Error).message}`);
  }
};

describe('AjpServerResponse behaves as http.ServerResponse', () => {
  it('header API, headersSent/_header, errors after the head, write/end callbacks, finish/close', async () => {
    const out = await same((_req, res, rec) => {
      res.on('error', (e) => rec(`error event ${code(e)}`));
      res.on('finish', () => rec(`finish ${res.writableEnded} ${res.writableFinished}`));
      res.setHeader('X-A', '1');
      res.appendHeader('x-a', '2');
      res.setHeader('X-N', 5);
      res.setHeader('X-Gone', 'g');
      rec(
        JSON.stringify([
          res.getHeader('x-a'),
          res.getHeaderNames(),
          { ...res.getHeaders() },
          res.hasHeader('X-N'),
          res.headersSent,
          Boolean((res as { _header?: unknown })._header),
        ]),
      );
      res.removeHeader('x-gone');
      attempt(rec, 'bad value', () => res.setHeader('X-Bad', 'a\r\nb'));
      res.statusCode = 202;
      rec(`write returned ${res.write('a', 'utf8', (e) => rec(`write cb ${code(e)}`))}`);
      rec(`after write ${res.headersSent} ${typeof (res as { _header?: unknown })._header}`);
      rec(`statusMessage ${res.statusMessage}`);
      attempt(rec, 'setHeader', () => res.setHeader('X-B', '1'));
      attempt(rec, 'appendHeader', () => res.appendHeader('X-A', '3'));
      attempt(rec, 'removeHeader', () => res.removeHeader('X-A'));
      attempt(rec, 'writeHead', () => res.writeHead(200));
      rec(`getHeader after ${String(res.getHeader('x-n'))}`);
      res.end('b', () => rec('end cb'));
      // (writableFinished differs: Node's is true as soon as the socket took every byte, ours at
      // 'finish', as for any Writable)
      rec(`after end ${res.writableEnded} ${res.finished}`);
      rec(`late write returned ${res.write('c', (e) => rec(`late write cb ${code(e)}`))}`);
      res.end('d', (e?: Error | null) => rec(`late end cb ${code(e)}`));
    });
    expect(out.status).toBe(202);
    expect(out.body).toBe('ab');
    expect(out.records).toContain(
      'setHeader threw ERR_HTTP_HEADERS_SENT: Cannot set headers after they are sent to the client',
    );
  });

  it.each(['end', 'end-chunk', 'write', 'flushHeaders', 'writeHead-object'])(
    'on-headers hooks run before the head goes out (%s)',
    async (how) => {
      const out = await same((_req, res, rec) => {
        onHeaders(res as ServerResponse, function (this: ServerResponse) {
          rec(
            `hook status=${this.statusCode} sent=${this.headersSent} x-w=${this.getHeader('x-w')}`,
          );
          this.setHeader('X-Hook', String(this.statusCode));
        });
        res.statusCode = 201;
        if (how === 'end') res.end();
        else if (how === 'end-chunk') res.end('x');
        else if (how === 'write') {
          res.write('x');
          res.end();
        } else if (how === 'flushHeaders') {
          res.flushHeaders();
          rec(`flushed ${res.headersSent}`);
          res.end('x');
        } else {
          res.writeHead(203, { 'X-W': 'w' });
          res.end('x');
        }
      });
      expect(out.headers['x-hook']).toMatch(/^20[13]$/);
    },
  );

  it('end(cb) on a finished response calls cb at once with ERR_STREAM_ALREADY_FINISHED', async () => {
    await same((_req, res, rec) => {
      res.on('finish', () => {
        // a late end() while 'finish' runs, and another once the response closed
        res.end((e?: Error | null) => rec(`end cb in finish ${code(e)}`));
        rec('after end in finish');
      });
      res.on('close', () =>
        setImmediate(() => {
          res.end((e?: Error | null) => rec(`end cb after close ${code(e)}`));
          rec('after end after close');
        }),
      );
      res.end('x', (e?: Error | null) => rec(`end cb ${String(e)}`));
    });
  });

  it('writeHead with a flat array, a reason, an invalid status; cork/uncork', async () => {
    await same((_req, res, rec) => {
      attempt(rec, 'status 99', () => res.writeHead(99));
      attempt(rec, 'status 1000', () => res.writeHead(1000));
      res.setHeader('X-Keep', 'k');
      res.setHeader('X-Rep', 'old');
      res.writeHead(200, 'Fine', ['X-Rep', 'r1', 'X-Rep', 'r2']);
      rec(`${res.statusMessage} ${JSON.stringify(res.getHeader('x-rep'))}`);
      res.cork();
      res.write('a');
      res.write(Buffer.from('b'));
      res.uncork();
      res.end('c', 'latin1');
    });
  });
});

describe('a client that goes away mid-body', () => {
  /** Listens for every request and response event, in order. */
  function watch(req: Req, res: Res, rec: (l: string) => void) {
    for (const e of ['aborted', 'end', 'close', 'error'])
      req.on(e, () => rec(`req ${e} aborted=${req.aborted} complete=${req.complete}`));
    for (const e of ['finish', 'close', 'error'])
      res.on(e, () => rec(`res ${e} ended=${res.writableEnded} headersSent=${res.headersSent}`));
    req.on('data', () => undefined);
  }

  async function events(kind: 'node' | 'ajp'): Promise<string[]> {
    const records: string[] = [];
    let closed!: () => void;
    const resClosed = new Promise<void>((r) => (closed = r));
    const listener = (req: Req, res: Res) => {
      watch(req, res, (l) => records.push(l));
      res.on('close', () => setTimeout(closed, 50));
    };
    let port: number;
    let stop: () => Promise<void>;
    let head: Buffer;
    if (kind === 'node') {
      const server = createServer(listener);
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      port = (server.address() as { port: number }).port;
      stop = () => new Promise((ok) => server.close(() => ok()));
      head = Buffer.from('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n0123456789');
    } else {
      const server = createAjpServer({ secret: 's' }, listener);
      port = (await server.listen()).port;
      stop = () => server.close();
      head = Buffer.concat([
        encodeForwardRequest({
          method: 'POST',
          protocol: 'HTTP/1.1',
          uri: '/',
          remoteAddr: '127.0.0.1',
          remoteHost: null,
          serverName: 'h',
          serverPort: 80,
          isSsl: false,
          headers: [['Content-Length', '1000']],
          attributes: { secret: 's' },
        }),
        Buffer.from([0x12, 0x34, 0x00, 0x0c, 0x00, 0x0a]),
        Buffer.from('0123456789'),
      ]);
    }
    try {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => undefined);
      await new Promise((r) => c.once('connect', r));
      c.write(head);
      await sleep(100);
      c.resetAndDestroy();
      await resClosed;
      return records;
    } finally {
      await stop();
    }
  }

  it('emits what node:http emits: req aborted, error (to a listener) and close; res close without finish', async () => {
    const ajp = await events('ajp');
    expect(ajp).toEqual(await events('node'));
    expect(ajp).toContain('req aborted aborted=true complete=false');
  });
});

describe('a client that goes away after end(), before the body left', () => {
  /** The response's events and end callbacks when the client resets during end(big body). */
  async function events(kind: 'node' | 'ajp'): Promise<string[]> {
    const records: string[] = [];
    const rec = (l: string) => records.push(l);
    let closed!: () => void;
    const resClosed = new Promise<void>((r) => (closed = r));
    let ended!: () => void;
    const endCalled = new Promise<void>((r) => (ended = r));
    const listener = (_req: Req, res: Res) => {
      for (const e of ['finish', 'error']) res.on(e, () => rec(`res ${e}`));
      res.on('close', () => {
        rec('res close');
        // a later end(cb) on the response that could not finish
        res.end((e?: Error | null) => rec(`end cb after close: ${e ? 'an error' : String(e)}`));
        setTimeout(closed, 100);
      });
      // more than the socket buffers take from a client that does not read
      res.end(Buffer.alloc(32 * 1024 * 1024, 'z'), (e?: Error | null) =>
        rec(`end cb: ${e ? 'an error' : String(e)}`),
      );
      ended();
    };
    let port: number;
    let stop: () => Promise<void>;
    let request: Buffer;
    if (kind === 'node') {
      const server = createServer(listener);
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      port = (server.address() as { port: number }).port;
      stop = () => new Promise((ok) => server.close(() => ok()));
      request = Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    } else {
      const server = createAjpServer({ secret: 's' }, listener);
      port = (await server.listen()).port;
      stop = () => server.close();
      request = encodeForwardRequest({
        method: 'GET',
        protocol: 'HTTP/1.1',
        uri: '/',
        remoteAddr: '127.0.0.1',
        remoteHost: null,
        serverName: 'h',
        serverPort: 80,
        isSsl: false,
        headers: [],
        attributes: { secret: 's' },
      });
    }
    try {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => undefined);
      await new Promise((r) => c.once('connect', r));
      c.pause();
      c.write(request);
      await endCalled;
      await sleep(100);
      c.resetAndDestroy();
      await resClosed;
      return records;
    } finally {
      await stop();
    }
  }

  it("end()'s callbacks get the error as on node:http from Node 24.20 on; before, no 'finish'", async () => {
    const ajp = await events('ajp');
    const node = await events('node');
    if (nodeHttpBehaviour.endCallbacksBeforeFinish) expect(ajp).toEqual(node);
    else {
      // Node 20 emits 'finish' (and so calls the end callback without an error) for the body
      // that never left; the adapter does not pretend the response finished
      expect(node).toContain('res finish');
      expect(ajp).toEqual(['res close']);
    }
    expect(ajp).not.toContain('res finish');
  });
});

describe('no listener, callback or client action ends the process', () => {
  async function ajpServer(listener: (req: AjpIncomingRequest, res: AjpServerResponse) => void) {
    const logged: string[] = [];
    const logger = {
      level: 'error',
      error: (o: { event?: string }, msg: string) => logged.push(`${msg} ${o.event ?? ''}`),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      trace: () => undefined,
      fatal: () => undefined,
      child() {
        return this;
      },
    } as never;
    const server = createAjpServer({ secret: 's', logger }, listener);
    const { port } = await server.listen();
    const client = new AjpClient({ port, secret: 's' });
    cleanups.push(
      () => server.close(),
      () => client.close(),
    );
    const get = async (url: string) => {
      const r = await client.request({ method: 'GET', url, remoteAddress: '127.0.0.1' });
      const parts: Buffer[] = [];
      for await (const c of r.body) parts.push(c as Buffer);
      return { status: r.status, body: Buffer.concat(parts).toString() };
    };
    return { server, port, get, logged };
  }

  it('throwing finish/close/data/end listeners and callbacks, and writes after end are logged, not fatal', async () => {
    const { get, logged } = await ajpServer((req, res) => {
      switch (req.url) {
        case '/finish':
          res.on('finish', () => {
            throw new Error('from finish');
          });
          res.end('ok');
          return;
        case '/close':
          res.on('close', () => {
            throw new Error('from close');
          });
          res.end('ok');
          return;
        case '/end-cb':
          res.end('ok', () => {
            throw new Error('from end callback');
          });
          return;
        case '/write-cb':
          res.write('ok', () => {
            throw new Error('from write callback');
          });
          res.end();
          return;
        case '/req-end':
          req.on('end', () => {
            throw new Error('from request end');
          });
          req.resume();
          return;
        case '/after-end':
          res.end('ok');
          res.write('late');
          res.end('later');
          return;
        default:
          res.end('alive');
      }
    });
    for (const path of ['/finish', '/close', '/end-cb', '/write-cb', '/after-end'])
      expect(await get(path)).toEqual({ status: 200, body: 'ok' });
    expect(await get('/req-end')).toEqual({ status: 500, body: '' });
    await sleep(20);
    expect(await get('/')).toEqual({ status: 200, body: 'alive' });
    expect(logged).toEqual(
      expect.arrayContaining([
        "AJP request: an event listener threw response 'finish'",
        "AJP request: an event listener threw response 'close'",
        'AJP request: an event listener threw end callback',
        'AJP request: an event listener threw write callback',
        "AJP request: an event listener threw request 'end'",
      ]),
    );
  });

  it('res.destroy() before the head answers 500 (the web server must not see a dead backend)', async () => {
    const { get } = await ajpServer((req, res) => {
      if (req.url === '/destroy') res.destroy(new Error('app gave up'));
      else res.end('alive');
    });
    expect(await get('/destroy')).toEqual({ status: 500, body: '' });
    expect(await get('/')).toEqual({ status: 200, body: 'alive' });
  });

  it('clients that reset mid-request and mid-response, at random points, never crash the server', async () => {
    const { port, get } = await ajpServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        res.setHeader('Content-Type', 'text/plain');
        const block = Buffer.alloc(64 * 1024, 'z');
        let n = 0;
        const pump = () => {
          while (n++ < 40) if (!res.write(block)) return void res.once('drain', pump);
          res.end();
        };
        pump();
      });
    });
    const fr = encodeForwardRequest({
      method: 'POST',
      protocol: 'HTTP/1.1',
      uri: '/',
      remoteAddr: '127.0.0.1',
      remoteHost: null,
      serverName: 'h',
      serverPort: 80,
      isSsl: false,
      headers: [['Content-Length', '20000']],
      attributes: { secret: 's' },
    });
    const bodyPacket = (n: number) =>
      Buffer.concat([
        Buffer.from([0x12, 0x34, (n + 2) >> 8, (n + 2) & 0xff, n >> 8, n & 0xff]),
        Buffer.alloc(n, 1),
      ]);
    const whole = Buffer.concat([
      CPING_PACKET,
      fr,
      bodyPacket(8000),
      bodyPacket(8000),
      bodyPacket(4000),
    ]);
    for (let i = 0; i < 30; i++) {
      const cut = Math.floor((((i * 7919) % 997) / 997) * whole.length);
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      // even rounds cut the request; odd rounds send it all and cut the response after some bytes
      s.write(i % 2 === 0 ? whole.subarray(0, cut) : whole);
      if (i % 2 === 1) {
        let got = 0;
        await new Promise<void>((r) => {
          s.on('data', (d: Buffer) => {
            got += d.length;
            if (got > cut * 10) r();
          });
          s.once('close', () => r());
        });
      } else await sleep(5);
      s.resetAndDestroy();
    }
    await sleep(50);
    const r = await get('/');
    expect(r.status).toBe(200);
  });
});
