// The express-session adapter against the real express-session 1.19 middleware, on a node:http
// server bound to 127.0.0.1: a store built on the adapter (what @cohort/session-client will be)
// holds each session as encoded bytes, and express-session loads, touches and saves through it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDelta } from './apply-delta.js';
import type { Delta } from './delta.js';
import type { SessionCodecError } from './errors.js';
import {
  expressSessionDelta,
  fromExpressSession,
  toExpressSession,
  type ExpressSessionData,
} from './express-session.js';
import { readAttribute } from './session.js';
import { decodeSessionValues } from './session-values.js';
import { decodeSession, encodeSession } from './wire.js';
import { es, type Callback, type SessionInstance } from '../test/express-session.js';

type Request = IncomingMessage & { session: SessionInstance; sessionID: string };

const MAX_AGE = 3_600_000;

/** An express-session store that keeps each session encoded (Session message bytes). */
class EncodedStore extends es.Store {
  readonly bytes = new Map<string, Uint8Array>();
  /** Every delta applied, with the store method that produced it. */
  readonly deltas: { via: 'set' | 'touch'; delta: Delta }[] = [];
  readonly errors: SessionCodecError[] = [];

  get(sid: string, cb: Callback): void {
    const stored = this.bytes.get(sid);
    if (stored === undefined) {
      cb(null, undefined);
      return;
    }
    const data = toExpressSession(decodeSession(stored));
    // the one-pass full decode gives a store the same object
    expect(decodeSessionValues(stored).values).toEqual(data);
    cb(null, data);
  }

  set(sid: string, data: ExpressSessionData, cb: Callback): void {
    this.#write(sid, data, false);
    cb(null);
  }

  touch(sid: string, data: ExpressSessionData, cb: Callback): void {
    this.#write(sid, data, true);
    cb(null);
  }

  destroy(sid: string, cb: Callback): void {
    this.bytes.delete(sid);
    cb(null);
  }

  #write(sid: string, data: ExpressSessionData, touch: boolean): void {
    const now = Date.now();
    const stored = this.bytes.get(sid);
    if (stored === undefined) {
      const { session, errors } = fromExpressSession(sid, data, { now });
      this.errors.push(...errors);
      this.bytes.set(sid, encodeSession(session));
      return;
    }
    const base = decodeSession(stored);
    const { delta, errors } = expressSessionDelta(base, data, { touchAt: touch ? now : undefined });
    this.errors.push(...errors);
    if (delta === null) return;
    this.deltas.push({ via: touch ? 'touch' : 'set', delta });
    const next = applyDelta(base, delta);
    if (next === null) this.bytes.delete(sid);
    else this.bytes.set(sid, encodeSession(next));
  }
}

function opNames(delta: Delta): string[] {
  return delta.ops.map((o) => o.op + ('name' in o ? `:${o.name}` : ''));
}

function lastDelta(store: EncodedStore, via: 'set' | 'touch'): Delta {
  const found = store.deltas.filter((d) => d.via === via).at(-1);
  expect(found).toBeDefined();
  return found!.delta;
}

function cookieFacts(req: Request) {
  const c = req.session.cookie;
  return {
    isCookie: c instanceof es.Cookie,
    expiresIsDate: c.expires instanceof Date,
    originalMaxAge: c.originalMaxAge,
    expires: c.expires instanceof Date ? c.expires.getTime() : c.expires,
    maxAge: c.maxAge,
    httpOnly: c.httpOnly,
    path: c.path,
  };
}

function reply(res: ServerResponse, body: unknown): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

/** The application: each route uses the session the way an Express app would. */
function app(req: Request, res: ServerResponse): void {
  const s = req.session;
  switch (req.url) {
    case '/login':
      s.user = { id: 7, roles: ['admin'], since: new Date(1_700_000_000_000) };
      s.views = 1;
      reply(res, { cookie: cookieFacts(req) });
      return;
    case '/view': {
      const seen = { views: s.views, user: s.user, cookie: cookieFacts(req) };
      s.views = (s.views as number) + 1;
      s.save((err) => reply(res, { ...seen, saved: err === undefined || err === null }));
      return;
    }
    case '/reload':
      s.views = 1000; // not saved: reload brings back what the store holds
      s.reload((err) => reply(res, { err: err ?? null, views: req.session.views }));
      return;
    case '/read':
      reply(res, { views: s.views, cookie: cookieFacts(req) });
      return;
    case '/regenerate':
      s.regenerate((err) => {
        req.session.views = 0;
        reply(res, { err: err ?? null });
      });
      return;
    default:
      res.statusCode = 404;
      res.end();
  }
}

describe('express-session adapter with the real express-session middleware', () => {
  const store = new EncodedStore();
  const middleware = es({
    secret: 'test secret, not a real one',
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: MAX_AGE },
  });
  let server: Server;
  let base: string;
  let cookie = '';
  let originalMaxAge = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      middleware(req, res, (err) => {
        if (err) {
          res.statusCode = 500;
          res.end(String(err));
          return;
        }
        app(req as Request, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) =>
      server.close((err) => (err ? reject(err) : resolve())),
    );
  });

  async function get(
    path: string,
  ): Promise<{ body: Record<string, unknown>; setCookie: string[] }> {
    const res = await fetch(base + path, { headers: cookie ? { cookie } : {} });
    expect(res.status).toBe(200);
    const setCookie = res.headers.getSetCookie();
    if (setCookie.length > 0) cookie = setCookie[0].split(';')[0];
    return { body: (await res.json()) as Record<string, unknown>, setCookie };
  }

  function only(): { sid: string; bytes: Uint8Array } {
    expect(store.bytes.size).toBe(1);
    const [[sid, bytes]] = [...store.bytes];
    return { sid, bytes };
  }

  it('stores a new session, with its cookie, as encoded bytes', async () => {
    const before = Date.now();
    const { setCookie } = await get('/login');
    const after = Date.now();
    expect(setCookie).toHaveLength(1);
    const { sid, bytes } = only();
    const session = decodeSession(bytes);
    expect(session.key).toBe(sid);
    expect(session.maxInactiveSeconds).toBe(MAX_AGE / 1000);
    expect(readAttribute(session, 'views')).toBe(1);
    expect(readAttribute(session, 'user')).toEqual({
      id: 7,
      roles: ['admin'],
      since: new Date(1_700_000_000_000),
    });
    const storedCookie = readAttribute(session, 'cookie') as Record<string, unknown>;
    expect(Object.keys(storedCookie).sort()).toEqual([
      'expires',
      'httpOnly',
      'originalMaxAge',
      'path',
    ]);
    expect(storedCookie).toMatchObject({ httpOnly: true, path: '/' });
    // express-session computes originalMaxAge from a Date.now() read just after setting expires,
    // so it can be a few ms short of the configured maxAge; what matters is that it survives
    originalMaxAge = storedCookie.originalMaxAge as number;
    expect(originalMaxAge).toBeGreaterThan(MAX_AGE - 1_000);
    expect(originalMaxAge).toBeLessThanOrEqual(MAX_AGE);
    const expires = (storedCookie.expires as Date).getTime();
    expect(expires).toBeGreaterThanOrEqual(before + MAX_AGE);
    expect(expires).toBeLessThanOrEqual(after + MAX_AGE);
    // the Set-Cookie header was written from the same cookie
    expect(setCookie[0]).toContain(`Expires=${new Date(expires).toUTCString()}`);
    expect(store.errors).toEqual([]);
  });

  it('loads it back: express-session rebuilds its Cookie with expires, maxAge, originalMaxAge', async () => {
    const stored = readAttribute(decodeSession(only().bytes), 'cookie') as { expires: Date };
    const { body } = await get('/view');
    expect(body.saved).toBe(true);
    expect(body.views).toBe(1);
    // the Date inside an attribute survives as a Date; JSON shows it as its ISO string
    expect(body.user).toEqual({ id: 7, roles: ['admin'], since: '2023-11-14T22:13:20.000Z' });
    const c = body.cookie as Record<string, number | boolean | string>;
    expect(c.isCookie).toBe(true);
    expect(c.expiresIsDate).toBe(true);
    expect(c.originalMaxAge).toBe(originalMaxAge);
    expect(c.expires).toBe(stored.expires.getTime());
    expect(c.maxAge).toBeGreaterThan(0);
    expect(c.maxAge).toBeLessThanOrEqual(MAX_AGE);
    expect(Math.abs(stored.expires.getTime() - Date.now() - (c.maxAge as number))).toBeLessThan(
      5_000,
    );
    expect(c.httpOnly).toBe(true);
    expect(c.path).toBe('/');
  });

  it('req.session.save on a round-tripped session ships one per-attribute delta', async () => {
    // the save in /view above: only `views` changed (the user object was not sent again)
    expect(opNames(lastDelta(store, 'set'))).toEqual(['set:views']);
    expect(readAttribute(decodeSession(only().bytes), 'views')).toBe(2);
    const { body } = await get('/read');
    expect(body.views).toBe(2);
  });

  it('touches through the adapter: the rolled cookie expiry is stored', async () => {
    const before = readAttribute(decodeSession(only().bytes), 'cookie') as { expires: Date };
    await new Promise((resolve) => setTimeout(resolve, 5));
    const { body } = await get('/read'); // unmodified: express-session calls store.touch
    expect(store.deltas.at(-1)!.via).toBe('touch');
    expect(opNames(lastDelta(store, 'touch'))).toEqual(['set:cookie', 'touch']);
    const session = decodeSession(only().bytes);
    const after = readAttribute(session, 'cookie') as { expires: Date; originalMaxAge: number };
    expect(after.expires.getTime()).toBeGreaterThan(before.expires.getTime());
    expect(after.originalMaxAge).toBe(originalMaxAge);
    expect(session.isNew).toBe(false);
    expect(body.views).toBe(2);
  });

  it('reload reads the stored state again; regenerate replaces the session', async () => {
    const { body } = await get('/reload');
    expect(body).toEqual({ err: null, views: 2 });
    const oldSid = only().sid;
    const regenerated = await get('/regenerate');
    expect(regenerated.body).toEqual({ err: null });
    const { sid, bytes } = only();
    expect(sid).not.toBe(oldSid);
    expect(readAttribute(decodeSession(bytes), 'views')).toBe(0);
    expect(store.errors).toEqual([]);
  });

  it('a value express-session built (Session and Cookie instances) converts and comes back', () => {
    const now = 1_763_700_000_000;
    const data = new es.Session(
      { sessionID: 'abc' },
      {
        cookie: new es.Cookie({ expires: new Date(now + MAX_AGE), originalMaxAge: MAX_AGE }),
        cart: { items: [{ sku: 'A1', qty: 2 }] },
      },
    );
    const { session, errors } = fromExpressSession('abc', data as ExpressSessionData, { now });
    expect(errors).toEqual([]);
    expect(Object.keys(toExpressSession(session)).sort()).toEqual(['cart', 'cookie']);
    const loaded = new es.Session({ sessionID: 'abc' }, {
      ...toExpressSession(session),
    } as Record<string, unknown>);
    // what Store#createSession does with the data a store returns
    loaded.cookie = new es.Cookie(loaded.cookie as unknown as Record<string, unknown>);
    loaded.cookie.originalMaxAge = MAX_AGE;
    expect(loaded.cookie.expires).toEqual(new Date(now + MAX_AGE));
    expect(JSON.parse(JSON.stringify(loaded))).toEqual(JSON.parse(JSON.stringify(data)));
  });
});
