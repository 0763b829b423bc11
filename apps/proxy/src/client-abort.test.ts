import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { createAjpServer } from '@cohort/ajp13';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { routeEcho, startMember, startProxy, type TestMember } from './test/harness.js';

// No client action may end the process: every abort path below used to raise an unhandled
// 'error' event (on the request body's bridge) that killed the proxy and everything in flight.
const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => {
  uncaught.push(e);
};

let httpMember: TestMember;
let bigMember: TestMember;
/** A member that reads whole uploads, behind a two-connection pool. */
let slowMember: TestMember;
const ajp = createAjpServer({ secret: 's3cret' }, (req, res) => {
  req.resume();
  req.on('end', () => res.end(`ajp ${req.method} ${req.url}`));
});
let p: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  httpMember = await startMember(routeEcho('h1'));
  // A member that answers 8 MiB whatever it is asked, for resets while the response streams.
  const big = Buffer.alloc(8 << 20, 0x61);
  bigMember = await startMember((req, res) => {
    req.resume();
    res.setHeader('Content-Length', big.length);
    res.end(big);
  });
  await ajp.listen(0, '127.0.0.1');
  slowMember = await startMember(routeEcho('s1'));
  p = await startProxy({
    timeouts: { request: 700, headers: 700 },
    balancers: [
      { name: 'http', path: '/h', members: [{ url: httpMember.url, route: 'h1' }] },
      { name: 'big', path: '/big', members: [{ url: bigMember.url, route: 'b1' }] },
      {
        name: 'slow',
        path: '/slow',
        members: [{ url: slowMember.url, route: 's1', maxConnections: 2 }],
      },
      {
        name: 'ajp',
        path: '/a',
        members: [{ url: `ajp://127.0.0.1:${ajp.address().port}`, route: 'a1', secret: 's3cret' }],
      },
    ],
  });
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await p.stop();
  await httpMember.close();
  await bigMember.close();
  await slowMember.close();
  await ajp.close();
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(p.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Writes `parts` (waiting `gapMs` between them), then resets the connection (SO_LINGER {1,0}). */
async function sendThenReset(parts: string[], gapMs: number, readFirst = false): Promise<void> {
  const s = await open();
  s.on('error', () => {});
  if (!readFirst) s.pause();
  for (const part of parts) {
    s.write(part);
    await sleep(gapMs);
  }
  s.resetAndDestroy();
}

/** The proxy still answers everyone: one request per balancer. */
async function stillServes(): Promise<void> {
  for (const path of ['/h/ok', '/a/ok']) {
    const r = await fetch(p.url + path);
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  }
  expect(uncaught).toEqual([]);
}

const head = (path: string, extra: string): string =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

describe('client aborts never end the process', () => {
  for (const path of ['/h/up', '/a/up']) {
    it(`${path}: reset after a head with a large Content-Length and no body`, async () => {
      await sendThenReset([head(path, 'Content-Length: 1000000\r\n')], 100);
      await sleep(100);
      await stillServes();
    });

    it(`${path}: reset mid-body, over retryBodyCap`, async () => {
      await sendThenReset(
        [head(path, 'Content-Length: 1000000\r\n'), 'x'.repeat(100_000), 'y'.repeat(1000)],
        50,
      );
      await sleep(100);
      await stillServes();
    });

    it(`${path}: reset mid chunked body`, async () => {
      await sendThenReset(
        [head(path, 'Transfer-Encoding: chunked\r\n'), '5\r\nabcde\r\n', '3\r\nabc'],
        50,
      );
      await sleep(100);
      await stillServes();
    });

    it(`${path}: reset mid-body under retryBodyCap`, async () => {
      await sendThenReset([head(path, 'Content-Length: 1000\r\n'), 'x'.repeat(500)], 50);
      await sleep(100);
      await stillServes();
    });

    it(`${path}: an upload slower than timeouts.request gets 408, then the client resets`, async () => {
      const s = await open();
      s.on('error', () => {});
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.write(head(path, 'Content-Length: 100000\r\n') + 'abc');
      const t = setInterval(() => s.write('x'), 100);
      await sleep(1400);
      clearInterval(t);
      expect(got).toMatch(/^HTTP\/1\.1 408 /);
      s.resetAndDestroy();
      await sleep(100);
      await stillServes();
    });
  }

  it('reset while a large response streams to the client', async () => {
    await sendThenReset([`GET /big HTTP/1.1\r\nHost: x\r\n\r\n`], 150, true);
    await sendThenReset([`GET /big HTTP/1.1\r\nHost: x\r\n\r\n`], 150);
    await sleep(100);
    await stillServes();
  });

  it('clients that end or reset mid-body while waiting for a busy member hold no member connection', async () => {
    // The member pool has 2 connections, both taken by uploads; more uploads wait in its queue.
    // Every client goes away: each request must end with its client — not wait for a
    // connection and then, forever, for a body byte that can never come.
    const clients: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await open();
      s.on('error', () => {});
      s.write(head('/slow/up', 'Content-Length: 1000000\r\n') + 'x'.repeat(1000));
      clients.push(s);
    }
    await sleep(200);
    for (const [i, s] of clients.entries()) {
      if (i % 2 === 0) s.end();
      else s.resetAndDestroy();
    }
    await sleep(500);
    const slow = p.proxy.status().balancers.find((b) => b.name === 'slow')!.members[0]!;
    expect(slow.inflight).toBe(0);
    const started = Date.now();
    const r = await fetch(p.url + '/slow/ok');
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(uncaught).toEqual([]);
  });

  it('fuzz: resets at random points of random requests (headers, body, response)', async () => {
    const requests = [
      `GET /h/x HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /a/x HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /big HTTP/1.1\r\nHost: x\r\n\r\n`,
      head('/h/u', 'Content-Length: 200000\r\n') + 'z'.repeat(200_000),
      head('/a/u', 'Content-Length: 200000\r\n') + 'z'.repeat(200_000),
      head('/h/u', 'Content-Length: 300\r\n') + 'z'.repeat(300),
      head('/a/u', 'Content-Length: 300\r\n') + 'z'.repeat(300),
      head('/h/c', 'Transfer-Encoding: chunked\r\n') + '4\r\nabcd\r\n'.repeat(50) + '0\r\n\r\n',
      head('/a/c', 'Transfer-Encoding: chunked\r\n') + '4\r\nabcd\r\n'.repeat(50) + '0\r\n\r\n',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...requests),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 40 }),
        fc.boolean(),
        async (raw, at, waitMs, read) => {
          const cut = Math.floor(raw.length * at);
          await sendThenReset([raw.slice(0, cut)], waitMs, read);
        },
      ),
      { numRuns: 60 },
    );
    await sleep(200);
    await stillServes();
  }, 60_000);
});

describe('cohort-proxy keeps serving while clients reset (sanity of the harness)', () => {
  it('a plain request after all of the above', async () => {
    const s = await open();
    s.write('GET /h/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    await once(s, 'close');
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
  });
});
