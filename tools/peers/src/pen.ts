import { join } from 'node:path';

import { hostPort, resolveHttpBackends, type HttpBackend } from './backends.js';
import { needBinary } from './missing.js';
import { makeRunDir } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { freePort } from './ports.js';
import { checkPort } from './validate.js';

/** Debian's Pen binary. */
export const PEN_BIN = '/usr/bin/pen';

/** Options of {@link startPen}. */
export interface PenOptions {
  /** TCP/HTTP servers to balance over. */
  backends: HttpBackend[];
  /** Listening port (default: a free port). */
  port?: number;
  /**
   * Round robin (`-r`, default true). Pen's own default sticks each client IP to one server,
   * which sends every loopback client to the same backend (pitfall P20).
   */
  roundRobin?: boolean;
  /** Ready timeout (default 10 s). */
  readyTimeoutMs?: number;
  /** Stop timeout before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

/** A running Pen. */
export interface PenHandle extends PeerHandle {
  /** Listening port. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
}

/** Starts Pen in the foreground (`-f`) on 127.0.0.1 in front of the given servers. */
export async function startPen(opts: PenOptions): Promise<PenHandle> {
  return retryPortClash(opts.port === undefined, () => startPenOnce(opts));
}

async function startPenOnce(opts: PenOptions): Promise<PenHandle> {
  const peer = 'pen';
  needBinary(PEN_BIN, 'pen', peer);
  const backends = resolveHttpBackends(opts.backends, peer);
  const port = opts.port ?? (await freePort());
  checkPort(port, 'port', peer);
  const dir = makeRunDir('pen', String(port));
  const args = [
    '-f',
    ...((opts.roundRobin ?? true) ? ['-r'] : []),
    `127.0.0.1:${port}`,
    ...backends.map(hostPort),
  ];
  const handle = await launch({
    kind: 'pen',
    label: String(port),
    dir,
    command: PEN_BIN,
    args,
    logFile: join(dir, 'pen.log'),
    ports: [port],
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
  return extendHandle(handle, { port, url: `http://127.0.0.1:${port}` });
}
