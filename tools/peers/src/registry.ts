import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { runDirCreator, runRoot } from './paths.js';
import { isRunning, processStartTime, signal, stopProcess } from './pids.js';

/** What `peer.json` in each run directory records, so a later run can clean up leftovers. */
export interface PeerRecord {
  /** Peer kind, e.g. `tomcat`. */
  kind: string;
  /** Label, e.g. the Tomcat route. */
  label: string;
  /** The peer's PID (the process group leader). */
  pid: number;
  /** The peer's kernel start time, to tell it apart from a later process with the same PID. */
  startTime: string | undefined;
  /** The PID of the node process that started it. */
  ownerPid: number;
  /** The owner's kernel start time. */
  ownerStartTime: string | undefined;
  /** The signal that stops it gracefully. */
  stopSignal: NodeJS.Signals;
}

/** A running peer as the registry sees it. */
interface Entry {
  record: PeerRecord;
  stop: () => Promise<void>;
}

const running = new Map<string, Entry>();
let hooksInstalled = false;

/** The file name of the record inside each run directory. */
export const RECORD_FILE = 'peer.json';

/**
 * Registers a started peer: writes `<dir>/peer.json` and makes sure it is stopped when this
 * process exits or gets SIGINT/SIGTERM. `stop` must be idempotent.
 */
export function register(dir: string, record: PeerRecord, stop: () => Promise<void>): void {
  writeFileSync(join(dir, RECORD_FILE), JSON.stringify(record, null, 2));
  running.set(dir, { record, stop });
  installHooks();
}

/** Forgets a peer after it was stopped. */
export function unregister(dir: string): void {
  running.delete(dir);
}

/** How many peers this process has running. */
export function runningCount(): number {
  return running.size;
}

/** Stops every peer this process started (in parallel) and waits until all are gone. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running.values()].map((e) => e.stop()));
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort, synchronous: 'exit' handlers cannot wait, so send the stop signal and let the
  // next run's cleanup (killLeftovers) catch anything that ignores it.
  process.on('exit', () => {
    for (const { record } of running.values()) {
      if (isRunning(record.pid, record.startTime)) signal(record.pid, record.stopSignal);
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      void stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

/** Options of {@link killLeftovers}. */
export interface KillLeftoversOptions {
  /** Also stop peers whose owner process is this very process (default false). */
  includeOwn?: boolean;
  /** Stop every recorded peer, whoever owns it (`cohort-peers stop-all`; default false). */
  all?: boolean;
  /** Keep the run directories (default: remove them unless COHORT_PEERS_KEEP=1). */
  keepDirs?: boolean;
}

/**
 * Scans the run root for `peer.json` records whose owner process is gone (an interrupted or
 * crashed earlier run), stops those peers by PID (checking the PID still belongs to the same
 * process) and removes their run directories. Peers of other live processes, for example a test
 * run in parallel in the same checkout, are left alone. Resolves the number of peers stopped.
 */
export async function killLeftovers(opts: KillLeftoversOptions = {}): Promise<number> {
  const root = runRoot();
  if (!existsSync(root)) return 0;
  const keep = opts.keepDirs ?? process.env['COHORT_PEERS_KEEP'] === '1';
  let stopped = 0;
  const jobs: Promise<void>[] = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    const file = join(dir, RECORD_FILE);
    let record: PeerRecord | undefined;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as PeerRecord;
    } catch {
      record = undefined;
    }
    if (record === undefined) {
      // No record: a start that failed before spawning. Remove it once its creator is gone.
      const creator = runDirCreator(name);
      if (!keep && creator !== undefined && !isRunning(creator)) {
        rmSync(dir, { recursive: true, force: true });
      }
      continue;
    }
    const own =
      record.ownerPid === process.pid && record.ownerStartTime === processStartTime(process.pid);
    const ownerAlive = isRunning(record.ownerPid, record.ownerStartTime);
    if (ownerAlive && !opts.all && !(own && opts.includeOwn)) continue;
    const r = record;
    jobs.push(
      (async () => {
        if (isRunning(r.pid, r.startTime)) {
          stopped += 1;
          await stopProcess(r.pid, 10_000, r.stopSignal, r.startTime);
        }
        running.delete(dir);
        if (!keep) rmSync(dir, { recursive: true, force: true });
      })(),
    );
  }
  await Promise.allSettled(jobs);
  return stopped;
}
