import { createServer, type Server } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { HttpBackend } from './backends.js';
import { startHaproxy } from './haproxy.js';
import { httpGet } from './http.js';
import { startNginx } from './nginx.js';
import type { PeerHandle } from './peer-process.js';
import { startPen } from './pen.js';
import { isRunning } from './pids.js';
import { isPortOpen } from './ports.js';
import { requirePeers } from './require.js';

/** Two small HTTP servers (this test's own backends) that answer with their name. */
const servers: Server[] = [];
let backends: HttpBackend[] = [];

beforeAll(async () => {
  backends = await Promise.all(
    ['b1', 'b2'].map(
      (name) =>
        new Promise<HttpBackend>((resolve) => {
          const s = createServer((req, res) => {
            res.setHeader('content-type', 'text/plain');
            res.end(`backend=${name} path=${req.url}\n`);
          });
          servers.push(s);
          s.listen(0, '127.0.0.1', () => {
            const a = s.address();
            resolve({ port: typeof a === 'object' && a ? a.port : 0, name });
          });
        }),
    ),
  );
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** Sends `n` requests through `url` and returns which backends answered. */
async function spread(url: string, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await httpGet(`${url}/x?i=${i}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(new RegExp(`^backend=b[12] path=/x\\?i=${i}\\n$`));
    seen.add(r.body.slice('backend='.length, 'backend=b1'.length));
  }
  return seen;
}

/** Stops a peer and checks that its process is gone and its ports are closed. */
async function stopAndCheck(peer: PeerHandle, ports: number[]): Promise<void> {
  await peer.stop();
  expect(isRunning(peer.pid)).toBe(false);
  for (const p of ports) expect(await isPortOpen(p)).toBe(false);
}

describe.skipIf(requirePeers(['haproxy'], 'haproxy').skip)('haproxy', () => {
  it('balances round robin over both backends, then stops', async () => {
    const h = await startHaproxy({ backends });
    try {
      expect(await spread(h.url, 4)).toEqual(new Set(['b1', 'b2']));
    } finally {
      await stopAndCheck(h, [h.port]);
    }
  });

  it('reports a config haproxy rejects as BAD_OPTION', async () => {
    await expect(
      startHaproxy({ backends, extraConfig: 'no-such-keyword 1' }),
    ).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});

describe.skipIf(requirePeers(['nginx'], 'nginx').skip)('nginx', () => {
  it('proxies round robin and serves static files, then stops', async () => {
    const n = await startNginx({
      backends,
      staticFiles: { 'small.txt': 'static!\n', 'd/e.txt': 'deep' },
    });
    try {
      expect(await spread(n.url!, 4)).toEqual(new Set(['b1', 'b2']));
      const s = await httpGet(`${n.staticUrl}/small.txt`);
      expect([s.status, s.body]).toEqual([200, 'static!\n']);
      expect((await httpGet(`${n.staticUrl}/d/e.txt`)).body).toBe('deep');
      expect((await httpGet(`${n.staticUrl}/missing.txt`)).status).toBe(404);
    } finally {
      await stopAndCheck(n, [n.port!, n.staticPort!]);
    }
  });

  it('needs something to do', async () => {
    await expect(startNginx({})).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(startNginx({ staticFiles: { '../x': '' } })).rejects.toThrow(/staticFiles path/);
  });
});

describe.skipIf(requirePeers(['pen'], 'pen').skip)('pen', () => {
  it('balances round robin (-r) over both backends, then stops', async () => {
    const p = await startPen({ backends });
    try {
      expect(await spread(p.url, 4)).toEqual(new Set(['b1', 'b2']));
    } finally {
      await stopAndCheck(p, [p.port]);
    }
  });
});
