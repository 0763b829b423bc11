import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeContainer, type FakeContainer } from '../test/fake-container.js';
import { hex } from '../test/hex.js';
import {
  AjpClient,
  CPONG_PACKET,
  FLUSH_PACKET,
  encodeEndResponse,
  encodeGetBodyChunk,
  encodeSendBodyChunk,
  encodeSendHeaders,
  type AjpClientOptions,
  type RequestDecoder,
  type RequestEvent,
} from './index.js';

// The client against a scripted container: what it does with each faulty reply R1–R20 of
// reference §8.2 and with the reuse rules of §4.2.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HEADERS_200 = encodeSendHeaders({
  status: 200,
  reason: '200',
  headers: [['Content-Type', 'text/plain']],
});
const END_REUSE = encodeEndResponse(true);

type Script = (e: RequestEvent, s: Socket, conn: number, d: RequestDecoder) => void;

async function withContainer(script: Script, clientOpts: Partial<AjpClientOptions> = {}) {
  const fake: FakeContainer = await fakeContainer((e, s, _d, conn) => {
    if (e.type === 'cping') s.write(CPONG_PACKET);
    else script(e, s, conn, _d);
  });
  const client = new AjpClient({
    port: fake.port,
    packetSize: 65536,
    replyTimeout: 300,
    ...clientOpts,
  });
  cleanups.push(
    () => fake.close(),
    () => client.close(),
  );
  return { fake, client };
}

/** Waits (polling) until `cond` holds, at most 5 s: robust on a loaded machine. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached within 5 s');
    await sleep(10);
  }
}

const GET = { method: 'GET', url: '/', remoteAddress: '127.0.0.1' };

async function readAll(body: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

describe('client reactions to container faults', () => {
  it('R1 a body chunk without its trailing 00 is accepted', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, hex('41 42 00 05 03 00 02 78 78'), END_REUSE]));
    });
    const r = await client.request(GET);
    expect(await readAll(r.body)).toBe('xx');
  });

  it('R4 a null status message gets the standard phrase', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([hex('41 42 00 07 04 01 94 FF FF 00 00'), END_REUSE]));
    });
    const r = await client.request(GET);
    expect([r.status, r.statusMessage]).toEqual([404, 'Not Found']);
  });

  it('R6 two SEND_HEADERS: the body fails and the connection closes', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, HEADERS_200, END_REUSE]));
    });
    const r = await client.request(GET);
    await expect(readAll(r.body)).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
      requestSent: true,
      responseStarted: true,
    });
    expect(client.stats.open).toBe(0);
  });

  it('R5 / R9 / R14 / R19 / R20 malformed packets before the headers reject the request', async () => {
    for (const bad of [
      '41 42 00 10 04 00 C8 00 03 32 30 30 00 00 01 A0 0C 00 00 00',
      '12 34 00 02 05 01',
      '41 42 00 01 0B',
      '41 42 00 00',
      '41 42 FF FF',
    ]) {
      const { client } = await withContainer((e, s) => {
        if (e.type === 'forward-request') s.write(hex(bad));
      });
      await expect(client.request(GET)).rejects.toMatchObject({
        code: 'PROTOCOL_ERROR',
        requestSent: true,
        retryable: false,
        status: 502,
      });
      expect(client.stats.open).toBe(0);
    }
  });

  it('R7 a body chunk before SEND_HEADERS', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([encodeSendBodyChunk(Buffer.from('x')), HEADERS_200, END_REUSE]));
    });
    await expect(client.request(GET)).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
  });

  it('a flush before SEND_HEADERS is ignored', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(
          Buffer.concat([
            FLUSH_PACKET,
            HEADERS_200,
            encodeSendBodyChunk(Buffer.from('ok')),
            FLUSH_PACKET,
            END_REUSE,
          ]),
        );
    });
    const r = await client.request(GET);
    expect(await readAll(r.body)).toBe('ok');
    expect(client.stats.idle).toBe(1);
  });

  it('R8 the socket closes after body bytes without END_RESPONSE: the body errors', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.end(Buffer.concat([HEADERS_200, encodeSendBodyChunk(Buffer.from('partial'))]));
    });
    const r = await client.request(GET);
    await expect(readAll(r.body)).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
      responseStarted: true,
      retryable: false,
    });
  });

  it('R10 a 304 with a body chunk: the body is dropped', async () => {
    const { client } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(
          Buffer.concat([
            encodeSendHeaders({ status: 304, reason: '304', headers: [['Content-Length', '5']] }),
            encodeSendBodyChunk(Buffer.from('hello')),
            END_REUSE,
          ]),
        );
    });
    const r = await client.request(GET);
    expect(await readAll(r.body)).toBe('');
  });

  it('R11 END_RESPONSE reuse=0 closes the connection (Tomcat leaves it open)', async () => {
    const { client, fake } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, encodeEndResponse(false)]));
    });
    await readAll((await client.request(GET)).body);
    await readAll((await client.request(GET)).body);
    expect(fake.connections).toBe(2);
    expect(client.stats.idle).toBe(0);
  });

  it('bytes after END_RESPONSE (CVE-2022-1319 style) mean the connection is never reused', async () => {
    const { client, fake } = await withContainer((e, s) => {
      if (e.type === 'forward-request')
        s.write(Buffer.concat([HEADERS_200, END_REUSE, HEADERS_200]));
    });
    await readAll((await client.request(GET)).body);
    await readAll((await client.request(GET)).body);
    expect(fake.connections).toBe(2);
  });

  it('a stale packet arriving on an idle pooled connection discards it (R18)', async () => {
    const { client, fake } = await withContainer((e, s) => {
      if (e.type === 'forward-request') {
        s.write(Buffer.concat([HEADERS_200, END_REUSE]));
        setTimeout(() => s.write(FLUSH_PACKET), 20);
      }
    });
    await readAll((await client.request(GET)).body);
    await sleep(60);
    expect(client.stats.open).toBe(0);
    await readAll((await client.request(GET)).body);
    expect(fake.connections).toBe(2);
  });

  it('R15 GET_BODY_CHUNK after the end of the body is answered empty, a bounded number of times', async () => {
    const seen: string[] = [];
    const { client } = await withContainer((e, s, conn, d) => {
      seen.push(`${conn}:${e.type}`);
      if (e.type === 'forward-request') {
        for (let i = 0; i < 4; i++) {
          d.expectBodyPacket();
          s.write(encodeGetBodyChunk(8186));
        }
      }
    });
    // content-length 0: the body is over from the start; 2 extra asks are answered, the 3rd is an error
    await expect(client.request(GET)).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    await sleep(20);
    expect(seen.filter((x) => x === '0:end-of-body')).toHaveLength(2);
  });

  it('R16 GET_BODY_CHUNK asking 0 bytes or more than P − 6 is served up to P − 6', async () => {
    const sizes: number[] = [];
    const body = Buffer.alloc(200_000, 3);
    const { client } = await withContainer(
      (e, s, _c, d) => {
        if (e.type === 'body') sizes.push(e.data.length);
        if (e.type === 'forward-request' || (e.type === 'body' && e.last)) {
          d.expectBodyPacket();
          s.write(encodeGetBodyChunk(sizes.length % 4 === 0 ? 0 : 65535));
        }
        if (e.type === 'end-of-body') s.write(Buffer.concat([HEADERS_200, END_REUSE]));
      },
      { packetSize: 8192 },
    );
    const r = await client.request({ ...GET, method: 'POST', body: Readable.from([body]) });
    await readAll(r.body);
    expect(Math.max(...sizes)).toBe(8186);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(body.length);
  });

  it('R17 no reply at all: REPLY_TIMEOUT, and the connection is closed', async () => {
    const { client } = await withContainer(() => undefined, { replyTimeout: 100 });
    const t0 = Date.now();
    await expect(client.request(GET)).rejects.toMatchObject({
      code: 'REPLY_TIMEOUT',
      requestSent: true,
      status: 504,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(client.stats.open).toBe(0);
  });

  it('the reply timeout is the gap between packets, not a total', async () => {
    const { client } = await withContainer(
      (e, s) => {
        if (e.type !== 'forward-request') return;
        s.write(HEADERS_200);
        let n = 0;
        const t = setInterval(() => {
          if (s.destroyed) return clearInterval(t);
          if (++n === 20) {
            clearInterval(t);
            s.write(END_REUSE);
          } else s.write(encodeSendBodyChunk(Buffer.from('.')));
        }, 50);
      },
      { replyTimeout: 600 }, // gaps of 50 ms, total ≈ 1 s: longer than the timeout
    );
    const r = await client.request(GET);
    expect(await readAll(r.body)).toBe('.'.repeat(19));
  });

  it('CPING on connect fails on a container that answers with something else', async () => {
    const fake = await fakeContainer((e, s) => {
      if (e.type === 'cping') s.write(END_REUSE);
    });
    const client = new AjpClient({ port: fake.port });
    cleanups.push(
      () => fake.close(),
      () => client.close(),
    );
    await expect(client.request(GET)).rejects.toMatchObject({
      code: 'CPING_FAILED',
      requestSent: false,
      retryable: true,
    });
  });

  it('CPING before reuse after idle, and a pooled connection the container closed is retried once (GET)', async () => {
    let cpings = 0;
    const fake = await fakeContainer((e, s, _d, conn) => {
      if (e.type === 'cping') {
        cpings++;
        s.write(CPONG_PACKET);
      }
      if (e.type === 'forward-request') {
        // the first connection dies right after its first response, as a restarting Tomcat's would
        if (conn === 0)
          s.write(Buffer.concat([HEADERS_200, END_REUSE]), () => setTimeout(() => s.destroy(), 5));
        else s.write(Buffer.concat([HEADERS_200, END_REUSE]));
      }
    });
    const client = new AjpClient({ port: fake.port, ping: { onConnect: false } });
    cleanups.push(
      () => fake.close(),
      () => client.close(),
    );
    await readAll((await client.request(GET)).body);
    await sleep(30);
    await readAll((await client.request(GET)).body);
    expect(fake.connections).toBe(2);
    expect(cpings).toBe(0);
    const c2 = new AjpClient({
      port: fake.port,
      ping: { onConnect: true, beforeReuseAfterIdleMs: 0 },
    });
    cleanups.push(() => c2.close());
    await readAll((await c2.request(GET)).body);
    await readAll((await c2.request(GET)).body);
    expect(cpings).toBe(2);
  });

  it('a GET replayed after its pooled connection died, whose replay cannot connect, is reported as sent (it may have run)', async () => {
    let seen = 0;
    const fake = await fakeContainer((e, s) => {
      if (e.type === 'cping') s.write(CPONG_PACKET);
      if (e.type !== 'forward-request') return;
      seen++;
      if (seen === 1) s.write(Buffer.concat([HEADERS_200, END_REUSE]));
      // the second request runs, then the container dies without answering: no new connection
      else void fake.close();
    });
    const client = new AjpClient({ port: fake.port, ping: { onConnect: false } });
    cleanups.push(() => client.close());
    await readAll((await client.request(GET)).body);
    const failure = await new Promise<{ code: string; requestSent: boolean }>((resolve) =>
      client.dispatch(GET, {
        onHeaders: () => true,
        onData: () => true,
        onEnd: () => resolve({ code: 'none', requestSent: false }),
        onError: (err) => resolve({ code: err.code, requestSent: err.requestSent }),
      }),
    );
    expect(seen).toBe(2);
    expect(failure.requestSent).toBe(true);
  });

  it('idle CPING (mod_jk ping_mode I) keeps checking pooled connections and drops one that stops answering', async () => {
    let cpings = 0;
    let answer = true;
    const fake = await fakeContainer((e, s) => {
      if (e.type === 'cping') {
        cpings++;
        if (answer) s.write(CPONG_PACKET);
      }
      if (e.type === 'forward-request') s.write(Buffer.concat([HEADERS_200, END_REUSE]));
    });
    const client = new AjpClient({
      port: fake.port,
      // A generous CPong timeout: on a loaded machine an answer can take well over 100 ms.
      ping: { onConnect: false, idleIntervalMs: 40, timeout: 1000 },
    });
    cleanups.push(
      () => fake.close(),
      () => client.close(),
    );
    await readAll((await client.request(GET)).body);
    // While a CPing is in flight the connection is busy; wait until it is back in the pool.
    await until(() => cpings >= 2 && client.stats.idle === 1);
    expect(client.stats.open).toBe(1);
    answer = false;
    await until(() => client.stats.open === 0);
  });
});
