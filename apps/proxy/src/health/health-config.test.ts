import { describe, expect, it } from 'vitest';

import { ConfigError } from '../config/errors.js';
import { validateConfig } from '../config/load.js';
import { statusMatcher } from './probe.js';

const base = (extra: Record<string, unknown>) => ({
  balancers: [{ name: 'b', ...extra, members: [{ url: 'http://127.0.0.1:1', route: 'a' }] }],
});

function issues(input: unknown): string[] {
  try {
    validateConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('healthCheck, outlier and slowStart configuration', () => {
  it('defaults as HAProxy users expect (inter 5s, rise 2, fall 3), aliases from HAProxy and httpd', () => {
    const c = validateConfig(base({ healthCheck: { hcuri: '/ping', inter: '2s', hcfails: 4 } }));
    const hc = c.balancers[0]!.healthCheck!;
    expect(hc).toMatchObject({
      path: '/ping',
      interval: 2000,
      rise: 2,
      fall: 4,
      timeout: 2000,
      method: 'GET',
    });
    expect(c.balancers[0]!.outlier).toEqual({
      consecutiveFailures: 5,
      maxEjectionTime: 300_000,
      maxEjectionPercent: 50,
    });
    expect(c.balancers[0]!.slowStart).toBe(0);
  });

  it('names the bad key', () => {
    expect(issues(base({ healthCheck: { expectStatus: '2xx,600' } }))[0]).toMatch(
      /^balancers\[0\]\.healthCheck\.expectStatus: expected statuses/,
    );
    expect(issues(base({ healthCheck: { expectBody: '(' } }))[0]).toMatch(
      /^balancers\[0\]\.healthCheck\.expectBody: expected a regular expression/,
    );
    expect(issues(base({ healthCheck: { type: 'icmp' } }))[0]).toMatch(
      /^balancers\[0\]\.healthCheck\.type/,
    );
    expect(issues(base({ outlier: { maxEjectionPercent: 101 } }))[0]).toMatch(
      /^balancers\[0\]\.outlier\.maxEjectionPercent/,
    );
  });

  it('expectStatus matches ranges, lists and classes', () => {
    const m = statusMatcher('200-299, 302,4xx');
    expect([200, 250, 299, 302, 404, 499].every(m)).toBe(true);
    expect([199, 300, 301, 500].some(m)).toBe(false);
  });
});
