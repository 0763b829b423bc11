// Benchmark of @cohort/replication: bytes on the wire per replica for the three workloads of
// reference/sessions.md §8, against a whole-session JSON write (express-session + connect-redis
// style, measured in the same run) and the Tomcat figures measured in that reference; and the
// engine's throughput on one core with 3 replicas, with and without batching.
// Run: npx nx bench @cohort/replication   (or: npm run build && node bench/replication.bench.mjs)
// Figures: bytes are exact; CPU time per delta is process.cpuUsage (user+system), median of rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { defaultValueCodec, readAttributes } from '@cohort/session-codec';
import {
  ReplicationEngine,
  decodeFrame,
  encodeFrame,
  placementOf,
  seededRandom,
} from '../dist/index.js';

const NODES = ['node-a#7f3c', 'node-b#19e2', 'node-c#c0d4'];
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A 22-character base64url key (128 random bits), as @cohort/session-id generates by default. */
function sessionKey(i) {
  const r = seededRandom(i + 1);
  let s = '';
  for (let j = 0; j < 22; j++) s += KEY_ALPHABET[Math.floor(r() * 64)];
  return s;
}

function text(len, seed) {
  let s = '';
  const r = seededRandom(seed);
  while (s.length < len) s += KEY_ALPHABET[Math.floor(r() * 64)];
  return s;
}

const WORKLOADS = [
  // name, attributes, value bytes, target bytes per replica, Tomcat DeltaManager, BackupManager
  { name: 'small', attrs: 10, size: 32, target: 120, tomcatDelta: 520 + 135, tomcatBackup: null },
  { name: 'typical', attrs: 20, size: 256, target: 350, tomcatDelta: 760 + 135, tomcatBackup: 995 },
  {
    name: 'large',
    attrs: 50,
    size: 1024,
    target: 1200,
    tomcatDelta: 1517 + 135,
    tomcatBackup: null,
  },
];

/** WebSocket framing of one binary message: header, plus the mask a client-side sender adds. */
function wsOverhead(payload, masked) {
  const header = payload < 126 ? 2 : payload < 65536 ? 4 : 10;
  return header + (masked ? 4 : 0);
}

/** Three engines wired together in memory; frames cross as protobuf bytes. */
function cluster(config = {}) {
  const engines = new Map(
    NODES.map((id, i) => [
      id,
      new ReplicationEngine({ self: id, random: seededRandom(i), config }),
    ]),
  );
  let now = 1_000_000;
  const queue = [];
  const results = new Map();
  const sent = [];
  const take = (out) => {
    for (const f of out.frames) {
      const bytes = encodeFrame(f, { omitAddresses: true });
      sent.push({ from: f.from, to: f.to, bytes: bytes.length, kinds: f.messages.map((m) => m.t) });
      queue.push({ bytes, from: f.from, to: f.to });
    }
    for (const r of out.results) results.set(r.id, r);
  };
  const deliver = () => {
    while (queue.length > 0) {
      const { bytes, from, to } = queue.shift();
      const f = decodeFrame(bytes, { from, to });
      take(engines.get(f.to).receive(now, f));
    }
  };
  for (const e of engines.values()) take(e.setView(now, NODES));
  deliver();
  return { engines, take, deliver, results, sent, tick: (ms) => (now += ms), now: () => now };
}

function bytesFor(w) {
  const c = cluster();
  const key = sessionKey(w.attrs);
  const owner = placementOf(key, NODES, 3)[0];
  const attributes = {};
  for (let i = 0; i < w.attrs; i++)
    attributes[`attr${String(i).padStart(2, '0')}`] = text(w.size, i);
  const enc = (name, v) => defaultValueCodec.encode(v, name);
  const ops = Object.entries(attributes).map(([name, v]) => ({
    op: 'set',
    name,
    value: enc(name, v),
  }));
  c.take(
    c.engines.get(owner).submit(c.now(), {
      id: 1,
      kind: 'write',
      key,
      ops,
      create: { createdAt: 1_763_700_000_000, maxInactiveSeconds: 1800 },
    }),
  );
  c.deliver();
  c.sent.length = 0;
  // One request changes one attribute (and records the access, as a request does).
  const value = text(w.size, 999);
  c.take(
    c.engines.get(owner).submit(c.now(), {
      id: 2,
      kind: 'write',
      key,
      level: 'quorum',
      ops: [
        { op: 'set', name: 'attr03', value: enc('attr03', value) },
        { op: 'touch', at: 1_763_700_060_000 },
      ],
    }),
  );
  c.deliver();
  if (!c.results.get(2)?.ok) throw new Error('write failed');
  const out = c.sent.filter((s) => s.from === owner);
  const back = c.sent.filter((s) => s.to === owner);
  const perReplica = out.reduce((n, s) => n + s.bytes, 0) / out.length;
  const ack = back.reduce((n, s) => n + s.bytes, 0) / back.length;
  // The usual Node.js alternative: the whole session as JSON in one store write (connect-redis
  // SET), here measured on the same session.
  const session = c.engines.get(owner).inspect(key).session;
  const json = Buffer.byteLength(
    JSON.stringify({ cookie: { originalMaxAge: 1800000 }, ...readAttributes(session) }),
  );
  const framed = perReplica + wsOverhead(perReplica, true);
  return {
    workload: w.name,
    frameBytes: perReplica,
    withWebSocket: framed,
    ackBytes: ack + wsOverhead(ack, true),
    target: w.target,
    meetsTarget: framed <= w.target,
    fullSessionJson: json,
    tomcatDeltaManager: w.tomcatDelta,
    tomcatBackupManager: w.tomcatBackup,
    ratioVsTomcat: w.tomcatDelta / framed,
    ratioVsJson: json / framed,
  };
}

/** CPU ns per delta: sequenced at the owner, encoded, decoded and applied at 2 backups, acked. */
function throughput(batch, rounds = 7, perRound = 4000) {
  const c = cluster();
  const keys = [];
  for (let i = 0; keys.length < 64; i++) {
    const k = sessionKey(1000 + i);
    if (placementOf(k, NODES, 3)[0] === NODES[0]) keys.push(k);
  }
  const owner = c.engines.get(NODES[0]);
  let id = 1;
  for (const key of keys) {
    c.take(
      owner.submit(c.now(), {
        id: id++,
        kind: 'write',
        key,
        ops: [],
        create: { createdAt: 1_763_700_000_000, maxInactiveSeconds: 1800 },
      }),
    );
  }
  c.deliver();
  const value = defaultValueCodec.encode(text(32, 5), 'attr03');
  const op = (key) => ({
    id: id++,
    kind: 'write',
    key,
    level: 'quorum',
    ops: [{ op: 'set', name: 'attr03', value }],
  });
  const run = (n) => {
    let k = 0;
    for (let i = 0; i < n; i += batch) {
      if (batch === 1) c.take(owner.submit(c.now(), op(keys[k++ % keys.length])));
      else {
        const ops = [];
        for (let j = 0; j < batch; j++) ops.push(op(keys[k++ % keys.length]));
        c.take(owner.submitAll(c.now(), ops));
      }
      c.deliver();
      c.sent.length = 0;
    }
  };
  run(perRound);
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    c.results.clear();
    const cpu0 = process.cpuUsage();
    run(perRound);
    const cpu = process.cpuUsage(cpu0);
    const okCount = [...c.results.values()].filter((x) => x.ok).length;
    if (okCount !== perRound) throw new Error(`only ${okCount} of ${perRound} acknowledged`);
    samples.push(((cpu.user + cpu.system) * 1000) / perRound);
  }
  samples.sort((a, b) => a - b);
  const cpuNs = samples[Math.floor(samples.length / 2)];
  return { batch, cpuNsPerDelta: Math.round(cpuNs), deltasPerCpuSecond: Math.round(1e9 / cpuNs) };
}

const bytes = WORKLOADS.map(bytesFor);
const unbatched = throughput(1);
const batched = throughput(32);
const result = {
  node: process.version,
  date: new Date().toISOString(),
  bytes,
  throughput: {
    unbatched,
    batched,
    batchingSpeedup: unbatched.cpuNsPerDelta / batched.cpuNsPerDelta,
  },
};

console.log(
  'Bytes per replica for one modifying request (one attribute changed), RF=3, ack=quorum',
);
console.log(
  '| workload | cohort frame | + WebSocket | target | ack back | whole-session JSON (same run) | Tomcat DeltaManager (ref.) | BackupManager (ref.) | vs Tomcat |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const b of bytes) {
  console.log(
    `| ${b.workload} | ${b.frameBytes} B | ${b.withWebSocket} B | ≤ ${b.target} B ${b.meetsTarget ? '✓' : '✗'} | ${b.ackBytes} B | ${b.fullSessionJson} B | ${b.tomcatDeltaManager} B | ${b.tomcatBackupManager ?? '—'}${b.tomcatBackupManager ? ' B' : ''} | ${b.ratioVsTomcat.toFixed(1)}× smaller |`,
  );
}
console.log('');
console.log(
  'Engine throughput on one core, 3 replicas, quorum acks, frames through protobuf (CPU time per delta)',
);
console.log('| mode | CPU per delta | deltas per CPU second |');
console.log('|---|---:|---:|');
for (const t of [unbatched, batched]) {
  console.log(
    `| ${t.batch === 1 ? 'one delta per frame' : `batched, ${t.batch} deltas per frame`} | ${(t.cpuNsPerDelta / 1000).toFixed(1)} µs | ${t.deltasPerCpuSecond.toLocaleString('en-US')} |`,
  );
}
console.log(`batching: ${result.throughput.batchingSpeedup.toFixed(2)}× less CPU per delta`);
mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../bench-results/replication.json', import.meta.url),
  JSON.stringify(result, null, 2),
);
