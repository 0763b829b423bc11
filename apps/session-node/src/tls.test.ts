import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeResponse, encodeRequest, placementOf } from '@cohort/replication';
import type { SessionNode } from './node.js';
import { startCluster, TEST_TOKEN } from './test/cluster.js';

let nodes: SessionNode[] = [];
let ca: Buffer;

beforeAll(async () => {
  // A self-signed certificate for 127.0.0.1, used by every node and trusted as the cluster CA.
  const dir = mkdtempSync(join(tmpdir(), 'sn-tls-'));
  const cert = join(dir, 'node.crt');
  const key = join(dir, 'node.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(cert);
  nodes = await startCluster(3, { tls: { cert, key, ca: cert } });
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

function call(url: string, trust: Buffer | undefined): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/v1/client`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      ...(trust ? { ca: trust } : {}),
    });
    ws.on('error', (err) => resolve(`error: ${err.message}`));
    ws.on('message', (d) => {
      const r = decodeResponse(d as Buffer);
      if (r.kind === 'hello') {
        const key = 'TlsSession000000000001';
        const owner = placementOf(
          key,
          r.map.nodes.map((n) => n.id),
          3,
        )[0];
        if (owner !== r.node) {
          ws.close();
          resolve('not-owner');
          return;
        }
        ws.send(encodeRequest({ op: 'create', id: 1, key, createdAt: Date.now() }));
      } else {
        ws.close();
        resolve(r.kind);
      }
    });
  });
}

describe('TLS', () => {
  it('serves wss:// to clients and replicates over wss:// between nodes', async () => {
    for (const n of nodes) expect(n.url).toMatch(/^wss:\/\/127\.0\.0\.1:/);
    expect(nodes.every((n) => n.ready)).toBe(true); // replication links are open, over TLS
    const results = await Promise.all(nodes.map((n) => call(n.url, ca)));
    // The owner created the session at quorum, which needed a backup over wss://.
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'not-owner')).toHaveLength(2);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    expect(await call(nodes[0]!.url, undefined)).toMatch(/^error: .*self[- ]signed/i);
  });
});
