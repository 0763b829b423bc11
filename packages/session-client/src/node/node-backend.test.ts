import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAttribute } from '@cohort/session-codec';
import { resolveNodeConfig, SessionNode } from 'cohort-session-node';
import { deltaOf, describeBackend, newKey, newRequestId, sessionWith } from '../backend.testkit.js';
import { SessionBackendError } from '../errors.js';
import { NodeBackend } from './node-backend.js';

const TOKEN = 'node-backend-test-token-01';

async function startNodes(n: number): Promise<SessionNode[]> {
  const nodes: SessionNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new SessionNode(
      resolveNodeConfig({
        name: `b${i + 1}`,
        listen: '127.0.0.1:0',
        gossip: { listen: '127.0.0.1:0', preset: 'local' },
        seeds: nodes.length > 0 ? [nodes[0]!.gossipAddress] : [],
        auth: { token: TOKEN },
        log: { level: 'silent' },
      }),
      { logger: pino({ level: 'silent' }) },
    );
    await node.start();
    nodes.push(node);
  }
  const end = Date.now() + 10_000;
  while (!nodes.every((x) => x.ready)) {
    if (Date.now() > end) throw new Error('session nodes not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  return nodes;
}

let nodes: SessionNode[] = [];
beforeAll(async () => {
  nodes = await startNodes(3);
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

describeBackend('NodeBackend (3 session nodes)', {
  make: async () => new NodeBackend({ nodes: [nodes[0]!.url], token: TOKEN }),
});

describe('NodeBackend routing', () => {
  it('learns the map from one node and sends every operation to the owner', async () => {
    const b = new NodeBackend({ nodes: [nodes[1]!.url], token: TOKEN });
    const keys = Array.from({ length: 30 }, () => newKey());
    for (const key of keys)
      await b.create(sessionWith(key, { k: key.length }), { requestId: newRequestId() });
    expect(b.map?.nodes).toHaveLength(3);
    const owned = nodes.reduce((n, node) => n + node.status().counts.owned, 0);
    expect(owned).toBeGreaterThanOrEqual(30);
    // Every node owns some of them: the client did not send everything to its seed.
    for (const n of nodes) expect(n.status().counts.owned).toBeGreaterThan(0);
    await b.close();
  });

  it('revalidates a cached version without the session bytes', async () => {
    const b = new NodeBackend({ nodes: [nodes[0]!.url], token: TOKEN });
    const key = newKey();
    const v = await b.create(sessionWith(key, { a: 1 }), { requestId: newRequestId() });
    expect(await b.revalidate(key, v)).toBe('unchanged');
    await b.apply(key, deltaOf(key, { a: 2 }), { requestId: newRequestId() });
    const fresh = await b.revalidate(key, v);
    expect(fresh !== 'unchanged' && fresh !== null && readAttribute(fresh, 'a')).toBe(2);
    expect(await b.revalidate(newKey(), v)).toBeNull();
    await b.close();
  });

  it('refuses with UNAVAILABLE when the token is wrong', async () => {
    const b = new NodeBackend({ nodes: [nodes[0]!.url], token: 'wrong-token-wrong-token' });
    await expect(b.load(newKey())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await b.close();
  });

  it('rejects with CLOSED after close', async () => {
    const b = new NodeBackend({ nodes: [nodes[0]!.url], token: TOKEN });
    await b.close();
    await expect(b.load(newKey())).rejects.toBeInstanceOf(SessionBackendError);
  });
});

describe('NodeBackend failover', () => {
  it('keeps every acknowledged write when the owner of the sessions stops mid-load', async () => {
    const four = await startNodes(4);
    const b = new NodeBackend({ nodes: [four[0]!.url], token: TOKEN, deadlineMs: 20_000 });
    try {
      const keys = Array.from({ length: 8 }, () => newKey());
      for (const key of keys) await b.create(sessionWith(key, {}), { requestId: newRequestId() });
      const acked = new Map<string, number>();
      let stop = false;
      const writers = keys.map(async (key) => {
        for (let n = 1; !stop; n++) {
          await b.apply(key, deltaOf(key, { n }), { requestId: newRequestId(), level: 'quorum' });
          acked.set(key, n);
        }
      });
      await new Promise((r) => setTimeout(r, 500));
      await four[3]!.close(); // abrupt: no hand-off
      await new Promise((r) => setTimeout(r, 4000));
      stop = true;
      await Promise.all(writers);
      for (const key of keys) {
        const s = await b.load(key);
        expect(readAttribute(s!, 'n')).toBe(acked.get(key));
        expect([...s!.attributes.keys()]).toEqual(['n']);
      }
    } finally {
      await b.close();
      await Promise.all(four.map((n) => n.close()));
    }
  });
});
