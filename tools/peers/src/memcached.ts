import { join } from 'node:path';

import { PeerError } from './errors.js';
import { needBinary } from './missing.js';
import { makeRunDir } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { freePort } from './ports.js';
import { tcpExchange } from './tcp.js';
import { checkPort } from './validate.js';

/** Debian's memcached binary. */
export const MEMCACHED_BIN = '/usr/bin/memcached';

/** Options of {@link startMemcached}. */
export interface MemcachedOptions {
  /** TCP port (default: a free port). UDP is off. */
  port?: number;
  /** Cache size in MB (default 64). */
  memoryMb?: number;
  /** Worker threads (default 2). */
  threads?: number;
  /** Ready timeout (default 10 s). */
  readyTimeoutMs?: number;
  /** Stop timeout before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

/** A running memcached. */
export interface MemcachedHandle extends PeerHandle {
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`, the form memcached clients take. */
  readonly address: string;
}

/** Sends `version`; resolves true on a `VERSION …` answer. */
export async function memcachedVersion(port: number): Promise<boolean> {
  try {
    return (await tcpExchange(port, 'version\r\n', (s) => s.includes('\r\n'), 1000)).startsWith(
      'VERSION ',
    );
  } catch {
    return false;
  }
}

/**
 * Starts memcached in the foreground on 127.0.0.1 (TCP only). As root it runs as the
 * `memcache` user (`-u memcache`, pitfall P17); the PID is the spawned process, no PID file.
 */
export async function startMemcached(opts: MemcachedOptions = {}): Promise<MemcachedHandle> {
  return retryPortClash(opts.port === undefined, () => startMemcachedOnce(opts));
}

async function startMemcachedOnce(opts: MemcachedOptions): Promise<MemcachedHandle> {
  const peer = 'memcached';
  needBinary(MEMCACHED_BIN, 'memcached', peer);
  const memoryMb = opts.memoryMb ?? 64;
  const threads = opts.threads ?? 2;
  if (!Number.isInteger(memoryMb) || memoryMb < 1) {
    throw new PeerError('BAD_OPTION', peer, `memoryMb ${memoryMb} must be a positive integer`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new PeerError('BAD_OPTION', peer, `threads ${threads} must be an integer 1..64`);
  }
  const port = opts.port ?? (await freePort());
  checkPort(port, 'port', peer);
  const dir = makeRunDir('memcached', String(port));
  const asRoot = process.getuid?.() === 0;
  const args = [
    ...(asRoot ? ['-u', 'memcache'] : []),
    '-l',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    '0',
    '-m',
    String(memoryMb),
    '-t',
    String(threads),
  ];
  const handle = await launch({
    kind: 'memcached',
    label: String(port),
    dir,
    command: MEMCACHED_BIN,
    args,
    logFile: join(dir, 'memcached.log'),
    ports: [port],
    ready: () => memcachedVersion(port),
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
  return extendHandle(handle, { port, address: `127.0.0.1:${port}` });
}
