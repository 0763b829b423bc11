import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import express from 'express';
import fc from 'fast-check';
import type { Delta, Session, Version } from '@cohort/session-codec';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  ApplyOptions,
  LoadOptions,
  SessionBackend,
  TouchEntry,
  WriteOptions,
} from './backend.js';
import { SessionBackendError } from './errors.js';
import { get, serve, type TestServer } from './http.testkit.js';
import { MemoryBackend } from './memory-backend.js';
import {
  cohortSession,
  sessionOf,
  type CohortSessionMiddleware,
  type CohortSessionOptions,
  type CohortSessionRequest,
} from './middleware.js';

/** A real backend whose writes wait `delayMs` (a slow network), counting calls. */
class SlowBackend implements SessionBackend {
  readonly inner: MemoryBackend;
  delayMs: number;
  calls = { load: 0, revalidate: 0, create: 0, apply: 0, touch: 0, destroy: 0 };
  acked: number[] = [];
  constructor(inner: MemoryBackend, delayMs = 0) {
    this.inner = inner;
    this.delayMs = delayMs;
  }
  async #wait(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
  }
  async load(key: string, o?: LoadOptions): Promise<Session | null> {
    this.calls.load++;
    return this.inner.load(key, o);
  }
  async revalidate(
    key: string,
    known: Version,
    o?: Pick<LoadOptions, 'touchAt'>,
  ): Promise<Session | null | 'unchanged'> {
    this.calls.revalidate++;
    return this.inner.revalidate(key, known, o);
  }
  async create(s: Session, o: WriteOptions): Promise<Version> {
    this.calls.create++;
    await this.#wait();
    const v = await this.inner.create(s, o);
    this.acked.push(performance.now());
    return v;
  }
  async apply(key: string, d: Delta, o: ApplyOptions): Promise<Version> {
    this.calls.apply++;
    await this.#wait();
    const v = await this.inner.apply(key, d, o);
    this.acked.push(performance.now());
    return v;
  }
  async touch(e: readonly TouchEntry[]): Promise<void> {
    this.calls.touch++;
    return this.inner.touch(e);
  }
  async destroy(key: string): Promise<void> {
    this.calls.destroy++;
    return this.inner.destroy(key);
  }
  async close(): Promise<void> {
    return this.inner.close();
  }
}

const servers: TestServer[] = [];
const middlewares: CohortSessionMiddleware[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(middlewares.splice(0).map((m) => m.close()));
});

/** An Express app with the middleware and a few routes, on a free port. */
async function app(
  backend: SessionBackend,
  opts: Partial<CohortSessionOptions> & { route: string },
): Promise<{ server: TestServer; mw: CohortSessionMiddleware }> {
  const mw = cohortSession({ backend, ...opts });
  middlewares.push(mw);
  const a = express();
  a.use(mw);
  a.get('/count', (req, res) => {
    const s = (req as unknown as CohortSessionRequest).session;
    s.n = ((s.n as number | undefined) ?? 0) + 1;
    res.type('text').send(`n=${String(s.n)} route=${opts.route}`);
  });
  a.get('/read', (req, res) => {
    const s = (req as unknown as CohortSessionRequest).session;
    res.type('text').send(`n=${String(s.n)} a=${String(s.a)} b=${String(s.b)}`);
  });
  a.get('/set', (req, res) => {
    const s = (req as unknown as CohortSessionRequest).session;
    for (const [k, v] of Object.entries(req.query)) s[k] = v;
    res.type('text').send('ok');
  });
  a.get('/set-and-redirect', (req, res) => {
    (req as unknown as CohortSessionRequest).session.flash = 'saved';
    res.redirect('/read-flash');
  });
  a.get('/read-flash', (req, res) => {
    res.type('text').send(String((req as unknown as CohortSessionRequest).session.flash));
  });
  a.get('/logout', (req, res) => {
    sessionOf(req).destroy();
    res.type('text').send('bye');
  });
  a.get('/login', (req, res) => {
    const h = sessionOf(req);
    h.regenerate();
    h.set('user', 'ann');
    res.type('text').send(h.id);
  });
  a.get('/big', (req, res) => {
    (req as unknown as CohortSessionRequest).session.big = true;
    res.type('text');
    Readable.from(
      (function* () {
        for (let i = 0; i < 256; i++) yield Buffer.alloc(8192, 97 + (i % 26));
      })(),
    ).pipe(res);
  });
  a.get('/late-change', (req, res) => {
    const s = (req as unknown as CohortSessionRequest).session;
    s.early = 1;
    res.write('part\n');
    try {
      s.late = 2;
      res.end('late accepted\n');
    } catch (err) {
      res.end(`late refused: ${(err as { code?: string }).code}\n`);
    }
  });
  a.get('/own-cookie', (req, res) => {
    (req as unknown as CohortSessionRequest).session.x = 1;
    res.writeHead(200, { 'Set-Cookie': 'theme=dark; Path=/', 'content-type': 'text/plain' });
    res.end('ok');
  });
  a.get('/stream', (req, res) => {
    (req as unknown as CohortSessionRequest).session.streamed = true;
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (let i = 0; i < 5; i++) res.write(`chunk${i}\n`);
    res.end('end\n');
  });
  const server = await serve(a);
  servers.push(server);
  return { server, mw };
}

const cookieOf = (reply: { cookie: string | undefined }): Record<string, string> => ({
  cookie: reply.cookie!,
});

describe('cohortSession(): ids, cookies and the store', () => {
  it('stores nothing and sends no cookie for a request that sets nothing', async () => {
    const backend = new SlowBackend(new MemoryBackend());
    const { server } = await app(backend, { route: 'app1' });
    const r = await get(`${server.url}/read`);
    expect(r.status).toBe(200);
    expect(r.setCookies).toEqual([]);
    expect(backend.calls).toEqual({
      load: 0,
      revalidate: 0,
      create: 0,
      apply: 0,
      touch: 0,
      destroy: 0,
    });
  });

  it('issues a route-encoded id, then serves the session from the cache with one write per change', async () => {
    const backend = new SlowBackend(new MemoryBackend());
    const { server, mw } = await app(backend, { route: 'app1', cacheValidation: 'none' });
    const first = await get(`${server.url}/count`);
    expect(first.body).toBe('n=1 route=app1');
    expect(first.setCookies[0]).toMatch(
      /^cohort\.sid=[A-Za-z0-9_-]{22}\.app1; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    const key = first.cookie!.slice('cohort.sid='.length).split('.')[0]!;
    const second = await get(`${server.url}/count`, cookieOf(first));
    expect(second.body).toBe('n=2 route=app1');
    expect(second.setCookies).toEqual([]); // not rolling, same route: no cookie
    const third = await get(`${server.url}/read`, cookieOf(first));
    expect(third.body).toBe('n=2 a=undefined b=undefined');
    expect(backend.calls.load).toBe(0); // sticky: never read back
    expect(backend.calls.create).toBe(1);
    expect(backend.calls.apply).toBe(1);
    expect(mw.stats.cacheHits).toBe(2);
    const stored = await backend.inner.load(key);
    expect(stored!.version.seq).toBe(2);
  });

  it("cacheValidation 'version' (default): a cache hit costs one revalidate and no load", async () => {
    const backend = new SlowBackend(new MemoryBackend());
    const { server, mw } = await app(backend, { route: 'app1' });
    const first = await get(`${server.url}/count`);
    await get(`${server.url}/count`, cookieOf(first));
    expect((await get(`${server.url}/read`, cookieOf(first))).body).toBe(
      'n=2 a=undefined b=undefined',
    );
    expect(backend.calls).toMatchObject({ load: 0, revalidate: 2, create: 1, apply: 1 });
    expect(mw.stats.cacheHits).toBe(2);
    expect(mw.stats.staleCacheEntries).toBe(0);
  });

  it('cookie options: maxAge gives Expires and Max-Age, rolling resends, secure/sameSite/domain', async () => {
    const { server } = await app(new MemoryBackend(), {
      route: 'r',
      name: 'sid',
      rolling: true,
      cookie: {
        maxAge: 3_600_000,
        secure: true,
        sameSite: 'none',
        domain: 'example.test',
        path: '/app',
      },
    });
    const first = await get(`${server.url}/count`);
    const c = first.setCookies[0]!;
    expect(c).toMatch(
      /^sid=[A-Za-z0-9_-]{22}\.r; Path=\/app; Domain=example\.test; Expires=.+ GMT; Max-Age=3600; HttpOnly; Secure; SameSite=None$/,
    );
    const expires = Date.parse(/Expires=([^;]+)/.exec(c)![1]!);
    expect(Math.abs(expires - (Date.now() + 3_600_000))).toBeLessThan(5000);
    const second = await get(`${server.url}/read`, cookieOf(first));
    expect(second.setCookies).toHaveLength(1); // rolling: every response
    expect(second.cookie).toBe(first.cookie);
  });

  it('refuses bad options with INVALID_ARGUMENT', () => {
    const backend = new MemoryBackend();
    const bad: Partial<CohortSessionOptions>[] = [
      { route: 'a b' },
      { route: '' },
      { route: 'x', name: 'a;b' },
      { route: 'x', cookie: { path: 'a;b' } },
      { route: 'x', cookie: { maxAge: -1 } },
      { route: 'x', cookie: { sameSite: 'none' } },
      { route: 'x', secret: '' },
      { route: 'x', maxInactiveSeconds: 1.5 },
    ];
    for (const o of bad) {
      expect(() => cohortSession({ backend, route: 'x', ...o })).toThrow(SessionBackendError);
    }
  });

  it('signs the cookie when given secrets; a forged or unsigned id starts a new session', async () => {
    const { server } = await app(new MemoryBackend(), { route: 'app1', secret: ['new', 'old'] });
    const first = await get(`${server.url}/count`);
    expect(first.cookie).toMatch(
      /^cohort\.sid=s%3A[A-Za-z0-9_-]{22}\.app1\.([A-Za-z0-9]|%2B|%2F)+$/,
    );
    expect((await get(`${server.url}/count`, cookieOf(first))).body).toBe('n=2 route=app1');
    const forged = first.cookie!.replace(/\.[^.]+$/, '.AAAA');
    expect((await get(`${server.url}/count`, { cookie: forged })).body).toBe('n=1 route=app1');
    const unsigned = decodeURIComponent(first.cookie!)
      .replace(/^cohort\.sid=s:/, 'cohort.sid=')
      .replace(/\.[^.]+$/, '');
    expect((await get(`${server.url}/count`, { cookie: unsigned })).body).toBe('n=1 route=app1');
  });
});

describe('cohortSession(): response released after the acknowledgement', () => {
  it('holds headers until the write is acknowledged, so a redirect never reads a stale session', async () => {
    const shared = new MemoryBackend();
    const backend = new SlowBackend(shared, 80);
    const a = await app(backend, { route: 'a' });
    const b = await app(new SlowBackend(shared), { route: 'b' });
    const first = await get(`${a.server.url}/count`);
    const redirect = await get(`${a.server.url}/set-and-redirect`, cookieOf(first));
    expect(redirect.status).toBe(302);
    expect(backend.acked.length).toBe(2);
    expect(redirect.headersAt).toBeGreaterThanOrEqual(backend.acked[1]!);
    // The browser follows at once, and the balancer sends it elsewhere: the change is there.
    const follow = await get(`${b.server.url}/read-flash`, cookieOf(first));
    expect(follow.body).toBe('saved');
  });

  it('holds a streamed response (writeHead + write + end) and delivers it whole, in order', async () => {
    const backend = new SlowBackend(new MemoryBackend(), 30);
    const { server } = await app(backend, { route: 'a' });
    const r = await get(`${server.url}/stream`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('chunk0\nchunk1\nchunk2\nchunk3\nchunk4\nend\n');
    expect(r.setCookies).toHaveLength(1);
    expect(r.headersAt).toBeGreaterThanOrEqual(backend.acked[0]!);
  });

  it('holds a piped 2 MB body with backpressure (write() false, then drain) and delivers every byte', async () => {
    const backend = new SlowBackend(new MemoryBackend(), 50);
    const { server } = await app(backend, { route: 'a' });
    const r = await get(`${server.url}/big`);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(256 * 8192);
    for (let i = 0; i < 256; i += 37) {
      expect(r.body[i * 8192]).toBe(String.fromCharCode(97 + (i % 26)));
    }
    expect(r.headersAt).toBeGreaterThanOrEqual(backend.acked[0]!);
  });

  it('a change after the first output is refused (INVALID_STATE): the delta was already sent', async () => {
    const shared = new MemoryBackend();
    const { server } = await app(shared, { route: 'a' });
    const r = await get(`${server.url}/late-change`);
    expect(r.body).toBe('part\nlate refused: INVALID_STATE\n');
    const key = r.cookie!.split('=')[1]!.split('.')[0]!;
    const stored = (await shared.load(key))!;
    expect([...stored.attributes.keys()]).toEqual(['early']);
  });

  it('retries a write that timed out once, with the same request id: applied once, response released', async () => {
    const inner = new MemoryBackend();
    class LostAck extends SlowBackend {
      lost = 0;
      override async apply(key: string, d: Delta, o: ApplyOptions): Promise<Version> {
        const v = await super.apply(key, d, o);
        if (this.lost++ === 0) throw new SessionBackendError('TIMEOUT', 'the ack was lost');
        return v;
      }
    }
    const backend = new LostAck(inner);
    const { server } = await app(backend, { route: 'a' });
    const first = await get(`${server.url}/count`);
    const second = await get(`${server.url}/count`, cookieOf(first));
    expect([second.status, second.body]).toEqual([200, 'n=2 route=a']);
    expect(backend.calls.apply).toBe(2);
    const key = first.cookie!.split('=')[1]!.split('.')[0]!;
    expect((await inner.load(key))!.version.seq).toBe(2); // created at 1, one apply
  });

  it('keeps the session cookie when the handler passes its own Set-Cookie to writeHead', async () => {
    const { server } = await app(new MemoryBackend(), { route: 'a' });
    const r = await get(`${server.url}/own-cookie`);
    expect(r.setCookies).toHaveLength(2);
    expect(r.setCookies[0]).toBe('theme=dark; Path=/');
    expect(r.setCookies[1]).toMatch(/^cohort\.sid=[A-Za-z0-9_-]{22}\.a; /);
  });

  it('onStoreError answers instead of the default 503', async () => {
    const backend = new MemoryBackend();
    const { server } = await app(backend, {
      route: 'a',
      onStoreError: (err, _req, _res, send) =>
        send(507, `custom ${(err as { code: string }).code}`),
    });
    await backend.close();
    const r = await get(`${server.url}/count`);
    expect([r.status, r.body]).toEqual([507, 'custom CLOSED']);
  });

  it('saveUninitialized: true stores a new session that set nothing, with its cookie', async () => {
    const backend = new SlowBackend(new MemoryBackend());
    const { server } = await app(backend, { route: 'a', saveUninitialized: true });
    const r = await get(`${server.url}/read`);
    expect(r.cookie).toMatch(/^cohort\.sid=[A-Za-z0-9_-]{22}\.a$/);
    expect(backend.calls.create).toBe(1);
  });

  it('answers 503 when the store refuses the write, and never sends the handler’s answer', async () => {
    const backend = new MemoryBackend();
    const { server } = await app(backend, { route: 'a' });
    await backend.close();
    const r = await get(`${server.url}/count`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/not saved/);
    expect(r.setCookies).toEqual([]);
  });

  it('passes a load failure to next(err) (Express answers 500)', async () => {
    const backend = new MemoryBackend();
    const other = await app(new MemoryBackend(), { route: 'b' });
    const first = await get(`${other.server.url}/count`);
    const { server } = await app(backend, { route: 'a' });
    await backend.close();
    const r = await get(`${server.url}/read`, cookieOf(first)); // route b: a miss, load fails
    expect(r.status).toBe(500);
  });
});

describe('cohortSession(): failover, re-pinning, concurrency', () => {
  it('re-pins a session that arrives with another route: loads it, rewrites the cookie, then serves it from cache', async () => {
    const shared = new MemoryBackend();
    const a = await app(new SlowBackend(shared), { route: 'a' });
    const bBackend = new SlowBackend(shared);
    const b = await app(bBackend, { route: 'b' });
    const first = await get(`${a.server.url}/count`);
    const key = first.cookie!.split('=')[1]!.split('.')[0]!;
    // Instance a died; the proxy sends the request to b.
    const moved = await get(`${b.server.url}/count`, cookieOf(first));
    expect(moved.body).toBe('n=2 route=b');
    expect(moved.cookie).toBe(`cohort.sid=${key}.b`);
    expect(bBackend.calls.load).toBe(1);
    expect(b.mw.stats.repins).toBe(1);
    const again = await get(`${b.server.url}/count`, cookieOf(moved));
    expect(again.body).toBe('n=3 route=b');
    expect(again.setCookies).toEqual([]);
    expect(bBackend.calls.load).toBe(1); // from b's cache now (checked by version)
    expect(bBackend.calls.revalidate).toBe(1);
  });

  it('two concurrent requests of one session on two instances, changing different attributes: both survive', async () => {
    const shared = new MemoryBackend();
    const a = await app(new SlowBackend(shared, 20), { route: 'a' });
    const b = await app(new SlowBackend(shared, 20), { route: 'b' });
    const first = await get(`${a.server.url}/set?a=0&b=0`);
    const [ra, rb] = await Promise.all([
      get(`${a.server.url}/set?a=1`, cookieOf(first)),
      get(`${b.server.url}/set?b=2`, cookieOf(first)),
    ]);
    expect(ra.setCookies).toEqual([]); // a is the session's route
    expect(rb.cookie).toMatch(/\.b$/); // b re-pinned it: the browser now sends route b
    const key = first.cookie!.split('=')[1]!.split('.')[0]!;
    const stored = (await shared.load(key))!;
    expect(stored.version.seq).toBe(3);
    expect((await get(`${b.server.url}/read`, cookieOf(rb))).body).toBe('n=undefined a=1 b=2');
    // b dies; the proxy sends route b to a, which reads the store (its cache is only for route a).
    expect((await get(`${a.server.url}/read`, cookieOf(rb))).body).toBe('n=undefined a=1 b=2');
  });

  it("a change made by another instance is seen on the next cache hit ('version' validation)", async () => {
    const shared = new MemoryBackend();
    const a = await app(new SlowBackend(shared, 40), { route: 'a' });
    const b = await app(new SlowBackend(shared, 5), { route: 'b' });
    const first = await get(`${a.server.url}/set?a=0&b=0`);
    // b writes first (its cache stays contiguous), a writes after it.
    const [, rb] = await Promise.all([
      get(`${a.server.url}/set?a=1`, cookieOf(first)),
      get(`${b.server.url}/set?b=2`, cookieOf(first)),
    ]);
    expect((await get(`${b.server.url}/read`, cookieOf(rb))).body).toBe('n=undefined a=1 b=2');
    expect(b.mw.stats.staleCacheEntries).toBe(1);
  });

  it("cacheValidation 'none': two concurrent requests on one instance, the second write drops the stale cache entry", async () => {
    const backend = new SlowBackend(new MemoryBackend(), 20);
    const { server, mw } = await app(backend, { route: 'a', cacheValidation: 'none' });
    const first = await get(`${server.url}/set?a=0&b=0`);
    await Promise.all([
      get(`${server.url}/set?a=1`, cookieOf(first)),
      get(`${server.url}/set?b=2`, cookieOf(first)),
    ]);
    expect(mw.stats.concurrentWrites).toBe(1);
    expect((await get(`${server.url}/read`, cookieOf(first))).body).toBe('n=undefined a=1 b=2');
    expect(backend.calls.load).toBe(1);
  });
});

describe('cohortSession(): destroy, regenerate, expiry, touches', () => {
  it('destroy removes the session from the store and clears the cookie', async () => {
    const shared = new MemoryBackend();
    const { server } = await app(shared, { route: 'a' });
    const first = await get(`${server.url}/count`);
    const key = first.cookie!.split('=')[1]!.split('.')[0]!;
    const out = await get(`${server.url}/logout`, cookieOf(first));
    expect(out.setCookies[0]).toMatch(
      /^cohort\.sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0/,
    );
    expect(await shared.load(key)).toBeNull();
    expect((await get(`${server.url}/count`, cookieOf(first))).body).toBe('n=1 route=a');
  });

  it('regenerate moves the attributes to a new key and destroys the old one', async () => {
    const shared = new MemoryBackend();
    const { server } = await app(shared, { route: 'a' });
    const first = await get(`${server.url}/count`);
    const oldKey = first.cookie!.split('=')[1]!.split('.')[0]!;
    const login = await get(`${server.url}/login`, cookieOf(first));
    const newId = login.body;
    expect(login.cookie).toBe(`cohort.sid=${newId}`);
    expect(newId.split('.')[0]).not.toBe(oldKey);
    expect(await shared.load(oldKey)).toBeNull();
    const after = await get(`${server.url}/count`, cookieOf(login));
    expect(after.body).toBe('n=2 route=a');
  });

  it('expires a session once the store has seen no access for its timeout + the touch slack', async () => {
    let t = 1_700_000_000_000;
    const shared = new MemoryBackend({ now: () => t });
    // timeout 60 s: touch interval 15 s, batch 1 s, so a stored access lags by at most 16 s
    const { server } = await app(shared, { route: 'a', maxInactiveSeconds: 60, now: () => t });
    const first = await get(`${server.url}/count`);
    t += 59_000;
    expect((await get(`${server.url}/count`, cookieOf(first))).body).toBe('n=2 route=a');
    t += 61_000; // idle 61 s here; the store's access is 61 s old, within 60 + 16
    expect((await get(`${server.url}/count`, cookieOf(first))).body).toBe('n=3 route=a');
    t += 77_000; // 77 s without any access anywhere
    expect((await get(`${server.url}/count`, cookieOf(first))).body).toBe('n=1 route=a');
  });

  it('a stale cookie back at an instance whose copy is old does not end a session used elsewhere meanwhile', async () => {
    let t = 1_700_000_000_000;
    const shared = new MemoryBackend({ now: () => t });
    const opts = { maxInactiveSeconds: 60, now: () => t };
    const a = await app(shared, { route: 'a', ...opts });
    const b = await app(shared, { route: 'b', ...opts });
    const first = await get(`${a.server.url}/count`);
    t += 50_000;
    const moved = await get(`${b.server.url}/count`, cookieOf(first)); // failover to b
    expect(moved.body).toBe('n=2 route=b');
    t += 50_000; // a's copy is 100 s idle; b used the session 50 s ago
    expect((await get(`${a.server.url}/count`, cookieOf(first))).body).toBe('n=3 route=a');
  });

  it('batches touches of read-only requests: none within the interval, one batch after it', async () => {
    let t = 1_700_000_000_000;
    const inner = new MemoryBackend({ now: () => t });
    const backend = new SlowBackend(inner);
    const { server, mw } = await app(backend, {
      route: 'a',
      now: () => t,
      touchIntervalMs: 10_000,
      touchFlushMs: 60_000,
      cacheValidation: 'none',
    });
    const s1 = await get(`${server.url}/count`);
    const s2 = await get(`${server.url}/count`);
    t += 5_000;
    await get(`${server.url}/read`, cookieOf(s1));
    await mw.flushTouches();
    expect(backend.calls.touch).toBe(0);
    t += 6_000;
    await get(`${server.url}/read`, cookieOf(s1));
    await get(`${server.url}/read`, cookieOf(s2));
    await get(`${server.url}/read`, cookieOf(s1));
    expect(backend.calls.touch).toBe(0);
    await mw.flushTouches();
    expect(backend.calls.touch).toBe(1);
    expect(mw.stats.touchedSessions).toBe(2);
    const key = s1.cookie!.split('=')[1]!.split('.')[0]!;
    expect((await inner.load(key))!.lastAccessedAt).toBe(t);
    // A write whose touch is due carries it: no separate touch.
    t += 11_000;
    await get(`${server.url}/count`, cookieOf(s1));
    await mw.flushTouches();
    expect(backend.calls.touch).toBe(1);
    expect((await inner.load(key))!.lastAccessedAt).toBe(t);
  });

  it('with the cache off, read-only requests still record their access (batched)', async () => {
    let t = 1_700_000_000_000;
    const inner = new MemoryBackend({ now: () => t });
    const backend = new SlowBackend(inner);
    const { server, mw } = await app(backend, {
      route: 'a',
      now: () => t,
      cacheSize: 0,
      touchIntervalMs: 10_000,
    });
    const s1 = await get(`${server.url}/count`);
    const key = s1.cookie!.split('=')[1]!.split('.')[0]!;
    t += 5_000;
    await get(`${server.url}/read`, cookieOf(s1));
    await mw.flushTouches();
    expect(backend.calls.touch).toBe(0); // within the interval
    t += 6_000;
    await get(`${server.url}/read`, cookieOf(s1));
    await mw.flushTouches();
    expect(backend.calls.touch).toBe(1);
    expect((await inner.load(key))!.lastAccessedAt).toBe(t);
  });

  it("with 'version' validation a due touch rides on the revalidation: no batch, no extra round trip", async () => {
    let t = 1_700_000_000_000;
    const inner = new MemoryBackend({ now: () => t });
    const backend = new SlowBackend(inner);
    const { server, mw } = await app(backend, {
      route: 'a',
      now: () => t,
      touchIntervalMs: 10_000,
    });
    const s1 = await get(`${server.url}/count`);
    t += 11_000;
    await get(`${server.url}/read`, cookieOf(s1));
    await mw.flushTouches();
    expect(backend.calls.touch).toBe(0);
    expect(backend.calls.revalidate).toBe(1);
    const key = s1.cookie!.split('=')[1]!.split('.')[0]!;
    expect((await inner.load(key))!.lastAccessedAt).toBe(t);
  });
});

describe('cohortSession() on plain node:http', () => {
  it('works as (req, res, next) in a node:http handler', async () => {
    const mw = cohortSession({ backend: new MemoryBackend(), route: 'n1' });
    middlewares.push(mw);
    const server = await serve((req: IncomingMessage, res: ServerResponse) => {
      mw(req, res, (err) => {
        if (err) {
          res.statusCode = 500;
          res.end();
          return;
        }
        const h = sessionOf(req);
        h.set('visits', ((h.get('visits') as number | undefined) ?? 0) + 1);
        res.end(`visits=${String(h.get('visits'))}`);
      });
    });
    servers.push(server);
    const a = await get(server.url);
    const b = await get(server.url, cookieOf(a));
    expect([a.body, b.body]).toEqual(['visits=1', 'visits=2']);
  });
});

describe('cohortSession(): hostile Cookie headers (fuzz)', () => {
  it('any Cookie header gives 200 with a session, never an error or a crash', async () => {
    const { server } = await app(new MemoryBackend(), { route: 'app1' });
    const first = await get(`${server.url}/count`);
    const real = first.cookie!;
    const header = fc.oneof(
      fc.string({ maxLength: 300 }).map((s) => s.replace(/[\r\n\0]/g, '')),
      fc.constantFrom(real, `${real}; ${real}`, 'cohort.sid=', 'cohort.sid=.', 'cohort.sid=..app1'),
      fc
        .tuple(fc.nat(real.length), fc.string({ maxLength: 5 }))
        .map(([i, s]) => (real.slice(0, i) + s + real.slice(i)).replace(/[\r\n\0]/g, '')),
      fc.stringMatching(/^[ -~]{0,200}$/),
    );
    await fc.assert(
      fc.asyncProperty(header, async (h) => {
        const r = await get(`${server.url}/count`, h.trim() === '' ? {} : { cookie: h });
        expect(r.status).toBe(200);
        expect(r.body).toMatch(/^n=\d+ route=app1$/);
      }),
      { numRuns: 150 },
    );
  });
});
