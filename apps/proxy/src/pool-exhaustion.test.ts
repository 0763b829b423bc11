import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startMember, startProxy, type TestMember } from './test/harness.js';

// No group of clients can hold every member connection (#11 item 3): a request head whose body
// never comes holds none, a request waiting for a busy pool gets 503 after `timeouts.queue`, and
// a client that stops reading its answer is cut after `timeouts.send` (nginx send_timeout),
// which lets the member connection go.

const BIG = Buffer.alloc(50 << 20, 0x62);
let member: TestMember;
const released: (() => void)[] = [];
let p: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  member = await startMember((req, res) => {
    req.resume();
    if (req.url === '/hold') {
      released.push(() => res.end('held'));
      return;
    }
    if (req.url === '/big') {
      res.setHeader('Content-Length', BIG.length);
      res.end(BIG);
      return;
    }
    req.on('end', () => res.end('ok'));
  });
  p = await startProxy({
    timeouts: { queue: 400, send: 1500, headers: 2000, idle: 2000, request: 30_000 },
    balancers: [
      { name: 'app', retry: '30s', members: [{ url: member.url, route: 'm1', maxConnections: 2 }] },
    ],
  });
});
afterAll(async () => {
  for (const r of released) r();
  await p.stop();
  await member.close();
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(p.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

async function timedGet(
  path: string,
): Promise<{ status: number; ms: number; retryAfter: string | null }> {
  const t = Date.now();
  const r = await fetch(p.url + path);
  await r.arrayBuffer();
  return { status: r.status, ms: Date.now() - t, retryAfter: r.headers.get('retry-after') };
}

describe('member pool exhaustion', () => {
  it('clients that send a head with a large Content-Length and no body hold no member connection', async () => {
    const idle: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await open();
      s.on('error', () => {});
      s.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
      idle.push(s);
    }
    await sleep(100);
    for (let i = 0; i < 5; i++) {
      const r = await timedGet('/ok');
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(300);
    }
    for (const s of idle) s.destroy();
  });

  it('a request waiting for a busy pool gets 503 with Retry-After after timeouts.queue, and the member stays in service', async () => {
    const hold = [fetch(p.url + '/hold'), fetch(p.url + '/hold')];
    await sleep(150);
    const r = await timedGet('/ok');
    expect(r.status).toBe(503);
    expect(r.retryAfter).toBe('30');
    expect(r.ms).toBeGreaterThanOrEqual(350);
    expect(r.ms).toBeLessThan(2000);
    for (const f of released.splice(0)) f();
    for (const h of hold) expect((await h).status).toBe(200);
    expect((await timedGet('/ok')).status).toBe(200);
    expect(p.log.lines.some((l) => l.msg === 'member failed; marked in error')).toBe(false);
  });

  it('clients that never read a large answer are cut after timeouts.send and free their member connections', async () => {
    const readers: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await open();
      s.on('error', () => {});
      s.pause();
      s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      readers.push(s);
    }
    // Both member connections carry an answer nobody reads; once the send timeout
    // cut those clients (1.5 s), the pool serves others again instead of answering 503 after the queue
    // timeout.
    await sleep(200);
    expect((await timedGet('/ok')).status).toBe(503);
    await sleep(2500);
    const r = await timedGet('/ok');
    expect(r.status).toBe(200);
    for (const s of readers) s.destroy();
  }, 15_000);
});
