import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

import { createAjpServer } from '@cohort/ajp13';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rawExchange, startProxy } from './test/harness.js';

// One request's fault is answered to that request alone (#11 item 2): an invalid answer from a
// member is a 502 for the client that asked, never an instant ejection of the member, and a
// request too large for an AJP packet is the client's 431/414, not a connect failure of every
// member. Only transport failures — and repeated failed answers — put a member in error.

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** Raw answers a member sends for `/bad/<name>`, each one invalid HTTP. */
const INVALID: Record<string, string> = {
  'head-too-large': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17_000)}\r\nContent-Length: 0\r\n\r\n`,
  nul: 'HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 0\r\n\r\n',
  'bare-cr': 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n',
  'obs-fold': 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n',
  'interim-flood': 'HTTP/1.1 102 Processing\r\n\r\n'.repeat(17) + OK,
  'unasked-101': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n',
  'bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
};

/** Valid answers that must reach the client in a normalised form. */
const VALID: Record<string, string> = {
  'cl-list': 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello',
  'cl-twice': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
  'early-hints':
    'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
};

/** A member speaking raw HTTP/1.1: `/bad/x` and `/valid/x` get the bytes above, anything else 200. */
async function rawMember(): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        hits++;
        const path = head.split(' ')[1] ?? '/';
        const [, kind, name] = path.split('/');
        if (kind === 'bad') {
          s.end(INVALID[name!]);
          return;
        }
        s.write(kind === 'valid' ? VALID[name!]! : OK);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return { server, url: `http://127.0.0.1:${port}`, hits: () => hits };
}

function statusOf(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

let member: Awaited<ReturnType<typeof rawMember>>;
const ajp = createAjpServer({ secret: 'k' }, (req, res) => {
  req.resume();
  req.on('end', () => res.end('ajp ok'));
});
let p: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  member = await rawMember();
  await ajp.listen(0, '127.0.0.1');
  const ajpUrl = `ajp://127.0.0.1:${ajp.address().port}`;
  p = await startProxy({
    timeouts: { response: 10_000 },
    limits: { maxHeaderBytes: 16_384 },
    balancers: [
      { name: 'http', path: '/', retry: '30s', members: [{ url: member.url, route: 'h1' }] },
      {
        name: 'ajp',
        path: '/ajp',
        retry: '30s',
        members: [
          { url: ajpUrl, route: 'a1', secret: 'k' },
          { url: ajpUrl, route: 'a2', secret: 'k' },
        ],
      },
    ],
  });
});
afterAll(async () => {
  await p.stop();
  await new Promise((r) => member.server.close(r));
  await ajp.close();
});

async function get(path: string, extra = ''): Promise<string> {
  return rawExchange(
    p.port,
    `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`,
    {
      timeoutMs: 8000,
    },
  );
}

describe('an invalid member answer is a 502 for that request alone', () => {
  for (const name of Object.keys(INVALID)) {
    it(`${name}: 502 at once, and the next client is served by the same member`, async () => {
      const started = Date.now();
      expect(statusOf(await get(`/bad/${name}`))).toBe(502);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(statusOf(await get('/good'))).toBe(200);
    });
  }

  it('an attacker URL hit between other clients never takes the member out', async () => {
    let ok = 0;
    for (let i = 0; i < 20; i++) {
      expect(statusOf(await get('/bad/nul'))).toBe(502);
      for (let j = 0; j < 3; j++) if (statusOf(await get('/good')) === 200) ok++;
    }
    expect(ok).toBe(60);
  });

  it('five failed answers in a row never eject the only member that can serve (everyone would get 503)', async () => {
    for (let i = 0; i < 6; i++) expect(statusOf(await get('/bad/obs-fold'))).toBe(502);
    expect(statusOf(await get('/good'))).toBe(200);
    expect(p.log.lines.some((l) => l.msg === 'member failed; marked in error')).toBe(false);
  });
});

describe('member answers are normalised for the client', () => {
  it('Content-Length: 5, 5 is passed on as one Content-Length: 5', async () => {
    const r = await get('/valid/cl-list');
    expect(statusOf(r)).toBe(200);
    expect(r.match(/content-length:/gi)).toHaveLength(1);
    expect(r).toMatch(/Content-Length: 5\r\n/);
    expect(r.endsWith('hello')).toBe(true);
  });

  it('a Content-Length sent twice with the same value is passed on once', async () => {
    const r = await get('/valid/cl-twice');
    expect(r.match(/content-length:/gi)).toHaveLength(1);
    expect(r.endsWith('hello')).toBe(true);
  });

  it('103 Early Hints reach an HTTP/1.1 client before the final answer', async () => {
    const r = await get('/valid/early-hints');
    expect(r).toMatch(
      /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/s\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 /,
    );
    const r10 = await rawExchange(p.port, 'GET /valid/early-hints HTTP/1.0\r\nHost: x\r\n\r\n');
    expect(r10).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('a request that does not fit an AJP packet is the client fault', () => {
  it('an 8000-byte query gets 414 and no member is put in error', async () => {
    const r = await get(`/ajp/x?q=${'a'.repeat(8000)}`);
    expect(statusOf(r)).toBe(414);
    for (let i = 0; i < 4; i++) expect(statusOf(await get('/ajp/ok'))).toBe(200);
  });

  it('an 8.1 KB cookie gets 431 and everyone else is served', async () => {
    const r = await get('/ajp/x', `Cookie: c=${'b'.repeat(8100)}\r\n`);
    expect(statusOf(r)).toBe(431);
    for (let i = 0; i < 4; i++) expect(statusOf(await get('/ajp/ok'))).toBe(200);
    expect(
      p.log.lines
        .filter((l) => l.member === 'a1' || l.member === 'a2')
        .some((l) => l.msg === 'member failed; marked in error'),
    ).toBe(false);
  });
});
