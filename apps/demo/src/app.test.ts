import { MemoryBackend } from '@cohort/session-client';
import { afterEach, describe, expect, it } from 'vitest';

import { startDemo, type DemoServer } from './server.js';

const servers: DemoServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(o: Parameters<typeof startDemo>[0]): Promise<DemoServer> {
  const d = await startDemo(o);
  servers.push(d);
  return d;
}

function cookieOf(r: Response): string | undefined {
  const set = r.headers.get('set-cookie');
  return set === null ? undefined : set.slice(0, set.indexOf(';'));
}

async function put(url: string, cookie: string, body: string): Promise<Response> {
  return fetch(url, {
    method: 'PUT',
    headers: { cookie, 'content-type': 'application/json' },
    body,
  });
}

describe('demo app', () => {
  it('counts page views in the session and shows id, instance, creation time and counter', async () => {
    const d = await start({ route: 'app7', now: () => Date.UTC(2026, 10, 21, 12, 0, 0) });
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
      attributes: {},
    });
  });
  it('healthz creates no session', async () => {
    const d = await start({ route: 'a' });
    const r = await fetch(`${d.url}/healthz`);
    expect(await r.text()).toBe('ok');
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  for (const mode of ['memory', 'cohort'] as const) {
    it(`sets, reads and removes attributes without counting (${mode})`, async () => {
      const d = await start({
        route: 'a1',
        ...(mode === 'cohort' ? { backend: new MemoryBackend() } : {}),
      });
      expect(d.sessions.kind).toBe(mode);
      const first = await fetch(`${d.url}/api/session`);
      const cookie = cookieOf(first)!;
      expect(cookie).toMatch(/^JSESSIONID=[A-Za-z0-9_-]{22}\.a1$/);
      const base = `${d.url}/api/session/attributes`;
      expect(
        (await (await put(`${base}/colour`, cookie, '"blue"')).json()) as object,
      ).toMatchObject({ counter: 1, attributes: { colour: 'blue' } });
      await put(`${base}/n`, cookie, '42');
      await put(`${base}/ok`, cookie, 'true');
      const del = await fetch(`${base}/colour`, { method: 'DELETE', headers: { cookie } });
      expect(await del.json()).toMatchObject({ counter: 1, attributes: { n: 42, ok: true } });
      const read = await fetch(base, { headers: { cookie } });
      expect(await read.json()).toMatchObject({ counter: 1, attributes: { n: 42, ok: true } });
      const counted = await fetch(`${d.url}/api/session`, { headers: { cookie } });
      expect(await counted.json()).toMatchObject({ counter: 2, attributes: { n: 42, ok: true } });

      for (const [path, body, error, status = 400] of [
        ['counter', '1', 'INVALID_ATTRIBUTE'],
        ['createdBy', '"x"', 'INVALID_ATTRIBUTE'],
        ['a%20b', '1', 'INVALID_ATTRIBUTE'],
        ['x'.repeat(65), '1', 'INVALID_ATTRIBUTE'],
        ['obj', '{"a":1}', 'INVALID_VALUE'],
        ['nul', 'null', 'INVALID_VALUE'],
        ['bad', '{"a":', 'BAD_REQUEST'],
        ['big', JSON.stringify('x'.repeat(20_000)), 'TOO_LARGE', 413],
      ] as const) {
        const r = await put(`${base}/${path}`, cookie, body);
        expect([path, r.status]).toEqual([path, status]);
        expect(((await r.json()) as { error: string }).error).toBe(error);
      }
      const after = await fetch(base, { headers: { cookie } });
      expect(await after.json()).toMatchObject({ counter: 2, attributes: { n: 42, ok: true } });
    });
  }

  it('with a shared backend, a session continues on another instance, re-pinned to it', async () => {
    const backend = new MemoryBackend();
    const a = await start({ route: 'app1', backend });
    const b = await start({ route: 'app2', backend });
    let cookie = '';
    for (let n = 1; n <= 3; n++) {
      const r = await fetch(`${a.url}/api/session`, { headers: { cookie } });
      cookie = cookieOf(r) ?? cookie;
      expect(await r.json()).toMatchObject({ counter: n, instance: 'app1', createdBy: 'app1' });
    }
    await put(`${a.url}/api/session/attributes/user`, cookie, '"ann"');
    const moved = await fetch(`${b.url}/api/session`, { headers: { cookie } });
    const repinned = cookieOf(moved)!;
    expect(repinned).toBe(cookie.replace(/\.app1$/, '.app2'));
    expect(await moved.json()).toMatchObject({
      id: repinned.slice('JSESSIONID='.length),
      instance: 'app2',
      createdBy: 'app1',
      counter: 4,
      attributes: { user: 'ann' },
    });
    // The in-memory demo starts over instead (the difference this mode makes).
    const m = await start({ route: 'app3' });
    const fresh = await fetch(`${m.url}/api/session`, { headers: { cookie } });
    expect(await fresh.json()).toMatchObject({ counter: 1, createdBy: 'app3', attributes: {} });
  });

  it('answers 503 when the session store fails, never a page with an unsaved count', async () => {
    const backend = new MemoryBackend();
    const d = await start({ route: 'app1', backend });
    const r = await fetch(`${d.url}/api/session`);
    const cookie = cookieOf(r)!;
    await backend.close();
    const failed = await fetch(`${d.url}/api/session`, { headers: { cookie: 'JSESSIONID=x' } });
    expect(failed.status).toBe(503);
    const loadFailed = await fetch(`${d.url}/api/session`, {
      headers: { cookie: cookie.replace(/\.app1$/, '.other') },
    });
    expect(loadFailed.status).toBe(503);
    expect(await loadFailed.json()).toMatchObject({ error: 'SESSION_STORE_UNAVAILABLE' });
  });
});
