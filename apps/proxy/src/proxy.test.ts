import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

import {
  deadPort,
  rawExchange,
  routeEcho,
  startMember,
  startProxy,
  type TestMember,
} from './test/harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function member(handler: Parameters<typeof startMember>[0]): Promise<TestMember> {
  const m = await startMember(handler);
  cleanups.push(() => m.close());
  return m;
}

async function proxy(config: unknown) {
  const p = await startProxy(config);
  cleanups.push(p.stop);
  return p;
}

async function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string | Buffer,
) {
  const r = await request(url, { method, headers, body });
  const text = await r.body.text();
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

function balancer(
  members: { url: string; route?: string; [k: string]: unknown }[],
  extra: Record<string, unknown> = {},
) {
  return { balancers: [{ name: 'app', members, ...extra }] };
}

describe('forwarding', () => {
  it('forwards a request with the forwarding headers and the request id, and streams the answer back', async () => {
    const m = await member(routeEcho('tc1'));
    const p = await proxy(balancer([{ url: m.url, route: 'tc1' }]));
    const raw = await rawExchange(
      p.port,
      `GET /x/y?z=1 HTTP/1.1\r\nHost: 127.0.0.1:${p.port}\r\nX-Forwarded-For: 192.0.2.9\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1.1 200 /);
    const seen = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(seen['url']).toBe('/x/y?z=1');
    const h = seen['headers'] as Record<string, string>;
    expect(h['host']).toBe(`127.0.0.1:${m.port}`);
    expect(h['x-forwarded-for']).toBe('192.0.2.9, 127.0.0.1');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${p.port}`);
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['forwarded']).toContain('for=127.0.0.1');
    expect(h['via']).toBe('1.1 cohort-proxy');
    expect(h['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(h['x-hop']).toBeUndefined();
    const line = p.log.lines.find((l) => l['msg'] === 'request')!;
    expect(line).toMatchObject({
      method: 'GET',
      path: '/x/y',
      status: 200,
      member: 'tc1',
      reqId: h['x-request-id'],
    });
  });

  it('preserves Host when asked and rewrites Location and Set-Cookie on the way back', async () => {
    const m = await member((req, res) => {
      res.setHeader('Location', `http://127.0.0.1:${req.socket.localPort}/app/login`);
      res.setHeader('Set-Cookie', [
        'JSESSIONID=A.tc1; Path=/app; HttpOnly',
        'x=1; Domain=internal.local',
      ]);
      res.statusCode = 302;
      res.end(String(req.headers.host));
    });
    const p = await proxy(
      balancer([{ url: m.url, route: 'tc1' }], {
        headers: {
          preserveHost: true,
          cookiePath: { '/app': '/shop' },
          cookieDomain: { 'internal.local': 'example.com' },
        },
      }),
    );
    const r = await get(`${p.url}/`, { Host: 'www.example.com' });
    expect(r.status).toBe(302);
    expect(r.text).toBe('www.example.com');
    expect(r.headers['location']).toBe('http://www.example.com/app/login');
    expect(r.headers['set-cookie']).toEqual([
      'JSESSIONID=A.tc1; Path=/shop; HttpOnly',
      'x=1; Domain=example.com',
    ]);
  });

  it('streams large bodies both ways, byte for byte', async () => {
    const m = await member((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      req.on('end', () => {
        res.setHeader('X-Sha', h.digest('hex'));
        res.setHeader('X-Len', String(n));
        const chunk = Buffer.alloc(65536, 0x61);
        let left = 64; // 4 MiB back
        const write = () => {
          while (left > 0) {
            left--;
            if (!res.write(chunk)) return void res.once('drain', write);
          }
          res.end();
        };
        write();
      });
    });
    const p = await proxy(balancer([{ url: m.url }]));
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 0x62);
    const r = await request(`${p.url}/up`, { method: 'POST', body });
    let got = 0;
    for await (const c of r.body) got += (c as Buffer).length;
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-len']).toBe(String(body.length));
    expect(r.headers['x-sha']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(got).toBe(64 * 65536);
  });

  it('a member that answers before reading a large upload: the client gets the answer', async () => {
    const m = await member((req, res) => {
      res.statusCode = 401;
      res.end('no');
    });
    const p = await proxy(balancer([{ url: m.url }], { retryBodyCap: 0 }));
    const r = await request(`${p.url}/up`, {
      method: 'POST',
      body: Buffer.alloc(2 * 1024 * 1024, 1),
    }).catch((e: Error) => e);
    if (!(r instanceof Error)) {
      expect(r.statusCode).toBe(401);
      expect(await r.body.text()).toBe('no');
    }
    expect(p.proxy.stats.inflight).toBe(0);
    const ok = await get(`${p.url}/`);
    expect(ok.status).toBe(401);
  });

  it('a client that disconnects aborts the member request', async () => {
    let closed = false;
    const m = await member((req, res) => {
      res.writeHead(200);
      res.write('x');
      res.on('close', () => (closed = true));
    });
    const p = await proxy(balancer([{ url: m.url }]));
    const ac = new AbortController();
    const r = await request(`${p.url}/slow`, { signal: ac.signal });
    ac.abort();
    await r.body.text().catch(() => undefined);
    for (let i = 0; i < 50 && !closed; i++) await sleep(20);
    expect(closed).toBe(true);
    expect(p.proxy.stats.inflight).toBe(0);
  });
});

describe('affinity and failover', () => {
  it('sends a session to the member in its route, and new sessions by the method', async () => {
    const ms = await Promise.all(['tc1', 'tc2', 'tc3'].map((r) => member(routeEcho(r))));
    const p = await proxy(balancer(ms.map((m, i) => ({ url: m.url, route: `tc${i + 1}` }))));
    for (let i = 0; i < 3; i++) {
      expect((await get(`${p.url}/`, { Cookie: 'JSESSIONID=ABC.tc2' })).json()['route']).toBe(
        'tc2',
      );
      expect(
        (await get(`${p.url}/a;jsessionid=ABC.tc3`, { Cookie: 'JSESSIONID=ABC.tc2' })).json()[
          'route'
        ],
      ).toBe('tc3');
    }
    const fresh = await Promise.all([0, 1, 2].map(() => get(`${p.url}/`)));
    expect(fresh.map((r) => r.json()['route']).sort()).toEqual(['tc1', 'tc2', 'tc3']);
    expect(p.log.text()).not.toContain('ABC');
  });

  it('owner down: fails over to a partner, re-pins with the routing cookie, and the next requests stay there', async () => {
    const tc2 = await member(routeEcho('tc2'));
    const tc3 = await member(routeEcho('tc3'));
    const dead = await deadPort();
    const p = await proxy(
      balancer([
        { url: `http://127.0.0.1:${dead}`, route: 'tc1', domain: 'A' },
        { url: tc2.url, route: 'tc2' },
        { url: tc3.url, route: 'tc3', domain: 'A' },
      ]),
    );
    const r = await get(`${p.url}/`, { Cookie: 'JSESSIONID=ABC.tc1' }, 'POST', 'x=1');
    expect(r.status).toBe(200);
    expect(r.json()['route']).toBe('tc3');
    expect(r.json()['body']).toBe('x=1');
    expect(r.headers['set-cookie']).toBe('ROUTEID=.tc3; Path=/; HttpOnly; SameSite=Lax');
    for (let i = 0; i < 3; i++) {
      const n = await get(`${p.url}/`, { Cookie: 'JSESSIONID=ABC.tc1; ROUTEID=.tc3' });
      expect(n.json()['route']).toBe('tc3');
      expect(n.headers['set-cookie']).toBeUndefined();
    }
    const line = p.log.lines.find((l) => l['msg'] === 'request' && l['retries'] === 1)!;
    expect(line).toMatchObject({ member: 'tc3', route: 'tc1', failover: true, sticky: false });
  });

  it('fail-back immediate: the owner takes its sessions back when it returns, and the pin is cleared', async () => {
    const tc2 = await member(routeEcho('tc2'));
    const tc1 = await member(routeEcho('tc1'));
    const p = await proxy(
      balancer(
        [
          { url: tc1.url, route: 'tc1' },
          { url: tc2.url, route: 'tc2' },
        ],
        { failback: 'immediate' },
      ),
    );
    const r = await get(`${p.url}/`, { Cookie: 'JSESSIONID=ABC.tc1; ROUTEID=.tc2' });
    expect(r.json()['route']).toBe('tc1');
    expect(r.headers['set-cookie']).toContain('ROUTEID=; Path=/; Max-Age=0');
  });

  it('fail-back when-idle: the pin cookie expires after the idle time and is refreshed while in use', async () => {
    const tc2 = await member(routeEcho('tc2'));
    const dead = await deadPort();
    const p = await proxy(
      balancer(
        [
          { url: `http://127.0.0.1:${dead}`, route: 'tc1' },
          { url: tc2.url, route: 'tc2' },
        ],
        { failback: 'when-idle', failbackIdle: '90s' },
      ),
    );
    const first = await get(`${p.url}/`, { Cookie: 'JSESSIONID=K.tc1' });
    expect(first.headers['set-cookie']).toBe(
      'ROUTEID=.tc2; Path=/; Max-Age=90; HttpOnly; SameSite=Lax',
    );
    const next = await get(`${p.url}/`, { Cookie: 'JSESSIONID=K.tc1; ROUTEID=.tc2' });
    expect(next.json()['route']).toBe('tc2');
    expect(next.headers['set-cookie']).toBe(
      'ROUTEID=.tc2; Path=/; Max-Age=90; HttpOnly; SameSite=Lax',
    );
  });

  it('a member that dies in the middle of its answer: the client connection is cut, nothing is retried', async () => {
    const m = await member((req, res) => {
      res.writeHead(200, { 'Content-Length': '100000' });
      res.write(Buffer.alloc(1000, 1));
      setTimeout(() => req.socket.destroy(), 20);
    });
    const good = await member(routeEcho('ok'));
    const p = await proxy(
      balancer([
        { url: m.url, route: 'bad' },
        { url: good.url, route: 'ok' },
      ]),
    );
    const r = await request(`${p.url}/`, { headers: { cookie: 'JSESSIONID=K.bad' } });
    expect(r.statusCode).toBe(200);
    await expect(r.body.arrayBuffer()).rejects.toThrow();
    expect(good.requests.length).toBe(0);
    const line = p.log.lines.find((l) => l['msg'] === 'request failed')!;
    expect(line).toMatchObject({ outcome: 'member-abort', member: 'bad' });
    expect((await get(`${p.url}/`, { Cookie: 'JSESSIONID=K.ok' })).status).toBe(200);
  });

  it('no usable member: 503 with Retry-After and the request id', async () => {
    const dead = await deadPort();
    const p = await proxy(
      balancer([{ url: `http://127.0.0.1:${dead}`, route: 'tc1' }], { retry: '3s' }),
    );
    const r = await get(`${p.url}/`);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('3');
    expect(r.text).toContain(String(r.headers['x-request-id']));
    const again = await get(`${p.url}/`);
    expect(again.status).toBe(503);
    expect(again.text).toContain('no member of this balancer');
  });
});

describe('retries', () => {
  function resetting(): Parameters<typeof startMember>[0] {
    return (req) => req.socket.destroy();
  }

  it('an idempotent request is retried when the member resets before answering', async () => {
    const bad = await member(resetting());
    const good = await member(routeEcho('ok'));
    const p = await proxy(
      balancer([
        { url: bad.url, route: 'bad' },
        { url: good.url, route: 'ok' },
      ]),
    );
    const r = await get(`${p.url}/`, { Cookie: 'JSESSIONID=A.bad' }, 'PUT', 'payload');
    expect(r.status).toBe(200);
    expect(r.json()['body']).toBe('payload');
    expect(bad.requests.length).toBe(1);
  });

  it('a POST that reached the member is never sent twice: 502', async () => {
    const bad = await member(resetting());
    const good = await member(routeEcho('ok'));
    const p = await proxy(
      balancer([
        { url: bad.url, route: 'bad' },
        { url: good.url, route: 'ok' },
      ]),
    );
    const r = await get(`${p.url}/`, { Cookie: 'JSESSIONID=A.bad' }, 'POST', 'payload');
    expect(r.status).toBe(502);
    expect(good.requests.length).toBe(0);
  });

  it('a streamed body larger than the buffer cap is not replayed after it was sent', async () => {
    const bad = await member((req) => {
      req.once('data', () => req.socket.destroy());
    });
    const good = await member(routeEcho('ok'));
    const p = await proxy(
      balancer(
        [
          { url: bad.url, route: 'bad' },
          { url: good.url, route: 'ok' },
        ],
        { retryBodyCap: 1024 },
      ),
    );
    const r = await get(
      `${p.url}/`,
      { Cookie: 'JSESSIONID=A.bad' },
      'PUT',
      Buffer.alloc(200_000, 1),
    );
    expect(r.status).toBe(502);
    expect(good.requests.length).toBe(0);
  });

  it('a slow member gives 504 and is not retried', async () => {
    const slow = await member(() => undefined);
    const good = await member(routeEcho('ok'));
    const p = await proxy({
      timeouts: { response: 300 },
      ...balancer([
        { url: slow.url, route: 'slow' },
        { url: good.url, route: 'ok' },
      ]),
    });
    const r = await get(`${p.url}/`, { Cookie: 'JSESSIONID=A.slow' });
    expect(r.status).toBe(504);
    expect(good.requests.length).toBe(0);
  });

  it('maxAttempts bounds the attempts', async () => {
    const ports = await Promise.all([deadPort(), deadPort(), deadPort()]);
    const good = await member(routeEcho('ok'));
    const p = await proxy(
      balancer(
        [
          ...ports.map((port, i) => ({ url: `http://127.0.0.1:${port}`, route: `d${i}` })),
          { url: good.url, route: 'ok', state: 'standby' },
        ],
        { maxAttempts: 2 },
      ),
    );
    const r = await get(`${p.url}/`);
    expect(r.status).toBe(503);
    expect(p.log.lines.filter((l) => l['msg'] === 'member failed; marked in error').length).toBe(2);
  });
});

describe('operations', () => {
  it('reload: new requests use the new members, requests in flight finish on the old', async () => {
    let release: (() => void) | undefined;
    const old = await member((req, res) => {
      release = () => res.end('old');
    });
    const fresh = await member(routeEcho('new'));
    const p = await proxy(balancer([{ url: old.url, route: 'a' }]));
    const pending = get(`${p.url}/`);
    for (let i = 0; i < 50 && !release; i++) await sleep(10);
    const { validateConfig } = await import('./config/load.js');
    p.proxy.reload(validateConfig(balancer([{ url: fresh.url, route: 'b' }])));
    expect((await get(`${p.url}/`)).json()['route']).toBe('new');
    release!();
    expect((await pending).text).toBe('old');
  });

  it('close drains requests in flight', async () => {
    const m = await member((req, res) => setTimeout(() => res.end('done'), 150));
    const p = await startProxy(balancer([{ url: m.url }]));
    const pending = get(`${p.url}/`);
    for (let i = 0; i < 200 && m.requests.length === 0; i++) await sleep(10);
    await p.proxy.close(2000);
    expect((await pending).text).toBe('done');
  });
});
