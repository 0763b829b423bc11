import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from './config/load.js';
import { ManagementError } from './management-error.js';
import { parseStateChange } from './overrides.js';
import { routeEcho, startMember, startProxy, type TestMember } from './test/harness.js';

// The management operations behind the API and the status page's buttons: states (with the
// httpd, mod_jk and HAProxy names), weights, members added and removed — live, kept across a
// reload, with each member's counters and health carried along.

let a: TestMember;
let b: TestMember;
let c: TestMember;
let p: Awaited<ReturnType<typeof startProxy>>;
const config = () => ({
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
  p = await startProxy(config());
});
afterAll(async () => {
  await p.stop();
  await Promise.all([a.close(), b.close(), c.close()]);
});

async function routes(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${p.url}/`);
    out.push(((await r.json()) as { route: string }).route);
  }
  return out;
}

const member = (route: string) =>
  p.proxy.status().balancers[0]!.members.find((m) => m.route === route);

describe('state names users already know', () => {
  it('maps httpd flags, mod_jk activations and HAProxy states', () => {
    const names: [string, unknown][] = [
      ['D', { kind: 'state', state: 'disabled' }],
      ['S', { kind: 'state', state: 'stopped' }],
      ['N', { kind: 'state', state: 'draining' }],
      ['H', { kind: 'state', state: 'standby' }],
      ['R', { kind: 'state', state: 'standby' }],
      ['+H', { kind: 'state', state: 'standby' }],
      ['A', { kind: 'state', state: 'active' }],
      ['ready', { kind: 'state', state: 'active' }],
      ['drain', { kind: 'state', state: 'draining' }],
      ['maint', { kind: 'state', state: 'stopped' }],
      ['E', { kind: 'error' }],
      ['-E', { kind: 'clear-error' }],
      ['I', { kind: 'ignore-errors', on: true }],
      ['-I', { kind: 'ignore-errors', on: false }],
    ];
    for (const [name, want] of names) expect(parseStateChange(name), name).toEqual(want);
    expect(parseStateChange('bogus')).toBeUndefined();
  });
});

describe('management changes on a running proxy', () => {
  it('drain (HAProxy) takes a member out of new traffic at once; ready brings it back', async () => {
    p.proxy.setMember('app', 'b', { state: 'drain' });
    expect(member('b')!.state).toBe('draining');
    expect(new Set(await routes(6))).toEqual(new Set(['a']));
    p.proxy.setMember('app', 'b', { state: 'ready' });
    expect(new Set(await routes(6))).toEqual(new Set(['a', 'b']));
  });

  it('weight changes the share; counters survive the change and a reload', async () => {
    const before = member('a')!.requests;
    expect(before).toBeGreaterThan(0);
    p.proxy.setMember('app', 'a', { weight: 3 });
    const got = await routes(8);
    expect(got.filter((r) => r === 'a')).toHaveLength(6);
    expect(member('a')!.requests).toBe(before + 6);
    p.proxy.reload(validateConfig(config()));
    expect(member('a')!.weight).toBe(3);
    expect(member('a')!.requests).toBe(before + 6);
  });

  it('E puts a member in error, -E takes it out', async () => {
    p.proxy.setMember('app', 'a', { state: 'E' });
    expect(member('a')!.health).toBe('ejected');
    expect(new Set(await routes(4))).toEqual(new Set(['b']));
    p.proxy.setMember('app', 'a', { state: '-E' });
    expect(member('a')!.health).toBe('ok');
  });

  it('adds and removes members, refusing what makes no sense with a typed error', async () => {
    p.proxy.addMember('app', { url: c.url, route: 'c' });
    expect(member('c')!.source).toBe('api');
    p.proxy.setMember('app', 'a', { weight: 1 });
    expect(new Set(await routes(9))).toEqual(new Set(['a', 'b', 'c']));
    const codes: string[] = [];
    const attempt = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ManagementError);
        codes.push((e as ManagementError).code);
      }
    };
    attempt(() => p.proxy.addMember('app', { url: c.url, route: 'c' }));
    attempt(() => p.proxy.addMember('app', { url: 'ftp://x', route: 'd' }));
    attempt(() => p.proxy.addMember('nope', { url: c.url, route: 'd' }));
    attempt(() => p.proxy.setMember('app', 'zz', { state: 'D' }));
    attempt(() => p.proxy.setMember('app', 'a', { state: 'sideways' }));
    attempt(() => p.proxy.setMember('app', 'a', { weight: 0 }));
    expect(codes).toEqual([
      'DUPLICATE_ROUTE',
      'INVALID_MEMBER',
      'UNKNOWN_BALANCER',
      'UNKNOWN_MEMBER',
      'INVALID_STATE',
      'INVALID_WEIGHT',
    ]);
    p.proxy.removeMember('app', 'a');
    p.proxy.reload(validateConfig(config()));
    expect(p.proxy.status().balancers[0]!.members.map((m) => m.route)).toEqual(['b', 'c']);
    expect(p.proxy.managementOverrides.removed).toEqual({ app: ['a'] });
    p.proxy.removeMember('app', 'c');
    attempt(() => p.proxy.removeMember('app', 'b'));
    expect(codes.at(-1)).toBe('LAST_MEMBER');
  });
});

describe('the Resin dialect after a member is removed at run time', () => {
  it("an owner letter keeps naming its member: removing one does not shift the others'", async () => {
    const members = [
      await startMember(routeEcho('r1')),
      await startMember(routeEcho('r2')),
      await startMember(routeEcho('r3')),
    ];
    const rp = await startProxy({
      balancers: [
        {
          name: 'resin',
          affinity: { dialect: 'resin', cookie: 'JSESSIONID' },
          members: members.map((m, i) => ({ url: m.url, route: `r${i + 1}` })),
        },
      ],
    });
    try {
      const routeOf = async (id: string) => {
        const r = await fetch(`${rp.url}/`, { headers: { cookie: `JSESSIONID=${id}` } });
        return ((await r.json()) as { route: string }).route;
      };
      expect(await routeOf('cXYZ')).toBe('r3');
      rp.proxy.removeMember('resin', 'r2');
      expect(await routeOf('cXYZ')).toBe('r3');
      expect(await routeOf('aXYZ')).toBe('r1');
      // the removed member's letter is a route no member has: balanced, never another's session
      expect(['r1', 'r3']).toContain(await routeOf('bXYZ'));
    } finally {
      await rp.stop();
      for (const m of members) await m.close();
    }
  });
});
