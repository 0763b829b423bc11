import { execFile } from 'node:child_process';

import { ScenarioError } from '../errors.js';

/** One established TCP connection as `ss -tinpH` shows it from one of its ends. */
export interface TcpConnection {
  /** `address:port` of this end. */
  readonly local: string;
  /** `address:port` of the other end. */
  readonly peer: string;
  /** Port of the other end. */
  readonly peerPort: number;
  /** PIDs of the processes holding this end (empty when ss could not tell). */
  readonly pids: readonly number[];
  /** Payload bytes this end sent that the other end acknowledged (`bytes_acked`). */
  readonly bytesAcked: number;
  /** Payload bytes this end received (`bytes_received`). */
  readonly bytesReceived: number;
}

const ENDPOINT = /^(\S+):(\d{1,5})$/;

function port(endpoint: string, raw: string): number {
  const m = ENDPOINT.exec(endpoint);
  if (!m) throw new ScenarioError('BAD_SS_OUTPUT', `not an address:port: ${JSON.stringify(raw)}`);
  const p = Number(m[2]);
  if (p > 65535) throw new ScenarioError('BAD_SS_OUTPUT', `port out of range: ${m[2]}`);
  return p;
}

function counter(info: string, name: string): number {
  const m = new RegExp(`(?:^|\\s)${name}:(\\d+)(?=\\s|$)`).exec(info);
  if (!m) return 0; // absent = nothing sent/received yet (ss omits zero counters)
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n)) throw new ScenarioError('BAD_SS_OUTPUT', `${name} is too large`);
  return n;
}

/**
 * Parses the output of `ss -tinpH state established`: one line per socket (`Recv-Q Send-Q
 * local peer [users:((…pid=N…))]`) followed by an indented line of TCP info that carries
 * `bytes_acked` and `bytes_received`. Throws `BAD_SS_OUTPUT` for anything else.
 */
export function parseSsOutput(text: string): TcpConnection[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const out: TcpConnection[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!;
    if (/^\s/.test(head)) {
      throw new ScenarioError(
        'BAD_SS_OUTPUT',
        `TCP info line without a socket line (line ${i + 1})`,
      );
    }
    const fields = head.trim().split(/\s+/);
    if (fields.length < 4 || !/^\d+$/.test(fields[0]!) || !/^\d+$/.test(fields[1]!)) {
      throw new ScenarioError('BAD_SS_OUTPUT', `not a socket line (line ${i + 1})`);
    }
    const local = fields[2]!;
    const peer = fields[3]!;
    port(local, local);
    const peerPort = port(peer, peer);
    const pids = [...head.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    const info = lines[i + 1];
    if (info === undefined || !/^\s/.test(info)) {
      throw new ScenarioError('BAD_SS_OUTPUT', `socket line without TCP info (line ${i + 1})`);
    }
    i++;
    out.push({
      local,
      peer,
      peerPort,
      pids,
      bytesAcked: counter(info, 'bytes_acked'),
      bytesReceived: counter(info, 'bytes_received'),
    });
  }
  return out;
}

/** Runs `ss -tinpH state established` for connections to the given ports and parses it. */
export function listConnections(peerPorts: readonly number[]): Promise<TcpConnection[]> {
  const filter = peerPorts.map((p) => `dport = :${p}`).join(' or ');
  return new Promise((resolve, reject) => {
    execFile(
      'ss',
      ['-tinpH', 'state', 'established', `( ${filter} )`],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        if (err) {
          reject(new ScenarioError('SS_FAILED', `ss failed: ${err.message}`));
          return;
        }
        try {
          resolve(parseSsOutput(stdout));
        } catch (e) {
          reject(e as Error);
        }
      },
    );
  });
}
