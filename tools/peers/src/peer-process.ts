import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';

import { PeerError } from './errors.js';
import { sleep } from './ports.js';
import { processStartTime, stopProcess } from './pids.js';
import { register, unregister } from './registry.js';

/** What every started peer returns, plus its own ports. */
export interface PeerHandle {
  /** Peer kind: `tomcat`, `httpd`, `haproxy`, `nginx`, `pen`, `redis`, `memcached`. */
  readonly kind: string;
  /** PID of the peer's main process (a process group leader). */
  readonly pid: number;
  /** The run directory holding its configuration and logs. */
  readonly dir: string;
  /** The log file that receives its stdout and stderr. */
  readonly logFile: string;
  /** The address it listens on: always 127.0.0.1. */
  readonly host: '127.0.0.1';
  /**
   * Stops it: the graceful signal, then SIGKILL after the timeout; resolves once the process is
   * gone. Removes the run directory unless COHORT_PEERS_KEEP=1. Safe to call more than once.
   */
  stop(): Promise<void>;
}

/** How to launch one peer process and tell when it is ready. */
export interface LaunchSpec {
  kind: string;
  label: string;
  dir: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  logFile: string;
  /** Polled every 50 ms until it resolves true. */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  stopTimeoutMs: number;
  stopSignal?: NodeJS.Signals;
}

/** The last `lines` lines of a text file, or '' if it cannot be read. */
export function tailFile(file: string, lines = 30): string {
  try {
    if (!existsSync(file)) return '';
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

/**
 * Spawns a peer in the foreground as the leader of its own process group (so a Ctrl-C in the
 * terminal reaches only the test runner, whose handlers stop the peer), with stdout and stderr
 * appended to `logFile`, records it for cleanup, and waits until `ready()` says yes. If the
 * process exits first or is not ready in time it is stopped and a {@link PeerError} carries the
 * log tail.
 */
export async function launch(spec: LaunchSpec): Promise<PeerHandle> {
  const name = `${spec.kind} ${spec.label}`;
  const stopSignal = spec.stopSignal ?? 'SIGTERM';
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const fd = openSync(spec.logFile, 'a');
  let child;
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.dir,
      env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e) => resolve(e));
  });
  if (spawnError !== undefined || child.pid === undefined) {
    throw new PeerError('SPAWN_FAILED', name, `cannot run ${spec.command}: ${spawnError?.message}`);
  }
  child.unref();
  const pid = child.pid;
  let exited: string | undefined;
  child.once('exit', (code, sig) => {
    exited = sig ? `signal ${sig}` : `exit code ${code}`;
  });
  const startTime = processStartTime(pid);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const graceful = await stopProcess(pid, spec.stopTimeoutMs, stopSignal, startTime);
      unregister(spec.dir);
      if (process.env['COHORT_PEERS_KEEP'] !== '1') {
        rmSync(spec.dir, { recursive: true, force: true });
      }
      if (!graceful) {
        // It is gone now, but it ignored the graceful signal: worth a note, not a failure.
        process.emitWarning(`${name} (pid ${pid}) needed SIGKILL after ${spec.stopTimeoutMs} ms`);
      }
    })();
    return stopping;
  };

  register(
    spec.dir,
    {
      kind: spec.kind,
      label: spec.label,
      pid,
      startTime,
      ownerPid: process.pid,
      ownerStartTime: processStartTime(process.pid),
      stopSignal,
    },
    stop,
  );

  const end = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    if (exited !== undefined) {
      const tail = tailFile(spec.logFile);
      await stop().catch(() => undefined);
      throw new PeerError('EXITED_EARLY', name, `exited before it was ready (${exited})`, tail);
    }
    if (await spec.ready()) break;
    if (Date.now() >= end) {
      const tail = tailFile(spec.logFile);
      await stop().catch(() => undefined);
      throw new PeerError('NOT_READY', name, `not ready within ${spec.readyTimeoutMs} ms`, tail);
    }
    await sleep(50);
  }
  return {
    kind: spec.kind,
    pid,
    dir: spec.dir,
    logFile: spec.logFile,
    host: '127.0.0.1',
    stop,
  };
}
