import { describe, expect, it } from 'vitest';

import { createSessionStore } from './sessions.js';

describe('demo session store', () => {
  it('issues route-encoded ids and finds them again by cookie or path parameter', () => {
    const s = createSessionStore({ route: 'app1' });
    const a = s.resolve('/', undefined, 1000);
    expect(a.created).toBe(true);
    expect(a.session.id).toMatch(/^[A-Za-z0-9_-]{22}\.app1$/);
    expect(s.resolve('/', `JSESSIONID=${a.session.id}`, 2000)).toMatchObject({
      created: false,
      session: { key: a.session.key },
    });
    expect(s.resolve(`/x;jsessionid=${a.session.id}`, undefined, 3000).created).toBe(false);
  });
  it('an id it does not hold (another instance, or a restart) gets a new session with its own route', () => {
    const s = createSessionStore({ route: 'app2' });
    const r = s.resolve('/', 'JSESSIONID=AAAAAAAAAAAAAAAAAAAAAA.app1', 0);
    expect(r.created).toBe(true);
    expect(r.session.id.endsWith('.app2')).toBe(true);
  });
  it('drops idle sessions and keeps at most maxSessions', () => {
    const s = createSessionStore({ route: 'a', maxIdleMs: 100, maxSessions: 3 });
    const first = s.resolve('/', undefined, 0).session;
    expect(s.resolve('/', `JSESSIONID=${first.id}`, 500).created).toBe(true);
    for (let i = 0; i < 5; i++) s.resolve('/', undefined, 600);
    expect(s.size()).toBe(3);
  });
  it('hostile cookies never throw', () => {
    const s = createSessionStore({ route: 'a' });
    for (const c of [
      'JSESSIONID=',
      'JSESSIONID=%00.a',
      'JSESSIONID=' + 'x'.repeat(10_000),
      '\u0000;;;=',
    ]) {
      expect(s.resolve('/', c, 0).created).toBe(true);
    }
  });
});
