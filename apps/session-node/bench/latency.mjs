/* global fetch, setTimeout */
// Write latency through a 3-node cluster at a fixed offered rate: a client sends `apply` requests
// of a typical change (one 256 B attribute of a 20 × 256 B session) to each session's owner,
// acknowledged at quorum (owner + one backup over the replication links), and records the time
// from sending to the answer. Reference §8: p99 ≤ 1 ms at ≤ 5k writes/s on loopback.
//
//   npm run build && node bench/latency.mjs [ratesPerSecond=1000,5000] [seconds=10]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createDelta, defaultValueCodec, encodeDelta } from '@cohort/session-codec';
import { decodeResponse, encodeRequest, placementOf } from '@cohort/replication';

const here = dirname(fileURLToPath(import.meta.url));
const RATES = (process.argv[2] ?? '1000,5000').split(',').map(Number);
const SECONDS = Number(process.argv[3] ?? 10);
const SESSIONS = 1000;
const TOKEN = 'latency-bench-token-0123456789';

async function startNode(name, seeds) {
  const dir = mkdtempSync(join(tmpdir(), 'sn-lat-'));
  const file = join(dir, 'node.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      name,
      listen: '127.0.0.1:0',
      gossip: { listen: '127.0.0.1:0', preset: 'local' },
      seeds,
      auth: { token: TOKEN },
      log: { level: 'warn' },
    }),
  );
  const proc = spawn(process.execPath, [join(here, '..', 'dist', 'cli.js'), '--config', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve) =>
    createInterface({ input: proc.stdout }).once('line', resolve),
  );
  return { proc, ...JSON.parse(line) };
}

function connect(url) {
  const ws = new WebSocket(`${url}/v1/client`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    perMessageDeflate: false,
  });
  const waiting = new Map();
  let hello;
  const ready = new Promise((resolve) => (hello = resolve));
  ws.on('message', (d) => {
    const r = decodeResponse(d);
    if (r.kind === 'hello') hello(r);
    else if (r.id !== 0) {
      waiting.get(r.id)?.(r);
      waiting.delete(r.id);
    }
  });
  let next = 1;
  return {
    ready,
    call(req) {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        ws.send(encodeRequest({ ...req, id }));
      });
    },
    close: () => ws.close(),
  };
}

const nodes = [await startNode('l1', [])];
for (const n of ['l2', 'l3']) nodes.push(await startNode(n, [nodes[0].gossip]));
for (const n of nodes) {
  while ((await fetch(`${n.listening.replace(/^ws/, 'http')}/readyz`)).status !== 200) {
    await new Promise((r) => setTimeout(r, 50));
  }
}
const conns = nodes.map((n) => connect(n.listening));
const hellos = await Promise.all(conns.map((c) => c.ready));
const ids = hellos[0].map.nodes.map((n) => n.id);
const connOf = new Map(hellos.map((h, i) => [h.node, conns[i]]));
const keys = Array.from({ length: SESSIONS }, (_, i) => `lat${String(i).padStart(19, '0')}`);
const attr = (i, v) => ({
  op: 'set',
  name: `a${String(i).padStart(2, '0')}`,
  value: defaultValueCodec.encode(`${v}`.padEnd(253, '.'), 'a'),
});
for (const key of keys) {
  const ops = Array.from({ length: 20 }, (_, i) => attr(i, i));
  const delta = encodeDelta(createDelta(key, { epoch: 0, seq: 0 }, ops));
  const r = await connOf
    .get(placementOf(key, ids, 3)[0])
    .call({ op: 'apply', key, delta, create: { createdAt: Date.now() } });
  if (r.kind !== 'ok') throw new Error(`create failed: ${r.code}`);
}

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const rows = [];
for (const rate of RATES) {
  const lat = [];
  let failed = 0;
  const total = rate * SECONDS;
  const started = performance.now();
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const key = keys[i % SESSIONS];
    const delta = encodeDelta(createDelta(key, { epoch: 0, seq: 0 }, [attr(i % 20, i)]));
    const t0 = performance.now();
    inflight.push(
      connOf
        .get(placementOf(key, ids, 3)[0])
        .call({ op: 'apply', key, delta, ack: 'quorum' })
        .then((r) => {
          if (r.kind === 'ok') lat.push(performance.now() - t0);
          else failed++;
        }),
    );
  }
  await Promise.all(inflight);
  const achieved = Math.round(total / ((performance.now() - started) / 1000));
  lat.sort((a, b) => a - b);
  rows.push({
    offeredPerSecond: rate,
    achievedPerSecond: achieved,
    writes: lat.length,
    failed,
    p50ms: +pct(lat, 50).toFixed(3),
    p99ms: +pct(lat, 99).toFixed(3),
    maxMs: +lat[lat.length - 1].toFixed(3),
  });
}
for (const c of conns) c.close();
for (const n of nodes) n.proc.kill('SIGTERM');
console.table(rows);
mkdirSync(join(here, '..', 'bench-results'), { recursive: true });
writeFileSync(
  join(here, '..', 'bench-results', 'latency.json'),
  `${JSON.stringify({ node: process.version, seconds: SECONDS, rows }, null, 2)}\n`,
);
