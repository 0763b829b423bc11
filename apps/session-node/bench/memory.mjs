/* global fetch, setTimeout */
// Memory of one session node holding N sessions of about 1 KB (4 attributes of 256 B).
//
//   npm run build && node bench/memory.mjs [sessions=1000000] [nodes=1]
//
// Starts `nodes` cohort-session-node processes on 127.0.0.1 (replicas = min(nodes, 3), so with 3
// nodes every node holds every session: owner or backup), creates the sessions through the client
// protocol (pipelined, acknowledged at the nodes' default level), then reads each node's RSS,
// JS heap and array-buffer memory from /status.json. Writes bench-results/memory.json.
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
const SESSIONS = Number(process.argv[2] ?? 1_000_000);
const NODES = Number(process.argv[3] ?? 1);
const TOKEN = 'memory-bench-token-0123456789';
const WINDOW = 4000; // requests in flight per connection

async function startNode(name, seeds) {
  const dir = mkdtempSync(join(tmpdir(), 'sn-mem-'));
  const file = join(dir, 'node.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      name,
      listen: '127.0.0.1:0',
      gossip: { listen: '127.0.0.1:0', preset: 'local' },
      seeds,
      replicas: Math.min(NODES, 3),
      auth: { token: TOKEN },
      log: { level: 'warn' },
      opTimeoutMs: 60_000,
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

async function status(node) {
  const res = await fetch(`${node.listening.replace(/^ws/, 'http')}/status.json`);
  return res.json();
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

const nodes = [await startNode('m1', [])];
for (let i = 2; i <= NODES; i++) nodes.push(await startNode(`m${i}`, [nodes[0].gossip]));
for (const n of nodes) {
  while ((await fetch(`${n.listening.replace(/^ws/, 'http')}/readyz`)).status !== 200) {
    await new Promise((r) => setTimeout(r, 50));
  }
}
const before = await Promise.all(nodes.map(status));
const conns = nodes.map((n) => connect(n.listening));
const hellos = await Promise.all(conns.map((c) => c.ready));
const map = hellos[0].map;
const ids = map.nodes.map((n) => n.id);
const connOf = new Map(hellos.map((h, i) => [h.node, conns[i]]));

const value = (i, a) => defaultValueCodec.encode(`${a}:${i}:`.padEnd(250, 'x'), `a${a}`);
const started = Date.now();
let done = 0;
let failed = 0;
async function lane(from, step) {
  const inflight = new Set();
  for (let i = from; i < SESSIONS; i += step) {
    const key = `mem${String(i).padStart(19, '0')}`;
    const ops = [0, 1, 2, 3].map((a) => ({ op: 'set', name: `a${a}`, value: value(i, a) }));
    const delta = encodeDelta(createDelta(key, { epoch: 0, seq: 0 }, ops));
    const owner = placementOf(key, ids, map.replicas)[0];
    const p = connOf
      .get(owner)
      .call({ op: 'apply', key, delta, create: { createdAt: Date.now() } })
      .then((r) => {
        if (r.kind === 'ok') done++;
        else failed++;
        inflight.delete(p);
      });
    inflight.add(p);
    if (inflight.size >= WINDOW) await Promise.race(inflight);
    if ((done + failed) % 100_000 === 0 && done > 0) {
      process.stderr.write(`${done} sessions, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    }
  }
  await Promise.all(inflight);
}
await Promise.all([0, 1].map((l) => lane(l, 2)));
const loadSeconds = (Date.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 3000));
const after = await Promise.all(nodes.map(status));
for (const c of conns) c.close();
for (const n of nodes) n.proc.kill('SIGTERM');

const mib = (b) => Math.round((b / 1048576) * 10) / 10;
const rows = after.map((s, i) => ({
  node: s.id,
  sessionsHeld: s.counts.live,
  owned: s.counts.owned,
  rssMiB: mib(s.memory.rss),
  heapUsedMiB: mib(s.memory.heapUsed),
  arrayBuffersMiB: mib(s.memory.arrayBuffers),
  rssBeforeMiB: mib(before[i].memory.rss),
  bytesPerSession: Math.round((s.memory.rss - before[i].memory.rss) / Math.max(1, s.counts.live)),
}));
const result = {
  sessions: SESSIONS,
  created: done,
  failed,
  nodes: NODES,
  payloadBytesPerSession: 4 * 256,
  loadSeconds,
  createsPerSecond: Math.round(done / loadSeconds),
  node: process.version,
  rows,
};
console.table(rows);
console.log(JSON.stringify({ ...result, rows: undefined }));
mkdirSync(join(here, '..', 'bench-results'), { recursive: true });
writeFileSync(
  join(here, '..', 'bench-results', 'memory.json'),
  `${JSON.stringify(result, null, 2)}\n`,
);
