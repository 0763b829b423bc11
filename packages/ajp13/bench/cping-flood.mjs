// Memory under a CPING flood (issue 11 item 11): a client writes 100 MiB of CPINGs on one AJP
// connection and never reads the CPONGs. RSS of the server process before, at its peak while the
// client is not reading, and once the client has read every CPONG — for this package's server
// adapter (in a child process) and for Tomcat 10's AJP connector, one after the other.
//
//   npx nx build @cohort/ajp13 && node bench/cping-flood.mjs [extra index.js to compare...]
//
// FLOOD_MIB (default 100) sets the size.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTomcat } from '@cohort/peers';
import { fmt, here, save, table } from './lib.mjs';

const MIB = 1024 * 1024;
const FLOOD = Number(process.env.FLOOD_MIB ?? 100) * MIB;
const CPING = Buffer.from([0x12, 0x34, 0x00, 0x01, 0x0a]);
const CPONG = Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09]);

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Floods `port`, samples the RSS of `pid`; returns the figures in MiB. */
async function flood(port, pid) {
  await sleep(500);
  const before = rssMiB(pid);
  const s = connect(port, '127.0.0.1');
  await new Promise((r, j) => s.once('connect', r).once('error', j));
  const buf = Buffer.alloc(Math.floor(FLOOD / CPING.length) * CPING.length).fill(CPING);
  s.write(buf);
  // the client does not read: sample until the RSS has not moved by 1 MiB for 3 s (at most 90 s)
  let unreadPeak = before;
  let level = before;
  let since = Date.now();
  const t0 = Date.now();
  while (Date.now() - since < 3000 && Date.now() - t0 < 90_000) {
    const now = rssMiB(pid);
    unreadPeak = Math.max(unreadPeak, now);
    if (Math.abs(now - level) > 1) {
      level = now;
      since = Date.now();
    }
    await sleep(100);
  }
  const unreadEnd = rssMiB(pid);
  let peak = unreadPeak;
  // now read everything back
  let got = 0;
  let bad = 0;
  s.on('data', (d) => {
    for (let i = 0; i < d.length; i++) if (d[i] !== CPONG[(got + i) % 5]) bad++;
    got += d.length;
  });
  while (got < buf.length) {
    peak = Math.max(peak, rssMiB(pid));
    await sleep(100);
  }
  await sleep(1000);
  const after = rssMiB(pid);
  s.destroy();
  return { before, unreadPeak, unreadEnd, peak, after, cpongBytes: got, bad };
}

async function ours(entry) {
  const child = spawn(
    process.execPath,
    [`${here}/cping-flood-server.mjs`, ...(entry ? [entry] : [])],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise((r) => child.stdout.once('data', (d) => r(Number(String(d)))));
  try {
    return await flood(port, child.pid);
  } finally {
    child.kill();
  }
}

const rows = [];
const results = {};
for (const entry of [undefined, ...process.argv.slice(2)]) {
  const name = entry ? `@cohort/ajp13 (${entry})` : '@cohort/ajp13 server adapter (dist)';
  results[name] = await ours(entry);
}
const tomcat = await startTomcat({ route: 'flood' });
try {
  results['Tomcat 10 AJP connector'] = await flood(tomcat.ajpPort, tomcat.pid);
} finally {
  await tomcat.stop();
}
for (const [name, r] of Object.entries(results))
  rows.push([
    name,
    fmt(r.before, 1),
    `${fmt(r.unreadPeak, 1)} (+${fmt(r.unreadPeak - r.before, 1)})`,
    `${fmt(r.peak, 1)} (+${fmt(r.peak - r.before, 1)})`,
    fmt(r.after, 1),
    r.cpongBytes === Math.floor(FLOOD / 5) * 5 && r.bad === 0
      ? 'all'
      : `${r.cpongBytes} (${r.bad} bad)`,
  ]);
console.log(
  `\n${FLOOD / MIB} MiB of CPINGs on one connection, CPONGs first not read, then read:\n`,
);
table(
  [
    'server',
    'RSS before (MiB)',
    'peak while not read',
    'peak incl. reading',
    'after reading',
    'CPONGs received',
  ],
  rows,
);
save('cping-flood', { floodBytes: FLOOD, results });
