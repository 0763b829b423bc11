import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardRequest } from '../test/arbitraries.js';
import { AjpClient, createAjpServer, encodeForwardRequest, type AjpServer } from './index.js';

// The server adapter over real sockets: connections sending random or mutated bytes are closed
// (or answered) one by one, the process keeps running, and a well-behaved client is served after
// every round.

describe('createAjpServer under garbage', () => {
  let server: AjpServer;
  let client: AjpClient;
  beforeAll(async () => {
    server = createAjpServer(
      { secret: 'x', requestTimeout: 2000, bodyTimeout: 500 },
      (req, res) => {
        req.resume();
        req.on('error', () => undefined);
        req.on('end', () => res.end('fine'));
      },
    );
    const { port } = await server.listen();
    client = new AjpClient({ port, secret: 'x' });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  /** Sends bytes on a fresh connection, waits until the server closes it or 300 ms pass. */
  async function send(bytes: Buffer): Promise<void> {
    const s = connect(server.address().port, '127.0.0.1');
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    await new Promise((r) => s.once('connect', r));
    s.write(bytes);
    await new Promise<void>((r) => {
      const t = setTimeout(r, 300);
      s.once('close', () => {
        clearTimeout(t);
        r();
      });
    });
    s.destroy();
  }

  it('random bytes and mutated Forward Requests never take the server down', async () => {
    const cases = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        fc.tuple(forwardRequest, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([r, at, v]) => {
          const b = encodeForwardRequest(
            { ...r, attributes: { ...r.attributes, secret: 'x' } },
            { packetSize: 65536 },
          );
          b[at % b.length] = v;
          return b;
        }),
      ),
      { numRuns: 60, seed: 42 },
    );
    for (let i = 0; i < cases.length; i += 10) {
      await Promise.all(cases.slice(i, i + 10).map(send));
      const r = await client.request({ method: 'GET', url: '/', remoteAddress: '127.0.0.1' });
      expect(r.status).toBe(200);
      const parts: Buffer[] = [];
      for await (const c of r.body) parts.push(c as Buffer);
      expect(Buffer.concat(parts).toString()).toBe('fine');
    }
  }, 60_000);
});
