import { join } from 'node:path';

import { needBinary } from './missing.js';
import { makeRunDir } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { freePort } from './ports.js';
import { tcpExchange } from './tcp.js';
import { checkPort } from './validate.js';

/** Debian's redis-server binary. */
export const REDIS_BIN = '/usr/bin/redis-server';

/** Options of {@link startRedis}. */
export interface RedisOptions {
  /** Port (default: a free port). */
  port?: number;
  /** `maxmemory` in MB (default: none). */
  maxMemoryMb?: number;
  /** Extra `--name value` arguments for redis-server. */
  args?: string[];
  /** Ready timeout (default 10 s). */
  readyTimeoutMs?: number;
  /** Stop timeout before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

/** A running Redis. */
export interface RedisHandle extends PeerHandle {
  /** Port on 127.0.0.1. */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
}

/** Sends PING in the inline protocol; resolves true on `+PONG`. */
export async function redisPing(port: number): Promise<boolean> {
  try {
    return (await tcpExchange(port, 'PING\r\n', (s) => s.includes('\r\n'), 1000)) === '+PONG\r\n';
  } catch {
    return false;
  }
}

/**
 * Starts redis-server in the foreground on 127.0.0.1, protected mode on, persistence off
 * (`save ""`, no AOF), working directory and log inside the run directory.
 */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  return retryPortClash(opts.port === undefined, () => startRedisOnce(opts));
}

async function startRedisOnce(opts: RedisOptions): Promise<RedisHandle> {
  const peer = 'redis';
  needBinary(REDIS_BIN, 'redis-server', peer);
  const port = opts.port ?? (await freePort());
  checkPort(port, 'port', peer);
  const dir = makeRunDir('redis', String(port));
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    ...(opts.maxMemoryMb !== undefined ? ['--maxmemory', `${opts.maxMemoryMb}mb`] : []),
    ...(opts.args ?? []),
  ];
  const handle = await launch({
    kind: 'redis',
    label: String(port),
    dir,
    command: REDIS_BIN,
    args,
    logFile: join(dir, 'redis.log'),
    ports: [port],
    ready: () => redisPing(port),
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
  return extendHandle(handle, { port, url: `redis://127.0.0.1:${port}` });
}
