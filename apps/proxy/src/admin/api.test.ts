import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { MemberStatus, ProxyStatus } from '../status.js';
import { routeEcho, startMember, startProxy, type TestMember } from '../test/harness.js';
import { AdminServer } from './server.js';

// The management API over real HTTP: the token (missing, wrong, not configured), every change
// visible in the snapshot, the state names of httpd, mod_jk and HAProxy, typed errors.

const TOKEN = 'test-token-0123456789abcdef';
let a: TestMember;
let b: TestMember;
let c: TestMember;
let p: Awaited<ReturnType<typeof startProxy>>;
let admin: AdminServer;
let base: string;

const config = (admin: Record<string, unknown>) => ({
  admin,
  balancers: [
    {
      name: 'app',
      affinity: { dialect: 'none' },
      members: [
        { url: a.url, route: 'a' },
        { url: b.url, route: 'b' },
      ],
    },
  ],
});

beforeAll(async () => {
  a = await startMember(routeEcho('a'));
  b = await startMember(routeEcho('b'));
  c = await startMember(routeEcho('c'));
  p = await startProxy(config({ token: TOKEN }));
  admin = new AdminServer(p.proxy);
  const addr = await admin.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${addr.port}/cohort-status`;
});
afterAll(async () => {
  await admin.close();
  await p.stop();
  await Promise.all([a.close(), b.close(), c.close()]);
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
  at = base,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${at}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: r.status,
    json: (await r.json()) as Record<string, unknown>,
    headers: r.headers,
  };
}

const member = (route: string): MemberStatus | undefined =>
  p.proxy.status().balancers[0]!.members.find((m) => m.route === route);

describe('the token', () => {
  it('is required for a change: none gives 401 with WWW-Authenticate, and nothing changes', async () => {
    const r = await call('PATCH', '/api/balancers/app/members/b', { state: 'drain' }, null);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(r.json).toEqual({
      error: { code: 'UNAUTHORIZED', message: 'a token is required for changes' },
    });
    expect(member('b')!.state).toBe('active');
  });

  it('a wrong token (also one differing in its last character, or longer) gives 401', async () => {
    for (const t of ['nope', TOKEN.slice(0, -1) + 'X', TOKEN + 'x', '']) {
      const r = await call('PATCH', '/api/balancers/app/members/b', { state: 'drain' }, t);
      expect(r.status, t).toBe(401);
      expect((r.json['error'] as { code: string }).code).toBe('UNAUTHORIZED');
    }
    expect(member('b')!.state).toBe('active');
    expect(p.log.text()).not.toContain(TOKEN);
  });

  it('reading needs none: the JSON snapshot', async () => {
    const r = await call('GET', '/api/status', undefined, null);
    expect(r.status).toBe(200);
    const s = r.json as unknown as ProxyStatus;
    expect(s.balancers[0]!.members.map((m) => m.route)).toEqual(['a', 'b']);
    expect(s.pid).toBe(process.pid);
  });

  it('without a configured token, changes are refused with 403 and a reason; reading works', async () => {
    const q = await startProxy(config({}));
    const ro = new AdminServer(q.proxy);
    try {
      const addr = await ro.listen(0, '127.0.0.1');
      const at = `http://127.0.0.1:${addr.port}/cohort-status`;
      const r = await call('PATCH', '/api/balancers/app/members/b', { state: 'D' }, TOKEN, at);
      expect(r.status).toBe(403);
      expect(r.json['error']).toEqual({
        code: 'CHANGES_DISABLED',
        message:
          'changes are disabled: no admin token is configured (admin.token or admin.tokenFile)',
      });
      expect((await call('GET', '/api/status', undefined, null, at)).status).toBe(200);
      const page = await fetch(at);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Read-only: no admin token is configured');
      expect(html).toMatch(/<button name="op" value="draining\|app\|b"[^>]* disabled>/);
      const form = await fetch(`${at}/action`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=whatever&op=draining%7Capp%7Cb',
        redirect: 'manual',
      });
      expect(form.status).toBe(303);
      expect(decodeURIComponent(form.headers.get('location')!)).toContain('CHANGES_DISABLED');
      expect(q.proxy.status().balancers[0]!.members[1]!.state).toBe('active');
    } finally {
      await ro.close();
      await q.stop();
    }
  });
});

describe('changes through the API', () => {
  it('sets states by every familiar name, each visible in the snapshot and the answer', async () => {
    const names: [string, Partial<MemberStatus>][] = [
      // httpd balancer-manager flags
      ['D', { state: 'disabled' }],
      ['S', { state: 'stopped', health: 'stopped' }],
      ['N', { state: 'draining' }],
      ['H', { state: 'standby' }],
      ['R', { state: 'standby' }],
      ['I', { ignoreErrors: true }],
      ['-I', { ignoreErrors: false }],
      ['E', { health: 'ejected' }],
      ['-E', { health: 'ok' }],
      ['C', { health: 'ejected' }],
      ['-C', { health: 'ok' }],
      // mod_jk activations
      ['A', { state: 'active' }],
      ['D', { state: 'disabled' }],
      ['S', { state: 'stopped' }],
      // HAProxy
      ['ready', { state: 'active' }],
      ['drain', { state: 'draining' }],
      ['maint', { state: 'stopped' }],
      ['active', { state: 'active' }],
    ];
    for (const [name, want] of names) {
      const r = await call('PATCH', '/api/balancers/app/members/b', { state: name });
      expect(r.status, name).toBe(200);
      expect(r.json['member'], name).toMatchObject(want);
      expect(member('b'), name).toMatchObject(want);
    }
  });

  it('drain takes the member out of new traffic at once (POST works as PATCH)', async () => {
    expect((await call('POST', '/api/balancers/app/members/b', { state: 'drain' })).status).toBe(
      200,
    );
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${p.url}/`);
      seen.add(((await r.json()) as { route: string }).route);
    }
    expect(seen).toEqual(new Set(['a']));
    await call('PATCH', '/api/balancers/app/members/b', { state: 'ready' });
  });

  it('sets a weight, adds and removes a member', async () => {
    const w = await call('PATCH', '/api/balancers/app/members/a', { weight: 3 });
    expect(w.json['member']).toMatchObject({ route: 'a', weight: 3 });
    expect(member('a')!.weight).toBe(3);

    const add = await call('POST', '/api/balancers/app/members', {
      url: c.url,
      route: 'c',
      weight: 2,
    });
    expect(add.status).toBe(201);
    expect(add.json['member']).toMatchObject({ route: 'c', weight: 2, source: 'api' });
    const r = await fetch(`${p.url}/`, { headers: { host: 'x' } });
    expect(r.status).toBe(200);

    const del = await call('DELETE', '/api/balancers/app/members/c');
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ removed: { balancer: 'app', route: 'c' } });
    expect(member('c')).toBeUndefined();
    await call('PATCH', '/api/balancers/app/members/a', { weight: 1 });
  });

  it('answers management errors as {error: {code, message}} with their status', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['PATCH', '/api/balancers/nope/members/a', { state: 'D' }, 404, 'UNKNOWN_BALANCER'],
      ['PATCH', '/api/balancers/app/members/zz', { state: 'D' }, 404, 'UNKNOWN_MEMBER'],
      ['PATCH', '/api/balancers/app/members/a', { state: 'sideways' }, 400, 'INVALID_STATE'],
      ['PATCH', '/api/balancers/app/members/a', { state: 7 }, 400, 'INVALID_STATE'],
      ['PATCH', '/api/balancers/app/members/a', { weight: 0 }, 400, 'INVALID_WEIGHT'],
      ['PATCH', '/api/balancers/app/members/a', { weight: '2' }, 400, 'INVALID_WEIGHT'],
      ['PATCH', '/api/balancers/app/members/a', { colour: 'red' }, 400, 'BAD_REQUEST'],
      ['PATCH', '/api/balancers/app/members/a', {}, 400, 'BAD_REQUEST'],
      ['PATCH', '/api/balancers/app/members/a', [1], 400, 'BAD_REQUEST'],
      ['POST', '/api/balancers/app/members', { url: a.url, route: 'a' }, 409, 'DUPLICATE_ROUTE'],
      ['POST', '/api/balancers/app/members', { url: 'ftp://x', route: 'd' }, 400, 'INVALID_MEMBER'],
      ['POST', '/api/balancers/app/members', { url: a.url, route: '<x>' }, 400, 'INVALID_MEMBER'],
      [
        'POST',
        '/api/balancers/app/members',
        { url: c.url, route: 'd', source: 'discovery' },
        400,
        'BAD_REQUEST',
      ],
      ['GET', '/api/balancers/app/members/a', undefined, 405, 'METHOD_NOT_ALLOWED'],
      ['GET', '/api/nothing', undefined, 404, 'NOT_FOUND'],
      ['PATCH', '/api/balancers/app/members/%E0%A4%A', { state: 'D' }, 400, 'BAD_REQUEST'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect((r.json['error'] as { code: string }).code, path).toBe(code);
      expect(typeof (r.json['error'] as { message: string }).message).toBe('string');
    }
    // The last member cannot go.
    await call('DELETE', '/api/balancers/app/members/b');
    const last = await call('DELETE', '/api/balancers/app/members/a');
    expect(last.status).toBe(409);
    expect((last.json['error'] as { code: string }).code).toBe('LAST_MEMBER');
    await call('POST', '/api/balancers/app/members', { url: b.url, route: 'b' });
    expect(p.proxy.status().balancers[0]!.members.map((m) => m.route)).toEqual(['a', 'b']);
  });

  it('refuses a body that is not JSON, too large, or not declared as JSON', async () => {
    const send = (type: string, body: string) =>
      fetch(`${base}/api/balancers/app/members/a`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
        body,
      });
    const bad = await send('application/json', '{"state":');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const plain = await send('text/plain', '{"state":"D"}');
    expect(plain.status).toBe(415);
    const big = await send('application/json', JSON.stringify({ state: 'x'.repeat(70_000) }));
    expect(big.status).toBe(413);
    expect(member('a')!.state).toBe('active');
  });
});

describe('the page form without JavaScript', () => {
  const post = (body: string) =>
    fetch(`${base}/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    });

  it('applies a button with the token and redirects back with the outcome', async () => {
    const r = await post(
      new URLSearchParams({ token: TOKEN, op: 'draining|app|b', 'weight|app|b': '1' }).toString(),
    );
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(
      `/cohort-status?ok=${encodeURIComponent('app/b: draining')}`,
    );
    expect(member('b')!.state).toBe('draining');
    const w = await post(
      new URLSearchParams({ token: TOKEN, op: 'weight|app|b', 'weight|app|b': '4' }).toString(),
    );
    expect(w.status).toBe(303);
    expect(member('b')!.weight).toBe(4);
    const page = await (await fetch(`${base}?ok=${encodeURIComponent('app/b: draining')}`)).text();
    expect(page).toContain('<p id="message" role="status" class="msg ok">app/b: draining</p>');
    await post(new URLSearchParams({ token: TOKEN, op: 'active|app|b' }).toString());
    await post(
      new URLSearchParams({ token: TOKEN, op: 'weight|app|b', 'weight|app|b': '1' }).toString(),
    );
  });

  it('adds and removes members through the form', async () => {
    await post(
      new URLSearchParams({
        token: TOKEN,
        op: 'add|app',
        'add-url|app': c.url,
        'add-route|app': 'c',
        'add-weight|app': '',
      }).toString(),
    );
    expect(member('c')).toMatchObject({ weight: 1, source: 'api' });
    await post(new URLSearchParams({ token: TOKEN, op: 'remove|app|c' }).toString());
    expect(member('c')).toBeUndefined();
  });

  it('a wrong token changes nothing and says why', async () => {
    const r = await post(new URLSearchParams({ token: 'wrong', op: 'stopped|app|b' }).toString());
    expect(r.status).toBe(303);
    expect(decodeURIComponent(r.headers.get('location')!)).toBe(
      '/cohort-status?error=wrong token (UNAUTHORIZED)',
    );
    expect(member('b')!.state).toBe('active');
    const bad = await post(new URLSearchParams({ token: TOKEN, op: 'explode|app|b' }).toString());
    expect(decodeURIComponent(bad.headers.get('location')!)).toContain('BAD_REQUEST');
    const refresh = await post('op=refresh');
    expect(refresh.headers.get('location')).toBe('/cohort-status');
    const json = await fetch(`${base}/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
  });
});
