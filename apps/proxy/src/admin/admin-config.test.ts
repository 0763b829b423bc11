import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../config/errors.js';
import { loadConfig, validateConfig } from '../config/load.js';

// The `admin` section: off unless given, loopback by default, the token from the file or a
// token file (never shown), every error naming its key.

const TOKEN = 'abcdef0123456789abcdef';
const members = [{ url: 'http://127.0.0.1:9', route: 'a' }];
const cfg = (admin: unknown, extra: Record<string, unknown> = {}) =>
  validateConfig({ ...extra, admin, balancers: [{ name: 'app', members }] });

function issues(f: () => unknown): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('admin configuration', () => {
  it('is off without the section; with it, loopback port 8001 and /cohort-status', () => {
    expect(validateConfig({ balancers: [{ name: 'app', members }] }).admin).toBeUndefined();
    const a = cfg({})!.admin!;
    expect(a.listen).toEqual({ host: '127.0.0.1', port: 8001 });
    expect(a.path).toBe('/cohort-status');
    expect(a.token).toBeUndefined();
    expect(a.stateFile).toBeUndefined();
  });

  it('never shows the token: JSON, String and inspect print [redacted]', () => {
    const c = cfg({ token: TOKEN });
    expect(c.admin!.token!.matches(TOKEN)).toBe(true);
    expect(c.admin!.token!.matches(TOKEN + 'x')).toBe(false);
    expect(c.admin!.token!.matches(undefined)).toBe(false);
    expect(JSON.stringify(c)).not.toContain(TOKEN);
    expect(inspect(c, { depth: 10 })).not.toContain(TOKEN);
    expect(String(c.admin!.token)).toBe('[redacted]');
  });

  it('reads tokenFile (first line) and stateFile relative to the configuration file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cohort-admin-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\nignored second line\n`);
    writeFileSync(
      join(dir, 'proxy.yaml'),
      `admin:\n  listen: 127.0.0.1:9100\n  tokenFile: token\n  stateFile: state/proxy.state\n  path: /lb/status\nbalancers:\n  - name: app\n    members:\n      - url: http://127.0.0.1:9\n`,
    );
    const a = loadConfig(join(dir, 'proxy.yaml')).admin!;
    expect(a.token!.matches(TOKEN)).toBe(true);
    expect(a.stateFile).toBe(join(dir, 'state', 'proxy.state'));
    expect(a.listen).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(a.path).toBe('/lb/status');
  });

  it('names the key of every mistake', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cohort-admin-'));
    writeFileSync(join(dir, 'short'), 'abc\n');
    const cases: [unknown, Record<string, unknown>, string, RegExp][] = [
      [{ token: 'short' }, {}, 'admin.token', /16 to 1024 visible ASCII/],
      [{ token: 'has spaces in it, sixteen+' }, {}, 'admin.token', /without spaces/],
      [{ tokenFile: join(dir, 'nope') }, {}, 'admin.tokenFile', /cannot read the token file/],
      [{ tokenFile: join(dir, 'short') }, {}, 'admin.tokenFile', /first line of the token file/],
      [{ token: TOKEN, tokenFile: join(dir, 'short') }, {}, 'admin.tokenFile', /not both/],
      [{ path: 'status' }, {}, 'admin.path', /such as \/cohort-status/],
      [{ path: '/status/' }, {}, 'admin.path', /no trailing slash/],
      [{ path: '/metrics' }, {}, 'admin.path', /metrics endpoint/],
      [{ listen: 'nowhere' }, {}, 'admin.listen', /Invalid input|host:port/],
      [{ listen: '127.0.0.1:8000' }, {}, 'admin.listen', /proxy's own listen port/],
      [{ colour: 'red' }, {}, 'admin', /colour/],
      [{}, { workers: 2 }, 'admin', /needs workers: 1/],
    ];
    for (const [admin, extra, path, message] of cases) {
      const got = issues(() => cfg(admin, extra));
      expect(got, JSON.stringify(admin)).toContainEqual({
        path,
        message: expect.stringMatching(message),
      });
      expect(JSON.stringify(got)).not.toContain(TOKEN);
    }
  });

  it('warns when the listener is not on loopback', () => {
    expect(cfg({ listen: '0.0.0.0:8001', token: TOKEN }).warnings).toEqual([
      {
        path: 'admin.listen',
        message: expect.stringMatching(/not a loopback address.*management API/),
      },
    ]);
    expect(cfg({ listen: '[::1]:8001' }).warnings).toEqual([]);
  });
});
