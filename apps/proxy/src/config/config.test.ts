import { describe, expect, it } from 'vitest';

import { ConfigError } from './errors.js';
import { parseConfig, validateConfig } from './load.js';

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

const MIN = `
balancers:
  - name: app
    members:
      - url: http://127.0.0.1:8080
        route: tc1
      - url: ajp://127.0.0.1:8009
        route: tc2
        secret: s3cret
`;

describe('config', () => {
  it('fills in documented defaults', () => {
    const c = parseConfig(MIN);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8000 });
    expect(c.workers).toBe(1);
    const b = c.balancers[0]!;
    expect(b.method).toBe('byrequests');
    expect(b.repin).toBe('cookie');
    expect(b.failback).toBe('never');
    expect(b.retry).toBe(2000);
    expect(b.maxAttempts).toBe(2);
    expect(b.retryBodyCap).toBe(65_536);
    expect(b.affinity).toMatchObject({
      dialect: 'tomcat',
      cookie: 'JSESSIONID',
      pathParameter: 'jsessionid',
      routeCookie: 'ROUTEID',
    });
    expect(b.headers.preserveHost).toBe(false);
    expect(b.members[0]!.url).toMatchObject({ protocol: 'http', host: '127.0.0.1', port: 8080 });
    expect(b.members[1]!.url).toMatchObject({ protocol: 'ajp', port: 8009 });
    expect(c.limits.maxHeaders).toBe(100);
  });

  it('accepts JSON, units and the familiar aliases', () => {
    const c = validateConfig({
      listen: '0.0.0.0:9000',
      timeouts: { connect: '500ms', response: '2m' },
      limits: { maxBodyBytes: '1m' },
      balancers: [
        {
          name: 'b',
          lbmethod: 'bybusyness',
          maxattempts: 3,
          members: [
            { url: 'http://a:1', route: 'a', loadfactor: 3, status: 'drain' },
            { url: 'http://b:2', route: 'b', lbfactor: 2, activation: 'D', redirect: 'a' },
            { url: 'http://c:3', route: 'c', state: 'backup' },
            { url: 'http://d:4', route: 'd', state: 'maint' },
          ],
        },
      ],
    });
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(c.timeouts.connect).toBe(500);
    expect(c.timeouts.response).toBe(120_000);
    expect(c.limits.maxBodyBytes).toBe(1024 * 1024);
    const b = c.balancers[0]!;
    expect(b.method).toBe('bybusyness');
    expect(b.maxAttempts).toBe(3);
    expect(b.members.map((m) => [m.weight, m.state])).toEqual([
      [3, 'draining'],
      [2, 'disabled'],
      [1, 'standby'],
      [1, 'stopped'],
    ]);
  });

  it('names the key path and the reason of every problem', () => {
    const issues = issuesOf(() =>
      validateConfig({
        workers: 0,
        bogus: 1,
        balancers: [
          {
            name: 'b',
            method: 'fastest',
            members: [
              { url: 'ftp://x', route: 'a' },
              { url: 'http://x:1', route: 'bad route', weight: -1 },
              { url: 'http://x:1', state: 'sleeping' },
            ],
          },
        ],
      }),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'workers',
        'balancers[0].method',
        'balancers[0].members[0].url',
        'balancers[0].members[1].route',
        'balancers[0].members[1].weight',
        'balancers[0].members[2].state',
      ]),
    );
    expect(issues.some((i) => i.message.includes('bogus'))).toBe(true);
    expect(issues.find((i) => i.path === 'balancers[0].members[0].url')!.message).toContain(
      'http:// or ajp://',
    );
    expect(issues.find((i) => i.path === 'balancers[0].members[2].state')!.message).toContain(
      'sleeping',
    );
  });

  it('checks the rules that span keys', () => {
    const issues = issuesOf(() =>
      validateConfig({
        balancers: [
          {
            name: 'b',
            repin: 'none',
            failback: 'when-idle',
            hashKey: { source: 'header' },
            members: [
              { url: 'http://x:1', route: 'a', redirect: 'zz' },
              { url: 'http://x:2', route: 'a', secret: 'x' },
            ],
          },
          { name: 'b', members: [{ url: 'http://x:3' }] },
        ],
      }),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['balancers[0].failback']).toContain('repin "cookie"');
    expect(byPath['balancers[0].hashKey']).toContain('only used by method "hash"');
    expect(byPath['balancers[0].members[0].redirect']).toContain('"zz"');
    expect(byPath['balancers[0].members[1].route']).toContain('already used');
    expect(byPath['balancers[0].members[1].secret']).toContain('ajp://');
    expect(byPath['balancers[1].name']).toContain('duplicate');
    expect(byPath['balancers[1].path']).toContain('never be used');
  });

  it('refuses an alias given together with its cohort name', () => {
    const issues = issuesOf(() =>
      validateConfig({
        balancers: [{ name: 'b', members: [{ url: 'http://x:1', weight: 1, loadfactor: 2 }] }],
      }),
    );
    expect(issues[0]!.path).toBe('balancers[0].members[0].loadfactor');
  });

  it('reports YAML syntax errors and duplicate keys', () => {
    expect(issuesOf(() => parseConfig('balancers: [\n'))[0]!.path).toBe('');
    try {
      parseConfig('workers: 1\nworkers: 2\nbalancers: []');
      throw new Error('no error');
    } catch (e) {
      expect((e as ConfigError).code).toBe('ERR_CONFIG_SYNTAX');
    }
  });

  it('names the line and column of a YAML syntax error, not "(top level)"', () => {
    const text =
      'listen: 127.0.0.1:8000\nbalancers:\n  - name: app\n    members: [ { url: http://x:1 }\n';
    const issue = issuesOf(() => parseConfig(text, 'p.yaml'))[0]!;
    expect([issue.line, issue.column]).toEqual([5, 1]);
    let message = '';
    try {
      parseConfig('workers: 1\nworkers: 2\nbalancers: []\n', 'p.yaml');
    } catch (e) {
      message = (e as Error).message;
      expect((e as ConfigError).issues[0]).toMatchObject({ path: '', line: 2, column: 1 });
    }
    expect(message).toContain('line 2, column 1: Map keys must be unique (in "workers: 2")');
    expect(message).not.toContain('(top level)');
    const tag = issuesOf(() => parseConfig('workers: 1\nx: !foo 1\n'))[0]!;
    expect([tag.line, tag.column]).toEqual([2, 4]);
    // A problem of the whole document that has no place in the text stays "(top level)".
    expect(() => validateConfig([])).toThrow(/\(top level\)/);
  });

  it('a valid config with nothing doubtful has no warnings', () => {
    expect(parseConfig(MIN).warnings).toEqual([]);
  });

  it('warns when a balancer with affinity leaves routes to the default', () => {
    const c = validateConfig({
      balancers: [
        { name: 'a', members: [{ url: 'http://x:1' }, { url: 'http://x:2', route: 'r2' }] },
        {
          name: 'b',
          path: '/b',
          affinity: { dialect: 'msm' },
          members: [{ url: 'http://x:1' }, { url: 'http://x:2' }],
        },
        {
          name: 'none',
          path: '/n',
          affinity: { dialect: 'none' },
          members: [{ url: 'http://x:1' }, { url: 'http://x:2' }],
        },
      ],
    });
    expect(c.warnings.map((w) => w.path)).toEqual(['balancers[0].members', 'balancers[1].members']);
    expect(c.warnings[0]!.message).toContain('members[0] is "m1"');
    expect(c.warnings[0]!.message).toContain('dialect "tomcat"');
    expect(c.warnings[1]!.message).toContain('2 members have no route');
    expect(c.warnings[1]!.message).toContain('members[1] is "m2"');
  });

  it('warns for ajp:// members without a secret (Tomcat requires one by default)', () => {
    const c = validateConfig({
      balancers: [
        {
          name: 'a',
          members: [
            { url: 'ajp://127.0.0.1', route: 'a' },
            { url: 'ajp://127.0.0.1:8010', route: 'b', secret: 's' },
            { url: 'http://127.0.0.1:8080', route: 'c' },
          ],
        },
      ],
    });
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings[0]!.path).toBe('balancers[0].members[0].secret');
    expect(c.warnings[0]!.message).toContain('secretRequired');
  });

  it('gives members without a route m1, m2, … and hash hashes the client by default', () => {
    const c = validateConfig({
      balancers: [
        { name: 'h', method: 'hash', members: [{ url: 'http://x:1' }, { url: 'http://x:2' }] },
      ],
    });
    expect(c.balancers[0]!.members.map((m) => m.route)).toEqual(['m1', 'm2']);
  });
});
