import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { hostPort, resolveHttpBackends, type HttpBackend } from './backends.js';
import { PeerError } from './errors.js';
import { needBinary } from './missing.js';
import { discardRunDir, makeRunDir } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { freePort } from './ports.js';
import { checkPort } from './validate.js';

/** Debian's HAProxy binary. */
export const HAPROXY_BIN = '/usr/sbin/haproxy';

/** Options of {@link startHaproxy}. */
export interface HaproxyOptions {
  /** HTTP servers to balance over. */
  backends: HttpBackend[];
  /** Listening port (default: a free port). */
  port?: number;
  /** `balance` algorithm (default `roundrobin`). */
  balance?: 'roundrobin' | 'leastconn' | 'source' | 'first';
  /** Health checks every 500 ms, down after 1 failure, up after 1 success (default true; P19). */
  healthCheck?: boolean;
  /**
   * Lines appended to the generated config: they land at the end of the `backend be` section
   * (e.g. `  http-reuse always`) unless they open a section of their own.
   */
  extraConfig?: string;
  /** Ready timeout (default 10 s). */
  readyTimeoutMs?: number;
  /** Stop timeout before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

/** A running HAProxy. */
export interface HaproxyHandle extends PeerHandle {
  /** Listening port. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
}

/** The haproxy.cfg of toolchain.md §3c, with `retries 2` + `option redispatch` (P19). */
export function haproxyConfig(port: number, opts: HaproxyOptions): string {
  const backends = resolveHttpBackends(opts.backends, 'haproxy');
  const check = (opts.healthCheck ?? true) ? ' check inter 500ms fall 1 rise 1' : '';
  return `# written by @cohort/peers
global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance ${opts.balance ?? 'roundrobin'}
${backends.map((b) => `  server ${b.name} ${hostPort(b)}${check}`).join('\n')}
${opts.extraConfig ?? ''}
`;
}

/** Starts HAProxy (foreground, no master-worker) on 127.0.0.1 in front of the given HTTP servers. */
export async function startHaproxy(opts: HaproxyOptions): Promise<HaproxyHandle> {
  return retryPortClash(opts.port === undefined, () => startHaproxyOnce(opts));
}

async function startHaproxyOnce(opts: HaproxyOptions): Promise<HaproxyHandle> {
  const peer = 'haproxy';
  needBinary(HAPROXY_BIN, 'haproxy', peer);
  const port = opts.port ?? (await freePort());
  checkPort(port, 'port', peer);
  const config = haproxyConfig(port, opts);
  const dir = makeRunDir('haproxy', String(port));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const check = spawnSync(HAPROXY_BIN, ['-c', '-q', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) {
    discardRunDir(dir);
    throw new PeerError(
      'BAD_OPTION',
      peer,
      `haproxy -c rejected ${file}: ${(check.stderr || check.stdout).trim()}`,
    );
  }
  const handle = await launch({
    kind: 'haproxy',
    label: String(port),
    dir,
    command: HAPROXY_BIN,
    args: ['-f', file, '-db'],
    logFile: join(dir, 'haproxy.log'),
    ports: [port],
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
  return extendHandle(handle, { port, url: `http://127.0.0.1:${port}` });
}
