import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDelta,
  decodeSession,
  defaultValueCodec,
  readAttribute,
} from '@cohort/session-codec';
import { encodeDelta } from '@cohort/session-codec';
import { placementOf } from '@cohort/replication';
import type { SessionNode } from './node.js';
import { RawClient, startCluster, waitFor } from './test/cluster.js';

const set = (key: string, name: string, value: unknown) =>
  encodeDelta(
    createDelta(key, { epoch: 0, seq: 0 }, [
      { op: 'set', name, value: defaultValueCodec.encode(value, name) },
    ]),
  );

let nodes: SessionNode[] = [];
const clients: RawClient[] = [];
beforeAll(async () => {
  nodes = await startCluster(3);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(nodes.map((n) => n.close()));
});

function clientFor(node: SessionNode, id = 'c1'): RawClient {
  const c = new RawClient(`${node.url}/v1/client`, undefined, id);
  clients.push(c);
  return c;
}

function ownerOf(key: string): SessionNode {
  const ids = nodes[0]!.map.nodes.map((n) => n.id);
  const owner = placementOf(key, ids, 3)[0];
  return nodes.find((n) => n.id === owner)!;
}

describe('session node', () => {
  it('creates, changes and reads a session at its owner, at quorum', async () => {
    const key = 'AAAAAAAAAAAAAAAAAAAAAA';
    const c = clientFor(ownerOf(key));
    const hello = await c.hello;
    expect(hello.map.nodes).toHaveLength(3);
    const created = await c.call({
      op: 'create',
      key,
      createdAt: Date.now(),
      delta: set(key, 'user', 'ann'),
    });
    expect(created.kind).toBe('ok');
    const applied = await c.call({ op: 'apply', key, delta: set(key, 'n', 1), ack: 'all' });
    expect(applied.kind).toBe('ok');
    const got = await c.call({ op: 'get', key });
    expect(got.kind).toBe('ok');
    if (got.kind !== 'ok') return;
    const s = decodeSession(got.session!);
    expect(readAttribute(s, 'user')).toBe('ann');
    expect(readAttribute(s, 'n')).toBe(1);
    // A client holding this version is told it is unchanged, without the bytes.
    const again = await c.call({ op: 'get', key, known: got.version });
    expect(again).toMatchObject({ kind: 'ok', found: true, unchanged: true });
    expect(again.kind === 'ok' && again.session).toBeFalsy();
  });

  it('answers NOT_OWNER with the placement map at a node that does not own the session', async () => {
    const key = 'BBBBBBBBBBBBBBBBBBBBBB';
    const owner = ownerOf(key);
    const other = nodes.find((n) => n !== owner)!;
    const c = clientFor(other);
    const r = await c.call({ op: 'get', key });
    expect(r.kind).toBe('error');
    if (r.kind !== 'error') return;
    expect(r.code).toBe('NOT_OWNER');
    expect(r.owner).toBe(owner.id);
    expect(r.map?.nodes.map((n) => n.id).sort()).toEqual(nodes.map((n) => n.id).sort());
  });

  it('applies a retried delta once (same client id and seq)', async () => {
    const key = 'CCCCCCCCCCCCCCCCCCCCCC';
    const c = clientFor(ownerOf(key), 'dedupe-client');
    await c.call({ op: 'create', key, createdAt: Date.now() });
    const first = await c.call({ op: 'apply', key, delta: set(key, 'x', 1), seq: 5 });
    expect(first).toMatchObject({ kind: 'ok' });
    const again = await c.call({ op: 'apply', key, delta: set(key, 'x', 1), seq: 5 });
    expect(again).toMatchObject({ kind: 'ok', deduped: true });
    const next = await c.call({ op: 'apply', key, delta: set(key, 'x', 2), seq: 6 });
    expect(next).toMatchObject({ kind: 'ok' });
    expect(next.kind === 'ok' && next.deduped).toBeFalsy();
    // A lower seq that was never applied (a pipelined write that was lost) still applies.
    const late = await c.call({ op: 'apply', key, delta: set(key, 'y', 1), seq: 4 });
    expect(late.kind === 'ok' && late.deduped).toBeFalsy();
    const got = await c.call({ op: 'get', key });
    expect(got.kind === 'ok' && readAttribute(decodeSession(got.session!), 'y')).toBe(1);
  });
});

describe('SIGTERM hand-off', () => {
  it('moves ownership to the others at once, and writes go on', async () => {
    // Four nodes, so the sessions move to full sets of three copies.
    const extra = await startCluster(4);
    try {
      const ids = extra[0]!.map.nodes.map((n) => n.id);
      const leaving = extra[3]!;
      // Sessions owned by the node that will leave.
      const keys: string[] = [];
      for (let i = 0; keys.length < 5; i++) {
        const k = `HandOffSession${String(i).padStart(8, '0')}`;
        if (placementOf(k, ids, 3)[0] === leaving.id) keys.push(k);
      }
      const c = new RawClient(`${leaving.url}/v1/client`);
      for (const key of keys) {
        expect(
          await c.call({ op: 'create', key, createdAt: Date.now(), delta: set(key, 'v', 1) }),
        ).toMatchObject({ kind: 'ok' });
      }
      c.close();
      const watcher = new RawClient(`${extra[0]!.url}/v1/client`);
      expect(await watcher.call({ op: 'subscribe' })).toMatchObject({ kind: 'ok' });
      const started = Date.now();
      await leaving.shutdown();
      const handOffMs = Date.now() - started;
      const rest = extra.slice(0, 3);
      const restIds = rest.map((n) => n.id);
      for (const n of rest)
        expect(n.map.nodes.map((x) => x.id).sort()).toEqual([...restIds].sort());
      // The subscribed client was pushed the map without the leaving node.
      const last = watcher.pushed.at(-1);
      expect(last?.kind === 'map' && last.map.nodes.map((x) => x.id).sort()).toEqual(
        [...restIds].sort(),
      );
      watcher.close();
      for (const key of keys) {
        const owner = rest.find((n) => n.id === placementOf(key, restIds, 3)[0])!;
        const oc = new RawClient(`${owner.url}/v1/client`);
        const r = await oc.call({ op: 'apply', key, delta: set(key, 'v', 2) });
        expect(r).toMatchObject({ kind: 'ok' });
        const got = await oc.call({ op: 'get', key });
        expect(got.kind === 'ok' && readAttribute(decodeSession(got.session!), 'v')).toBe(2);
        oc.close();
      }
      console.log(`SIGTERM hand-off of ${keys.length} owned sessions: ${handOffMs} ms`);
      expect(handOffMs).toBeLessThan(3000);
    } finally {
      await Promise.all(extra.map((n) => n.close()));
    }
  });
});

describe('dedupe across a failover', () => {
  it('a write retried at the new owner after the old one died is not applied again', async () => {
    const four = await startCluster(4);
    try {
      const ids = four[0]!.map.nodes.map((n) => n.id);
      const key = 'FailoverDedupeSession01';
      const owner = four.find((n) => n.id === placementOf(key, ids, 3)[0])!;
      const c = new RawClient(`${owner.url}/v1/client`, undefined, 'retrying-client');
      await c.call({ op: 'create', key, createdAt: Date.now(), ack: 'all' });
      const first = await c.call({ op: 'apply', key, delta: set(key, 'x', 1), seq: 7, ack: 'all' });
      expect(first).toMatchObject({ kind: 'ok' });
      c.close();
      await owner.close(); // dies without a hand-off; the answer could have been lost
      const rest = four.filter((n) => n !== owner);
      const restIds = rest.map((n) => n.id);
      await waitFor(() => rest.every((n) => n.map.nodes.length === 3), 15_000, 'view without it');
      const next = rest.find((n) => n.id === placementOf(key, restIds, 3)[0])!;
      const c2 = new RawClient(`${next.url}/v1/client`, undefined, 'retrying-client');
      let retried = await c2.call({ op: 'apply', key, delta: set(key, 'x', 1), seq: 7 });
      for (let i = 0; i < 50 && retried.kind === 'error'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        retried = await c2.call({ op: 'apply', key, delta: set(key, 'x', 1), seq: 7 });
      }
      expect(retried).toMatchObject({ kind: 'ok', deduped: true });
      c2.close();
    } finally {
      await Promise.all(four.map((n) => n.close()));
    }
  });
});

describe('HTTP endpoints', () => {
  it('serve the status page, metrics, health and readiness', async () => {
    const key = 'HttpEndpointsSession01';
    const c = clientFor(ownerOf(key));
    expect(await c.call({ op: 'create', key, createdAt: Date.now() })).toMatchObject({
      kind: 'ok',
    });
    const base = ownerOf(key).url.replace(/^ws/, 'http');
    const get = async (path: string) => {
      const r = await fetch(`${base}${path}`);
      return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
    };
    const status = await get('/');
    expect(status.type).toMatch(/^text\/html/);
    for (const n of nodes) expect(status.body).toContain(n.id);
    expect(status.body).toMatch(/owned<\/th>/);
    expect(status.body).toMatch(/RSS<\/th>/);
    const json = JSON.parse((await get('/status.json')).body) as { counts: { owned: number } };
    expect(json.counts.owned).toBeGreaterThan(0);
    const metrics = await get('/metrics');
    expect(metrics.body).toMatch(/^cohort_session_requests_total\{op="create",code="ok"\} \d+$/m);
    expect(metrics.body).toMatch(/^cohort_session_members 3$/m);
    expect(metrics.body).toMatch(/^cohort_session_ready 1$/m);
    expect(metrics.body).toContain('cohort_session_request_seconds_bucket');
    expect(await get('/healthz')).toMatchObject({ status: 200 });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
    expect((await get('/nothing')).status).toBe(404);
    // No session key in the page or the metrics.
    expect(status.body + metrics.body).not.toContain(key);
  });
});

describe('encrypted gossip', () => {
  it('nodes with the cluster key form a cluster; a node with another key is not let in', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const gossip = { listen: '127.0.0.1:0', preset: 'local' as const, keys: [key] };
    const sealed = await startCluster(3, { gossip });
    try {
      const stranger = (
        await startCluster(1, {
          replicas: 1,
          gossip: { ...gossip, keys: [Buffer.alloc(32, 9).toString('base64')] },
          seeds: [sealed[0]!.gossipAddress],
        })
      )[0]!;
      await new Promise((r) => setTimeout(r, 1500));
      expect(sealed[0]!.map.nodes).toHaveLength(3);
      expect(sealed[0]!.map.nodes.map((n) => n.id)).not.toContain(stranger.id);
      await stranger.close();
    } finally {
      await Promise.all(sealed.map((n) => n.close()));
    }
  });
});

describe('readiness', () => {
  it('a node started while a dead member is still in the views is ready within 1 s', async () => {
    // lan preset: a crashed member stays in the views for seconds (suspicion), as in production.
    const gossip = { listen: '127.0.0.1:0', preset: 'lan' as const };
    const three = await startCluster(3, { gossip });
    try {
      await three[1]!.close(); // crashes: no leave, the others still hold it alive for a while
      const started = Date.now();
      const fresh = (
        await startCluster(1, { name: 'n9', gossip, seeds: [three[0]!.gossipAddress] }).catch(
          () => [],
        )
      )[0];
      const readyAfter = Date.now() - started;
      expect(fresh).toBeDefined();
      expect(fresh!.status().view).toContain(three[1]!.id); // the dead member is still in view
      expect(readyAfter).toBeLessThan(1000);
      await fresh!.close();
    } finally {
      await Promise.all(three.map((n) => n.close()));
    }
  });
});
