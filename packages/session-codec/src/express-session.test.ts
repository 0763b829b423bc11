import { describe, expect, it } from 'vitest';
import { applyDelta } from './apply-delta.js';
import { expressSessionDelta, fromExpressSession, toExpressSession } from './express-session.js';
import { readAttribute } from './session.js';
import { es } from '../test/express-session.js';
import { expectCodecError } from '../test/support.js';

/**
 * The object express-session 1.19 hands to `store.set`, built with its own classes: a `Session`
 * (attributes as own enumerable properties, `id` and `req` non-enumerable) holding a `Cookie`
 * (`expires` is an accessor over `_expires`; `toJSON` writes originalMaxAge, partitioned,
 * priority, expires, secure, httpOnly, domain, path, sameSite).
 */
function expressData(now: number, extra: Record<string, unknown> = {}) {
  return new es.Session(
    { sessionID: 'sid' },
    {
      cookie: new es.Cookie({ expires: new Date(now + 3_600_000), originalMaxAge: 3_600_000 }),
      views: 3,
      user: { id: 7 },
      ...extra,
    },
  ) as unknown as Record<string, unknown>;
}

describe('express-session adapter', () => {
  it('reads the session object and gives it back in the shape express-session loads', () => {
    const now = 1_763_700_000_000;
    const { session, errors } = fromExpressSession('sid', expressData(now), { now });
    expect(errors).toEqual([]);
    expect(session.maxInactiveSeconds).toBe(3600);
    expect([...session.attributes.keys()].sort()).toEqual(['cookie', 'user', 'views']);
    const back = toExpressSession(session);
    expect(back).toEqual({
      cookie: {
        originalMaxAge: 3_600_000,
        expires: new Date(now + 3_600_000),
        httpOnly: true,
        path: '/',
      },
      views: 3,
      user: { id: 7 },
    });
    // what a JSON store would have written is what we give back
    expect(JSON.parse(JSON.stringify(back))).toEqual(JSON.parse(JSON.stringify(expressData(now))));
  });

  it('accepts a JSON-revived cookie (expires as a string) and a browser-session cookie', () => {
    const json = JSON.parse(JSON.stringify(expressData(0))) as Record<string, unknown>;
    const { session } = fromExpressSession('sid', json, { now: 0 });
    expect((readAttribute(session, 'cookie') as { expires: Date }).expires).toEqual(
      new Date(3_600_000),
    );
    const browser = { cookie: { originalMaxAge: null, expires: null, path: '/' } };
    expect(
      fromExpressSession('sid', browser, { now: 0, defaultMaxInactiveSeconds: 900 }).session
        .maxInactiveSeconds,
    ).toBe(900);
    const bad = fromExpressSession('sid', { cookie: { expires: 'never' }, a: 1 }, { now: 0 });
    expect(bad.errors.map((e) => [e.code, e.path])).toEqual([
      ['INVALID_ARGUMENT', 'cookie.expires'],
    ]);
    expect([...bad.session.attributes.keys()]).toEqual(['a']);
    expectCodecError(() => fromExpressSession('', {}, { now: 0 }), 'INVALID_ARGUMENT');
  });

  it('a bad attribute fails alone', () => {
    const { session, errors } = fromExpressSession('sid', expressData(0, { fn: () => 1 }), {
      now: 0,
    });
    expect(errors.map((e) => e.message)).toEqual(['fn: function is not serializable']);
    expect(session.attributes.has('views')).toBe(true);
  });

  it('builds a per-attribute delta for store.set', () => {
    const { session } = fromExpressSession('sid', expressData(0), { now: 0 });
    const changed = { ...toExpressSession(session), views: 4 } as Record<string, unknown>;
    delete changed.user;
    const { delta, errors } = expressSessionDelta(session, changed, { touchAt: 10 });
    expect(errors).toEqual([]);
    expect(delta!.ops.map((o) => o.op + ('name' in o ? `:${o.name}` : ''))).toEqual([
      'remove:user',
      'set:views',
      'touch',
    ]);
    const next = applyDelta(session, delta!)!;
    expect(toExpressSession(next)).toEqual({ ...changed });
    expect(expressSessionDelta(session, toExpressSession(session)).delta).toBeNull();
  });

  it('keeps an attribute that fails to encode instead of removing it', () => {
    const { session } = fromExpressSession('sid', expressData(0), { now: 0 });
    const broken = { ...toExpressSession(session), user: { id: () => 7 } };
    const { delta, errors } = expressSessionDelta(session, broken);
    expect(errors).toHaveLength(1);
    expect(errors[0].path).toBe('user.id');
    expect(delta).toBeNull();
  });

  it('keeps __proto__ and constructor as plain keys', () => {
    const data = JSON.parse('{"__proto__":{"admin":true},"constructor":{"x":1}}') as Record<
      string,
      unknown
    >;
    const { session } = fromExpressSession('sid', data, { now: 0 });
    const back = toExpressSession(session) as Record<string, unknown>;
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'constructor']);
    expect((back as { admin?: unknown }).admin).toBeUndefined();
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });
});
