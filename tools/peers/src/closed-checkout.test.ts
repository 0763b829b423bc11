import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpGet } from './http.js';
import { startHttpd } from './httpd.js';
import { startNginx } from './nginx.js';
import { reachableRunRoot, runRoot, traversableByOthers } from './paths.js';
import { requirePeers } from './require.js';
import { PeerScope } from './scope.js';

// A checkout that other users cannot enter: a clone under /root or in a `mktemp -d` folder
// (mode 0700). Peers whose workers run as another user (nginx and httpd started as root run
// them as www-data by default) answered 403 for files in their run directory there.

const closed = mkdtempSync(join(tmpdir(), 'cohort-closed-'));
const asRoot = process.getuid?.() === 0;

afterAll(() => rmSync(closed, { recursive: true, force: true }));

describe('run root placement', () => {
  it('sees a 0700 folder on the way as closed, and / and the temp folder as open', () => {
    expect(statSync(closed).mode & 0o777).toBe(0o700);
    expect(traversableByOthers(join(closed, 'a', 'b'))).toBe(false);
    expect(traversableByOthers('/')).toBe(true);
    expect(traversableByOthers(join(tmpdir(), 'not-there-yet', 'x'))).toBe(true);
  });

  it('keeps a reachable root, and any root for an ordinary user', () => {
    const open = join(tmpdir(), 'not-there-yet', 'peers');
    expect(reachableRunRoot(open, 0)).toBe(open);
    expect(reachableRunRoot(join(closed, 'run'), 1000)).toBe(join(closed, 'run'));
    expect(reachableRunRoot(join(closed, 'run'), undefined)).toBe(join(closed, 'run'));
  });

  it.runIf(asRoot)('moves a closed root, as root, to the same open folder every time', () => {
    const wanted = join(closed, 'run');
    const moved = reachableRunRoot(wanted, 0);
    try {
      expect(moved).not.toBe(wanted);
      expect(moved).toMatch(/cohort-peers-[0-9a-f]{12}$/);
      expect(reachableRunRoot(wanted, 0)).toBe(moved);
      expect(traversableByOthers(moved)).toBe(true);
      const st = statSync(moved);
      expect([st.uid, st.mode & 0o777]).toEqual([0, 0o755]);
    } finally {
      rmSync(moved, { recursive: true, force: true });
    }
  });

  it.runIf(asRoot)('does not use a world-writable folder at the moved place', () => {
    const wanted = join(closed, 'squatted');
    const moved = reachableRunRoot(wanted, 0);
    rmSync(moved, { recursive: true });
    mkdirSync(moved, { mode: 0o777 });
    chmodSync(moved, 0o777);
    try {
      expect(reachableRunRoot(wanted, 0)).toBe(wanted);
    } finally {
      rmSync(moved, { recursive: true, force: true });
    }
  });
});

describe.skipIf(requirePeers(['nginx', 'apache2'], 'closed-checkout.test').skip)(
  'static files from a checkout in a 0700 folder',
  () => {
    const peers = new PeerScope();
    const saved = process.env['COHORT_PEERS_RUN_DIR'];
    let root = '';
    beforeAll(() => {
      process.env['COHORT_PEERS_RUN_DIR'] = join(closed, 'checkout', '.run', 'peers');
      root = runRoot();
    });
    afterAll(async () => {
      await peers.stop();
      if (saved === undefined) delete process.env['COHORT_PEERS_RUN_DIR'];
      else process.env['COHORT_PEERS_RUN_DIR'] = saved;
      if (root !== join(closed, 'checkout', '.run', 'peers')) {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('nginx serves its staticFiles (was 403 as root)', async () => {
      const n = await peers.track(
        startNginx({ staticFiles: { 'a.txt': 'hello\n', 'd/b.txt': 'b' } }),
      );
      const a = await httpGet(`${n.staticUrl}/a.txt`);
      expect([a.status, a.body]).toEqual([200, 'hello\n']);
      expect((await httpGet(`${n.staticUrl}/d/b.txt`)).body).toBe('b');
    });

    it('nginx serves a staticDir inside the closed folder (workers run as the invoking user)', async () => {
      const www = join(closed, 'checkout', 'site');
      mkdirSync(www, { recursive: true });
      writeFileSync(join(www, 'index.html'), '<p>site</p>\n');
      const n = await peers.track(startNginx({ staticDir: www }));
      const r = await httpGet(`${n.staticUrl}/index.html`);
      expect([r.status, r.body]).toEqual([200, '<p>site</p>\n']);
    });

    it('httpd serves its staticFiles with www-data workers', async () => {
      for (const mode of ['proxy_ajp', 'jk'] as const) {
        const h = await peers.track(
          startHttpd({
            mode,
            backends: [{ port: 1, route: 'unused' }],
            staticFiles: { 'a.txt': `httpd ${mode}\n`, 'd/b.txt': 'b' },
          }),
        );
        expect(h.staticRoot?.startsWith(root)).toBe(true);
        const a = await httpGet(`${h.staticUrl}/a.txt`);
        expect([a.status, a.body]).toEqual([200, `httpd ${mode}\n`]);
        expect((await httpGet(`${h.staticUrl}/d/b.txt`)).body).toBe('b');
        expect((await httpGet(`${h.staticUrl}/missing.txt`)).status).toBe(404);
        await h.stop();
      }
    });

    it('httpd refuses a staticPort without staticFiles', async () => {
      await expect(
        startHttpd({ mode: 'jk', backends: [{ port: 1, route: 'a' }], staticPort: 8080 }),
      ).rejects.toMatchObject({ code: 'BAD_OPTION' });
    });
  },
);
