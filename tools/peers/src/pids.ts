import { readdirSync, readFileSync } from 'node:fs';

import { sleep } from './ports.js';

/**
 * The kernel's start time of `pid` (field 22 of `/proc/<pid>/stat`, in clock ticks since boot),
 * or `undefined` if there is no such process. Together with the PID it identifies a process
 * even after PIDs are reused.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * True if `pid` runs (and, if given, started at `startTime`). A zombie counts as gone only once
 * all its threads are gone: a multi-threaded process (a JVM) shows its main thread as a zombie
 * while other threads still hold its files and sockets.
 */
export function isRunning(pid: number, startTime?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (startTime !== undefined && fields[19] !== startTime) return false;
    if (fields[0] === 'Z' || fields[0] === 'X') return readdirSync(`/proc/${pid}/task`).length > 1;
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to `pid`, ignoring "no such process". */
export function signal(pid: number, sig: NodeJS.Signals): void {
  // 0, 1 and -1 would mean our own process group, init, or every process we may signal.
  if (!Number.isInteger(pid) || Math.abs(pid) <= 1) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits until `pid` is gone (or a zombie); resolves whether it went within `timeoutMs`. */
export async function waitGone(
  pid: number,
  timeoutMs: number,
  startTime?: string,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (isRunning(pid, startTime)) {
    if (Date.now() >= end) return false;
    await sleep(25);
  }
  return true;
}

/**
 * Stops a process: `sig` (default SIGTERM) to the process, then waits up to `timeoutMs`; if it is
 * still there, SIGKILL to its whole process group (peers are started as group leaders, so worker
 * children die with the master) and waits up to 5 s more. Resolves true if it went gracefully.
 * `startTime` guards against killing an unrelated process that reused the PID.
 */
export async function stopProcess(
  pid: number,
  timeoutMs: number,
  sig: NodeJS.Signals = 'SIGTERM',
  startTime?: string,
): Promise<boolean> {
  if (!isRunning(pid, startTime)) return true;
  signal(pid, sig);
  if (await waitGone(pid, timeoutMs, startTime)) return true;
  signal(-pid, 'SIGKILL');
  signal(pid, 'SIGKILL');
  await waitGone(pid, 5000, startTime);
  return false;
}
