import fc from 'fast-check';
import { createServer, connect } from 'node:net';
import { describe, expect, it } from 'vitest';

import { ScenarioError } from '../errors.js';
import { listConnections, parseSsOutput } from './ss.js';

const SAMPLE = `0      0      127.0.0.1:41818 127.0.0.1:34381 users:(("java",pid=20752,fd=88))
\t cubic wscale:7,7 rto:204 rtt:0.05/0.02 mss:32768 bytes_sent:1200 bytes_acked:1201 bytes_received:345 segs_out:10
0      0      127.0.0.1:50000 127.0.0.1:8700
\t cubic rto:204 rtt:0.05/0.02 mss:32768
`;

describe('parseSsOutput', () => {
  it('reads the endpoints, the owning pids and the byte counters', () => {
    expect(parseSsOutput(SAMPLE)).toEqual([
      {
        local: '127.0.0.1:41818',
        peer: '127.0.0.1:34381',
        peerPort: 34381,
        pids: [20752],
        bytesAcked: 1201,
        bytesReceived: 345,
      },
      // ss leaves zero counters out; no users:(…) when it cannot tell
      {
        local: '127.0.0.1:50000',
        peer: '127.0.0.1:8700',
        peerPort: 8700,
        pids: [],
        bytesAcked: 0,
        bytesReceived: 0,
      },
    ]);
    expect(parseSsOutput('')).toEqual([]);
  });

  it('reads IPv6 endpoints', () => {
    const [c] = parseSsOutput('0 0 [::1]:5000 [::1]:6000\n\t bytes_acked:7 bytes_received:8\n');
    expect(c).toMatchObject({ peerPort: 6000, bytesAcked: 7, bytesReceived: 8 });
  });

  it.each([
    ['an info line first', '\t bytes_acked:1\n'],
    ['a socket line without info', '0 0 127.0.0.1:1 127.0.0.1:2\n'],
    ['two socket lines', '0 0 127.0.0.1:1 127.0.0.1:2\n0 0 127.0.0.1:3 127.0.0.1:4\n\t x\n'],
    ['queues that are not numbers', 'a b 127.0.0.1:1 127.0.0.1:2\n\t x\n'],
    ['a port out of range', '0 0 127.0.0.1:1 127.0.0.1:70000\n\t x\n'],
    ['no port', '0 0 127.0.0.1 127.0.0.1\n\t x\n'],
    ['a counter too large', '0 0 127.0.0.1:1 127.0.0.1:2\n\t bytes_acked:99999999999999999999\n'],
  ])('refuses %s with BAD_SS_OUTPUT', (_, text) => {
    expect(() => parseSsOutput(text)).toThrow(expect.objectContaining({ code: 'BAD_SS_OUTPUT' }));
  });

  it('fuzz: random and mutated outputs give connections or BAD_SS_OUTPUT, nothing else', () => {
    const check = (text: string) => {
      try {
        const out = parseSsOutput(text);
        for (const c of out) {
          expect(c.peerPort).toBeGreaterThanOrEqual(0);
          expect(c.peerPort).toBeLessThanOrEqual(65535);
          expect(Number.isSafeInteger(c.bytesAcked) && Number.isSafeInteger(c.bytesReceived)).toBe(
            true,
          );
        }
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as ScenarioError).code).toBe('BAD_SS_OUTPUT');
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 300 }), check), { numRuns: 2000 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(SAMPLE.length), fc.string({ maxLength: 4 }), fc.nat(4)), {
          maxLength: 6,
        }),
        (edits) => {
          let t = SAMPLE;
          for (const [at, ins, del] of edits) t = t.slice(0, at) + ins + t.slice(at + del);
          check(t);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('listConnections (the real ss)', () => {
  it('sees a loopback connection to a port with the bytes it carried, from the connecting end', async () => {
    const server = createServer((s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', r));
    sock.write(Buffer.alloc(5000, 1));
    let echoed = 0;
    await new Promise<void>((r) =>
      sock.on('data', (d: Buffer) => {
        echoed += d.length;
        if (echoed >= 5000) r();
      }),
    );
    try {
      const conns = await listConnections([port]);
      // only the connecting end: its peer port is the server's
      expect(conns).toHaveLength(1);
      expect(conns[0]).toMatchObject({ peerPort: port, bytesReceived: 5000 });
      // Linux counts the acknowledged SYN of the connecting end as one byte
      expect(conns[0]!.bytesAcked - 5000).toBeGreaterThanOrEqual(0);
      expect(conns[0]!.bytesAcked - 5000).toBeLessThanOrEqual(1);
      expect(conns[0]!.pids).toContain(process.pid);
    } finally {
      sock.destroy();
      server.close();
    }
  });
});
