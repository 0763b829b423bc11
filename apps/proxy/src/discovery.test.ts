import { createMember, type Member } from '@cohort/membership';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';

import { routeEcho, startMember, startProxy, type TestMember } from './test/harness.js';

// Discovery (#13): application instances announce themselves in the gossip membership (role
// `app`, route, URL, weight, state) and join the balancer, as mod_caucho learned the Resin
// cluster from one server; they leave it when they leave the membership. Static members keep
// working beside them.

let fixed: TestMember;
const apps: { http: TestMember; member: Member }[] = [];
let p: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  fixed = await startMember(routeEcho('static'));
  p = await startProxy({
    discovery: { bind: '127.0.0.1:0', preset: 'local', cluster: 'disco-test' },
    balancers: [
      {
        name: 'apps',
        affinity: { dialect: 'none' },
        discover: { role: 'app' },
        members: [{ url: fixed.url, route: 'static' }],
      },
    ],
  });
  // An announcement that is not a valid member is ignored, never breaking the others.
  apps.push({
    http: await startMember(routeEcho('bad')),
    member: await createMember({
      name: 'app-bad',
      preset: 'local',
      cluster: 'disco-test',
      seeds: [p.proxy.discoveryAddress!],
      metadata: { role: 'app', route: 'bad', url: 'ftp://nowhere' },
    }),
  });
  for (const route of ['d1', 'd2']) {
    const http = await startMember(routeEcho(route));
    const member = await createMember({
      name: `app-${route}`,
      preset: 'local',
      cluster: 'disco-test',
      seeds: [p.proxy.discoveryAddress!],
      metadata: { role: 'app', route, url: http.url, weight: 1 },
    });
    apps.push({ http, member });
  }
}, 30_000);
afterAll(async () => {
  await p.stop();
  for (const a of apps) {
    await a.member.close();
    await a.http.close();
  }
  await fixed.close();
});

const members = () => p.proxy.status().balancers[0]!.members;

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`not reached within ${ms} ms`);
    await sleep(25);
  }
}

async function routes(n: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${p.url}/`);
    out.add(((await r.json()) as { route: string }).route);
  }
  return out;
}

describe('members discovered through the membership', () => {
  it('announced instances join the balancer beside the static member and get traffic', async () => {
    await until(() => members().length === 3, 10_000);
    expect(members().map((m) => [m.route, m.source])).toEqual([
      ['static', 'config'],
      ['d1', 'discovery'],
      ['d2', 'discovery'],
    ]);
    expect(await routes(6)).toEqual(new Set(['static', 'd1', 'd2']));
    expect(p.proxy.managementOverrides.added).toEqual({});
  }, 20_000);

  it('a state announced in the metadata is applied (draining)', async () => {
    apps[2]!.member.updateMetadata({
      role: 'app',
      route: 'd2',
      url: apps[2]!.http.url,
      state: 'draining',
    });
    await until(() => members().find((m) => m.route === 'd2')?.state === 'draining', 10_000);
    expect(await routes(6)).toEqual(new Set(['static', 'd1']));
  }, 20_000);

  it('an instance that leaves the membership leaves the balancer; the static member stays', async () => {
    await apps[1]!.member.leave();
    await until(() => !members().some((m) => m.route === 'd1'), 10_000);
    expect(members().map((m) => m.route)).toEqual(['static', 'd2']);
    expect(await routes(4)).toEqual(new Set(['static']));
  }, 20_000);
});
