/**
 * Issue 12's end-to-end test: 3 cohort-session-node processes, 3 demo app processes keeping
 * their sessions there (`cohortSession()` + `NodeBackend`), cohort-proxy in front of the apps,
 * all real processes on 127.0.0.1 started from their built `dist/`. Concurrent clients count and
 * set their own attribute while a session node is SIGKILLed (then restarted) and an app
 * instance is SIGKILLed; every client's acknowledged history is checked against what it reads
 * back at the end: no session and no acknowledged write may be lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkClientHistory } from './test/history.js';
import { LoadClient, type RequestRecord, type SessionJson } from './test/load-client.js';
import {
  buildPrograms,
  nodeCounts,
  nodeHttp,
  startDemoProcess,
  startProxyProcess,
  startSessionNode,
  tempDir,
  until,
  type DemoProcess,
  type ProxyProcess,
  type SessionNodeProcess,
} from './test/processes.js';

const TOKEN = 'cluster-e2e-test-token-0123456789';
const CLIENTS = 12;

let dir: ReturnType<typeof tempDir> | undefined;
const nodes: SessionNodeProcess[] = [];
const demos: DemoProcess[] = [];
let proxy: ProxyProcess | undefined;

beforeAll(async () => {
  buildPrograms();
  dir = tempDir();
  const first = await startSessionNode({ dir: dir.path, name: 'sn1', token: TOKEN, seeds: [] });
  nodes.push(first);
  nodes.push(
    ...(await Promise.all(
      ['sn2', 'sn3'].map((name) =>
        startSessionNode({ dir: dir!.path, name, token: TOKEN, seeds: [first.gossip] }),
      ),
    )),
  );
  for (const n of nodes) {
    await until(`${n.name} ready`, async () => (await nodeHttp(n, '/readyz')) === 200, 30_000);
  }
  demos.push(
    ...(await Promise.all(
      ['app1', 'app2', 'app3'].map((route) =>
        startDemoProcess({ route, sessionNodes: nodes.map((n) => n.url), token: TOKEN }),
      ),
    )),
  );
  proxy = await startProxyProcess({ dir: dir.path, members: demos });
  await until(
    'proxy serving',
    async () => (await fetch(`${proxy!.url}/healthz`).then((r) => r.text(), String)) === 'ok',
    30_000,
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(
    [proxy?.child, ...demos.map((d) => d.child), ...nodes.map((n) => n.child)].map((c) =>
      c?.kill(),
    ),
  );
  dir?.remove();
});

/** Figures of the requests of one phase. */
function phaseFigures(records: readonly RequestRecord[], phase: string) {
  const mine = records.filter((r) => r.phase === phase);
  const ms = mine.map((r) => r.ms).sort((a, b) => a - b);
  return {
    requests: mine.length,
    failed: mine.filter((r) => r.status !== 200).length,
    p50: ms[Math.floor(ms.length / 2)] ?? 0,
    max: ms.at(-1) ?? 0,
  };
}

describe('3 session nodes, 3 demo apps, cohort-proxy', () => {
  it('two concurrent requests of one session changing different attributes on two instances: both survive', async () => {
    const [a, b] = demos;
    const client = new LoadClient('unused', () => 'concurrent');
    const first = await client.count(a!.url);
    expect(first.json).toMatchObject({ instance: 'app1', counter: 1 });
    const cookie = client.cookie;
    const put = (url: string, name: string, value: number) =>
      fetch(`${url}/api/session/attributes/${name}`, {
        method: 'PUT',
        headers: { cookie, 'content-type': 'application/json' },
        body: String(value),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as SessionJson }));
    const ROUNDS = 20;
    for (let round = 1; round <= ROUNDS; round++) {
      const [ra, rb] = await Promise.all([put(a!.url, 'left', round), put(b!.url, 'right', round)]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
      expect(ra.json.instance).toBe('app1');
      expect(rb.json.instance).toBe('app2');
      // Each instance read the session before its own write; both reads are then checked.
      for (const url of [a!.url, b!.url]) {
        const r = await fetch(`${url}/api/session/attributes`, { headers: { cookie } });
        expect(((await r.json()) as SessionJson).attributes).toEqual({
          left: round,
          right: round,
        });
      }
    }
  }, 60_000);

  it('SIGKILL of a session node (restarted) and of an app instance under load: no session and no acknowledged write lost', async () => {
    let phase = 'warm-up';
    let appKilledAt = Number.POSITIVE_INFINITY;
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) =>
        new LoadClient(
          `c${i}`,
          () => phase,
          // In flight at the app instance when it was killed: the proxy retries a GET or PUT
          // that got no response on another instance, and the dead one may have stored it.
          (start, end) => start <= appKilledAt && end >= appKilledAt,
        ),
    );
    let stop = false;
    const url = proxy!.url;
    const loadStart = Date.now();
    const load = clients.map(async (c) => {
      while (!stop) {
        await c.count(url);
        await c.setNext(url);
      }
    });
    const settle = (ms: number) => sleep(ms);

    await settle(2000);
    const served = new Map<string, number>();
    for (const c of clients)
      served.set(c.instance ?? '?', (served.get(c.instance ?? '?') ?? 0) + 1);
    expect(served.size).toBe(3); // byrequests spread the new sessions over the three instances

    // 1. SIGKILL the session node that owns the most sessions mid-load; restart it (same
    //    addresses) 4 s later.
    const owned = await Promise.all(nodes.map(async (n) => (await nodeCounts(n)).owned));
    const victimIndex = owned.indexOf(Math.max(...owned));
    const victimNode = nodes[victimIndex]!;
    phase = 'node-kill';
    await victimNode.child.kill('SIGKILL');
    await settle(4000);
    phase = 'node-restart';
    const restart = (sameAddresses: boolean) =>
      startSessionNode({
        dir: dir!.path,
        name: victimNode.name,
        token: TOKEN,
        seeds: nodes.filter((n) => n !== victimNode).map((n) => n.gossip),
        ...(sameAddresses
          ? { listen: victimNode.url.replace(/^ws:\/\//, ''), gossip: victimNode.gossip }
          : {}),
      });
    // Its old ports, as an operator restarts a node; should another socket have taken one of
    // them meanwhile (a rare outgoing connection's local port), new ones: the apps learn the
    // node's new URL from the others' placement map.
    let sameAddresses = true;
    const restarted = await restart(true).catch(() => {
      sameAddresses = false;
      return restart(false);
    });
    nodes[victimIndex] = restarted;
    const survivor = nodes[(victimIndex + 1) % nodes.length]!;
    let readyAfter = -1;
    await until(
      'restarted node ready',
      async () => {
        if ((await nodeHttp(restarted, '/readyz')) !== 200) return false;
        readyAfter = Date.now() - restarted.listeningAt;
        return true;
      },
      30_000,
      20,
    );
    const atReady = await nodeCounts(restarted);
    await settle(2000);

    // 2. SIGKILL the app instance that serves the most sessions.
    phase = 'app-kill';
    const byInstance = new Map<string, LoadClient[]>();
    for (const c of clients)
      byInstance.set(c.instance!, [...(byInstance.get(c.instance!) ?? []), c]);
    const [victimRoute, moved] = [...byInstance].sort((x, y) => y[1].length - x[1].length)[0]!;
    const victimApp = demos.find((d) => d.route === victimRoute)!;
    appKilledAt = Date.now();
    await victimApp.child.kill('SIGKILL');
    await settle(4000);
    stop = true;
    await Promise.all(load);

    // 3. Read every session back through the proxy and check every client's history.
    phase = 'read-back';
    for (const c of clients) {
      const r = await c.read(url);
      expect(r.status).toBe(200);
    }
    const verdicts = clients.map((c) => checkClientHistory(c.ops));
    const sum = (f: (v: (typeof verdicts)[number]) => number) =>
      verdicts.reduce((n, v) => n + f(v), 0);
    const records = clients.flatMap((c) => c.requests);
    const figures = Object.fromEntries(
      ['warm-up', 'node-kill', 'node-restart', 'app-kill'].map((p) => [
        p,
        phaseFigures(records, p),
      ]),
    );
    // The restarted node catches up in the background: it holds (as owner or backup) every
    // session the others hold, 3 copies on 3 nodes.
    const t0 = Date.now();
    let caughtUpMs = -1;
    await until(
      'restarted node caught up',
      async () => {
        const [mine, other] = await Promise.all([nodeCounts(restarted), nodeCounts(survivor)]);
        if (mine.owned + mine.replica < other.owned + other.replica) return false;
        caughtUpMs = Date.now() - t0;
        return true;
      },
      20_000,
      100,
    );
    const after = await nodeCounts(restarted);
    const line = {
      requests: records.length,
      sessions: clients.length,
      phases: figures,
      lostSessions: sum((v) => v.lostSessions),
      lostWrites: sum((v) => v.lostWrites),
      unexplained: sum((v) => v.unexplained),
      extraIncrements: sum((v) => v.extraIncrements),
      killedNode: { name: victimNode.name, ownedSessions: owned[victimIndex] },
      restartedNode: {
        sameAddresses,
        listeningAfterSpawnMs: restarted.listeningAt - restarted.child.spawnedAt,
        readyAfterListeningMs: readyAfter,
        recordsAtReady: atReady.owned + atReady.replica,
        recordsAfter: after.owned + after.replica,
        caughtUpAfterTestMs: caughtUpMs,
      },
      appKill: { victim: victimRoute, moved: moved.length },
      // A session's first request (its create at the nodes, the instance's first connections).
      firstRequestMaxMs: Math.max(...clients.map((c) => c.requests[0]!.ms)),
      failures: records
        .filter((r) => r.status !== 200)
        .slice(0, 20)
        .map((r) => ({ ...r, startedAt: r.startedAt - loadStart })),
    };
    console.log(`cluster e2e: ${JSON.stringify(line)}`);
    const problems = verdicts.flatMap((v) => v.problems);
    if (problems.length > 0 || line.failures.length > 0) {
      // What the processes said (warnings and errors: membership changes, stalls), to tell a
      // loaded machine from a defect.
      for (const c of [
        ...nodes.map((n) => n.child),
        victimNode.child,
        ...demos.map((d) => d.child),
      ])
        console.log(`${c.name}:\n  ${c.lines.slice(-40).join('\n  ')}`);
    }
    expect(problems).toEqual([]);
    expect(line.lostSessions).toBe(0);
    expect(line.lostWrites).toBe(0);
    expect(line.unexplained).toBe(0);
    // Every phase carried load, and no request failed in any: the session nodes' failover is
    // hidden by NodeBackend's retries (the response waits), the app instance's by the proxy
    // (a refused connection is retried on another member; GET and PUT in flight are retried).
    for (const [name, p] of Object.entries(figures)) {
      expect(p.requests, name).toBeGreaterThan(CLIENTS);
      expect(p.failed, name).toBe(0);
    }
    for (const c of clients) {
      const last = c.ops.at(-1)!.seen!;
      expect(last.counter).toBeGreaterThan(5);
    }
    // The killed instance's sessions continue on the others (same session, counter going on).
    expect(moved.length).toBeGreaterThan(0);
    for (const c of moved) {
      expect(c.instance).not.toBe(victimRoute);
      expect(c.instances).toContain(victimRoute);
    }
    // The killed node owned sessions (so their ownership had to move), and the restarted node is
    // ready within 1 s of listening (issue 12), catching up afterwards.
    expect(line.killedNode.ownedSessions).toBeGreaterThan(0);
    expect(readyAfter).toBeGreaterThanOrEqual(0);
    expect(readyAfter).toBeLessThan(1000);
  }, 120_000);
});
