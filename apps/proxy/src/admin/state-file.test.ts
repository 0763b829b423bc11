import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateConfig } from '../config/load.js';
import { CohortProxy } from '../proxy.js';
import { captureLogger, routeEcho, startMember, type TestMember } from '../test/harness.js';
import { readStateFile, StatePersistence, writeStateFile } from './state-file.js';

// Management changes kept in a state file (HAProxy server-state-file, httpd BalancerPersist):
// written atomically on every change, read back by the next proxy, a bad file refused with the
// reason and never fatal.

let a: TestMember;
let b: TestMember;
let c: TestMember;
const dir = mkdtempSync(join(tmpdir(), 'cohort-state-'));

beforeAll(async () => {
  a = await startMember(routeEcho('a'));
  b = await startMember(routeEcho('b'));
  c = await startMember(routeEcho('c'));
});
afterAll(async () => {
  await Promise.all([a.close(), b.close(), c.close()]);
});

const config = () =>
  validateConfig({
    balancers: [
      {
        name: 'app',
        affinity: { dialect: 'none' },
        members: [
          { url: a.url, route: 'a' },
          { url: b.url, route: 'b' },
        ],
      },
    ],
  });

describe('the state file', () => {
  it('keeps every change across a restart: state, weight, added and removed members', async () => {
    const file = join(dir, 'restart.json');
    const { logger } = captureLogger();
    const first = new CohortProxy(config(), { logger });
    const keep = new StatePersistence(first, file, logger, undefined);
    first.setMember('app', 'b', { state: 'drain' });
    expect(JSON.parse(readFileSync(file, 'utf8')).overrides.members).toEqual({
      app: { b: { state: 'draining' } },
    });
    first.setMember('app', 'a', { weight: 3 });
    first.addMember('app', { url: c.url, route: 'c', weight: 2 });
    first.removeMember('app', 'a');
    keep.stop();
    await first.close(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // No temporary file is left beside it.
    expect(readdirSync(dir).filter((f) => f.includes('restart'))).toEqual(['restart.json']);

    const read = readStateFile(file);
    expect(read.problem).toBeUndefined();
    const second = new CohortProxy(config(), { logger, overrides: read.overrides });
    await second.listen(0, '127.0.0.1');
    try {
      const members = second.status().balancers[0]!.members;
      expect(members.map((m) => [m.route, m.state, m.weight, m.source])).toEqual([
        ['b', 'draining', 1, 'config'],
        ['c', 'active', 2, 'api'],
      ]);
      const port = (second.server.address() as { port: number }).port;
      const r = await fetch(`http://127.0.0.1:${port}/`);
      expect(((await r.json()) as { route: string }).route).toBe('c');
    } finally {
      await second.close(0);
    }
  });

  it('is written only when the changes differ, and a failed write is logged, not thrown', async () => {
    const file = join(dir, 'missing-dir', 'state.json');
    const { logger, log } = captureLogger();
    const proxy = new CohortProxy(config(), { logger });
    const keep = new StatePersistence(proxy, file, logger, undefined);
    expect(keep.save()).toBe(false); // nothing changed yet
    proxy.setMember('app', 'b', { state: 'D' });
    expect(
      log.lines.some(
        (l) => l['msg'] === 'state file not written: management changes will not survive a restart',
      ),
    ).toBe(true);
    expect(proxy.status().balancers[0]!.members[1]!.state).toBe('disabled');
    keep.stop();
    await proxy.close(0);
  });

  it('a missing file is no problem; a bad one is refused with the reason', () => {
    expect(readStateFile(join(dir, 'none.json'))).toEqual({
      overrides: undefined,
      problem: undefined,
    });
    const bad = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return readStateFile(f);
    };
    expect(bad('t1', '{"version":1,').problem).toMatch(/^not JSON: /);
    expect(bad('t2', '[]').problem).toMatch(/^not a cohort-proxy state file: /);
    expect(
      bad(
        't3',
        JSON.stringify({
          version: 1,
          savedAt: 'x',
          overrides: { members: { app: { a: { state: 'sideways' } } }, added: {}, removed: {} },
        }),
      ).problem,
    ).toMatch(/^not a cohort-proxy state file: overrides\.members\.app\.a\.state: /);
    expect(
      bad(
        't4',
        JSON.stringify({
          version: 1,
          savedAt: 'x',
          overrides: { members: {}, added: { app: [{ url: 'ftp://x', route: 'c' }] }, removed: {} },
        }),
      ).problem,
    ).toMatch(/^overrides\.added\.app\[0\]\.url: /);
    expect(bad('t5', JSON.stringify({ version: 2 })).problem).toMatch(/version/);
  });

  it('fuzz: random and mutated files give a typed problem or valid overrides, never a throw', () => {
    const file = join(dir, 'fuzz.json');
    writeStateFile(file, {
      members: { app: { a: { state: 'draining', weight: 2 } } },
      added: { app: [{ url: 'http://127.0.0.1:1', route: 'z' }] },
      removed: { app: ['b'] },
    });
    const good = readFileSync(file);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)),
          fc
            .array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 6,
            })
            .map((muts) => {
              const m = Buffer.from(good);
              for (const [i, v] of muts) m[i] = v;
              return m;
            }),
        ),
        (bytes) => {
          writeFileSync(file, bytes);
          const r = readStateFile(file);
          // Exactly one of them: the file exists, so it is either used or refused with a reason.
          expect(r.overrides === undefined).toBe(r.problem !== undefined);
          if (r.overrides !== undefined) {
            // Whatever is accepted must be usable by a proxy.
            new CohortProxy(config(), { logger: captureLogger().logger, overrides: r.overrides });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
