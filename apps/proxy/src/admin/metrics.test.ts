import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { routeEcho, startMember, startProxy, type TestMember } from '../test/harness.js';
import { AdminServer } from './server.js';

// /metrics in Prometheus text after real requests through the proxy: names, labels and values,
// the request-duration histogram, and nothing in prom-client's global registry.

let a: TestMember;
let b: TestMember;
let p: Awaited<ReturnType<typeof startProxy>>;
let admin: AdminServer;
let origin: string;

beforeAll(async () => {
  a = await startMember(routeEcho('a'));
  b = await startMember((req, res) => {
    res.statusCode = 500;
    res.end('broken');
  });
  p = await startProxy({
    admin: {},
    balancers: [
      {
        name: 'app',
        affinity: { dialect: 'none' },
        members: [
          { url: a.url, route: 'a', weight: 3 },
          { url: b.url, route: 'b' },
        ],
      },
    ],
  });
  admin = new AdminServer(p.proxy);
  const addr = await admin.listen(0, '127.0.0.1');
  origin = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await admin.close();
  await p.stop();
  await Promise.all([a.close(), b.close()]);
});

/** One sample of the exposition text: name, labels, value. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Reads the Prometheus text format (samples, and the TYPE of each family). */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

describe('/metrics', () => {
  it('has per-member counters and gauges with balancer and member labels, and the histogram', async () => {
    for (let i = 0; i < 8; i++) await (await fetch(`${p.url}/x`)).text();
    const r = await fetch(`${origin}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parseExposition(await r.text());
    const one = (name: string, labels: Record<string, string>) => {
      const found = samples.filter(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
      return found[0]!.value;
    };
    const A = { balancer: 'app', member: 'a' };
    const B = { balancer: 'app', member: 'b' };
    const st = p.proxy.status().balancers[0]!.members;
    const [ma, mb] = [st[0]!, st[1]!];
    expect(ma.requests + mb.requests).toBeGreaterThanOrEqual(8);
    expect(one('cohort_proxy_member_requests_total', A)).toBe(ma.requests);
    expect(one('cohort_proxy_member_requests_total', B)).toBe(mb.requests);
    expect(one('cohort_proxy_member_response_bytes_total', A)).toBe(ma.bytes);
    expect(one('cohort_proxy_member_response_bytes_total', A)).toBeGreaterThan(0);
    expect(one('cohort_proxy_member_errors_total', B)).toBe(mb.errors);
    expect(one('cohort_proxy_member_weight', A)).toBe(3);
    expect(one('cohort_proxy_member_effective_weight', A)).toBe(3);
    expect(one('cohort_proxy_member_inflight_requests', A)).toBe(0);
    expect(one('cohort_proxy_member_up', A)).toBe(1);
    expect(one('cohort_proxy_member_state', { ...A, state: 'active' })).toBe(1);
    expect(one('cohort_proxy_member_state', { ...A, state: 'draining' })).toBe(0);
    expect(one('cohort_proxy_member_health', { ...A, state: 'ok' })).toBe(1);
    for (const n of ['retries', 'failovers', 'repins', 'ejections'])
      expect(one(`cohort_proxy_member_${n}_total`, A)).toBe(0);
    expect(one('cohort_proxy_requests_total', {})).toBe(p.proxy.stats.requests);
    expect(types.get('cohort_proxy_member_requests_total')).toBe('counter');
    expect(types.get('cohort_proxy_member_inflight_requests')).toBe('gauge');
    expect(types.get('cohort_proxy_request_duration_seconds')).toBe('histogram');
    // The histogram: a count per balancer, member and status class, buckets cumulative.
    const okCount = one('cohort_proxy_request_duration_seconds_count', { ...A, code: '2xx' });
    const errCount = one('cohort_proxy_request_duration_seconds_count', { ...B, code: '5xx' });
    expect(okCount + errCount).toBe(8);
    expect(okCount).toBe(ma.requests);
    expect(
      one('cohort_proxy_request_duration_seconds_bucket', { ...A, code: '2xx', le: '+Inf' }),
    ).toBe(okCount);
    expect(one('cohort_proxy_request_duration_seconds_sum', { ...A, code: '2xx' })).toBeGreaterThan(
      0,
    );
    expect(samples.some((s) => s.name === 'cohort_proxy_process_cpu_seconds_total')).toBe(true);
    // Our own registry: nothing leaked into prom-client's global one.
    expect(await globalRegistry.metrics()).not.toContain('cohort_proxy_');
  });

  it('follows changes: a drained member, a removed one', async () => {
    p.proxy.setMember('app', 'b', { state: 'drain' });
    let text = await (await fetch(`${origin}/metrics`)).text();
    expect(text).toContain(
      'cohort_proxy_member_state{balancer="app",member="b",state="draining"} 1',
    );
    expect(text).toContain('cohort_proxy_member_up{balancer="app",member="b"} 1');
    p.proxy.setMember('app', 'b', { state: 'maint' });
    text = await (await fetch(`${origin}/metrics`)).text();
    expect(text).toContain('cohort_proxy_member_up{balancer="app",member="b"} 0');
    expect(text).toContain(
      'cohort_proxy_member_health{balancer="app",member="b",state="stopped"} 1',
    );
    p.proxy.removeMember('app', 'b');
    text = await (await fetch(`${origin}/metrics`)).text();
    expect(text).not.toContain('cohort_proxy_member_requests_total{balancer="app",member="b"}');
    expect(text).toContain('cohort_proxy_member_requests_total{balancer="app",member="a"}');
    expect((await fetch(`${origin}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('/metrics with active health checks', () => {
  it('has each checked member’s last check duration and result', async () => {
    const q = await startProxy({
      admin: {},
      balancers: [
        {
          name: 'hc',
          affinity: { dialect: 'none' },
          healthCheck: { interval: '100ms', rise: 1, fall: 1, jitter: 0 },
          members: [{ url: a.url, route: 'a' }],
        },
      ],
    });
    const server = new AdminServer(q.proxy);
    try {
      const addr = await server.listen(0, '127.0.0.1');
      await expect
        .poll(() => q.proxy.status().balancers[0]!.members[0]!.checkLatencyMs, { timeout: 5000 })
        .toBeGreaterThan(0);
      const text = await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text();
      const d =
        /^cohort_proxy_member_check_duration_seconds\{balancer="hc",member="a"\} (\S+)$/m.exec(
          text,
        );
      expect(Number(d![1])).toBeGreaterThan(0);
      expect(Number(d![1])).toBeLessThan(2);
      expect(text).toContain('cohort_proxy_member_check_up{balancer="hc",member="a"} 1');
      const html = await (await fetch(`http://127.0.0.1:${addr.port}/cohort-status`)).text();
      expect(html).toMatch(/<td data-f="check" class="good">up [\d.]+ ms<\/td>/);
    } finally {
      await server.close();
      await q.stop();
    }
  });
});
