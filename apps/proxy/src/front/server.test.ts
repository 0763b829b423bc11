import { once } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { connect, type Socket } from 'node:net';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FrontTimeouts } from './connection.js';
import { FrontRequestError } from './errors.js';
import { FrontRequest, type BodySink } from './request.js';
import type { HeadLimits, RequestHead } from './request-head.js';
import { FrontResponse, InvalidResponseHeaderError, type ResponseConnection } from './response.js';
import { FrontServer, type FrontHandlers } from './server.js';

// ---------------------------------------------------------------- a small FrontServer for tests

type Handler = (req: FrontRequest, res: FrontResponse) => void;

interface TestServer {
  readonly front: FrontServer;
  readonly port: number;
  /** Every refusal the server reported, in order. */
  readonly refused: FrontRequestError[];
  close(): Promise<void>;
}

const LIMITS: HeadLimits = { maxHeaderBytes: 8192, maxHeaders: 50, maxRequestLineBytes: 1024 };
const SLOW: FrontTimeouts = { headers: 10_000, idle: 10_000, request: 20_000 };

/** Starts a FrontServer on 127.0.0.1:0 answering with `handler`. */
async function startServer(
  handler: Handler,
  opts: {
    timeouts?: FrontTimeouts;
    limits?: HeadLimits;
    onUpgrade?: FrontHandlers['onUpgrade'];
  } = {},
): Promise<TestServer> {
  const refused: FrontRequestError[] = [];
  const front = new FrontServer(
    { limits: opts.limits ?? LIMITS, timeouts: opts.timeouts ?? SLOW },
    {
      onRequest: handler,
      onUpgrade:
        opts.onUpgrade ??
        ((_req, socket) => {
          socket.destroy();
        }),
      onRefused: (err, socket) => {
        refused.push(err);
        if (!socket.writable) {
          socket.destroy();
          return;
        }
        socket.end(
          `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\nContent-Length: 0\r\n` +
            `Connection: close\r\nX-Code: ${err.code}\r\n\r\n`,
        );
      },
    },
  );
  const addr = await front.listen(0, '127.0.0.1');
  return {
    front,
    port: addr.port,
    refused,
    close: async () => {
      front.closeAllConnections();
      await front.close();
    },
  };
}

/** Reads a request's body whole (a request without one never calls a sink). */
function readBody(req: FrontRequest): Promise<Buffer> {
  if (!req.hasBody) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.setSink({
      onData: (c) => chunks.push(Buffer.from(c)),
      onEnd: () => resolve(Buffer.concat(chunks)),
      onError: reject,
    });
    req.resume();
  });
}

/** Answers with a Content-Length body. */
function reply(res: FrontResponse, status: number, body: string, headers: string[] = []): void {
  const b = Buffer.from(body, 'latin1');
  res.writeHead(status, undefined, [...headers, 'Content-Length', String(b.length)]);
  res.end(b);
}

/** The echo handler: method, url, version, headers and body as JSON. */
const echo: Handler = (req, res) => {
  if (req.expectContinue) res.writeContinue();
  readBody(req).then(
    (body) =>
      reply(
        res,
        200,
        JSON.stringify({
          method: req.method,
          url: req.url,
          versionMinor: req.versionMinor,
          rawHeaders: req.rawHeaders,
          host: req.host,
          cookie: req.cookie,
          body: body.toString('latin1'),
        }),
        ['Content-Type', 'application/json'],
      ),
    (err: unknown) => {
      if (err instanceof FrontRequestError && !res.headersSent) {
        res.closeConnection();
        reply(res, err.status, err.code);
      } else res.destroy();
    },
  );
};

interface Echoed {
  method: string;
  url: string;
  versionMinor: number;
  rawHeaders: string[];
  host?: string;
  cookie?: string;
  body: string;
}

// ---------------------------------------------------------------- a raw client

interface Resp {
  status: number;
  reason: string;
  headers: [string, string][];
  /** Values of a header (lower-case name) joined with ", ", or undefined. */
  header(lowerName: string): string | undefined;
  body: string;
  /** Bytes of the response on the wire. */
  length: number;
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses one HTTP/1.1 response at the start of `text`; undefined when more bytes are needed.
 * @throws when the bytes cannot be a well-formed response.
 */
function parseResponse(text: string, isHead: boolean, closed: boolean): Resp | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) {
    if (closed) throw new Error(`closed inside a response head: ${JSON.stringify(text)}`);
    return undefined;
  }
  const lines = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) ([^\r\n]*)$/.exec(lines[0]!);
  if (m === null) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = lines.slice(1).map((l): [string, string] => {
    const c = l.indexOf(': ');
    if (c <= 0 || !NAME.test(l.slice(0, c)) || /[\r\n\0]/.test(l))
      throw new Error(`bad header line: ${JSON.stringify(l)}`);
    return [l.slice(0, c), l.slice(c + 2)];
  });
  const values = (n: string) => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  const header = (n: string) => (values(n).length === 0 ? undefined : values(n).join(', '));
  const status = Number(m[1]);
  let pos = end + 4;
  let body = '';
  const cl = values('content-length');
  const te = header('transfer-encoding');
  if (cl.length > 0 && te !== undefined) throw new Error('Content-Length and Transfer-Encoding');
  if (isHead || status < 200 || status === 204 || status === 304) {
    // no body
  } else if (cl.length > 0) {
    if (cl.length > 1 || !/^\d+$/.test(cl[0]!)) throw new Error(`bad Content-Length ${cl}`);
    const n = Number(cl[0]);
    if (text.length < pos + n) {
      if (closed) throw new Error('closed inside a Content-Length body');
      return undefined;
    }
    body = text.slice(pos, pos + n);
    pos += n;
  } else if (te !== undefined) {
    if (te !== 'chunked') throw new Error(`bad Transfer-Encoding ${te}`);
    for (;;) {
      const eol = text.indexOf('\r\n', pos);
      if (eol === -1) {
        if (closed) throw new Error('closed inside a chunk size');
        return undefined;
      }
      const sizeText = text.slice(pos, eol);
      if (!/^[0-9a-f]+$/.test(sizeText)) throw new Error(`bad chunk size ${sizeText}`);
      const size = parseInt(sizeText, 16);
      const need = eol + 2 + size + 2;
      if (text.length < need) {
        if (closed) throw new Error('closed inside a chunk');
        return undefined;
      }
      if (text.slice(need - 2, need) !== '\r\n') throw new Error('chunk without CRLF');
      body += text.slice(eol + 2, eol + 2 + size);
      pos = need;
      if (size === 0) break;
    }
  } else {
    if (!closed) return undefined;
    body = text.slice(pos);
    pos = text.length;
  }
  return { status, reason: m[2]!, headers, header, body, length: pos };
}

/** A raw TCP client that reads responses one by one. */
class Client {
  /** Bytes received and not yet read as a response (latin1). */
  text = '';
  /** Every byte received. */
  all = '';
  closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.all += d.toString('latin1');
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  static async open(port: number): Promise<Client> {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    return new Client(s);
  }

  send(data: string | Buffer): void {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves with `check()` once it is not undefined (checked after every event). */
  until<T>(check: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const run = () => {
        let v: T | undefined;
        try {
          v = check();
        } catch (e) {
          done();
          reject(e as Error);
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.all)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(run);
      };
      this.waiters.add(run);
      run();
    });
  }

  /** The next response (`head`: the answer to a HEAD request). */
  response(head = false, timeoutMs = 5000): Promise<Resp> {
    return this.until(
      () => {
        const r = parseResponse(this.text, head, this.closed);
        if (r !== undefined) this.text = this.text.slice(r.length);
        return r;
      },
      'a response',
      timeoutMs,
    );
  }

  /** Resolves once the server closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<true> {
    return this.until(() => (this.closed ? true : undefined), 'the connection to close', timeoutMs);
  }

  destroy(): void {
    this.sock.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Polls `cond` every 10 ms until it holds. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

function echoed(r: Resp): Echoed {
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as Echoed;
}

// ---------------------------------------------------------------- the tests

/** Per-path behaviour of the main server's handler, set by tests; default: echo. */
const routes = new Map<string, Handler>();
let s: TestServer;
const upgrades: { req: FrontRequest; socket: Socket; head: Buffer }[] = [];

beforeAll(async () => {
  s = await startServer((req, res) => (routes.get(req.url) ?? echo)(req, res), {
    onUpgrade: (req, socket, head) => {
      upgrades.push({ req, socket, head: Buffer.from(head) });
      socket.on('error', () => {});
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.header('upgrade')}\r\nConnection: Upgrade\r\n\r\n`,
      );
      socket.write(Buffer.concat([Buffer.from('head='), head, Buffer.from(';')]));
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.resume();
    },
  });
});
afterAll(async () => {
  for (const u of upgrades) u.socket.destroy();
  await s.close();
});

describe('FrontServer: connections', () => {
  it('keeps an HTTP/1.1 connection alive for several requests', async () => {
    const c = await Client.open(s.port);
    try {
      for (let i = 0; i < 5; i++) {
        c.send(GET(`/k${i}`, `X-N: ${i}\r\n`));
        const r = await c.response();
        const e = echoed(r);
        expect(e.url).toBe(`/k${i}`);
        expect(e.rawHeaders).toEqual(['Host', 'x', 'X-N', String(i)]);
        expect(r.header('connection')).toBeUndefined();
      }
      expect(c.closed).toBe(false);
      expect(c.text).toBe('');
    } finally {
      c.destroy();
    }
  });

  it('passes method, target, version, Host, cookies and body through to the handler', async () => {
    const c = await Client.open(s.port);
    try {
      c.send(
        'PUT /p?q=1 HTTP/1.1\r\nHost: h.example\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Length: 3\r\n\r\nabc',
      );
      const e = echoed(await c.response());
      expect(e).toMatchObject({
        method: 'PUT',
        url: '/p?q=1',
        versionMinor: 1,
        host: 'h.example',
        cookie: 'a=1; b=2',
        body: 'abc',
      });
    } finally {
      c.destroy();
    }
  });

  it('closes after answering Connection: close, saying so', async () => {
    const c = await Client.open(s.port);
    try {
      c.send(GET('/c', 'Connection: close\r\n'));
      const r = await c.response();
      expect(r.header('connection')).toBe('close');
      await c.waitClosed();
      expect(c.text).toBe('');
    } finally {
      c.destroy();
    }
  });

  it('closes an HTTP/1.0 connection by default, keeps it with Connection: keep-alive', async () => {
    const c = await Client.open(s.port);
    try {
      c.send('GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      const r1 = await c.response();
      expect(echoed(r1).versionMinor).toBe(0);
      expect(r1.header('connection')).toBe('keep-alive');
      c.send('GET /k2 HTTP/1.0\r\n\r\n');
      const r2 = await c.response();
      expect(echoed(r2).url).toBe('/k2');
      expect(r2.header('connection')).toBe('close');
      await c.waitClosed();
    } finally {
      c.destroy();
    }
  });

  it('ignores empty lines before a request line', async () => {
    const c = await Client.open(s.port);
    try {
      c.send('\r\n\r\n' + GET('/after-empty-lines'));
      expect(echoed(await c.response()).url).toBe('/after-empty-lines');
    } finally {
      c.destroy();
    }
  });

  it('answers pipelined requests one at a time, in order', async () => {
    const seen: string[] = [];
    let release: (() => void) | undefined;
    routes.set('/pipe1', (_req, res) => {
      seen.push('start /pipe1');
      // answered later, while the next requests wait in the buffer
      release = () => {
        seen.push('answer /pipe1');
        reply(res, 200, 'one');
      };
    });
    routes.set('/pipe2', (req, res) => {
      seen.push('start /pipe2');
      void readBody(req).then((b) => reply(res, 200, 'two:' + b.toString()));
    });
    routes.set('/pipe3', (_req, res) => {
      seen.push('start /pipe3');
      reply(res, 200, 'three');
    });
    const c = await Client.open(s.port);
    try {
      c.send(
        GET('/pipe1') +
          'POST /pipe2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
          'POST /pipe4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n' +
          GET('/pipe3'),
      );
      await waitFor(() => release !== undefined, 'the first request');
      await sleep(100);
      expect(seen).toEqual(['start /pipe1']);
      release!();
      expect((await c.response()).body).toBe('one');
      expect((await c.response()).body).toBe('two:hello');
      const e4 = echoed(await c.response());
      expect([e4.url, e4.body]).toEqual(['/pipe4', 'hi']);
      expect((await c.response()).body).toBe('three');
      expect(seen).toEqual(['start /pipe1', 'answer /pipe1', 'start /pipe2', 'start /pipe3']);
      expect(c.closed).toBe(false);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('reads nothing after a request with Connection: close', async () => {
    const seen: string[] = [];
    routes.set('/last', (req, res) => {
      seen.push(req.url);
      reply(res, 200, 'last');
    });
    routes.set('/smuggled', (req, res) => {
      seen.push(req.url);
      reply(res, 200, 'smuggled');
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/last', 'Connection: close\r\n') + GET('/smuggled'));
      expect((await c.response()).body).toBe('last');
      await c.waitClosed();
      expect(c.text).toBe('');
      expect(seen).toEqual(['/last']);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('never reads an unread or broken body as the next request', async () => {
    const seen: string[] = [];
    routes.set('/early', (req, res) => {
      seen.push(req.url);
      // answered without reading the body (as a 413 would be)
      reply(res, 413, 'early');
    });
    routes.set('/smuggled', (req, res) => {
      seen.push(req.url);
      reply(res, 200, 'smuggled');
    });
    const inner = GET('/smuggled');
    for (const data of [
      `POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`,
      `POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: ${inner.length + 10}\r\n\r\n${inner}`,
      `POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\n${inner}`,
      `POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n${inner}`,
    ]) {
      const c = await Client.open(s.port);
      try {
        c.send(data);
        const r = await c.response();
        expect([413, 400]).toContain(r.status);
        await c.waitClosed();
        expect(c.text).toBe('');
      } finally {
        c.destroy();
      }
    }
    expect(seen).toEqual(['/early', '/early']);
    routes.clear();
  });

  it('answers a bad request pipelined after a good one after the good one, then closes', async () => {
    const c = await Client.open(s.port);
    const before = s.refused.length;
    try {
      c.send(GET('/good') + 'GET /bad HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n' + GET('/never'));
      expect(echoed(await c.response()).url).toBe('/good');
      const r = await c.response();
      expect(r.status).toBe(400);
      expect(r.header('x-code')).toBe('DUPLICATE_HOST');
      await c.waitClosed();
      expect(c.text).toBe('');
      expect(s.refused.slice(before).map((e) => e.code)).toEqual(['DUPLICATE_HOST']);
    } finally {
      c.destroy();
    }
  });

  const early: [string, string, number, string][] = [
    ['a bare LF in a partial head', 'GET / HTTP/1.1\nHost: x\n', 400, 'BAD_LINE_ENDING'],
    ['a bare LF as the first byte', '\nGET / HTTP/1.1\r\n', 400, 'BAD_LINE_ENDING'],
    ['a partial request line over the limit', 'GET /' + 'a'.repeat(1100), 414, 'TARGET_TOO_LONG'],
    [
      'a partial head over the limit',
      'GET / HTTP/1.1\r\nHost: x\r\n' + 'X-Filler: abcdefghijklmnopqrstuvwxyz\r\n'.repeat(250),
      431,
      'HEADER_TOO_LARGE',
    ],
  ];
  for (const [name, data, status, code] of early) {
    it(`refuses ${name} without waiting for the end of the head (${status})`, async () => {
      const c = await Client.open(s.port);
      try {
        c.send(data);
        const r = await c.response();
        expect([r.status, r.header('x-code')]).toEqual([status, code]);
        await c.waitClosed();
      } finally {
        c.destroy();
      }
    });
  }

  it('refuses a complete bad head with its status and closes', async () => {
    const cases: [string, number, string][] = [
      ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505, 'BAD_VERSION'],
      [
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
        501,
        'UNSUPPORTED_TRANSFER_CODING',
      ],
      ['POST / HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\n\r\n', 417, 'EXPECTATION_FAILED'],
      [
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'LENGTH_AND_CHUNKED',
      ],
    ];
    for (const [data, status, code] of cases) {
      const c = await Client.open(s.port);
      try {
        c.send(data);
        const r = await c.response();
        expect([r.status, r.header('x-code'), r.header('connection')]).toEqual([
          status,
          code,
          'close',
        ]);
        await c.waitClosed();
      } finally {
        c.destroy();
      }
    }
  });
});

describe('FrontServer: response framing', () => {
  /** Writes a head without Content-Length and a body in two writes. */
  const unframed: Handler = (_req, res) => {
    res.writeHead(200, undefined, ['Content-Type', 'text/plain']);
    res.write(Buffer.from('first '));
    res.write(Buffer.alloc(0));
    res.end(Buffer.from('second'));
  };

  it('sends an unframed body chunked to an HTTP/1.1 client and keeps the connection', async () => {
    routes.set('/unframed', unframed);
    const c = await Client.open(s.port);
    try {
      c.send(GET('/unframed'));
      const r = await c.response();
      expect(r.header('transfer-encoding')).toBe('chunked');
      expect(r.header('content-length')).toBeUndefined();
      expect(r.header('connection')).toBeUndefined();
      expect(r.body).toBe('first second');
      c.send(GET('/after'));
      expect(echoed(await c.response()).url).toBe('/after');
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('ends a chunked body with the last chunk when end() has no data', async () => {
    routes.set('/unframed-end', (_req, res) => {
      res.writeHead(200, undefined, []);
      res.write(Buffer.from('abc'));
      res.end();
    });
    routes.set('/unframed-empty', (_req, res) => {
      res.writeHead(200, undefined, []);
      res.end();
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/unframed-end') + GET('/unframed-empty'));
      expect((await c.response()).body).toBe('abc');
      const r = await c.response();
      expect([r.header('transfer-encoding'), r.body]).toEqual(['chunked', '']);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('sends an unframed body to an HTTP/1.0 client until the connection closes', async () => {
    routes.set('/unframed', unframed);
    const c = await Client.open(s.port);
    try {
      c.send('GET /unframed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      const r = await c.response();
      expect(c.closed).toBe(true);
      expect(r.header('transfer-encoding')).toBeUndefined();
      expect(r.header('content-length')).toBeUndefined();
      expect(r.header('connection')).toBe('close');
      expect(r.body).toBe('first second');
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('keeps the member framing: Content-Length as given', async () => {
    const c = await Client.open(s.port);
    try {
      c.send(GET('/cl'));
      const r = await c.response();
      expect(r.header('transfer-encoding')).toBeUndefined();
      expect(Number(r.header('content-length'))).toBe(r.body.length);
    } finally {
      c.destroy();
    }
  });

  it('sends no body for HEAD, 204 and 304, and the connection stays usable', async () => {
    const withBody: Handler = (req, res) => {
      const status = Number(req.header('x-status') ?? '200');
      res.writeHead(status, undefined, req.header('x-cl') ? ['Content-Length', '5'] : []);
      res.write(Buffer.from('BODY!'));
      res.end(Buffer.from('MORE'));
    };
    routes.set('/bodyless', withBody);
    const c = await Client.open(s.port);
    try {
      const cases: [string, boolean, number, string | undefined][] = [
        ['HEAD /bodyless HTTP/1.1\r\nHost: x\r\n\r\n', true, 200, undefined],
        ['HEAD /bodyless HTTP/1.1\r\nHost: x\r\nX-CL: 1\r\n\r\n', true, 200, '5'],
        [GET('/bodyless', 'X-Status: 204\r\n'), false, 204, undefined],
        [GET('/bodyless', 'X-Status: 304\r\n'), false, 304, undefined],
        [GET('/bodyless', 'X-Status: 304\r\nX-CL: 1\r\n'), false, 304, '5'],
      ];
      for (const [data, head, status, cl] of cases) {
        c.send(data);
        const r = await c.response(head);
        expect(r.status).toBe(status);
        expect(r.header('transfer-encoding')).toBeUndefined();
        expect(r.header('content-length')).toBe(cl);
        expect(r.header('connection')).toBeUndefined();
        // nothing else arrives: the next answer starts right after the head
        c.send(GET('/next'));
        expect(echoed(await c.response()).url).toBe('/next');
      }
      expect(c.text).toBe('');
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('reports a full socket buffer (write returns false) and calls onDrain', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0x62);
    const results: boolean[] = [];
    let drained = 0;
    routes.set('/drain', (_req, res) => {
      res.writeHead(200, undefined, ['Content-Length', String(big.length + 3)]);
      res.onDrain = () => {
        drained++;
        if (!res.finished) res.end(Buffer.from('end'));
      };
      results.push(res.write(big));
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/drain'));
      const r = await c.response(false, 15_000);
      expect(r.body.length).toBe(big.length + 3);
      expect(r.body.endsWith('bend')).toBe(true);
      expect(results).toEqual([false]);
      expect(drained).toBeGreaterThanOrEqual(1);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('writes the status text given, or the standard one', async () => {
    routes.set('/status', (req, res) => {
      if (req.header('x-text') !== undefined)
        res.writeHead(299, req.header('x-text'), ['Content-Length', '0']);
      else res.writeHead(418, undefined, ['Content-Length', '0']);
      res.end();
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/status', 'X-Text: Fine Thanks\r\n') + GET('/status'));
      const a = await c.response();
      expect([a.status, a.reason]).toEqual([299, 'Fine Thanks']);
      const b = await c.response();
      expect([b.status, b.reason]).toEqual([418, "I'm a Teapot"]);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('refuses response header fields with CR, LF or NUL (InvalidResponseHeaderError)', async () => {
    const caught: unknown[] = [];
    let sentAfterThrows: boolean | undefined;
    routes.set('/bad-header', (_req, res) => {
      const bad: string[][] = [
        ['X-Injected', 'a\r\nSet-Cookie: evil=1'],
        ['X-Lf', 'a\nb'],
        ['X-Nul', 'a\0b'],
        ['Bad Name', 'v'],
        ['X-Colon:', 'v'],
        ['', 'v'],
      ];
      for (const h of bad) {
        try {
          res.writeHead(200, undefined, ['Content-Type', 'text/plain', ...h]);
        } catch (e) {
          caught.push(e);
        }
      }
      sentAfterThrows = res.headersSent;
      reply(res, 502, 'refused');
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/bad-header'));
      const r = await c.response();
      expect([r.status, r.body]).toEqual([502, 'refused']);
      expect(r.header('set-cookie')).toBeUndefined();
      expect(c.all).not.toContain('evil');
      expect(sentAfterThrows).toBe(false);
      expect(caught).toHaveLength(6);
      for (const e of caught) {
        expect(e).toBeInstanceOf(InvalidResponseHeaderError);
        expect((e as InvalidResponseHeaderError).code).toBe('ERR_INVALID_RESPONSE_HEADER');
        expect((e as Error).message).not.toContain('evil');
      }
      expect((caught[0] as Error).message).toContain('X-Injected');
    } finally {
      c.destroy();
      routes.clear();
    }
  });
});

describe('FrontServer: request bodies', () => {
  it('delivers a Content-Length body sent in pieces whole to the sink', async () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    let got: Buffer | undefined;
    const states: unknown[] = [];
    routes.set('/big', (req, res) => {
      states.push([req.hasBody, req.complete, req.contentLength]);
      void readBody(req).then((b) => {
        got = b;
        states.push(req.complete);
        reply(res, 200, String(b.length));
      });
    });
    const c = await Client.open(s.port);
    try {
      c.send(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      for (let i = 0; i < body.length; i += 65_536) c.send(body.subarray(i, i + 65_536));
      c.send(GET('/after-big'));
      expect((await c.response()).body).toBe(String(body.length));
      expect(got!.equals(body)).toBe(true);
      expect(states).toEqual([[true, false, body.length], true]);
      expect(echoed(await c.response()).url).toBe('/after-big');
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('delivers a chunked body whole to the sink, without its framing', async () => {
    const c = await Client.open(s.port);
    try {
      c.send('POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      c.send('4;ext=1\r\nWiki\r\n');
      await sleep(20);
      c.send('5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n');
      const e = echoed(await c.response());
      expect(e.body).toBe('Wikipedia in\r\n\r\nchunks.');
    } finally {
      c.destroy();
    }
  });

  it('marks a request without a body complete and never calls a sink', async () => {
    let calls = 0;
    const states: unknown[] = [];
    routes.set('/nobody', (req, res) => {
      states.push([req.hasBody, req.complete]);
      req.setSink({
        onData: () => calls++,
        onEnd: () => calls++,
        onError: () => calls++,
      });
      req.resume();
      reply(res, 200, 'ok');
    });
    const c = await Client.open(s.port);
    try {
      c.send('POST /nobody HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' + GET('/nobody'));
      expect((await c.response()).body).toBe('ok');
      expect((await c.response()).body).toBe('ok');
      expect(calls).toBe(0);
      expect(states).toEqual([
        [false, true],
        [false, true],
      ]);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('stops delivering body bytes while the sink is paused, and goes on after resume', async () => {
    let received = 0;
    let ended = false;
    let request: FrontRequest | undefined;
    routes.set('/paused', (req, res) => {
      request = req;
      req.setSink({
        onData: (c) => {
          received += c.length;
          req.pause();
        },
        onEnd: () => {
          ended = true;
          reply(res, 200, String(received));
        },
        onError: () => res.destroy(),
      });
      req.resume();
    });
    const c = await Client.open(s.port);
    try {
      c.send('POST /paused HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n' + 'a'.repeat(1000));
      await waitFor(() => received > 0, 'the first body bytes');
      const first = received;
      expect(first).toBeLessThanOrEqual(1000);
      c.send('b'.repeat(2000));
      await sleep(200);
      expect(received).toBe(first);
      expect(ended).toBe(false);
      // resume step by step: each resume lets at least one more piece through
      while (!ended) {
        const before = received;
        request!.resume();
        await waitFor(() => received > before || ended, 'more body bytes');
      }
      expect((await c.response()).body).toBe('3000');
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('keeps the body for a new sink when the first one is detached before reading', async () => {
    const firstSink: string[] = [];
    routes.set('/retry', (req, res) => {
      req.setSink({
        onData: (c) => firstSink.push(c.toString()),
        onEnd: () => firstSink.push('end'),
        onError: () => firstSink.push('error'),
      });
      // the first attempt gives up before reading: its sink is detached, never resumed
      req.setSink(undefined);
      setTimeout(() => void readBody(req).then((b) => reply(res, 200, b.toString())), 100);
    });
    const c = await Client.open(s.port);
    try {
      c.send('POST /retry HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello');
      await sleep(30);
      c.send(' world');
      expect((await c.response()).body).toBe('hello world');
      expect(firstSink).toEqual([]);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('keeps a chunked body for a new sink too', async () => {
    routes.set('/retry-chunked', (req, res) => {
      const unused: BodySink = { onData: () => {}, onEnd: () => {}, onError: () => {} };
      req.setSink(unused);
      req.setSink(undefined);
      setTimeout(() => void readBody(req).then((b) => reply(res, 200, b.toString())), 100);
    });
    const c = await Client.open(s.port);
    try {
      c.send(
        'POST /retry-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
      );
      expect((await c.response()).body).toBe('abcde');
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('reports bad chunked framing to the sink as BAD_CHUNK', async () => {
    const c = await Client.open(s.port);
    try {
      c.send(
        'POST /bad-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n',
      );
      const r = await c.response();
      expect([r.status, r.body]).toEqual([400, 'BAD_CHUNK']);
      expect(r.header('connection')).toBe('close');
      await c.waitClosed();
    } finally {
      c.destroy();
    }
  });

  it('tells the sink when the client goes away in the middle of the body', async () => {
    const errors: Error[] = [];
    let closed = 0;
    let got = '';
    routes.set('/gone', (req, res) => {
      res.onClose = () => closed++;
      req.setSink({
        onData: (c) => (got += c.toString()),
        onEnd: () => {},
        onError: (e) => {
          errors.push(e);
          res.destroy();
        },
      });
      req.resume();
    });
    const c = await Client.open(s.port);
    c.send('POST /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    try {
      await waitFor(() => got === 'abc', 'the first body bytes');
      c.destroy();
      await waitFor(() => closed > 0, 'onClose');
      await sleep(50);
      expect(errors).toHaveLength(1);
      expect(closed).toBe(1);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('answers Expect: 100-continue when the handler calls writeContinue', async () => {
    const c = await Client.open(s.port);
    try {
      c.send(
        'POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n',
      );
      const cont = await c.response();
      expect([cont.status, cont.reason, cont.headers]).toEqual([100, 'Continue', []]);
      c.send('data');
      const e = echoed(await c.response());
      expect(e.body).toBe('data');
    } finally {
      c.destroy();
    }
  });
});

describe('FrontServer: protocol switches', () => {
  it('hands an upgrade to onUpgrade with the bytes that followed the head', async () => {
    const before = upgrades.length;
    const c = await Client.open(s.port);
    try {
      c.send(
        'GET /ws?x=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\nEARLY\0bytes',
      );
      const r = await c.response();
      expect(r.status).toBe(101);
      expect(r.header('upgrade')).toBe('websocket');
      await c.until(() => (c.text.startsWith('head=EARLY\0bytes;') ? true : undefined), 'the head');
      c.text = '';
      c.send('ping');
      await c.until(() => (c.text === 'ping' ? true : undefined), 'the echo');
      const u = upgrades[before]!;
      expect([u.req.method, u.req.url, u.req.header('upgrade')]).toEqual([
        'GET',
        '/ws?x=1',
        'websocket',
      ]);
      expect(u.head.toString('latin1')).toBe('EARLY\0bytes');
      expect(upgrades).toHaveLength(before + 1);
      // the front end let go of the socket
      await waitFor(
        () => s.front.connectionCount === 0 || c.closed,
        'the connection to be forgotten',
      );
    } finally {
      c.destroy();
    }
  });

  it('hands over an upgrade with nothing after the head with an empty head buffer', async () => {
    const before = upgrades.length;
    const c = await Client.open(s.port);
    try {
      c.send('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n');
      await c.until(() => (c.text.includes('head=;') ? true : undefined), 'the head');
      expect(upgrades[before]!.head.length).toBe(0);
    } finally {
      c.destroy();
    }
  });

  it('refuses an upgrade request with a body', async () => {
    const before = upgrades.length;
    const c = await Client.open(s.port);
    try {
      c.send(
        'POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nhi',
      );
      const r = await c.response();
      expect(r.status).toBe(400);
      await c.waitClosed();
      expect(upgrades).toHaveLength(before);
    } finally {
      c.destroy();
    }
  });

  it('treats Upgrade without Connection: upgrade as a plain request', async () => {
    const before = upgrades.length;
    const c = await Client.open(s.port);
    try {
      c.send(GET('/not-ws', 'Upgrade: websocket\r\n'));
      expect(echoed(await c.response()).url).toBe('/not-ws');
      expect(upgrades).toHaveLength(before);
    } finally {
      c.destroy();
    }
  });
});

describe('FrontServer: pending responses', () => {
  it('calls res.onClose once when the client closes while its response is pending', async () => {
    let closed = 0;
    let response: FrontResponse | undefined;
    routes.set('/pending', (_req, res) => {
      response = res;
      res.onClose = () => closed++;
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/pending'));
      await waitFor(() => response !== undefined, 'the request');
      c.destroy();
      await waitFor(() => closed > 0, 'onClose');
      await sleep(50);
      expect(closed).toBe(1);
      expect(response!.finished).toBe(false);
      // answering a gone client is harmless
      reply(response!, 200, 'late');
      expect(response!.finished).toBe(true);
      expect(closed).toBe(1);
    } finally {
      c.destroy();
      routes.clear();
    }
  });

  it('does not call onClose for a response that finished', async () => {
    let closed = 0;
    routes.set('/finished', (_req, res) => {
      res.onClose = () => closed++;
      reply(res, 200, 'done');
    });
    const c = await Client.open(s.port);
    try {
      c.send(GET('/finished', 'Connection: close\r\n'));
      expect((await c.response()).body).toBe('done');
      await c.waitClosed();
      await sleep(50);
      expect(closed).toBe(0);
    } finally {
      c.destroy();
      routes.clear();
    }
  });
});

describe('FrontServer: timeouts', () => {
  let t: TestServer;
  let bodyErrors: Error[] = [];
  let closes = 0;
  beforeAll(async () => {
    t = await startServer(
      (req, res) => {
        if (req.url === '/hold-body') {
          res.onClose = () => closes++;
          req.setSink({ onData: () => {}, onEnd: () => {}, onError: (e) => bodyErrors.push(e) });
          req.resume();
          return;
        }
        echo(req, res);
      },
      { timeouts: { headers: 200, idle: 200, request: 400 } },
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers a head that does not arrive in time with 408 and closes', async () => {
    const before = t.refused.length;
    const c = await Client.open(t.port);
    try {
      c.send('GET / HTTP/1.1\r\nHost: x\r\n');
      const r = await c.response(false, 3000);
      expect([r.status, r.header('x-code')]).toEqual([408, 'HEADERS_TIMEOUT']);
      await c.waitClosed(3000);
      expect(t.refused.slice(before).map((e) => [e.code, e.status])).toEqual([
        ['HEADERS_TIMEOUT', 408],
      ]);
    } finally {
      c.destroy();
    }
  });

  it('answers a connection that sends nothing with 408 after the headers timeout', async () => {
    const c = await Client.open(t.port);
    try {
      const r = await c.response(false, 3000);
      expect(r.status).toBe(408);
      await c.waitClosed(3000);
    } finally {
      c.destroy();
    }
  });

  it('closes an idle keep-alive connection silently', async () => {
    const c = await Client.open(t.port);
    try {
      c.send(GET('/idle'));
      expect(echoed(await c.response()).url).toBe('/idle');
      await c.waitClosed(3000);
      expect(c.text).toBe('');
    } finally {
      c.destroy();
    }
  });

  it('gives a slow next request on a kept-alive connection its own headers deadline', async () => {
    const c = await Client.open(t.port);
    try {
      c.send(GET('/first'));
      await c.response();
      c.send('GET /second HTTP/1.1\r\n');
      const r = await c.response(false, 3000);
      expect(r.status).toBe(408);
      await c.waitClosed(3000);
    } finally {
      c.destroy();
    }
  });

  it('answers a body that does not arrive in time with 408, fails the sink and fires onClose', async () => {
    bodyErrors = [];
    closes = 0;
    const c = await Client.open(t.port);
    try {
      c.send('POST /hold-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
      const r = await c.response(false, 3000);
      expect(r.status).toBe(408);
      await c.waitClosed(3000);
      expect(bodyErrors).toHaveLength(1);
      expect(bodyErrors[0]).toBeInstanceOf(FrontRequestError);
      expect((bodyErrors[0] as FrontRequestError).code).toBe('REQUEST_TIMEOUT');
      expect(closes).toBe(1);
    } finally {
      c.destroy();
    }
  });

  it('lets every connection go (connectionCount 0)', async () => {
    await waitFor(() => t.front.connectionCount === 0, 'no connections', 5000);
  });
});

describe('FrontServer: slow readers', () => {
  const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(
      (_req, res) => {
        res.writeHead(200, undefined, ['Content-Length', String(big.length)]);
        // more than the kernel's socket buffers hold: most of it waits in the socket's queue
        res.end(big);
      },
      { timeouts: { headers: 10_000, idle: 300, request: 10_000 } },
    );
  });
  afterAll(async () => {
    await t.close();
  });

  /** Sends `request`, stops reading for `pauseMs`, then reads until the server closes. */
  async function slowRead(
    request: string,
    pauseMs: number,
  ): Promise<{ head: string; body: number }> {
    const sock = connect(t.port, '127.0.0.1');
    await once(sock, 'connect');
    let start = '';
    let total = 0;
    sock.on('data', (d: Buffer) => {
      if (start.length < 200) start += d.toString('latin1', 0, 200);
      total += d.length;
    });
    sock.on('error', () => {});
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.write(request);
    await waitFor(() => total > 0, 'the first bytes');
    sock.pause();
    await sleep(pauseMs);
    sock.resume();
    await Promise.race([closed, sleep(15_000)]);
    sock.destroy();
    const headEnd = start.indexOf('\r\n\r\n') + 4;
    return { head: start.slice(0, headEnd), body: total - headEnd };
  }

  // The idle deadline must not cut an answer that is still leaving for a slow reader.
  it('lets a kept-alive client read a large answer slower than the idle timeout', async () => {
    const r = await slowRead(GET('/slow'), 1500);
    expect(r.head).toContain('Content-Length: 33554432');
    expect(r.body).toBe(big.length);
  });

  // Nor must the 2 s linger time of a closing connection.
  it('lets a client read a large Connection: close answer slower than the linger time', async () => {
    const r = await slowRead(GET('/slow', 'Connection: close\r\n'), 3000);
    expect(r.head).toContain('Connection: close');
    expect(r.body).toBe(big.length);
  });
});

describe('FrontServer: close()', () => {
  it('closes idle connections, and answers pending requests with Connection: close', async () => {
    let pending: FrontResponse | undefined;
    const srv = await startServer((req, res) => {
      if (req.url === '/hold') pending = res;
      else echo(req, res);
    });
    const idle = await Client.open(srv.port);
    const busy = await Client.open(srv.port);
    let closed: Promise<void> | undefined;
    try {
      idle.send(GET('/a'));
      expect(echoed(await idle.response()).url).toBe('/a');
      busy.send(GET('/hold'));
      await waitFor(() => pending !== undefined, 'the held request');
      expect(srv.front.connectionCount).toBe(2);

      closed = srv.front.close();
      await idle.waitClosed();
      expect(idle.text).toBe('');
      expect(busy.closed).toBe(false);

      reply(pending!, 200, 'bye');
      const r = await busy.response();
      expect([r.status, r.body, r.header('connection')]).toEqual([200, 'bye', 'close']);
      await busy.waitClosed();
      await closed;
      // the sockets are closed; the set of connections learns it from their 'close' events
      await waitFor(() => srv.front.connectionCount === 0, 'no connections', 1000);

      const refused = connect(srv.port, '127.0.0.1');
      const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
      expect(err.code).toBe('ECONNREFUSED');
    } finally {
      idle.destroy();
      busy.destroy();
      srv.front.closeAllConnections();
      await (closed ?? srv.front.close());
    }
  });
});

// ---------------------------------------------------------------- units, without sockets

/** A ResponseConnection that records what is written. */
function fakeConn(closing = false) {
  const writes: string[] = [];
  const ended: boolean[] = [];
  let destroyed = 0;
  const conn: ResponseConnection = {
    write: (d) => {
      writes.push(typeof d === 'string' ? d : d.toString('latin1'));
      return true;
    },
    responseEnded: (close) => ended.push(close),
    destroy: () => destroyed++,
    closing,
  };
  return { conn, writes, ended, destroyed: () => destroyed };
}

describe('FrontResponse', () => {
  it('writes head and a small body in one write', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    res.writeHead(200, undefined, ['Content-Length', '2', 'X-A', 'b']);
    expect(f.writes).toEqual([]);
    res.end(Buffer.from('hi'));
    expect(f.writes).toEqual(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi']);
    expect(f.ended).toEqual([false]);
    expect(res.finished).toBe(true);
  });

  it('writes head, chunk and last chunk in one write for a small unframed answer', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    res.writeHead(200, undefined, []);
    res.end(Buffer.from('abc'));
    expect(f.writes).toEqual([
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    ]);
  });

  it('writes a large body separately from the head, with correct framing', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    res.writeHead(200, undefined, []);
    const big = Buffer.alloc(20_000, 0x61);
    res.write(big);
    res.end();
    const all = f.writes.join('');
    expect(all).toBe(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4e20\r\n' +
        'a'.repeat(20_000) +
        '\r\n0\r\n\r\n',
    );
  });

  it('adds Connection: close when asked, when the client wants it, or when closing', () => {
    const a = fakeConn();
    const r1 = new FrontResponse(a.conn, 'GET', 1, true);
    r1.closeConnection();
    r1.writeHead(200, undefined, ['Content-Length', '0']);
    r1.end();
    expect(a.writes[0]).toContain('\r\nConnection: close\r\n');
    expect(a.ended).toEqual([true]);

    const b = fakeConn();
    const r2 = new FrontResponse(b.conn, 'GET', 1, false);
    r2.writeHead(200, undefined, ['Content-Length', '0']);
    r2.end();
    expect(b.writes[0]).toContain('\r\nConnection: close\r\n');
    expect(b.ended).toEqual([true]);

    const c = fakeConn(true);
    const r3 = new FrontResponse(c.conn, 'GET', 1, true);
    r3.writeHead(200, undefined, ['Content-Length', '0']);
    r3.end();
    expect(c.writes[0]).toContain('\r\nConnection: close\r\n');
    expect(c.ended).toEqual([true]);
  });

  it('says Connection: keep-alive to an HTTP/1.0 client it keeps', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 0, true);
    res.writeHead(200, undefined, ['Content-Length', '1']);
    res.end(Buffer.from('x'));
    expect(f.writes).toEqual([
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx',
    ]);
    expect(f.ended).toEqual([false]);
  });

  it('ignores writes after the end and a second end', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    res.writeHead(200, undefined, ['Content-Length', '1']);
    res.end(Buffer.from('x'));
    expect(res.write(Buffer.from('y'))).toBe(true);
    res.end(Buffer.from('z'));
    expect(f.writes).toHaveLength(1);
    expect(f.ended).toEqual([false]);
  });

  it('writes 100 Continue only before the head', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'POST', 1, true);
    res.writeContinue();
    expect(f.writes).toEqual(['HTTP/1.1 100 Continue\r\n\r\n']);
    res.writeHead(200, undefined, ['Content-Length', '0']);
    res.writeContinue();
    expect(f.writes).toHaveLength(1);
  });

  it('keeps its state when writeHead throws', () => {
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    expect(() => res.writeHead(201, undefined, ['X', 'a\rb'])).toThrow(InvalidResponseHeaderError);
    expect([res.headersSent, res.statusCode]).toEqual([false, 200]);
    res.writeHead(201, undefined, ['Content-Length', '0']);
    res.end();
    expect(f.writes).toEqual(['HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n']);
  });

  // A member's reason phrase (an AJP SEND_HEADERS message may hold any bytes) must not split
  // the response.
  it('refuses a status text holding CR, LF or NUL (response splitting)', () => {
    for (const text of ['OK\r\nSet-Cookie: evil=1', 'OK\nX: y', 'O\0K', 'OK\r']) {
      const f = fakeConn();
      const res = new FrontResponse(f.conn, 'GET', 1, true);
      expect(() => res.writeHead(200, text, ['Content-Length', '0'])).toThrow(
        InvalidResponseHeaderError,
      );
      expect(res.headersSent).toBe(false);
      expect(f.writes).toEqual([]);
    }
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    res.writeHead(200, 'Fine\tby me \xe9', ['Content-Length', '0']);
    res.end();
    expect(f.writes).toEqual(['HTTP/1.1 200 Fine\tby me \xe9\r\nContent-Length: 0\r\n\r\n']);
  });

  // An AJP status is any u16: outside 100…999 it would make a malformed status line.
  it('refuses a status code outside 100…999', () => {
    for (const status of [0, 99, 1000, 65535, 200.5, NaN]) {
      const f = fakeConn();
      const res = new FrontResponse(f.conn, 'GET', 1, true);
      expect(() => res.writeHead(status, undefined, ['Content-Length', '0'])).toThrow(
        InvalidResponseHeaderError,
      );
      expect(res.headersSent).toBe(false);
    }
    const f = fakeConn();
    const res = new FrontResponse(f.conn, 'GET', 1, true);
    res.writeHead(999, undefined, ['Content-Length', '0']);
    res.end();
    expect(f.writes).toEqual(['HTTP/1.1 999 \r\nContent-Length: 0\r\n\r\n']);
  });

  it('writes a well-formed head or throws InvalidResponseHeaderError, for any header list', () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
        fc.constantFrom('\r', '\n', '\r\n', ':', ' ', '\t', '\0'),
      ),
      maxLength: 20,
    });
    fc.assert(
      fc.property(
        fc.option(text),
        fc.array(fc.tuple(text, text), { maxLength: 5 }),
        (reason, pairs) => {
          const f = fakeConn();
          const res = new FrontResponse(f.conn, 'GET', 1, true);
          try {
            res.writeHead(200, reason ?? undefined, ['Content-Length', '0', ...pairs.flat()]);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidResponseHeaderError);
            expect(res.headersSent).toBe(false);
            return;
          }
          res.end();
          const head = f.writes.join('');
          expect(head.endsWith('\r\n\r\n')).toBe(true);
          const lines = head.slice(0, -4).split('\r\n');
          expect(lines).toHaveLength(2 + pairs.length);
          for (const [i, [name, value]] of pairs.entries())
            expect(lines[2 + i]).toBe(`${name}: ${value}`);
          expect(lines[0]).toBe(`HTTP/1.1 200 ${reason ?? 'OK'}`);
          for (const l of lines) expect(l).not.toMatch(/[\0\r\n]/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('destroy() cuts the connection', () => {
    const f = fakeConn();
    new FrontResponse(f.conn, 'GET', 1, true).destroy();
    expect(f.destroyed()).toBe(1);
  });
});

describe('FrontRequest', () => {
  const head: RequestHead = {
    method: 'POST',
    target: '/t',
    versionMinor: 1,
    rawHeaders: ['Host', 'h', 'X-A', '1', 'x-a', '2', 'X-AB', '3'],
    host: 'h',
    cookie: undefined,
    contentLength: 3,
    chunked: false,
    keepAlive: true,
    upgrade: false,
    upgradeProtocol: undefined,
    expectContinue: false,
  };
  const conn = () => {
    let flows = 0;
    return {
      c: {
        remoteAddress: '10.0.0.1',
        remotePort: 1234,
        localAddress: '10.0.0.2',
        localPort: 80,
        bodyFlowChanged: () => flows++,
      },
      flows: () => flows,
    };
  };

  it('reads header values case-insensitively, joining repeated fields', () => {
    const req = new FrontRequest(head, conn().c);
    expect(req.header('x-a')).toBe('1, 2');
    expect(req.header('x-ab')).toBe('3');
    expect(req.header('host')).toBe('h');
    expect(req.header('x-b')).toBeUndefined();
    expect([req.remoteAddress, req.remotePort, req.localAddress, req.localPort]).toEqual([
      '10.0.0.1',
      1234,
      '10.0.0.2',
      80,
    ]);
    expect([req.hasBody, req.complete]).toEqual([true, false]);
  });

  it('starts paused; resume tells the connection once, setSink pauses again', () => {
    const k = conn();
    const req = new FrontRequest(head, k.c);
    expect(req.paused).toBe(true);
    req.resume();
    req.resume();
    expect(k.flows()).toBe(1);
    req.setSink({ onData: () => {}, onEnd: () => {}, onError: () => {} });
    expect(req.paused).toBe(true);
    req.resume();
    expect(k.flows()).toBe(2);
    req.pause();
    expect(req.paused).toBe(true);
  });

  it('has a body when chunked, none with Content-Length 0', () => {
    expect(new FrontRequest({ ...head, contentLength: -1, chunked: true }, conn().c).hasBody).toBe(
      true,
    );
    const none = new FrontRequest({ ...head, contentLength: 0 }, conn().c);
    expect([none.hasBody, none.complete]).toEqual([false, true]);
  });
});
