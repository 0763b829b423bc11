#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { parseAjpBackend, parseHttpBackend, parsePort } from './cli-args.js';
import { PeerError } from './errors.js';
import { startHaproxy } from './haproxy.js';
import { ajpBackends, startHttpd } from './httpd.js';
import { startMemcached } from './memcached.js';
import { startNginx } from './nginx.js';
import { PEER_PACKAGES, installedVersion } from './packages.js';
import { packageRoot } from './paths.js';
import { isRunning } from './pids.js';
import type { PeerHandle } from './peer-process.js';
import { startPen } from './pen.js';
import { startRedis } from './redis.js';
import { killLeftovers, stopAll } from './registry.js';
import { startTomcats, TOMCAT_BENCH_JAVA_OPTS } from './tomcat.js';

const USAGE = `cohort-peers: install, start and stop the real peers cohort tests against.

  cohort-peers install [--check]      install the Debian packages (as root); --check lists missing ones
  cohort-peers versions               installed versions of the peer packages
  cohort-peers start <peer> [opts]    start peers in the foreground until Ctrl-C, then stop them
  cohort-peers stop-all               stop every peer recorded under .run/peers (any owner)

start:
  tomcat   --route R [--route R2 ...] [--cluster] [--async] [--secret S] [--with-httpd jk|proxy_ajp]
           [--bench]  (full JIT for benchmarks instead of the fast-starting test JVM options)
  httpd    --mode jk|proxy_ajp --backend HOST:PORT:ROUTE[:SECRET] ... [--port N] [--no-balancer]
  haproxy  --backend HOST:PORT ... [--port N]
  nginx    [--backend HOST:PORT ...] [--static DIR] [--port N] [--static-port N]
  pen      --backend HOST:PORT ... [--port N]
  redis    [--port N]
  memcached [--port N]

Everything binds 127.0.0.1. Ports default to free ones; the chosen ports are printed.`;

function fail(message: string): never {
  console.error(`cohort-peers: ${message}`);
  process.exit(2);
}

/** What `start` prints for each peer: everything but secrets. */
function describePeer(h: PeerHandle): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (typeof v === 'function' || k === 'ajpSecret') continue;
    out[k] = v;
  }
  if ('ajpSecret' in h) out['ajpSecretIn'] = join(h.dir, 'conf', 'server.xml');
  return out;
}

function startArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        route: { type: 'string', multiple: true },
        cluster: { type: 'boolean' },
        async: { type: 'boolean' },
        secret: { type: 'string' },
        'with-httpd': { type: 'string' },
        bench: { type: 'boolean' },
        mode: { type: 'string' },
        backend: { type: 'string', multiple: true },
        port: { type: 'string' },
        'no-balancer': { type: 'boolean' },
        static: { type: 'string' },
        'static-port': { type: 'string' },
      },
    });
  } catch (e) {
    // Unknown or malformed options: a usage error, not a crash.
    fail(e instanceof Error ? e.message : String(e));
  }
}

async function start(kind: string | undefined, args: string[]): Promise<void> {
  const { values: v } = startArgs(args);
  const started: PeerHandle[] = [];
  const p = parsePort(v.port, '--port');
  switch (kind) {
    case 'tomcat': {
      if (!v.route?.length) fail('start tomcat needs --route (repeat it for more instances)');
      const tcs = await startTomcats(v.route, {
        ajpSecret: v.secret,
        javaOpts: v.bench ? [...TOMCAT_BENCH_JAVA_OPTS] : undefined,
        cluster: v.cluster ? { sync: !v.async } : false,
      });
      started.push(...tcs);
      const mode = v['with-httpd'];
      if (mode !== undefined) {
        if (mode !== 'jk' && mode !== 'proxy_ajp') fail("--with-httpd must be 'jk' or 'proxy_ajp'");
        started.push(await startHttpd({ backends: ajpBackends(tcs), mode, port: p }));
      }
      break;
    }
    case 'httpd': {
      if (v.mode !== 'jk' && v.mode !== 'proxy_ajp')
        fail('start httpd needs --mode jk or --mode proxy_ajp');
      if (!v.backend?.length) fail('start httpd needs --backend HOST:PORT:ROUTE[:SECRET]');
      started.push(
        await startHttpd({
          mode: v.mode,
          backends: v.backend.map(parseAjpBackend),
          port: p,
          balancer: v['no-balancer'] ? false : undefined,
        }),
      );
      break;
    }
    case 'haproxy':
    case 'pen': {
      if (!v.backend?.length) fail(`start ${kind} needs --backend HOST:PORT`);
      const backends = v.backend.map(parseHttpBackend);
      started.push(
        kind === 'haproxy'
          ? await startHaproxy({ backends, port: p })
          : await startPen({ backends, port: p }),
      );
      break;
    }
    case 'nginx':
      started.push(
        await startNginx({
          backends: v.backend?.map(parseHttpBackend),
          port: p,
          staticDir: v.static,
          staticPort: parsePort(v['static-port'], '--static-port'),
        }),
      );
      break;
    case 'redis':
      started.push(await startRedis({ port: p }));
      break;
    case 'memcached':
      started.push(await startMemcached({ port: p }));
      break;
    default:
      fail(`unknown peer '${kind ?? ''}'\n\n${USAGE}`);
  }
  for (const h of started) console.log(JSON.stringify(describePeer(h)));
  console.log('running; Ctrl-C stops everything');
  // The registry's SIGINT/SIGTERM handlers stop the peers and exit. If a peer dies (or
  // `stop-all` stopped it), stop the others and exit too.
  const watch = setInterval(() => {
    const dead = started.find((h) => !isRunning(h.pid));
    if (dead === undefined) return;
    clearInterval(watch);
    console.error(`cohort-peers: ${dead.kind} (pid ${dead.pid}) is gone; stopping the rest`);
    void stopAll().finally(() => process.exit(1));
  }, 500);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'install': {
      const args = rest.includes('--check') ? ['--check'] : [];
      const r = spawnSync('bash', [join(packageRoot, 'install.sh'), ...args], { stdio: 'inherit' });
      process.exit(r.status ?? 1);
      break;
    }
    case 'versions':
      for (const pkg of PEER_PACKAGES)
        console.log(`${pkg.padEnd(20)} ${installedVersion(pkg) ?? 'not installed'}`);
      break;
    case 'start':
      await start(rest[0], rest.slice(1));
      break;
    case 'stop-all': {
      const n = await killLeftovers({ all: true });
      await stopAll();
      console.log(`stopped ${n} peer(s)`);
      break;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      break;
    default:
      fail(`unknown command '${command}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof PeerError) console.error(`cohort-peers: ${e.message}`);
  else console.error(e);
  const usage = e instanceof PeerError && e.code === 'BAD_OPTION' && e.peer === 'cohort-peers';
  void stopAll().finally(() => process.exit(usage ? 2 : 1));
});
