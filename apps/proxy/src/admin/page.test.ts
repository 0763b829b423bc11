import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import type { MemberStatus, ProxyStatus } from '../status.js';
import { routeEcho, startMember, startProxy, type TestMember } from '../test/harness.js';
import { escapeHtml, renderPage } from './page.js';
import { AdminServer } from './server.js';
import type { LiveUpdate } from './view.js';

// The status page as a browser without JavaScript gets it: a server-rendered table per balancer
// with every figure, one plain form with the token field and the buttons, every value escaped,
// and the security headers. Then the live view over the WebSocket.

const TOKEN = 'page-token-0123456789abcdef';
let a: TestMember;
let b: TestMember;
let p: Awaited<ReturnType<typeof startProxy>>;
let admin: AdminServer;
let origin: string;

beforeAll(async () => {
  a = await startMember(routeEcho('a'));
  b = await startMember(routeEcho('b'));
  p = await startProxy({
    admin: { token: TOKEN },
    balancers: [
      {
        name: 'app',
        affinity: { dialect: 'none' },
        members: [
          { url: a.url, route: 'a' },
          { url: b.url, route: 'b', weight: 2 },
        ],
      },
    ],
  });
  admin = new AdminServer(p.proxy, { pushIntervalMs: 200 });
  const addr = await admin.listen(0, '127.0.0.1');
  origin = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await admin.close();
  await p.stop();
  await Promise.all([a.close(), b.close()]);
});

describe('the status page without JavaScript', () => {
  it('is a table per balancer with every figure, and one form with the token and the buttons', async () => {
    for (let i = 0; i < 4; i++) await (await fetch(`${p.url}/`)).text();
    const r = await fetch(`${origin}/cohort-status`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const html = await r.text();
    expect(html).toContain('<form id="manage" method="post" action="/cohort-status/action">');
    expect(html).toContain('<input type="password" name="token" id="token"');
    expect(html).toContain('<section class="balancer" data-balancer="app">');
    for (const h of ['Route', 'State', 'Health', 'Weight', 'In flight', 'Requests', 'Bytes'])
      expect(html).toContain(`>${h}</th>`);
    for (const h of ['Errors', 'Retries', 'Failovers', 'Re-pins', 'Check', 'Last error'])
      expect(html).toContain(`>${h}</th>`);
    expect(html).toContain('<tr data-key="app/b" class="row-ok">');
    expect(html).toContain('<td data-f="state" class="state-active">active</td>');
    expect(html).toContain('<td data-f="weight">2</td>');
    const requests = [...html.matchAll(/<td data-f="requests">(\d+)<\/td>/g)].map((m) =>
      Number(m[1]),
    );
    expect(requests.reduce((x, y) => x + y, 0)).toBe(4);
    for (const op of ['active', 'draining', 'disabled', 'stopped', 'weight', 'remove'])
      expect(html).toContain(`<button name="op" value="${op}|app|b"`);
    expect(html).toContain('<input name="weight|app|b" value="2"');
    expect(html).toContain('<button name="op" value="add|app">Add</button>');
    // The first submit button (what Enter in the token field presses) only refreshes.
    expect(/<button name="op" value="([^"]+)"/.exec(html)![1]).toBe('refresh');
    expect(html).toContain('<script src="/cohort-status/assets/status.js" defer></script>');
    const js = await fetch(`${origin}/cohort-status/assets/status.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain('new WebSocket(');
    expect((await fetch(`${origin}/cohort-status/assets/status.css`)).status).toBe(200);
    const root = await fetch(`${origin}/`, { redirect: 'manual' });
    expect(root.headers.get('location')).toBe('/cohort-status');
  });

  it('escapes a hostile warning, error and query message', async () => {
    const m = p.proxy.status().balancers[0]!.members[0]!;
    const hostile = '<script>alert(1)</script>" onmouseover="x\'&';
    const s: ProxyStatus = {
      ...p.proxy.status(),
      balancers: [
        {
          name: hostile,
          hosts: [hostile],
          path: '/',
          method: 'byrequests',
          members: [
            {
              ...m,
              route: hostile,
              warning: hostile,
              url: hostile,
              lastError: { message: hostile, phase: 'connect', agoMs: 5 },
              checkError: hostile,
              check: 'down',
            } satisfies MemberStatus,
          ],
        },
      ],
    };
    const html = renderPage(s, {
      path: '/cohort-status',
      changesEnabled: true,
      message: { kind: 'error', text: hostile },
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('" onmouseover');
    expect(html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x&#39;&amp;',
    );
    // Routes and balancer names are validated, but were one to slip through, it stays text.
    expect(html).toContain('data-key="app/&lt;script&gt;');
    expect(html).toContain('value="draining|&lt;script&gt;');
    // The message of a form redirect, from the query, is escaped on the real page.
    const r = await fetch(`${origin}/cohort-status?error=${encodeURIComponent(hostile)}`);
    const page = await r.text();
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('class="msg error">&lt;script&gt;');
  });

  it('fuzz: no text reaches the page unescaped', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const e = escapeHtml(text);
        expect(e).not.toMatch(/[<>"']/);
        expect(e.replace(/&(amp|lt|gt|quot|#39);/g, '')).not.toContain('&');
      }),
      { numRuns: 500 },
    );
  });

  it('answers the JSON view and refuses what it does not serve', async () => {
    const s = (await (await fetch(`${origin}/cohort-status/api/status`)).json()) as ProxyStatus;
    expect(s.balancers[0]!.members.map((m) => m.route)).toEqual(['a', 'b']);
    const nf = await fetch(`${origin}/elsewhere`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'nothing at /elsewhere' },
    });
    const post = await fetch(`${origin}/cohort-status`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('the live view', () => {
  function open(
    port: string,
    headers: Record<string, string> = {},
  ): Promise<{ ws: WebSocket; next: () => Promise<LiveUpdate> }> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/cohort-status/ws`, { headers });
    const queue: LiveUpdate[] = [];
    const waiters: ((u: LiveUpdate) => void)[] = [];
    ws.on('message', (d) => {
      const u = JSON.parse(String(d)) as LiveUpdate;
      const w = waiters.shift();
      if (w) w(u);
      else queue.push(u);
    });
    const next = () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : new Promise<LiveUpdate>((r) => waiters.push(r));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, next }));
      ws.once('error', reject);
    });
  }
  const portOf = (o: string) => o.split(':')[2]!;

  it('sends a snapshot at once, then one on every change (not waiting for the interval)', async () => {
    // An interval of a minute: an update within the test can only come from the change event.
    const slow = new AdminServer(p.proxy, { pushIntervalMs: 60_000 });
    const addr = await slow.listen(0, '127.0.0.1');
    const { ws, next } = await open(String(addr.port), { origin: `http://127.0.0.1:${addr.port}` });
    try {
      const first = await next();
      expect(first.rows['app/b']![2]).toEqual({ text: 'active', cls: 'state-active' });
      expect(first.summary).toMatch(/^pid \d+ · up /);
      p.proxy.setMember('app', 'b', { state: 'drain' });
      const u = await next();
      expect(u.status.balancers[0]!.members[1]!.state).toBe('draining');
      expect(u.rows['app/b']![2]).toEqual({ text: 'draining', cls: 'state-draining' });
      p.proxy.setMember('app', 'b', { state: 'E' });
      expect((await next()).rows['app/b']![3]!.text).toMatch(/^ejected \d/);
    } finally {
      p.proxy.setMember('app', 'b', { state: 'ready' });
      p.proxy.setMember('app', 'b', { state: '-E' });
      ws.close();
      await slow.close();
    }
  });

  it('sends one every interval without changes', async () => {
    const { ws, next } = await open(portOf(origin), { origin });
    try {
      await next();
      const t = performance.now();
      await next();
      await next();
      const ms = performance.now() - t;
      expect(ms).toBeGreaterThan(300); // two intervals of 200 ms, not a burst
      expect(ms).toBeLessThan(5000);
    } finally {
      ws.close();
    }
  });

  it('refuses a page of another origin', async () => {
    await expect(open(portOf(origin), { origin: 'http://evil.example' })).rejects.toThrow(/403/);
  });
});
