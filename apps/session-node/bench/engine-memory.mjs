// JS heap and array-buffer memory per session of the replication engine alone (no sockets), after
// a full GC, for sessions of 4 attributes × 256 B created through `submit`.
//
//   npm run build && node --expose-gc bench/engine-memory.mjs [sessions=50000]
/* global gc, Buffer */
import { ReplicationEngine } from '@cohort/replication';
import { createDelta, decodeDelta, defaultValueCodec, encodeDelta } from '@cohort/session-codec';

const N = Number(process.argv[2] ?? 50_000);
const engine = new ReplicationEngine({
  self: 'a',
  random: Math.random,
  config: { replicas: 1, claimsPerSecond: 1e9, maxConcurrentClaims: 1e6 },
});
let now = 1000;
engine.setView(now, ['a']);
gc();
const m0 = process.memoryUsage();
// Values are copied into one exact-size buffer per session, as the node's slabs do.
for (let i = 0; i < N; i++) {
  const key = `mem${String(i).padStart(19, '0')}`;
  const ops = [0, 1, 2, 3].map((a) => ({
    op: 'set',
    name: `a${a}`,
    value: defaultValueCodec.encode(`${a}:${i}:`.padEnd(250, 'x'), `a${a}`),
  }));
  const bytes = encodeDelta(createDelta(key, { epoch: 0, seq: 0 }, ops));
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  own.set(bytes);
  const d = decodeDelta(own);
  engine.submit(now, {
    id: i,
    kind: 'write',
    key,
    ops: d.ops,
    level: 'owner',
    create: { createdAt: Date.now(), maxInactiveSeconds: 1800 },
  });
  if (i % 1000 === 0) engine.tick((now += 10));
}
for (let k = 0; k < 50; k++) engine.tick((now += 100));
gc();
const m1 = process.memoryUsage();
const per = (f) => Math.round((m1[f] - m0[f]) / N);
console.log(
  JSON.stringify({
    sessions: N,
    heapBytesPerSession: per('heapUsed'),
    arrayBufferBytesPerSession: per('arrayBuffers'),
    rssBytesPerSession: per('rss'),
  }),
);
