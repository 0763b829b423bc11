/* global fetch, setTimeout */
// Replication bytes per write per replica (reference §8: <= 350 B for a typical change): a client
// sends N `apply` requests, each changing one 256 B attribute of a 20 x 256 B session, one at a
// time (no two writes share a frame: the worst case), acknowledged at quorum, to sessions all
// owned by one node of three (3 copies); the nodes' `replication_bytes_sent` and
// `replication_frames_sent` (WebSocket payloads) before and after give the owner's bytes to its
// two backups and the backups' acks. Run with and without a dedupe seq (NodeBackend sends one with
// every write; the owner records it in the session, so it is replicated too).
//
//   npm run build && node bench/replica-bytes.mjs [writes=2000]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createDelta, defaultValueCodec, encodeDelta } from '@cohort/session-codec';
import { decodeResponse, encodeRequest, placementOf } from '@cohort/replication';

const here = dirname(fileURLToPath(import.meta.url));
const WRITES = Number(process.argv[2] ?? 2000);
const SESSIONS = 100;
const TOKEN = 'replica-bytes-bench-token-0123456789';

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
// Every session owned by the first node: its replication bytes are the replicate frames to the
// two backups, the others' are their acks.
const keys = [];
for (let i = 0; keys.length < SESSIONS; i++) {
  const key = `rb${String(i).padStart(20, '0')}`;
  if (placementOf(key, ids, 3)[0] === hellos[0].node) keys.push(key);
}
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

async function counters(n) {
  const text = await (await fetch(`${n.listening.replace(/^ws/, 'http')}/metrics`)).text();
  const get = (name) => Number(new RegExp(`^cohort_session_${name} (\\S+)$`, 'm').exec(text)[1]);
  return { bytes: get('replication_bytes_sent'), frames: get('replication_frames_sent') };
}

const owner = connOf.get(hellos[0].node);
const rows = [];
for (const withSeq of [false, true]) {
  await new Promise((r) => setTimeout(r, 300)); // let the creates' frames settle
  const before = await Promise.all(nodes.map(counters));
  for (let i = 0; i < WRITES; i++) {
    const key = keys[i % SESSIONS];
    const delta = encodeDelta(createDelta(key, { epoch: 0, seq: 0 }, [attr(3, i)]));
    const r = await owner.call({
      op: 'apply',
      key,
      delta,
      ack: 'quorum',
      ...(withSeq ? { seq: i + 1 + (withSeq ? WRITES : 0) } : {}),
    });
    if (r.kind !== 'ok') throw new Error(`apply failed: ${r.code}`);
  }
  await new Promise((r) => setTimeout(r, 300)); // the last acks
  const after = await Promise.all(nodes.map(counters));
  const d = after.map((a, i) => ({
    bytes: a.bytes - before[i].bytes,
    frames: a.frames - before[i].frames,
  }));
  const acks = { bytes: d[1].bytes + d[2].bytes, frames: d[1].frames + d[2].frames };
  // A WebSocket frame from a client (the links are outgoing connections, masked) adds 2 + 4 B,
  // 4 + 4 B over 125 B of payload.
  const wsOverhead = (f, b) => f * (b / Math.max(1, f) > 125 ? 8 : 6);
  const perReplica = (x) => x / WRITES / 2;
  rows.push({
    dedupeSeq: withSeq,
    writes: WRITES,
    replicateBytesPerReplica: +perReplica(d[0].bytes).toFixed(1),
    replicateFramesPerReplica: +perReplica(d[0].frames).toFixed(2),
    ackBytesPerReplica: +perReplica(acks.bytes).toFixed(1),
    totalWithWsHeadersPerReplica: +perReplica(
      d[0].bytes +
        acks.bytes +
        wsOverhead(d[0].frames, d[0].bytes) +
        wsOverhead(acks.frames, acks.bytes),
    ).toFixed(1),
  });
}
for (const c of conns) c.close();
for (const n of nodes) n.proc.kill('SIGTERM');
console.table(rows);
mkdirSync(join(here, '..', 'bench-results'), { recursive: true });
writeFileSync(
  join(here, '..', 'bench-results', 'replica-bytes.json'),
  `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`,
);
