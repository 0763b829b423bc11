import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { PeerError } from './errors.js';
import { startNginx } from './nginx.js';
import { requirePeers } from './require.js';
import { withPeer } from './scope.js';
import { parseWrkOutput, runWrk } from './wrk.js';

/** wrk 4.1.0's report as it printed it on this machine (against nginx, with --latency). */
const SAMPLE = `Running 1s test @ http://127.0.0.1:32807/a.txt
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.26ms    1.99ms  14.93ms   86.82%
    Req/Sec     9.27k     1.93k   13.82k    80.00%
  Latency Distribution
     50%  181.00us
     75%    1.72ms
     90%    3.85ms
     99%    8.56ms
  9322 requests in 1.01s, 3.13MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 17
Requests/sec:   9245.95
Transfer/sec:      3.10MB
`;

describe('parseWrkOutput', () => {
  it('reads every figure, in ms and bytes', () => {
    const r = parseWrkOutput(SAMPLE);
    expect(r.requests).toBe(9322);
    expect(r.durationS).toBeCloseTo(1.01);
    expect(r.bytesRead).toBeCloseTo(3.13 * 1024 ** 2);
    expect(r.requestsPerSec).toBeCloseTo(9245.95);
    expect(r.transferPerSec).toBeCloseTo(3.1 * 1024 ** 2);
    expect(r.latencyMs).toEqual({
      avg: 1.26,
      stdev: 1.99,
      max: 14.93,
      p50: 0.181,
      p75: 1.72,
      p90: 3.85,
      p99: 8.56,
    });
    expect(r.non2xx3xx).toBe(17);
    expect(r.socketErrors).toEqual({ connect: 0, read: 2, write: 0, timeout: 5 });
  });

  it('names the missing or malformed field', () => {
    expect(() => parseWrkOutput('')).toThrow(/requests in/);
    expect(() => parseWrkOutput(SAMPLE.replace('Requests/sec:', 'Reqs:'))).toThrow(/Requests\/sec/);
    expect(() => parseWrkOutput(SAMPLE.replace('1.72ms', '1.72fortnights'))).toThrow(/latency 75%/);
    expect(() => parseWrkOutput(SAMPLE.replace(/\s+99%.*\n/, '\n'))).toThrow(/'99%'/);
  });

  it('yields a result or a BAD_OUTPUT error for random and mutated reports, nothing else', () => {
    const outcome = (text: string): boolean => {
      try {
        const r = parseWrkOutput(text);
        return Number.isFinite(r.requests) && Number.isFinite(r.latencyMs.p99);
      } catch (e) {
        return e instanceof PeerError && e.code === 'BAD_OUTPUT';
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 400 }), outcome), { numRuns: 300 });
    const mutated = fc
      .tuple(fc.nat(SAMPLE.length), fc.nat(20), fc.string({ maxLength: 8 }))
      .map(([at, cut, insert]) => SAMPLE.slice(0, at) + insert + SAMPLE.slice(at + cut));
    fc.assert(fc.property(mutated, outcome), { numRuns: 1000 });
  });

  it('stays fast on long hostile input', () => {
    const hostile = `${' '.repeat(200_000)}1 requests in ${'9'.repeat(100_000)}`;
    const t0 = performance.now();
    expect(() => parseWrkOutput(hostile)).toThrow(PeerError);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe.skipIf(requirePeers(['wrk', 'nginx'], 'wrk').skip)('runWrk', () => {
  it('loads nginx for a second and reports what it measured', async () => {
    await withPeer(startNginx({ staticFiles: { 'a.txt': 'hello\n' } }), async (n) => {
      const r = await runWrk({ url: `${n.staticUrl}/a.txt`, connections: 4, durationS: 1 });
      expect(r.requests).toBeGreaterThan(100);
      expect(r.non2xx3xx).toBe(0);
      expect(r.latencyMs.p50).toBeGreaterThan(0);
      expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50);
      const missing = await runWrk({ url: `${n.staticUrl}/missing`, connections: 2, durationS: 1 });
      expect(missing.non2xx3xx).toBe(missing.requests);
    });
  });

  it('reports a failed run with wrk’s message', async () => {
    await expect(runWrk({ url: 'http://127.0.0.1:1/', durationS: 1 })).rejects.toThrow(
      /Connection refused/,
    );
    expect(() => runWrk({ url: 'ftp://x', durationS: 1 })).toThrow(/http:\/\//);
  });
});
