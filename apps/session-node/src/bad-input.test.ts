import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeResponse, placementOf } from '@cohort/replication';
import { createDelta, defaultValueCodec, encodeDelta } from '@cohort/session-codec';
import type { SessionNode } from './node.js';
import { RawClient, startCluster, TEST_TOKEN } from './test/cluster.js';

let nodes: SessionNode[] = [];
let healthy: RawClient;
let healthyClosed = false;

beforeAll(async () => {
  nodes = await startCluster(3, { limits: { maxFrameBytes: 64 * 1024 } });
  healthy = new RawClient(`${nodes[0]!.url}/v1/client`);
  await healthy.hello;
  healthy.ws.on('close', () => (healthyClosed = true));
});
afterAll(async () => {
  healthy.close();
  await Promise.all(nodes.map((n) => n.close()));
});

function upgradeStatus(
  path: string,
  token: string | undefined,
): Promise<{ status: number; body: string }> {
  const url = new URL(nodes[0]!.url.replace('ws:', 'http:'));
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
}

async function stillServes(): Promise<void> {
  const r = await healthy.call({ op: 'ping' });
  expect(r.kind).toBe('ok');
  expect(healthyClosed).toBe(false);
  for (const n of nodes) expect(n.ready).toBe(true);
}

describe('bad input on the WebSocket endpoint', () => {
  it('closes a connection that sends garbage with 1007 and the reason', async () => {
    const c = new RawClient(`${nodes[0]!.url}/v1/client`);
    await c.hello;
    const closed = c.closed();
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    const { code, reason } = await closed;
    expect(code).toBe(1007);
    expect(reason).toMatch(/^MALFORMED/);
    await stillServes();
  });

  it('closes a connection that sends a text frame with 1003', async () => {
    const c = new RawClient(`${nodes[0]!.url}/v1/client`);
    await c.hello;
    const closed = c.closed();
    c.ws.send('{"op":"get"}');
    expect(await closed).toEqual({ code: 1003, reason: 'binary protobuf frames only' });
    await stillServes();
  });

  it('closes a connection that sends a frame over the limit with 1009', async () => {
    const c = new RawClient(`${nodes[0]!.url}/v1/client`);
    await c.hello;
    const closed = c.closed();
    c.ws.send(Buffer.alloc(65 * 1024));
    const { code, reason } = await closed;
    expect(code).toBe(1009);
    expect(reason).toBe('TOO_LARGE: 66560 bytes, the limit is 65536');
    await stillServes();
  });

  it('refuses an unknown op by its request id and keeps the connection', async () => {
    const c = new RawClient(`${nodes[0]!.url}/v1/client`);
    await c.hello;
    // Request { version: 1, id: 77, field 99 (an op of a newer client): bytes [1] }
    const unknownOp = Buffer.from([0x08, 0x01, 0x10, 0x4d, 0x9a, 0x06, 0x01, 0x01]);
    const answer = new Promise<Buffer>((resolve) =>
      c.ws.once('message', (d) => resolve(d as Buffer)),
    );
    c.ws.send(unknownOp);
    expect(decodeResponse(await answer)).toMatchObject({
      kind: 'error',
      id: 77,
      code: 'UNKNOWN_OP',
    });
    const r = await c.call({ op: 'ping' });
    expect(r.kind).toBe('ok');
    c.close();
    await stillServes();
  });

  it('refuses a wrong or missing token at the upgrade with 401 and a reason', async () => {
    expect(await upgradeStatus('/v1/client', 'wrong-token-000000000')).toEqual({
      status: 401,
      body: 'wrong or missing bearer token\n',
    });
    expect((await upgradeStatus('/v1/client', undefined)).status).toBe(401);
    expect((await upgradeStatus('/v1/replication', 'wrong-token-000000000')).status).toBe(401);
    expect((await upgradeStatus('/v1/nothing', TEST_TOKEN)).status).toBe(404);
    await stillServes();
  });

  it('closes a replication connection that sends garbage, and replication goes on', async () => {
    const ws = new WebSocket(`${nodes[0]!.url}/v1/replication`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'x-cohort-member': 'intruder#1' },
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.once('open', () => ws.send(Buffer.from('not a frame at all')));
    expect(await closed).toBe(1007);
    await stillServes();
  });
});

describe('backpressure', () => {
  it('stops reading a client that does not read its answers, and serves the others', async () => {
    const c = new RawClient(`${nodes[0]!.url}/v1/client`);
    await c.hello;
    // Stop reading answers at the socket level, then send many reads of a big session.
    const key = 'BackpressureSession0001';
    const owner = nodes.find(
      (n) => n.id === placementOf(key, nodes.map((x) => x.id).sort(), 3)[0],
    )!;
    const w = new RawClient(`${owner.url}/v1/client`);
    await w.hello;
    const big = encodeDelta(
      createDelta(key, { epoch: 0, seq: 0 }, [
        { op: 'set', name: 'blob', value: defaultValueCodec.encode('x'.repeat(60_000), 'blob') },
      ]),
    );
    expect(await w.call({ op: 'create', key, createdAt: Date.now(), delta: big })).toMatchObject({
      kind: 'ok',
    });
    const slow = new RawClient(`${owner.url}/v1/client`);
    await slow.hello;
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const gets = async (): Promise<number> =>
      (await owner.metrics.requests.get()).values
        .filter((v) => v.labels.op === 'get')
        .reduce((n, v) => n + v.value, 0);
    const before = await gets();
    // 2000 reads in batches over 1 s (requests already read when the node pauses are still
    // answered, so they must not all arrive in one chunk).
    for (let b = 0; b < 40; b++) {
      for (let i = 0; i < 50; i++) void slow.call({ op: 'get', key });
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 1000));
    // 2000 answers of 60 KB = 120 MB: the node stops reading once 8 MiB are unsent (plus what
    // the kernel buffers on both sides), and keeps answering everyone else.
    const answered = (await gets()) - before;
    console.log(`slow reader: ${answered} of 2000 requests read and answered`);
    expect(answered).toBeLessThan(1200);
    const r = await w.call({ op: 'get', key });
    expect(r).toMatchObject({ kind: 'ok', found: true });
    slow.ws.terminate();
    w.close();
    c.close();
    await stillServes();
  });
});
