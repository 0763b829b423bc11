// Benchmark of @cohort/session-codec against JSON (what express-session stores write) on the three
// workloads of shared/reference/sessions.md §8, with Tomcat's measured message sizes as anchors.
// Run: npm run bench -w @cohort/session-codec   (builds first under nx: npx nx bench @cohort/session-codec)
// Figures: CPU time per operation (process.cpuUsage, user + system), median of several rounds.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TrackedSession,
  createSession,
  decodeSession,
  decodeSessionValues,
  encodeDelta,
  encodeSession,
  readAttribute,
  readAttributes,
} from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const TARGET_MS = quick ? 40 : 150; // CPU time per round

// Tomcat 9.0.x figures measured in the reference study (§1.12 and §8): full session Java-serialized
// (DeltaSession.writeObjectData) and the SessionMessage carrying a one-attribute delta, to which
// tribes adds 135 B of framing per destination, ×(N−1) destinations for DeltaManager.
const TOMCAT = {
  small: { full: 719, delta: 520 },
  typical: { full: 5639, delta: 760 },
  large: { full: 52079, delta: 1517 },
};

const WORKLOADS = [
  { name: 'small', count: 10, size: 32 },
  { name: 'typical', count: 20, size: 256 },
  { name: 'large', count: 50, size: 1024 },
];

const KEY = 'Jx2w5Qk3l8Zr0aYbTqP7vN'; // 22 characters: cohort's default 128-bit key
const NOW = 1_763_700_000_000;

function text(size, seed) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = '';
  for (let i = 0; i < size; i++) out += alphabet[(i * 7 + seed * 13) % alphabet.length];
  return out;
}

function attributesOf(w) {
  const attrs = {};
  for (let i = 0; i < w.count; i++) attrs[`attr${String(i).padStart(2, '0')}`] = text(w.size, i);
  return attrs;
}

/** What express-session hands to a store, and what connect-redis writes with JSON.stringify. */
function expressShape(attrs) {
  return {
    cookie: {
      originalMaxAge: 1_800_000,
      expires: new Date(NOW + 1_800_000),
      httpOnly: true,
      path: '/',
    },
    ...attrs,
  };
}

/** Runs fn until the JIT has settled, then returns a batch size taking about `ms` of CPU. */
function calibrate(fn, ms) {
  const warm = process.cpuUsage();
  for (let i = 0; ; i++) {
    fn(i);
    if ((i & 63) === 0) {
      const d = process.cpuUsage(warm);
      if (d.user + d.system > TARGET_MS * 500) break;
    }
  }
  let batch = 1;
  for (;;) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < batch; i++) fn(i);
    const d = process.cpuUsage(t0);
    const spent = (d.user + d.system) / 1000;
    if (spent >= ms / 4 || batch > 1e7) {
      return Math.max(1, Math.round((batch * ms) / Math.max(spent, 0.001)));
    }
    batch *= 4;
  }
}

/** CPU µs per call of fn over one batch. */
function round(fn, batch) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < batch; i++) fn(i);
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / batch;
}

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** CPU µs per call of fn, median over rounds (after a warm-up so the JIT has settled). */
function cpuPerOp(fn) {
  const batch = calibrate(fn, TARGET_MS);
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(round(fn, batch));
  return median(samples);
}

/**
 * A peer and a subject measured in alternating rounds, so both run under the same machine load
 * (on a shared machine the load changes from second to second): the median CPU µs per call of
 * each, and the median of the per-round ratios subject ÷ peer.
 */
function cpuPaired(peer, subject) {
  const ms = TARGET_MS / 3;
  const peerBatch = calibrate(peer, ms);
  const subjectBatch = calibrate(subject, ms);
  const peers = [];
  const subjects = [];
  const ratios = [];
  for (let r = 0; r < ROUNDS * 3; r++) {
    const a = round(peer, peerBatch);
    const b = round(subject, subjectBatch);
    peers.push(a);
    subjects.push(b);
    ratios.push(b / a);
  }
  return { peer: median(peers), subject: median(subjects), ratio: median(ratios) };
}

let sink = 0;
const results = [];

for (const w of WORKLOADS) {
  const attrs = attributesOf(w);
  const session = createSession({
    key: KEY,
    now: NOW,
    maxInactiveSeconds: 1800,
    attributes: expressShape(attrs),
  });
  const changedName = 'attr07';
  const changed = [text(w.size, 101), text(w.size, 102)];
  const json = JSON.stringify(expressShape(attrs));
  const encoded = encodeSession(session);

  // Bytes
  const t = new TrackedSession(session);
  t.set(changedName, changed[0]);
  const delta = t.commit().delta;
  const deltaBytes = encodeDelta(delta).byteLength;
  const jsonDelta = JSON.stringify({
    key: KEY,
    base: { epoch: 0, seq: 0 },
    ops: [{ set: changedName, value: changed[0] }],
  });

  // CPU
  const deltaCpu = cpuPerOp((i) => {
    const tracked = new TrackedSession(session);
    tracked.set(changedName, changed[i & 1]);
    sink += encodeDelta(tracked.commit().delta).byteLength;
  });
  const mutateCpu = cpuPerOp((i) => {
    // read the cookie object (an object attribute) and change it in place: detected by byte comparison
    const tracked = new TrackedSession(session);
    tracked.get('cookie').originalMaxAge = 1_000 + (i & 1);
    sink += encodeDelta(tracked.commit().delta).byteLength;
  });
  const readOnlyCpu = cpuPerOp(() => {
    const tracked = new TrackedSession(session);
    sink += tracked.get('attr03').length + (tracked.get('cookie').httpOnly ? 1 : 0);
    if (tracked.commit().delta !== null) throw new Error('read-only request produced a delta');
  });
  const expressHashCpu = cpuPerOp(() => {
    // express-session: sha1 of the JSON of the session without its cookie, 3–4 times per request
    const { cookie: _c, ...rest } = expressShape(attrs);
    sink += createHash('sha1').update(JSON.stringify(rest), 'utf8').digest('hex').length;
  });
  const stringifyCpu = cpuPerOp(() => {
    sink += JSON.stringify(expressShape(attrs)).length;
  });
  const encodeEnvelopeCpu = cpuPerOp(() => {
    sink += encodeSession(session).byteLength;
  });
  const valuesWithCookie = expressShape(attrs);
  const encodeFullCpu = cpuPerOp(() => {
    const s = createSession({
      key: KEY,
      now: NOW,
      maxInactiveSeconds: 1800,
      attributes: valuesWithCookie,
    });
    sink += encodeSession(s).byteLength;
  });
  // The target's pair, measured in alternating rounds: JSON.parse of the JSON text an
  // express-session store holds, and the full decode of the same session's bytes.
  const fullDecodePair = cpuPaired(
    () => {
      sink += Object.keys(JSON.parse(json)).length;
    },
    () => {
      sink += Object.keys(decodeSessionValues(encoded).values).length;
    },
  );
  const parseCpu = fullDecodePair.peer;
  // Extra information, not the target's peer: a Redis or memcached store receives bytes from its
  // socket, so before JSON.parse it turns them into a string.
  const jsonBytes = Buffer.from(json);
  const parseBytesCpu = cpuPerOp(() => {
    sink += Object.keys(JSON.parse(jsonBytes.toString())).length;
  });
  const decodeEnvelopeCpu = cpuPerOp(() => {
    sink += decodeSession(encoded).attributes.size;
  });
  const decodeTwoCpu = cpuPerOp(() => {
    // what a request that reads two attributes pays: the envelope, then only those two values
    const s = decodeSession(encoded);
    sink += readAttribute(s, 'attr03').length + (readAttribute(s, 'cookie').httpOnly ? 1 : 0);
  });
  const decodeViewsCpu = cpuPerOp(() => {
    // the lazy path used for everything: envelope with values kept as bytes, then every value
    sink += Object.keys(readAttributes(decodeSession(encoded))).length;
  });
  const decodeFullCpu = fullDecodePair.subject;
  // The same full decode when the attribute names change from one session to the next (no
  // remembered shape: 12 sessions with distinct names, in turn), against JSON.parse of the same 12.
  const variants = [];
  for (let v = 0; v < 12; v++) {
    const renamed = {};
    for (const [k, val] of Object.entries(attrs)) renamed[`v${v}${k}`] = val;
    variants.push({
      json: JSON.stringify(expressShape(renamed)),
      bytes: encodeSession(
        createSession({
          key: KEY,
          now: NOW,
          maxInactiveSeconds: 1800,
          attributes: expressShape(renamed),
        }),
      ),
    });
  }
  const parseVaryingCpu = cpuPerOp((i) => {
    sink += Object.keys(JSON.parse(variants[i % 12].json)).length;
  });
  const decodeVaryingCpu = cpuPerOp((i) => {
    sink += Object.keys(decodeSessionValues(variants[i % 12].bytes).values).length;
  });

  results.push({
    workload: w.name,
    attributes: w.count,
    attributeBytes: w.size,
    bytes: {
      fullSession: encoded.byteLength,
      fullSessionJson: Buffer.byteLength(json),
      fullSessionTomcat: TOMCAT[w.name].full,
      delta: deltaBytes,
      deltaJson: Buffer.byteLength(jsonDelta),
      expressStoreWrite: Buffer.byteLength(json),
      deltaTomcat: TOMCAT[w.name].delta,
    },
    cpuMicros: {
      deltaFromTrackedSession: deltaCpu,
      deltaFromInPlaceMutation: mutateCpu,
      readOnlyRequest: readOnlyCpu,
      expressSessionHashOnce: expressHashCpu,
      encodeFullFromValues: encodeFullCpu,
      encodeFullEnvelope: encodeEnvelopeCpu,
      jsonStringify: stringifyCpu,
      decodeFullWithValues: decodeFullCpu,
      decodeSessionThenReadAll: decodeViewsCpu,
      decodeFullVaryingNames: decodeVaryingCpu,
      jsonParseVaryingNames: parseVaryingCpu,
      decodeEnvelopeOnly: decodeEnvelopeCpu,
      decodeAndReadTwo: decodeTwoCpu,
      jsonParse: parseCpu,
      jsonParseOfBytes: parseBytesCpu,
    },
    fullDecodeRatio: fullDecodePair.ratio,
  });
}

const f1 = (n) => n.toFixed(n < 10 ? 2 : 1);
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;

const lines = [];
lines.push(
  'Bytes (one-attribute delta includes its Delta envelope: format, 22-char key, base version)',
);
lines.push('');
lines.push(
  '| workload | full session | JSON (express store) | Tomcat full [anchor] | delta | JSON delta | express store write per change | Tomcat delta msg [anchor] |',
);
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const b = r.bytes;
  lines.push(
    `| ${r.workload} (${r.attributes} × ${r.attributeBytes} B) | ${b.fullSession} | ${b.fullSessionJson} | ${b.fullSessionTomcat} | **${b.delta}** | ${b.deltaJson} | ${b.expressStoreWrite} | ${b.deltaTomcat} + 135 |`,
  );
}
lines.push('');
lines.push(
  'CPU µs per operation at the end of a request (median of rounds; ratio = cohort ÷ JSON.stringify)',
);
lines.push('');
lines.push(
  '| workload | delta from TrackedSession | delta from in-place mutation | read-only request | express-session hash (×1) | JSON.stringify |',
);
lines.push('|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  const c = r.cpuMicros;
  lines.push(
    `| ${r.workload} | **${f1(c.deltaFromTrackedSession)}** (${ratio(c.deltaFromTrackedSession, c.jsonStringify)}) | ${f1(c.deltaFromInPlaceMutation)} | ${f1(c.readOnlyRequest)} | ${f1(c.expressSessionHashOnce)} | ${f1(c.jsonStringify)} |`,
  );
}
lines.push('');
lines.push(
  'CPU µs per whole-session encode/decode (median of rounds; ratio = cohort ÷ JSON, below 1 is faster)',
);
lines.push('');
lines.push(
  '| workload | JSON.stringify | encode full (values → bytes) | encode (envelope only) | JSON.parse | **full decode** `decodeSessionValues` | JSON.parse of the bytes a store receives (full decode ÷ it) | full decode, names never seen twice (JSON.parse of the same) | `decodeSession` + `readAttributes` | `decodeSession` + read 2 |',
);
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const c = r.cpuMicros;
  lines.push(
    `| ${r.workload} | ${f1(c.jsonStringify)} | ${f1(c.encodeFullFromValues)} (${ratio(c.encodeFullFromValues, c.jsonStringify)}) | ${f1(c.encodeFullEnvelope)} | ${f1(c.jsonParse)} | **${f1(c.decodeFullWithValues)}** (**${r.fullDecodeRatio.toFixed(2)}×**) | ${f1(c.jsonParseOfBytes)} (${ratio(c.decodeFullWithValues, c.jsonParseOfBytes)}) | ${f1(c.decodeFullVaryingNames)} (${f1(c.jsonParseVaryingNames)}; ${ratio(c.decodeFullVaryingNames, c.jsonParseVaryingNames)}) | ${f1(c.decodeSessionThenReadAll)} (${ratio(c.decodeSessionThenReadAll, c.jsonParse)}) | ${f1(c.decodeAndReadTwo)} (${ratio(c.decodeAndReadTwo, c.jsonParse)}) |`,
  );
}
console.log(lines.join('\n'));

const outDir = join(here, '..', 'bench-results');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, 'session-codec.json');
writeFileSync(
  out,
  JSON.stringify(
    {
      node: process.version,
      date: new Date().toISOString(),
      rounds: ROUNDS,
      results,
      checksum: sink % 1000,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${out}`);
