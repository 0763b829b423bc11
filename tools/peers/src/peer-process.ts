import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';

import { PeerError } from './errors.js';
import { listensOn } from './listen.js';
import { isPortOpen, sleep, waitPortClosed } from './ports.js';
import { isRunning, processStartTime, signal, stopProcess, waitGone } from './pids.js';
import { register, unregister } from './registry.js';

/** What every started peer returns, plus its own ports. */
export interface PeerHandle {
  /** Peer kind: `tomcat`, `httpd`, `haproxy`, `nginx`, `pen`, `redis`, `memcached`. */
  readonly kind: string;
  /** PID of the peer's main process (a process group leader); changes on restart(). */
  readonly pid: number;
  /** The run directory holding its configuration and logs. */
  readonly dir: string;
  /** The log file that receives its stdout and stderr. */
  readonly logFile: string;
  /** The address it listens on: always 127.0.0.1. */
  readonly host: '127.0.0.1';
  /** Whether its process is alive right now. */
  readonly running: boolean;
  /**
   * Stops it for good: the graceful signal, then SIGKILL after the timeout; resolves once the
   * process is gone. Removes the run directory unless COHORT_PEERS_KEEP=1. Safe to call more
   * than once.
   */
  stop(): Promise<void>;
  /**
   * Crashes it: SIGKILL to its process group, no graceful shutdown (for failover tests).
   * Resolves once it is gone. The run directory stays, so restart() can bring it back.
   */
  kill(): Promise<void>;
  /**
   * Starts it again from the same directory, configuration and ports (stopping it gracefully
   * first if it still runs) and waits until it is ready. Rejects after stop().
   */
  restart(): Promise<void>;
}

/** How to launch one peer process and tell when it is ready. */
export interface LaunchSpec {
  /** Peer kind, e.g. `tomcat`. */
  kind: string;
  /** Label in messages and the run directory name, e.g. the route or port. */
  label: string;
  /** The run directory (working directory of the process). */
  dir: string;
  /** The executable. */
  command: string;
  /** Its arguments (it must stay in the foreground). */
  args: string[];
  /** Environment changes; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** File that receives stdout and stderr (appended). */
  logFile: string;
  /** Ports (on 127.0.0.1) the process itself must be listening on before it counts as ready. */
  ports: number[];
  /** Further readiness check (HTTP 200, PONG…), polled every 50 ms after the ports are bound. */
  ready?: () => Promise<boolean>;
  /** Log text that means a port could not be bound (default: the usual bind error messages). */
  bindFailure?: RegExp;
  /** How long to wait for readiness. */
  readyTimeoutMs: number;
  /** How long a graceful stop may take before SIGKILL. */
  stopTimeoutMs: number;
  /** The graceful stop signal (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
}

/** Messages servers log when a port is taken (Tomcat, httpd, nginx, haproxy, redis, memcached, pen). */
export const BIND_FAILURE =
  /Address already in use|BindException|could not bind|Cannot bind socket|Failed to bind|bind\(\) to \S+ failed/i;

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The text of `file` from byte `offset` on ('' if unreadable). */
function readFrom(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
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

/** Merges a base handle with peer-specific fields, keeping the base's getters live. */
export function extendHandle<B extends PeerHandle, E extends object>(base: B, extra: E): B & E {
  return Object.defineProperties(
    {},
    { ...Object.getOwnPropertyDescriptors(base), ...Object.getOwnPropertyDescriptors(extra) },
  ) as B & E;
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
  let pid = 0;
  let startTime: string | undefined;
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

  const bindFailure = spec.bindFailure ?? BIND_FAILURE;
  /** One spawn + wait-until-ready; on failure the process is gone and the error thrown. */
  const spawnReady = async (): Promise<void> => {
    for (const port of spec.ports) {
      if (await isPortOpen(port)) {
        throw new PeerError('PORT_IN_USE', name, `port ${port} on 127.0.0.1 is already in use`);
      }
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
      throw new PeerError(
        'SPAWN_FAILED',
        name,
        `cannot run ${spec.command}: ${spawnError?.message}`,
      );
    }
    child.unref();
    pid = child.pid;
    // Per spawn: a previous (killed) process may report its exit only now.
    let exited: string | undefined;
    child.once('exit', (code, sig) => {
      exited = sig ? `signal ${sig}` : `exit code ${code}`;
    });
    startTime = processStartTime(pid);
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
    const logStart = logSize(spec.logFile);
    for (;;) {
      if (exited !== undefined) {
        const tail = tailFile(spec.logFile);
        if (bindFailure.test(tail)) {
          throw new PeerError(
            'PORT_IN_USE',
            name,
            `could not bind its ports ${spec.ports.join(', ')} (exited, ${exited})`,
            tail,
          );
        }
        throw new PeerError('EXITED_EARLY', name, `exited before it was ready (${exited})`, tail);
      }
      // Some servers (Tomcat) log a failed bind and keep running without that connector. Check
      // again after a positive readiness answer: the failure may be logged while the answer
      // waits in a listen backlog of the connector that did bind.
      const ready =
        spec.ports.every((p) => listensOn(pid, p)) &&
        (spec.ready === undefined || (await spec.ready()));
      if (bindFailure.test(readFrom(spec.logFile, logStart))) {
        const tail = tailFile(spec.logFile);
        await stopProcess(pid, spec.stopTimeoutMs, stopSignal, startTime);
        throw new PeerError(
          'PORT_IN_USE',
          name,
          `could not bind its ports ${spec.ports.join(', ')}`,
          tail,
        );
      }
      if (ready) return;
      if (Date.now() >= end) {
        const tail = tailFile(spec.logFile);
        await stopProcess(pid, spec.stopTimeoutMs, stopSignal, startTime);
        throw new PeerError('NOT_READY', name, `not ready within ${spec.readyTimeoutMs} ms`, tail);
      }
      await sleep(50);
    }
  };

  try {
    await spawnReady();
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }

  const kill = async (): Promise<void> => {
    signal(-pid, 'SIGKILL');
    signal(pid, 'SIGKILL');
    await waitGone(pid, 5000, startTime);
  };
  const restart = async (): Promise<void> => {
    if (stopping)
      throw new PeerError('BAD_OPTION', name, 'restart() after stop(): start a new one');
    await stopProcess(pid, spec.stopTimeoutMs, stopSignal, startTime);
    // Sockets of a killed process can take a moment to close (TIME_WAIT does not matter).
    for (const port of spec.ports) await waitPortClosed(port, 5000);
    await spawnReady();
  };
  return {
    kind: spec.kind,
    get pid() {
      return pid;
    },
    dir: spec.dir,
    logFile: spec.logFile,
    host: '127.0.0.1',
    get running() {
      return isRunning(pid, startTime);
    },
    stop,
    kill,
    restart,
  };
}

/**
 * Runs `start` again (up to `attempts` times in all) when it fails with PORT_IN_USE and
 * `autoPorts` says every port was picked here rather than given by the caller: another process
 * took a free port between picking and binding it.
 */
export async function retryPortClash<T>(
  autoPorts: boolean,
  start: () => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (e) {
      if (!(autoPorts && i < attempts && e instanceof PeerError && e.code === 'PORT_IN_USE'))
        throw e;
    }
  }
}
