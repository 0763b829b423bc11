import { execFile } from 'node:child_process';

import { PeerError } from './errors.js';
import { needBinary } from './missing.js';
import { freePorts, sleep } from './ports.js';
import { startRedis, type RedisHandle } from './redis.js';
import { tcpExchange } from './tcp.js';

/** Debian's redis-cli binary (package redis-tools, a dependency of redis-server). */
export const REDIS_CLI_BIN = '/usr/bin/redis-cli';

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Master nodes (default 3, the fewest Redis Cluster accepts). */
  masters?: number;
  /** Replicas per master (default 0). */
  replicas?: number;
  /** `cluster-node-timeout` in ms (default 2000: failover tests stay short). */
  nodeTimeoutMs?: number;
  /** Time to wait for `cluster_state:ok` on every node (default 20 s). */
  readyTimeoutMs?: number;
}

/** A running Redis Cluster: its nodes (each a {@link RedisHandle}) and how to reach it. */
export interface RedisClusterHandle {
  readonly kind: 'redis-cluster';
  /** Every node, masters first. */
  readonly nodes: readonly RedisHandle[];
  /** `redis://127.0.0.1:<port>` of every node, for a cluster client's `rootNodes`. */
  readonly urls: readonly string[];
  /** Stops every node (in parallel); safe to call more than once. */
  stop(): Promise<void>;
}

/** `CLUSTER INFO` of one node as a map (empty when it does not answer). */
export async function redisClusterInfo(port: number): Promise<Record<string, string>> {
  return infoMap(port, 'CLUSTER INFO');
}

/** A bulk-string INFO-style answer (`key:value` lines) of one node as a map; empty on failure. */
async function infoMap(port: number, command: string): Promise<Record<string, string>> {
  try {
    const text = await tcpExchange(
      port,
      `${command}\r\n`,
      (s) => {
        const m = /^\$(\d+)\r\n/.exec(s);
        return m !== null && s.length >= m[0].length + Number(m[1]) + 2;
      },
      2000,
    );
    const out: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  } catch {
    return {};
  }
}

function run(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI_BIN, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${String(stdout)}${String(stderr)}`.slice(-2000) || err.message));
      else resolve(String(stdout));
    });
  });
}

/**
 * Starts a Redis Cluster on 127.0.0.1: `masters × (1 + replicas)` redis-server processes with
 * `cluster-enabled yes`, each with its own free client port and a free cluster-bus port
 * (`cluster-port`, so the bus never needs port + 10000), joined with `redis-cli --cluster create
 * … --cluster-yes`, and resolves once every node reports `cluster_state:ok` and knows every other
 * (and, with replicas, once every replica finished its first sync with its master).
 * A failure stops every node it started.
 */
export async function startRedisCluster(
  opts: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicas ?? 0;
  const peer = 'redis-cluster';
  if (!Number.isInteger(masters) || masters < 3) {
    throw new PeerError('BAD_OPTION', peer, 'masters must be an integer >= 3');
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new PeerError('BAD_OPTION', peer, 'replicas must be an integer >= 0');
  }
  needBinary(REDIS_CLI_BIN, 'redis-tools', peer);
  const count = masters * (1 + replicas);
  const nodes: RedisHandle[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  try {
    const busPorts = await freePorts(count);
    for (let i = 0; i < count; i++) {
      nodes.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPorts[i]),
            '--cluster-node-timeout',
            String(opts.nodeTimeoutMs ?? 2000),
          ],
        }),
      );
    }
    await run(
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      30_000,
    ).catch((err: unknown) => {
      throw new PeerError(
        'NOT_READY',
        peer,
        `redis-cli --cluster create failed: ${(err as Error).message}`,
      );
    });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => redisClusterInfo(n.port)));
      // With replicas, also wait until each has finished its first sync: a replica that never
      // synced cannot take over (its data is too old), so a failover test would find none.
      const repl =
        replicas > 0
          ? await Promise.all(nodes.map((n) => infoMap(n.port, 'INFO replication')))
          : [];
      const synced = repl.filter((r) => r.role === 'slave' && r.master_link_status === 'up');
      if (
        infos.every((i) => i.cluster_state === 'ok' && Number(i.cluster_known_nodes) === count) &&
        synced.length === masters * replicas
      ) {
        break;
      }
      if (Date.now() > deadline) {
        throw new PeerError(
          'NOT_READY',
          peer,
          `cluster not ok after ${opts.readyTimeoutMs ?? 20_000} ms`,
        );
      }
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind: 'redis-cluster',
    nodes,
    urls: nodes.map((n) => n.url),
    stop,
  };
}
