import { execFile } from 'node:child_process';

import { PeerError } from './errors.js';
import { needBinary } from './missing.js';

/** Debian's wrk binary. */
export const WRK_BIN = '/usr/bin/wrk';

/** Options of {@link runWrk}. */
export interface WrkOptions {
  /** The URL to load (http only; wrk's https is not used here). */
  url: string;
  /** Threads (`-t`, default 1). */
  threads?: number;
  /** Open connections in all (`-c`, default 16; at least `threads`). */
  connections?: number;
  /** Seconds to run (`-d`, default 5). */
  durationS?: number;
  /** Per-request timeout in seconds (`--timeout`, default wrk's 2). */
  timeoutS?: number;
  /** Request headers (`-H 'Name: value'`). */
  headers?: Record<string, string>;
}

/** Latencies in milliseconds. */
export interface WrkLatency {
  /** Mean. */
  avg: number;
  /** Standard deviation. */
  stdev: number;
  /** Maximum. */
  max: number;
  /** Median. */
  p50: number;
  /** 75th percentile. */
  p75: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
}

/** What one wrk run measured. */
export interface WrkResult {
  /** Completed requests. */
  requests: number;
  /** The measured duration in seconds. */
  durationS: number;
  /** Requests per second, as wrk reports it. */
  requestsPerSec: number;
  /** Bytes read in all. */
  bytesRead: number;
  /** Bytes read per second. */
  transferPerSec: number;
  /** Latency statistics. */
  latencyMs: WrkLatency;
  /** Responses with a status other than 2xx or 3xx. */
  non2xx3xx: number;
  /** Socket errors by kind. */
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};
const COUNT_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9 };

function bad(detail: string): PeerError {
  return new PeerError('BAD_OUTPUT', 'wrk', detail);
}

/** A number with a unit from `units`, e.g. `1.26ms`, `3.13MB`, `9.27k`. */
function withUnit(text: string, units: Record<string, number>, field: string): number {
  const m = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(text);
  const factor = m ? units[m[2]!] : undefined;
  if (!m || factor === undefined)
    throw bad(`${field}: '${text}' is not a number with a unit (${Object.keys(units).join(', ')})`);
  return Number(m[1]) * factor;
}

/** The value after `label` on its own line, or a BAD_OUTPUT error naming the label. */
function lineValue(text: string, label: RegExp, field: string): string {
  const m = label.exec(text);
  if (!m) throw bad(`no '${field}' line in wrk's output`);
  return m[1]!;
}

/**
 * Parses wrk's report (run with `--latency`). Missing or malformed figures are BAD_OUTPUT
 * errors naming the field; the optional lines (non-2xx/3xx, socket errors) default to 0.
 */
export function parseWrkOutput(text: string): WrkResult {
  const totals = /^\s*(\d+) requests in (\S+), (\S+) read$/m.exec(text);
  if (!totals) throw bad("no '<n> requests in <time>, <size> read' line in wrk's output");
  const stats = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+$/m.exec(text);
  if (!stats) throw bad("no 'Latency' thread-stats line in wrk's output");
  const pct = (p: number): number =>
    withUnit(
      lineValue(text, new RegExp(`^\\s*${p}%\\s+(\\S+)$`, 'm'), `${p}%`),
      TIME_UNITS,
      `latency ${p}%`,
    );
  const socket = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$/m.exec(
    text,
  );
  const non = /^\s*Non-2xx or 3xx responses: (\d+)$/m.exec(text);
  return {
    requests: Number(totals[1]),
    durationS: withUnit(totals[2]!, TIME_UNITS, 'duration') / 1000,
    bytesRead: withUnit(totals[3]!, SIZE_UNITS, 'bytes read'),
    requestsPerSec: withUnit(
      lineValue(text, /^Requests\/sec:\s+(\S+)$/m, 'Requests/sec'),
      COUNT_UNITS,
      'Requests/sec',
    ),
    transferPerSec: withUnit(
      lineValue(text, /^Transfer\/sec:\s+(\S+)$/m, 'Transfer/sec'),
      SIZE_UNITS,
      'Transfer/sec',
    ),
    latencyMs: {
      avg: withUnit(stats[1]!, TIME_UNITS, 'latency avg'),
      stdev: withUnit(stats[2]!, TIME_UNITS, 'latency stdev'),
      max: withUnit(stats[3]!, TIME_UNITS, 'latency max'),
      p50: pct(50),
      p75: pct(75),
      p90: pct(90),
      p99: pct(99),
    },
    non2xx3xx: non ? Number(non[1]) : 0,
    socketErrors: socket
      ? {
          connect: Number(socket[1]),
          read: Number(socket[2]),
          write: Number(socket[3]),
          timeout: Number(socket[4]),
        }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

function positiveInt(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 1 || v > 100_000)
    throw new PeerError('BAD_OPTION', 'wrk', `${field} ${v} must be an integer 1..100000`);
  return v;
}

/**
 * Runs wrk (the load generator install.sh installs) against `url` and parses its report. It
 * runs as a child process, so the caller's event loop stays free; the result is wrk's own
 * figures. Rejects with EXITED_EARLY (wrk's message) when wrk fails, e.g. cannot connect.
 */
export function runWrk(opts: WrkOptions): Promise<WrkResult> {
  needBinary(WRK_BIN, 'wrk', 'wrk');
  if (!/^http:\/\//.test(opts.url))
    throw new PeerError('BAD_OPTION', 'wrk', `url '${opts.url}' must start with http://`);
  const threads = positiveInt(opts.threads ?? 1, 'threads');
  const connections = Math.max(threads, positiveInt(opts.connections ?? 16, 'connections'));
  const durationS = positiveInt(opts.durationS ?? 5, 'durationS');
  const args = [
    '-t',
    String(threads),
    '-c',
    String(connections),
    '-d',
    `${durationS}s`,
    '--latency',
  ];
  if (opts.timeoutS !== undefined)
    args.push('--timeout', `${positiveInt(opts.timeoutS, 'timeoutS')}s`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(opts.url);
  return new Promise((resolve, reject) => {
    execFile(
      WRK_BIN,
      args,
      { timeout: (durationS + 60) * 1000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new PeerError(
              'EXITED_EARLY',
              'wrk',
              `wrk ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim()}`,
            ),
          );
          return;
        }
        try {
          resolve(parseWrkOutput(stdout));
        } catch (e) {
          reject(e);
        }
      },
    );
  });
}
