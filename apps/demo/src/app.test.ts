import { afterEach, describe, expect, it } from 'vitest';

import { startDemo, type DemoServer } from './server.js';

const servers: DemoServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('demo app', () => {
  it('counts page views in the session and shows id, instance, creation time and counter', async () => {
    const d = await startDemo({ route: 'app7', now: () => Date.UTC(2026, 10, 21, 12, 0, 0) });
    servers.push(d);
    const first = await fetch(`${d.url}/`);
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^JSESSIONID=[A-Za-z0-9_-]+\.app7; Path=\/; HttpOnly; SameSite=Lax$/);
    const html = await first.text();
    expect(html).toContain('<code id="instance">app7</code>');
    expect(html).toContain('<code id="counter">1</code>');
    expect(html).toContain('2026-11-21T12:00:00.000Z');
    const id = cookie.slice('JSESSIONID='.length, cookie.indexOf(';'));
    expect(html).toContain(id);
    const again = await fetch(`${d.url}/api/session`, { headers: { cookie: `JSESSIONID=${id}` } });
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(await again.json()).toEqual({
      id,
      instance: 'app7',
      createdBy: 'app7',
      createdAt: '2026-11-21T12:00:00.000Z',
      counter: 2,
    });
  });
  it('healthz creates no session', async () => {
    const d = await startDemo({ route: 'a' });
    servers.push(d);
    const r = await fetch(`${d.url}/healthz`);
    expect(await r.text()).toBe('ok');
    expect(r.headers.get('set-cookie')).toBeNull();
  });
});
