import express from 'express';
import session from 'express-session';
import { createExtractor, generateSessionId } from '@cohort/session-id';
import { readAttribute, type Delta, type Session, type Version } from '@cohort/session-codec';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  ApplyOptions,
  LoadOptions,
  SessionBackend,
  TouchEntry,
  WriteOptions,
} from './backend.js';
import { CohortStore, type CohortStoreOptions } from './express-store.js';
import { get, serve, type TestServer } from './http.testkit.js';
import { MemoryBackend } from './memory-backend.js';

/** Counts what express-session makes the store send, and the ops of each delta. */
class Recording implements SessionBackend {
  readonly inner: MemoryBackend;
  readonly log: string[] = [];
  delayMs = 0;
  constructor(inner = new MemoryBackend()) {
    this.inner = inner;
  }
  async load(k: string, o?: LoadOptions): Promise<Session | null> {
    this.log.push('load');
    return this.inner.load(k, o);
  }
  async create(s: Session, o: WriteOptions): Promise<Version> {
    this.log.push(`create ${[...s.attributes.keys()].sort().join(',')}`);
    return this.inner.create(s, o);
  }
  async apply(k: string, d: Delta, o: ApplyOptions): Promise<Version> {
    this.log.push(
      `apply ${d.ops.map((op) => ('name' in op ? `${op.op}:${op.name}` : op.op)).join(',')}`,
    );
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.inner.apply(k, d, o);
  }
  async touch(e: readonly TouchEntry[]): Promise<void> {
    this.log.push('touch');
    return this.inner.touch(e);
  }
  async destroy(k: string): Promise<void> {
    this.log.push('destroy');
    return this.inner.destroy(k);
  }
  all(): Promise<Session[]> {
    return this.inner.all();
  }
  length(): Promise<number> {
    return this.inner.length();
  }
  clear(): Promise<void> {
    return this.inner.clear();
  }
  async close(): Promise<void> {}
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

type Req = express.Request & { session: session.Session & Record<string, unknown> };

async function app(
  backend: SessionBackend,
  opts: Partial<session.SessionOptions> = {},
  storeOpts: Partial<CohortStoreOptions> = {},
): Promise<{ url: string; store: CohortStore }> {
  const store = new CohortStore({ backend, ...storeOpts });
  const a = express();
  a.use(
    session({
      store,
      secret: 'keyboard cat',
      resave: false,
      saveUninitialized: false,
      ...opts,
    }),
  );
  a.get('/count', (req, res) => {
    const s = (req as Req).session;
    s.n = ((s.n as number | undefined) ?? 0) + 1;
    res.send(`n=${String(s.n)}`);
  });
  a.get('/read', (req, res) => {
    const s = (req as Req).session;
    res.send(`n=${String(s.n)} a=${String(s.a)} b=${String(s.b)} user=${String(s.user)}`);
  });
  a.get('/set', (req, res) => {
    const s = (req as Req).session;
    for (const [k, v] of Object.entries(req.query)) s[k] = v;
    res.send('ok');
  });
  a.get('/cart', (req, res) => {
    const s = (req as Req).session as Record<string, unknown>;
    if (s.cart === undefined) s.cart = { items: [] as string[] };
    (s.cart as { items: string[] }).items.push(String(req.query.item)); // in place
    res.send(String((s.cart as { items: string[] }).items.length));
  });
  a.get('/delete', (req, res) => {
    delete ((req as Req).session as Record<string, unknown>)[String(req.query.name)];
    res.send('ok');
  });
  a.get('/regenerate', (req, res, next) => {
    const n = (req as Req).session.n;
    (req as Req).session.regenerate((err) => {
      if (err) return next(err);
      (req as Req).session.user = 'ann';
      (req as Req).session.n = n;
      res.send(req.sessionID);
    });
  });
  a.get('/destroy', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.send('bye')));
  });
  a.get('/save-then-redirect', (req, res, next) => {
    (req as Req).session.flash = 'hi';
    req.session.save((err) => (err ? next(err) : res.redirect('/read')));
  });
  a.get('/reload', (req, res, next) => {
    req.session.reload((err) =>
      err ? next(err) : res.send(`n=${String((req as Req).session.n)}`),
    );
  });
  const s = await serve(a);
  servers.push(s);
  return { url: s.url, store };
}

const sidOf = (cookie: string): string =>
  decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;

describe('CohortStore with express-session 1.19', () => {
  it('saveUninitialized: false stores nothing for an untouched session; true stores it', async () => {
    const backend = new Recording();
    const off = await app(backend);
    const r = await get(`${off.url}/read`);
    expect(r.setCookies).toEqual([]);
    expect(backend.log).toEqual([]);
    const on = await app(backend, { saveUninitialized: true });
    const r2 = await get(`${on.url}/read`);
    expect(r2.cookie).toMatch(/^connect\.sid=s%3A/);
    expect(backend.log).toEqual(['create cookie']);
  });

  it('resave: false — a change ships only the changed attribute; an unmodified request only touches (and within touchAfterMs not even that)', async () => {
    const backend = new Recording();
    const { url } = await app(backend, {}, { touchAfterMs: 0 });
    const first = await get(`${url}/set?a=1&b=1`);
    expect(backend.log).toEqual(['create a,b,cookie']);
    const c = { cookie: first.cookie! };
    await get(`${url}/set?a=2`, c);
    expect(backend.log.slice(1)).toEqual(['load', 'apply set:a,touch']);
    await get(`${url}/read`, c);
    expect(backend.log.slice(3)).toEqual(['load', 'touch']);
    const quiet = await app(backend, {}, { touchAfterMs: 60_000 });
    backend.log.length = 0;
    expect((await get(`${quiet.url}/read`, c)).body).toBe('n=undefined a=2 b=1 user=undefined');
    expect(backend.log).toEqual(['load']); // touched < 60 s ago: no write at all
  });

  it('diffs each save against what the request started with: same primitive skipped, in-place mutation of an object seen, deletion removed', async () => {
    const backend = new Recording();
    const { url } = await app(backend, {}, { touchAfterMs: 0 });
    const first = await get(`${url}/set?a=1&b=1`);
    const c = { cookie: first.cookie! };
    backend.log.length = 0;
    await get(`${url}/set?a=1&b=2`, c); // a unchanged, b changed
    await get(`${url}/cart?item=x`, c); // a new object
    await get(`${url}/cart?item=y`, c); // the object mutated in place
    await get(`${url}/delete?name=a`, c);
    expect(backend.log.filter((l) => l.startsWith('apply'))).toEqual([
      'apply set:b,touch',
      'apply set:cart,touch',
      'apply set:cart,touch',
      'apply remove:a,touch',
    ]);
    expect((await get(`${url}/cart?item=z`, c)).body).toBe('3');
    const s = (await backend.inner.load(sidOf(first.cookie!)))!;
    expect(readAttribute(s, 'cart')).toEqual({ items: ['x', 'y', 'z'] });
    expect(s.attributes.has('a')).toBe(false);
    expect(readAttribute(s, 'b')).toBe('2');
  });

  it('resave: true — every request saves; an unchanged session sends only a touch op', async () => {
    const backend = new Recording();
    const { url } = await app(backend, { resave: true });
    const first = await get(`${url}/count`);
    await get(`${url}/read`, { cookie: first.cookie! });
    expect(backend.log).toEqual(['create cookie,n', 'load', 'apply touch']);
  });

  it('rolling: true sends the cookie on every response and keeps the expiry moving', async () => {
    const backend = new Recording();
    const { url } = await app(backend, { rolling: true, cookie: { maxAge: 60_000 } });
    const first = await get(`${url}/count`);
    const again = await get(`${url}/read`, { cookie: first.cookie! });
    expect(again.setCookies).toHaveLength(1);
    expect(again.cookie).toBe(first.cookie);
    const stored = (await backend.inner.load(sidOf(first.cookie!)))!;
    expect(stored.maxInactiveSeconds).toBe(60);
  });

  it('regenerate destroys the old session and stores the new one under a new id', async () => {
    const backend = new Recording();
    const { url } = await app(backend);
    const first = await get(`${url}/count`);
    const oldSid = sidOf(first.cookie!);
    const r = await get(`${url}/regenerate`, { cookie: first.cookie! });
    expect(r.body).not.toBe(oldSid);
    expect(sidOf(r.cookie!)).toBe(r.body);
    expect(await backend.inner.load(oldSid)).toBeNull();
    expect((await get(`${url}/read`, { cookie: r.cookie! })).body).toBe(
      'n=1 a=undefined b=undefined user=ann',
    );
  });

  it('destroy removes the session; the old cookie then starts a new one', async () => {
    const backend = new Recording();
    const { url } = await app(backend);
    const first = await get(`${url}/count`);
    await get(`${url}/destroy`, { cookie: first.cookie! });
    expect(await backend.inner.load(sidOf(first.cookie!))).toBeNull();
    expect((await get(`${url}/count`, { cookie: first.cookie! })).body).toBe('n=1');
  });

  it('save() before redirect and reload() see the stored state; a second save in one request diffs against the first', async () => {
    const backend = new Recording();
    const { url } = await app(backend);
    const first = await get(`${url}/count`);
    const c = { cookie: first.cookie! };
    const redirect = await get(`${url}/save-then-redirect`, c);
    expect(redirect.status).toBe(302);
    const stored = (await backend.inner.load(sidOf(first.cookie!)))!;
    expect(readAttribute(stored, 'flash')).toBe('hi');
    expect((await get(`${url}/reload`, c)).body).toBe('n=1');
  });

  it('two concurrent requests on two instances changing different attributes: both survive', async () => {
    const shared = new MemoryBackend();
    const slow = new Recording(shared);
    slow.delayMs = 30;
    const a = await app(slow);
    const b = await app(new Recording(shared));
    const first = await get(`${a.url}/set?a=0&b=0`);
    const c = { cookie: first.cookie! };
    await Promise.all([get(`${a.url}/set?a=1`, c), get(`${b.url}/set?b=2`, c)]);
    expect((await get(`${a.url}/read`, c)).body).toBe('n=undefined a=1 b=2 user=undefined');
  });

  it('all, length and clear', async () => {
    const backend = new Recording();
    const { url, store } = await app(backend);
    const one = await get(`${url}/count`);
    await get(`${url}/count`);
    const call = <T>(f: (cb: (err: unknown, v?: T) => void) => void): Promise<T | undefined> =>
      new Promise((resolve, reject) => f((err, v) => (err ? reject(err as Error) : resolve(v))));
    expect(await call<number>((cb) => store.length(cb))).toBe(2);
    const all = (await call<Record<string, { n: number }>>((cb) => store.all(cb as never)))!;
    expect(all[sidOf(one.cookie!)]!.n).toBe(1);
    await call((cb) => store.clear(cb));
    expect(await call<number>((cb) => store.length(cb))).toBe(0);
  });

  it("with genid from @cohort/session-id, express-session's cookie carries the route cohort-proxy reads", async () => {
    const backend = new Recording();
    const { url } = await app(backend, { genid: () => generateSessionId({ route: 'app1' }) });
    const r = await get(`${url}/count`);
    const extract = createExtractor({
      cookieNames: ['connect.sid'],
      signed: { secrets: ['keyboard cat'] },
    });
    const found = extract('/', r.cookie!);
    expect(found.found).toBe(true);
    if (found.found) {
      expect(found.route).toBe('app1');
      expect(await backend.inner.load(found.id)).not.toBeNull(); // stored under the whole id
    }
  });

  it('passes backend failures to express-session (500), never a partial answer', async () => {
    const inner = new MemoryBackend();
    const { url } = await app(inner);
    const first = await get(`${url}/count`);
    await inner.close();
    expect((await get(`${url}/count`, { cookie: first.cookie! })).status).toBe(500);
  });
});
