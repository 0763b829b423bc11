import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AjpClient,
  CPING_PACKET,
  CPONG_PACKET,
  createAjpServer,
  encodeForwardRequest,
  type AjpRequestListener,
} from './index.js';

// A web server (or anyone who reaches the AJP port) that writes and never reads must not make the
// server queue replies without bound: it stops reading that connection while more than
// maxQueuedReplyBytes wait, and serves the other connections meanwhile.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(listener: AjpRequestListener) {
  const server = createAjpServer({ secret: 's' }, listener);
  const sockets: Socket[] = [];
  server.server.on('connection', (s: Socket) => sockets.push(s));
  const { port } = await server.listen();
  const client = new AjpClient({ port, secret: 's' });
  cleanups.push(
    () => server.close(),
    () => client.close(),
  );
  const get = async (url: string) => {
    const r = await client.request({ method: 'GET', url, remoteAddress: '127.0.0.1' });
    let n = 0;
    for await (const c of r.body) n += (c as Buffer).length;
    return { status: r.status, bytes: n };
  };
  /** A raw connection that does not read until told to. */
  const raw = async () => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    cleanups.push(() => void s.destroy());
    await new Promise((r) => s.once('connect', r));
    return { s, serverSide: sockets[sockets.length - 1]! };
  };
  return { get, raw };
}

/** Samples `f()` every 20 ms for `ms`; returns the largest value seen. */
async function peak(f: () => number, ms: number): Promise<number> {
  let max = 0;
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) max = Math.max(max, f());
  return max;
}

/**
 * Waits until the server side has read `total` bytes or read nothing more for 500 ms, sampling
 * its queued reply bytes; returns the largest value seen.
 */
async function peakUntilStalled(side: Socket, total: number): Promise<number> {
  let max = 0;
  let read = -1;
  let since = Date.now();
  while (Date.now() - since < 500) {
    max = Math.max(max, side.writableLength);
    if (side.bytesRead !== read) {
      read = side.bytesRead;
      since = Date.now();
    }
    if (read >= total) break;
    await sleep(20);
  }
  return Math.max(max, await peak(() => side.writableLength, 200));
}

const BOUND = 65_536 + 65_536; // maxQueuedReplyBytes plus one socket read of replies

describe('replies to a peer that does not read are bounded', () => {
  it('maxQueuedReplyBytes must be a whole number of bytes', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity])
      expect(() =>
        createAjpServer({ secret: 's', maxQueuedReplyBytes: bad }, (_q, r) => r.end()),
      ).toThrow(expect.objectContaining({ code: 'INVALID_VALUE', field: 'maxQueuedReplyBytes' }));
  });

  it('with maxQueuedReplyBytes: 0 the server still answers every CPING of a reading peer', async () => {
    const server = createAjpServer({ secret: 's', maxQueuedReplyBytes: 0 }, (_q, r) => r.end());
    const { port } = await server.listen();
    cleanups.push(() => server.close());
    const s = connect(port, '127.0.0.1');
    cleanups.push(() => void s.destroy());
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    const n = 200_000;
    s.write(Buffer.alloc(n * 5).fill(CPING_PACKET));
    for (let i = 0; i < 500 && got < n * 5; i++) await sleep(20);
    expect(got).toBe(n * 5);
  });

  it('17 MB of CPINGs whose CPONGs are not read: the server stops reading; every CPONG comes once the peer reads', async () => {
    const { get, raw } = await setup((_req, res) => res.end('ok'));
    const { s, serverSide } = await raw();
    // more than the kernel buffers of both ends hold (the server's send buffer grows to 4 MiB)
    const flood = Buffer.alloc(CPING_PACKET.length * 3_400_000).fill(CPING_PACKET);
    s.write(flood);
    const most = await peakUntilStalled(serverSide, flood.length);
    expect(most).toBeLessThan(BOUND);
    // the rest waits in the kernel and in the peer's own buffer, not in the server
    expect(serverSide.bytesRead).toBeLessThan(flood.length);
    // other connections are served meanwhile
    expect(await get('/')).toEqual({ status: 200, bytes: 2 });
    // once the peer reads, reading resumes and every CPING gets its CPONG, in order
    const got: Buffer[] = [];
    let n = 0;
    await new Promise<void>((done) => {
      s.on('data', (d: Buffer) => {
        got.push(d);
        n += d.length;
        if (n >= flood.length) done();
      });
    });
    const all = Buffer.concat(got);
    expect(all.length).toBe(flood.length);
    expect(all.equals(Buffer.alloc(flood.length).fill(CPONG_PACKET))).toBe(true);
  }, 60_000);

  it('a 50 MB response to a peer that does not read: the server holds a bounded amount and serves others', async () => {
    let appWaits = 0;
    const { get, raw } = await setup((req, res) => {
      if (req.url !== '/big') return void res.end('ok');
      const block = Buffer.alloc(64 * 1024, 'b');
      let sent = 0;
      const pump = () => {
        while (sent < 50 * 1024 * 1024) {
          sent += block.length;
          if (!res.write(block)) {
            appWaits++;
            return void res.once('drain', pump);
          }
        }
        res.end();
      };
      pump();
    });
    const { s, serverSide } = await raw();
    s.write(
      encodeForwardRequest({
        method: 'GET',
        protocol: 'HTTP/1.1',
        uri: '/big',
        remoteAddr: '127.0.0.1',
        remoteHost: null,
        serverName: 'h',
        serverPort: 80,
        isSsl: false,
        headers: [],
        attributes: { secret: 's' },
      }),
    );
    const most = await peak(() => serverSide.writableLength, 1000);
    expect(most).toBeLessThan(1024 * 1024);
    expect(appWaits).toBeGreaterThan(0);
    expect(await get('/')).toEqual({ status: 200, bytes: 2 });
  }, 30_000);
});
