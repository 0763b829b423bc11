import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  rawExchange,
  routeEcho,
  startMember,
  startProxy,
  type TestMember,
} from './test/harness.js';

let m: TestMember;
let p: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  m = await startMember(routeEcho('tc1'));
  p = await startProxy({
    limits: { maxHeaderBytes: 4096, maxHeaders: 20, maxRequestLineBytes: 512, maxBodyBytes: 1000 },
    timeouts: { headers: 400, request: 1500 },
    balancers: [{ name: 'app', members: [{ url: m.url, route: 'tc1' }] }],
  });
});
afterAll(async () => {
  await p.stop();
  await m.close();
});

const H = 'Host: x\r\n';

/** Status code of the first response line. */
function status(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

const cases: [string, string, number][] = [
  [
    'Content-Length with Transfer-Encoding (CL.TE)',
    `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    'Transfer-Encoding with Content-Length (TE.CL)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    'conflicting Content-Lengths',
    `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde`,
    400,
  ],
  [
    'a Content-Length list of different values',
    `POST / HTTP/1.1\r\n${H}Content-Length: 4, 5\r\n\r\nabcd`,
    400,
  ],
  ['a negative Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 400],
  [
    'malformed chunk size',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    400,
  ],
  [
    'a chunk extension without CR',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n`,
    400,
  ],
  ['obsolete line folding', `GET / HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n`, 400],
  [
    'whitespace before the colon',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    'a transfer coding other than chunked',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    501,
  ],
  ['a control character in a header value', `GET / HTTP/1.1\r\n${H}X: a\x01b\r\n\r\n`, 400],
  ['bare LF line endings', `GET / HTTP/1.1\n${H}\n`, 400],
  ['a space in the target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400],
  ['no Host on HTTP/1.1', `GET / HTTP/1.1\r\n\r\n`, 400],
  ['HTTP/2.0 in the request line', `GET / HTTP/2.0\r\n${H}\r\n`, 505],
  ['an authority-form target', `CONNECT evil:443 HTTP/1.1\r\n${H}\r\n`, 400],
  ['an oversized header', `GET / HTTP/1.1\r\n${H}X: ${'a'.repeat(5000)}\r\n\r\n`, 431],
  [
    'too many header fields',
    `GET / HTTP/1.1\r\n${H}${Array.from({ length: 25 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`,
    431,
  ],
  ['an overlong request target', `GET /${'a'.repeat(600)} HTTP/1.1\r\n${H}\r\n`, 414],
  ['a declared body over the limit', `POST / HTTP/1.1\r\n${H}Content-Length: 5000\r\n\r\n`, 413],
  [
    'a chunked body over the limit',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${'400\r\n' + 'a'.repeat(1024) + '\r\n'}${'400\r\n' + 'a'.repeat(1024) + '\r\n'}0\r\n\r\n`,
    413,
  ],
];

describe('request smuggling and bad input, over raw sockets', () => {
  for (const [name, data, expected] of cases) {
    it(`${name} → ${expected}, and the proxy keeps serving`, async () => {
      const before = m.requests.length;
      const raw = await rawExchange(p.port, data);
      expect(status(raw)).toBe(expected);
      if (expected !== 413 || !name.includes('chunked')) expect(m.requests.length).toBe(before);
      const ok = await rawExchange(p.port, `GET /ok HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
      expect(status(ok)).toBe(200);
    });
  }

  it('a smuggled second request in a body is forwarded as body, not as a request', async () => {
    const smuggled = 'GET /admin HTTP/1.1\r\nHost: x\r\n\r\n';
    const raw = await rawExchange(
      p.port,
      `POST /a HTTP/1.1\r\n${H}Content-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    );
    expect(status(raw)).toBe(200);
    expect(raw).toContain(`"bodyBytes":${smuggled.length}`);
    expect(m.requests.some((r) => r.url === '/admin')).toBe(false);
  });

  it('a client that sends its headers too slowly gets 408', async () => {
    const raw = await rawExchange(
      p.port,
      [`GET / HTTP/1.1\r\n`, `${H}`, `X-Slow: 1\r\n`, `X-Slower: 1\r\n`],
      { gapMs: 400, timeoutMs: 8000, waitMs: 2000 },
    );
    expect(status(raw)).toBe(408);
    const ok = await rawExchange(p.port, `GET /ok HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(status(ok)).toBe(200);
  }, 15_000);

  it('error answers carry a request id and are logged without cookies', async () => {
    const raw = await rawExchange(
      p.port,
      `GET / HTTP/1.1\r\n${H}Cookie: JSESSIONID=SECRETVALUE.tc1\r\nX: ${'a'.repeat(5000)}\r\n\r\n`,
    );
    expect(raw).toMatch(/X-Request-Id: [0-9a-f]{8}-/);
    expect(p.log.text()).not.toContain('SECRETVALUE');
  });

  it('Expect: 100-continue is answered only for acceptable requests', async () => {
    const refused = await rawExchange(
      p.port,
      `POST / HTTP/1.1\r\n${H}Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n`,
    );
    expect(status(refused)).toBe(413);
    expect(refused).not.toContain('100 Continue');
    const ok = await rawExchange(
      p.port,
      [
        `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        'abc',
      ],
      { gapMs: 200 },
    );
    expect(ok).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(ok).toContain('"bodyBytes":3');
  });

  it('keep-alive: two requests on one connection both get answers', async () => {
    const raw = await rawExchange(
      p.port,
      `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    expect(raw.match(/HTTP\/1\.1 200/g)?.length).toBe(2);
  });
});

/** The JSON the routeEcho member answered with, from a raw response. */
function echoed(raw: string): {
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
} {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as never;
}

describe('what real clients send is accepted, not refused (#11 item 4)', () => {
  const get = (data: string) => rawExchange(p.port, data, { timeoutMs: 3000 });

  it('an absolute-form target (RFC 9112 §3.2.2): the member gets origin form and the URI authority as Host', async () => {
    const raw = await get(
      `GET http://x/a/b?q=1 HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n`,
    );
    expect(status(raw)).toBe(200);
    const e = echoed(raw);
    expect(e.url).toBe('/a/b?q=1');
    expect(e.headers['x-forwarded-host']).toBe('x');
  });

  it('OPTIONS * reaches the member as OPTIONS *', async () => {
    const raw = await get(`OPTIONS * HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(status(raw)).toBe(200);
    expect([echoed(raw).method, echoed(raw).url]).toEqual(['OPTIONS', '*']);
  });

  it('curl --http2 (Upgrade: h2c) is served as HTTP/1.1, the upgrade headers not forwarded', async () => {
    const raw = await get(
      `GET /h2 HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
    );
    expect(status(raw)).toBe(200);
    const h = echoed(raw).headers;
    expect(h.upgrade).toBeUndefined();
    expect(h['http2-settings']).toBeUndefined();
  });

  it('Content-Length: 4, 4 and a Content-Length sent twice are one length, sent on once', async () => {
    for (const cl of ['Content-Length: 4, 4\r\n', 'Content-Length: 4\r\nContent-Length: 4\r\n']) {
      const raw = await get(`POST /cl HTTP/1.1\r\n${H}${cl}Connection: close\r\n\r\nabcd`);
      expect(status(raw)).toBe(200);
      expect(echoed(raw).bodyBytes).toBe(4);
      expect(echoed(raw).headers['content-length']).toBe('4');
    }
  });

  it('header names with underscores are dropped (nginx underscores_in_headers off)', async () => {
    const raw = await get(
      `GET /u HTTP/1.1\r\n${H}X_Forwarded_For: 6.6.6.6\r\nX_Request_Id: forged\r\nX-Fine: 1\r\nConnection: close\r\n\r\n`,
    );
    const h = echoed(raw).headers;
    expect(h.x_forwarded_for).toBeUndefined();
    expect(h.x_request_id).toBeUndefined();
    expect(h['x-fine']).toBe('1');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
  });
});
