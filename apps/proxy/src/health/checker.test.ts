import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { createAjpServer } from '@cohort/ajp13';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startProxy } from '../test/harness.js';

// Active health checks (#13): a member that stops answering its checks is taken out within
// interval × fall, and back after rise passes, its weight ramping during the slow start.

/** A member whose check answer can be changed, and which can be stopped and started on its port. */
class Member {
  server: Server | undefined;
  port = 0;
  checkStatus = 200;
  checkBody = 'OK';
  async start(): Promise<void> {
    const s = createServer((req, res) => {
      if (req.url === '/health') {
        res.statusCode = this.checkStatus;
        res.end(this.checkBody);
        return;
      }
      res.end(String(this.port));
    });
    s.listen(this.port, '127.0.0.1');
    await once(s, 'listening');
    this.port = (s.address() as AddressInfo).port;
    this.server = s;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

const a = new Member();
const b = new Member();
const ajp = createAjpServer({ secret: 's' }, (_req, res) => res.end('ajp'));
let p: Awaited<ReturnType<typeof startProxy>>;
const INTERVAL = 100;

beforeAll(async () => {
  await a.start();
  await b.start();
  await ajp.listen(0, '127.0.0.1');
  p = await startProxy({
    balancers: [
      {
        name: 'web',
        affinity: { dialect: 'none' },
        healthCheck: {
          path: '/health',
          interval: INTERVAL,
          timeout: 200,
          rise: 2,
          fall: 2,
          jitter: 0,
          expectBody: '^OK$',
        },
        slowStart: '1500ms',
        members: [
          { url: `http://127.0.0.1:${a.port}`, route: 'a', weight: 10 },
          { url: `http://127.0.0.1:${b.port}`, route: 'b', weight: 10 },
        ],
      },
      {
        name: 'tcp',
        path: '/tcp',
        healthCheck: { type: 'tcp', interval: INTERVAL, fall: 1, rise: 1 },
        members: [{ url: `http://127.0.0.1:${b.port}`, route: 't' }],
      },
      {
        name: 'ajp',
        path: '/ajp',
        healthCheck: { interval: INTERVAL, fall: 1, rise: 1 },
        members: [{ url: `ajp://127.0.0.1:${ajp.address().port}`, route: 'j', secret: 's' }],
      },
    ],
  });
});
afterAll(async () => {
  await p.stop();
  await a.stop();
  await b.stop();
  await ajp.close();
});

const member = (route: string) =>
  p.proxy
    .status()
    .balancers.flatMap((x) => x.members)
    .find((m) => m.route === route)!;

async function until(cond: () => boolean, ms: number): Promise<number> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error(`not reached within ${ms} ms`);
    await sleep(10);
  }
  return Date.now() - t;
}

describe('active health checks', () => {
  it('every member passes its checks: http (status and body), tcp, ajp CPing', async () => {
    await until(() => ['a', 'b', 't', 'j'].every((r) => member(r).check === 'up'), 3000);
    expect(member('a').checkLatencyMs).toBeGreaterThan(0);
  });

  it('a killed member is down within interval × fall, and gets no traffic', async () => {
    await a.stop();
    const took = await until(() => member('a').check === 'down', 3000);
    expect(took).toBeLessThan(INTERVAL * 2 + 400);
    expect(member('a').health).toBe('down');
    expect(member('a').lastError?.phase).toBe('check');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await (await fetch(`${p.url}/`)).text());
    expect(seen).toEqual(new Set([String(b.port)]));
    expect(p.log.lines.some((l) => l.msg === 'member down' && l.member === 'a')).toBe(true);
  });

  it('recovered: back after rise passes, its weight ramping from 10 % over the slow start', async () => {
    await a.start();
    await until(() => member('a').check === 'up', 3000);
    const first = member('a').effectiveWeight;
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThan(10);
    await sleep(600);
    const mid = member('a').effectiveWeight;
    expect(mid).toBeGreaterThan(first);
    await until(() => member('a').effectiveWeight === 10, 3000);
    expect(p.log.lines.some((l) => l.msg === 'member up' && l.member === 'a')).toBe(true);
  });

  it('a wrong status or body fails the check as a dead member does', async () => {
    a.checkStatus = 503;
    await until(() => member('a').check === 'down', 3000);
    expect(member('a').checkError).toBe('status 503');
    a.checkStatus = 200;
    a.checkBody = 'degraded';
    await until(() => member('a').checkError?.startsWith('the body does not match') === true, 3000);
    a.checkBody = 'OK';
    await until(() => member('a').check === 'up', 3000);
  });
});
