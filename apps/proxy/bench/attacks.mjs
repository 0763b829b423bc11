/* global setTimeout, clearTimeout, setInterval, clearInterval */
// The attacks of issue #11 items 1–3, side by side: cohort-proxy, HAProxy 2.6 and nginx 1.22 in
// front of the SAME backend (a raw `net` HTTP/1.1 server run by this script in a child process),
// each attack run while 8 other clients GET /ok in a keep-alive loop (2 s timeout each, in a
// child process of their own so the attack's work in this process does not delay them). Per
// attack: the other clients' success rate and p99 latency, what the attacker saw, whether the
// proxy is still alive (and answering) afterwards, and the proxy's RSS (VmRSS summed over its
// process tree) before and at the peak of the attack.
//
//   npx tsc -b apps/proxy && node apps/proxy/bench/attacks.mjs
//   options (env): ATTACK_ONLY=<comma-separated name prefixes of the proxies to run>
//                  ATTACKS=<comma-separated attack ids: 0,1a,1b,2,3,4>
//   writes apps/proxy/bench-results/attacks.json (git-ignored)
//
// Attacks: 0 baseline (no attack, 3 s); 1a/1b reset storm (200 connections sending a POST head
// with Content-Length: 1000000, or chunked, 1000 body bytes, then a reset, reconnecting, 5 s);
// 2 attacker URL (/bad, an answer with a NUL in a header value, every 200 ms for 10 s);
// 3 bodiless heads (150 clients send a head with Content-Length: 1000000 and no body, held 10 s);
// 4 slow readers (130 clients GET /big, 50 MiB, and never read, held 15 s).
import { execFileSync, fork, spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const pkg = join(dirname(self), '..');
const OTHERS = 8;
const OTHER_TIMEOUT_MS = 2000;
const BIG_BYTES = 50 * 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- backend (child process)

/** The shared backend: /ok, /big, /bad; any request body is read and dropped first. */
function backend() {
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const OK = Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n',
  );
  const BAD = Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Bad: a\0b\r\nContent-Length: 3\r\n\r\nbad',
  );
  const stats = { requests: 0, bigStarted: 0, bigBytes: 0, connections: 0, open: 0, bigOpen: 0 };
  const server = net.createServer((sock) => {
    stats.connections++;
    stats.open++;
    let inBig = false;
    sock.on('close', () => {
      stats.open--;
      if (inBig) stats.bigOpen--;
    });
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let state = 'head'; // head | cl | chunk-size | chunk-data | trailer | busy
    let left = 0;
    let path = '/';
    const respond = () => {
      stats.requests++;
      state = 'head';
      if (path === '/bad') {
        sock.end(BAD);
        state = 'busy';
        return;
      }
      if (path !== '/big') {
        sock.write(OK);
        return;
      }
      stats.bigStarted++;
      stats.bigOpen++;
      inBig = true;
      state = 'busy';
      sock.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${BIG_BYTES}\r\n\r\n`,
      );
      let sent = 0;
      const more = () => {
        while (sent < BIG_BYTES && !sock.destroyed) {
          sent += chunk.length;
          stats.bigBytes += chunk.length;
          if (!sock.write(chunk)) return void sock.once('drain', more);
        }
        if (sock.destroyed) return;
        stats.bigOpen--;
        inBig = false;
        state = 'head';
        pump();
      };
      more();
    };
    const pump = () => {
      for (;;) {
        if (state === 'busy') return;
        if (state === 'head') {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) {
            if (buf.length > 65536) sock.destroy();
            return;
          }
          const head = buf.subarray(0, end).toString('latin1');
          buf = buf.subarray(end + 4);
          const lines = head.split('\r\n');
          path = (lines[0].split(' ')[1] ?? '/').split('?')[0];
          const field = (name) => {
            const l = lines.find((x) => x.toLowerCase().startsWith(`${name}:`));
            return l
              ?.slice(name.length + 1)
              .trim()
              .toLowerCase();
          };
          if (field('transfer-encoding') === 'chunked') state = 'chunk-size';
          else {
            left = Number(field('content-length') ?? 0);
            state = 'cl';
          }
        } else if (state === 'cl') {
          const n = Math.min(left, buf.length);
          left -= n;
          buf = buf.subarray(n);
          if (left > 0) return;
          respond();
        } else if (state === 'chunk-size') {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) return;
          const size = parseInt(buf.subarray(0, eol).toString('latin1'), 16);
          buf = buf.subarray(eol + 2);
          if (!(size >= 0)) return void sock.destroy();
          if (size === 0) state = 'trailer';
          else {
            left = size + 2;
            state = 'chunk-data';
          }
        } else if (state === 'chunk-data') {
          const n = Math.min(left, buf.length);
          left -= n;
          buf = buf.subarray(n);
          if (left > 0) return;
          state = 'chunk-size';
        } else if (state === 'trailer') {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) return;
          buf = buf.subarray(eol + 2);
          if (eol === 0) respond();
        }
      }
    };
    sock.on('data', (d) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'stats') process.send({ stats: { ...stats } });
    if (m === 'stop') server.close(() => process.exit(0));
  });
}

// ---------------------------------------------------------- other clients (child process)

/** 8 keep-alive clients doing GET /ok in a loop for `ms`, each request with a 2 s timeout. */
async function others(url, ms) {
  const deadline = performance.now() + ms;
  const lat = [];
  const okLat = [];
  const fails = {};
  let ok = 0;
  const fail = (why, t0) => {
    fails[why] = (fails[why] ?? 0) + 1;
    lat.push(performance.now() - t0);
  };
  const one = (agent) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      let done = false;
      const finish = (why) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (why === undefined) {
          ok++;
          const d = performance.now() - t0;
          lat.push(d);
          okLat.push(d);
          resolve(true);
        } else {
          fail(why, t0);
          resolve(false);
        }
      };
      const req = http.get(`${url}/ok`, { agent }, (res) => {
        const status = res.statusCode;
        res.resume();
        res.on('end', () => finish(status === 200 ? undefined : `status ${status}`));
        res.on('error', () => finish('aborted'));
      });
      req.on('error', (e) => finish(e.message === 'timeout' ? 'timeout' : (e.code ?? 'error')));
      const timer = setTimeout(() => req.destroy(new Error('timeout')), OTHER_TIMEOUT_MS);
    });
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (performance.now() < deadline) {
      // a refused or reset connection: a short pause, not a busy loop
      if (!(await one(agent))) await sleep(50);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: OTHERS }, client));
  const q = (a, p) => {
    if (a.length === 0) return null;
    const s = [...a].sort((x, y) => x - y);
    return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 100) / 100;
  };
  const total = lat.length;
  return {
    total,
    ok,
    okPct: total ? Math.round((1000 * ok) / total) / 10 : 0,
    p50: q(lat, 0.5),
    p99: q(lat, 0.99),
    p99ok: q(okLat, 0.99),
    fails,
  };
}

// ------------------------------------------------------------------------ measurements

/** Every process id of a tree (the root and its descendants). */
function treePids(root) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  return [...parent.keys()].filter((pid) => {
    let p = pid;
    while (p > 1 && p !== root) p = parent.get(p) ?? 0;
    return p === root;
  });
}

/** VmRSS (KiB) summed over a process tree. */
function treeRssKib(root) {
  let kib = 0;
  for (const pid of treePids(root)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kib;
}

/** Bytes in files a process tree holds open under `dir` (nginx's proxy temp files: unlinked). */
function treeTempBytes(root, dir) {
  let bytes = 0;
  for (const pid of treePids(root)) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (!readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir)) continue;
        bytes += statSync(`/proc/${pid}/fd/${fd}`).size;
      } catch {
        // closed meanwhile
      }
    }
  }
  return bytes;
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** One GET /ok with a timeout: the status, or the error. */
function getOk(port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ok', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve('aborted'));
    });
    req.on('error', (e) => resolve(e.code ?? e.message));
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
  });
}

async function answersWithin(port, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await getOk(port, 1000)) === 200) return true;
    await sleep(100);
  }
  return false;
}

const histogram = (counts) =>
  Object.entries(counts)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ') || '—';

// ---------------------------------------------------------------------------- attacks

/** 1a/1b: connections that send a POST head and 1000 body bytes, then reset; reconnecting. */
function resetStorm(port, chunked, conns = 200) {
  const head =
    `POST / HTTP/1.1\r\nHost: x\r\n` +
    (chunked ? 'Transfer-Encoding: chunked\r\n\r\n3e8\r\n' : 'Content-Length: 1000000\r\n\r\n');
  const payload = Buffer.concat([Buffer.from(head), Buffer.alloc(1000, 0x62)]);
  const stats = { connections: 0, resets: 0, answered: 0, errors: {} };
  const live = new Set();
  let stopped = false;
  const one = () => {
    if (stopped) return;
    const s = net.connect(port, '127.0.0.1');
    live.add(s);
    stats.connections++;
    let failed = false;
    s.on('error', (e) => {
      failed = true;
      stats.errors[e.code ?? 'error'] = (stats.errors[e.code ?? 'error'] ?? 0) + 1;
    });
    s.on('data', () => void stats.answered++);
    s.on('connect', () => {
      s.write(payload);
      // long enough for the proxy to read the head and start the member request
      setTimeout(
        () => {
          if (s.destroyed) return;
          stats.resets++;
          s.resetAndDestroy();
        },
        5 + Math.random() * 20,
      );
    });
    s.on('close', () => {
      live.delete(s);
      if (!stopped) setTimeout(one, failed ? 50 : 0);
    });
  };
  for (let i = 0; i < conns; i++) one();
  return {
    stop: async () => {
      stopped = true;
      for (const s of live) s.destroy();
      return {
        summary: `${stats.connections} conns, ${stats.resets} resets; answered before reset: ${stats.answered}; errors: ${histogram(stats.errors)}`,
        ...stats,
      };
    },
  };
}

/**
 * 2: GET /bad every 200 ms on a raw socket (a new connection each time, 2 s timeout): the status
 * line the proxy answered, and whether the NUL of the member's header reached the client.
 */
function attackerUrl(port, everyMs = 200) {
  const statuses = {};
  const pending = new Set();
  const count = (k) => void (statuses[k] = (statuses[k] ?? 0) + 1);
  const timer = setInterval(() => {
    const p = new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () =>
        s.write('GET /bad HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      let got = Buffer.alloc(0);
      let why;
      const t = setTimeout(() => {
        why = 'timeout';
        s.destroy();
      }, 2000);
      s.on('data', (d) => (got = Buffer.concat([got, d])));
      s.on('error', (e) => (why = e.code ?? 'error'));
      s.on('close', () => {
        clearTimeout(t);
        const end = got.indexOf('\r\n\r\n');
        const status = /^HTTP\/1\.\d (\d{3})/.exec(got.toString('latin1', 0, 16))?.[1];
        if (status) count(`${status}${got.subarray(0, end).includes(0) ? ' with the NUL' : ''}`);
        else count(why ?? (got.length ? 'junk' : 'closed without answer'));
        resolve();
      });
    });
    pending.add(p);
    void p.then(() => pending.delete(p));
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
      return { summary: histogram(statuses), statuses };
    },
  };
}

/** Opens `n` connections that each send `request` and then hold; records what comes back. */
function holders(port, n, request, { read }) {
  const stats = { connected: 0, answered: {}, closedByProxy: 0, errors: {} };
  const socks = [];
  let stopping = false;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    socks.push(s);
    let first = true;
    s.on('error', (e) => {
      stats.errors[e.code ?? 'error'] = (stats.errors[e.code ?? 'error'] ?? 0) + 1;
    });
    s.on('connect', () => {
      stats.connected++;
      s.write(request);
      if (!read) s.pause();
    });
    if (read) {
      s.on('data', (d) => {
        if (!first) return;
        first = false;
        const status = /^HTTP\/1\.\d (\d{3})/.exec(d.toString('latin1', 0, 16))?.[1] ?? 'junk';
        stats.answered[status] = (stats.answered[status] ?? 0) + 1;
      });
    }
    s.on('close', () => {
      if (!stopping) stats.closedByProxy++;
    });
  }
  return {
    stop: async () => {
      stopping = true;
      for (const s of socks) s.destroy();
      return {
        summary:
          `${stats.connected}/${n} connected` +
          (read ? `; answered: ${histogram(stats.answered)}` : '') +
          `; closed by the proxy: ${stats.closedByProxy}` +
          (Object.keys(stats.errors).length ? `; errors: ${histogram(stats.errors)}` : ''),
        ...stats,
      };
    },
  };
}

const ATTACKS = [
  {
    id: '0',
    name: 'none (baseline)',
    seconds: 3,
    start: () => ({ stop: async () => ({ summary: '—' }) }),
  },
  {
    id: '1a',
    name: 'reset storm, Content-Length',
    seconds: 5,
    start: (port) => resetStorm(port, false),
  },
  { id: '1b', name: 'reset storm, chunked', seconds: 5, start: (port) => resetStorm(port, true) },
  {
    id: '2',
    name: 'attacker URL /bad every 200 ms',
    seconds: 10,
    start: (port) => attackerUrl(port),
  },
  {
    id: '3',
    name: '150 bodiless heads (CL 1000000)',
    seconds: 10,
    start: (port) =>
      holders(port, 150, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n', {
        read: true,
      }),
  },
  {
    id: '4',
    name: '130 slow readers of /big (50 MiB)',
    seconds: 15,
    start: (port) => holders(port, 130, 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n', { read: false }),
  },
];

// ---------------------------------------------------------------------------- proxies

async function cohort(backendPort, extra, label) {
  const { freePort } = await import('@cohort/peers');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cohort-attacks-'));
  const file = join(dir, 'proxy.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}\nlog: { access: false }\n${extra}` +
      `balancers:\n  - name: attacks\n    members:\n      - url: http://127.0.0.1:${backendPort}\n` +
      `        route: b1\n`,
  );
  const logFile = join(dir, 'proxy.log');
  const start = async () => {
    const out = openSync(logFile, 'a');
    const c = spawn(process.execPath, [join(pkg, 'dist', 'cli.js'), '--config', file], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    c.on('exit', (code, signal) => {
      handle.exit = `exited (${signal ?? `code ${code}`})`;
    });
    handle.child = c;
    handle.pid = c.pid;
    handle.exit = undefined;
    if (!(await answersWithin(port, 10_000)))
      throw new Error(`${label} did not start; see ${logFile}`);
  };
  const handle = {
    port,
    logFile,
    config: readFileSync(file, 'utf8'),
    restart: start,
    stop: () =>
      new Promise((r) => {
        const c = handle.child;
        if (c.exitCode !== null || c.signalCode !== null) return r();
        c.once('exit', r);
        c.kill('SIGKILL');
      }),
    /** pino lines by message, for the report (what the proxy said during the attacks). */
    logSummary: () => {
      const counts = {};
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        if (!line) continue;
        let msg;
        try {
          const j = JSON.parse(line);
          msg = `${j.msg}${j.code ? ` (${j.code})` : ''}${j.phase ? ` [${j.phase}]` : ''}`;
        } catch {
          msg = line.slice(0, 120);
        }
        counts[msg] = (counts[msg] ?? 0) + 1;
      }
      return counts;
    },
  };
  await start();
  return handle;
}

async function peer(h, extra = {}) {
  return {
    port: h.port,
    get pid() {
      return h.pid;
    },
    get exit() {
      return h.running ? undefined : 'exited';
    },
    restart: () => h.restart(),
    stop: () => h.stop(),
    config: readFileSync(join(h.dir, h.kind === 'nginx' ? 'nginx.conf' : 'haproxy.cfg'), 'utf8'),
    ...extra,
    dir: h.dir,
  };
}

const COHORT_TIMEOUTS =
  'cohort defaults: headers 10s, idle 5s, request 300s, connect 3s, response 60s, body 60s, queue 10s, send 60s; retryBodyCap 64k; member maxConnections 1024 (the default); log.access false';
const PROXIES = [
  {
    name: 'cohort-proxy (defaults)',
    timeouts: COHORT_TIMEOUTS,
    start: (bp, name) => cohort(bp, '', name),
  },
  {
    name: 'cohort-proxy (timeouts.send 5s)',
    timeouts: COHORT_TIMEOUTS.replace('send 60s', 'send **5s**'),
    // the send timeout acts on slow readers only
    attacks: ['4'],
    start: (bp, name) => cohort(bp, 'timeouts: { send: 5s }\n', name),
  },
  {
    name: 'HAProxy 2.6',
    timeouts:
      'tools/peers config: timeout connect 2s, client 30s, server 30s (http-request and http-keep-alive unset: timeout client applies); http-reuse always (as bench/run.mjs), no health checks, retries 2, option redispatch, maxconn 4096, no server maxconn',
    start: async (bp) => {
      const { startHaproxy } = await import('@cohort/peers');
      const h = await startHaproxy({
        backends: [{ port: bp }],
        healthCheck: false,
        extraConfig: '  http-reuse always\n',
      });
      return peer(h);
    },
  },
  {
    name: 'nginx 1.22',
    timeouts:
      'nginx defaults: client_header_timeout 60s, client_body_timeout 60s, send_timeout 60s, keepalive_timeout 75s, proxy_connect/read/send_timeout 60s, proxy_buffering on (temp files up to 1024m per response), proxy_request_buffering on, client_max_body_size 1m; 1 worker (1024 connections), upstream keepalive 64 (as bench/run.mjs)',
    start: async (bp) => {
      const { startNginx } = await import('@cohort/peers');
      const h = await startNginx({
        backends: [{ port: bp }],
        upstreamKeepalive: 64,
        workerProcesses: 1,
      });
      return peer(h, { tempDir: join(h.dir, 'tmp') });
    },
  },
];

// ------------------------------------------------------------------------------- main

function childProcess(role) {
  const c = fork(self, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  c.on('message', (m) => waiters.shift()?.(m));
  return {
    c,
    next: () => new Promise((r) => waiters.push(r)),
    ask(msg) {
      const p = this.next();
      c.send(msg);
      return p;
    },
  };
}

async function main() {
  const only = process.env.ATTACK_ONLY?.split(',');
  const attackIds = process.env.ATTACKS?.split(',');
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  const t0 = Date.now();
  const loadStart = load();
  // what dist/cli.js was built from: tsc -b apps/proxy compiles the working tree
  const git = (...a) => execFileSync('git', a, { cwd: pkg, encoding: 'utf8' }).trim();
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
  const head = git('rev-parse', '--short', 'HEAD');
  const built = statSync(join(pkg, 'dist', 'cli.js')).mtime.toISOString();
  process.stderr.write(`load average at start: ${loadStart}\n`);
  const be = childProcess('backend');
  const { port: backendPort } = await be.next();
  const oth = childProcess('others');
  const rows = [];
  const proxies = [];
  try {
    for (const p of PROXIES) {
      if (only && !only.some((o) => p.name.startsWith(o))) continue;
      const px = await p.start(backendPort, p.name);
      const info = { name: p.name, timeouts: p.timeouts, config: px.config };
      proxies.push(info);
      try {
        for (const a of ATTACKS) {
          if (attackIds && !attackIds.includes(a.id)) continue;
          if (p.attacks && !p.attacks.includes(a.id) && a.id !== '0') continue;
          if (!(await answersWithin(px.port, 15_000))) {
            process.stderr.write(`${p.name}: not answering before attack ${a.id}\n`);
          }
          await sleep(500);
          const beforeStats = (await be.ask('stats')).stats;
          const rssBefore = treeRssKib(px.pid);
          let rssPeak = rssBefore;
          let tempPeak = 0;
          const sampler = setInterval(() => {
            rssPeak = Math.max(rssPeak, treeRssKib(px.pid));
            if (px.tempDir) tempPeak = Math.max(tempPeak, treeTempBytes(px.pid, px.tempDir));
          }, 200);
          const loadAt = load();
          const attack = a.start(px.port);
          const o = await oth.ask({ url: `http://127.0.0.1:${px.port}`, ms: a.seconds * 1000 });
          rssPeak = Math.max(rssPeak, treeRssKib(px.pid));
          const atEnd = (await be.ask('stats')).stats;
          const attacker = await attack.stop();
          clearInterval(sampler);
          const afterStats = (await be.ask('stats')).stats;
          const pidAlive = alive(px.pid) && px.exit === undefined;
          const answering = pidAlive && (await answersWithin(px.port, 5_000));
          const aliveText = pidAlive
            ? answering
              ? 'yes'
              : 'alive, not answering /ok within 5 s'
            : `**no** (${px.exit ?? 'gone'})`;
          const row = {
            proxy: p.name,
            attack: a.id,
            attackName: a.name,
            seconds: a.seconds,
            others: o,
            attacker: attacker.summary,
            attackerDetail: attacker,
            alive: aliveText,
            rssBeforeMiB: Math.round(rssBefore / 102.4) / 10,
            rssPeakMiB: Math.round(rssPeak / 102.4) / 10,
            backend: {
              requests: afterStats.requests - beforeStats.requests,
              connections: afterStats.connections - beforeStats.connections,
              bigStarted: afterStats.bigStarted - beforeStats.bigStarted,
              bigMiBWritten: Math.round((afterStats.bigBytes - beforeStats.bigBytes) / 1048576),
              openAtEnd: atEnd.open,
              bigOpenAtEnd: atEnd.bigOpen,
            },
            ...(px.tempDir ? { tempFilesPeakMiB: Math.round(tempPeak / 1048576) } : {}),
            loadAverage: loadAt,
          };
          rows.push(row);
          process.stderr.write(
            `${p.name} | ${a.id} ${a.name}: others ${o.okPct}% of ${o.total}, p99 ${o.p99} ms` +
              ` (${histogram(o.fails)}); attacker: ${attacker.summary}; alive: ${aliveText};` +
              ` RSS ${row.rssBeforeMiB} → ${row.rssPeakMiB} MiB; backend: ${JSON.stringify(row.backend)}` +
              `${px.tempDir ? `; temp files peak ${row.tempFilesPeakMiB} MiB` : ''}; load ${loadAt}\n`,
          );
          if (!pidAlive || !answering) {
            process.stderr.write(`${p.name}: restarting it for the next attack\n`);
            await px.stop();
            await px.restart();
          }
        }
        if (px.logSummary) info.log = px.logSummary();
      } finally {
        await px.stop();
      }
    }
  } finally {
    be.c.send('stop');
    oth.c.kill();
  }
  const loadEnd = load();
  const fmt = (v) => (v === null || v === undefined ? '—' : String(v));
  const lines = [
    '| proxy | attack | others OK % | others req/s | others p99 ms | attacker saw | member conns open at the end (/big in progress) | alive after | RSS before → peak MiB |',
    '|---|---|---:|---:|---:|---|---:|---|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.proxy} | ${r.attack} ${r.attackName} | ${r.others.okPct} | ${Math.round(r.others.total / r.seconds)} | ${fmt(r.others.p99)} | ${r.attacker} | ${r.backend.openAtEnd} (${r.backend.bigOpenAtEnd}) | ${r.alive} | ${r.rssBeforeMiB} → ${r.rssPeakMiB}${r.tempFilesPeakMiB ? ` (+${r.tempFilesPeakMiB} MiB temp files)` : ''} |`,
    );
  }
  const table = lines.join('\n');
  const seconds = Math.round((Date.now() - t0) / 1000);
  const notes = [
    `cohort-proxy: dist/cli.js of ${built} (HEAD ${head}${dirty ? ` and ${dirty} uncommitted change(s) under apps/proxy/src` : ''} when the run started).`,
    `${new Date().toISOString()}, Node ${process.version}, ${seconds} s; load average (1/5/15 min) at start ${loadStart}, at end ${loadEnd} (2 cores shared with other engineers).`,
    `Other clients: ${OTHERS} keep-alive clients GET /ok in a loop, ${OTHER_TIMEOUT_MS / 1000} s timeout each (a failure is followed by a 50 ms pause); req/s: their completed or failed requests per second of the attack; p99 over all their requests (a failed one counts at the time it failed, a timeout at 2000 ms).`,
    'Member conns open at the end: connections the backend had open when the attack ended (the other clients hold up to 8; idle pooled ones count too).',
    ...proxies.map((p) => `${p.name}: ${p.timeouts}`),
  ];
  process.stdout.write(`\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  for (const p of proxies) {
    if (p.log) process.stdout.write(`\n${p.name} log lines: ${histogram(p.log)}\n`);
  }
  mkdirSync(join(pkg, 'bench-results'), { recursive: true });
  writeFileSync(
    join(pkg, 'bench-results', 'attacks.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        seconds,
        loadStart,
        loadEnd,
        proxies,
        rows,
        table,
        notes,
      },
      null,
      2,
    ),
  );
}

const role = process.argv[2];
if (role === 'backend') backend();
else if (role === 'others') {
  process.on('message', async (m) => process.send(await others(m.url, m.ms)));
} else if (process.argv[1] === self) {
  await main();
  process.exit(0);
}
