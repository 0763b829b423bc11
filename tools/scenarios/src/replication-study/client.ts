import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

import { ScenarioError } from '../errors.js';
import type { LoadShape } from './workload.js';

/** The line both study applications answer: `ok node=<route> new=<bool> wrote=<n>`. */
const LINE = /^ok node=([A-Za-z0-9_.-]+) new=(true|false) wrote=(\d+)\s*$/;

/** What the study page answered, parsed. */
export interface StudyAnswer {
  /** The route of the server that answered. */
  readonly node: string;
  /** Whether the request found no session and made one. */
  readonly fresh: boolean;
  /** Attributes the request wrote. */
  readonly wrote: number;
}

/** Parses the study page's answer line; anything else is `BAD_RESPONSE`. */
export function parseStudyAnswer(body: string): StudyAnswer {
  const m = LINE.exec(body);
  if (!m) {
    throw new ScenarioError(
      'BAD_RESPONSE',
      `not a study answer: ${JSON.stringify(body.slice(0, 80))}`,
    );
  }
  return { node: m[1]!, fresh: m[2] === 'true', wrote: Number(m[3]) };
}

/** What the client saw during the measured requests of one run. */
export interface ClientResult {
  /** Measured requests sent. */
  readonly requests: number;
  /** Requests that failed (no answer, a status other than 200, or a body that is not the line). */
  readonly failed: number;
  /** Measured requests that carried a session cookie but were answered with a new session. */
  readonly sessionsLost: number;
  /** Measured requests answered by another server than the previous one of the same thread. */
  readonly serverSwitches: number;
  /** Sum of the response times of the successful measured requests, ms. */
  readonly responseMsTotal: number;
  /** Wall-clock time of the measured phase, ms. */
  readonly durationMs: number;
  /** Response times of the successful measured requests, ms, in order. */
  readonly responseMs: readonly number[];
  /** The first few failures, for the report. */
  readonly errors: readonly string[];
}

interface Reply {
  status: number;
  body: string;
  setCookie: string[];
}

function get(url: URL, agent: Agent, cookie: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, headers: cookie ? { cookie } : {}, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            setCookie: res.headers['set-cookie'] ?? [],
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end();
  });
}

/** One simulated user: a keep-alive connection (as a browser keeps one) and a cookie jar. */
class Thread {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly jar = new Map<string, string>();
  lastNode: string | undefined;

  cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(setCookie: string[]): void {
    for (const c of setCookie) {
      const pair = c.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      if (eq > 0) this.jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The SessionReplicationClient of the study: `load.threads` concurrent loops, each one user
 * with its own session, sending `load.warmup` unmeasured and then `load.requests` measured
 * requests to `pageUrl(seq)`, pausing `load.delayMs` after each answer. Response time is from
 * sending the request to the last byte of the answer. `beforeMeasured` runs between the warm-up
 * and the measured requests (start meters and reset server statistics there).
 */
export async function runClient(
  pageUrl: (seq: number) => string,
  load: LoadShape,
  beforeMeasured?: () => Promise<void>,
): Promise<ClientResult> {
  const threads = Array.from({ length: load.threads }, () => new Thread());
  let failed = 0;
  let sessionsLost = 0;
  let serverSwitches = 0;
  const responseMs: number[] = [];
  const errors: string[] = [];

  const one = async (t: Thread, seq: number, measured: boolean): Promise<void> => {
    const hadCookie = t.jar.size > 0;
    const t0 = performance.now();
    try {
      const r = await get(new URL(pageUrl(seq)), t.agent, t.cookie());
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new ScenarioError('BAD_RESPONSE', `status ${r.status}`);
      const a = parseStudyAnswer(r.body);
      t.keep(r.setCookie);
      if (measured) {
        responseMs.push(ms);
        if (hadCookie && a.fresh) sessionsLost++;
        if (t.lastNode !== undefined && t.lastNode !== a.node) serverSwitches++;
      }
      t.lastNode = a.node;
    } catch (e) {
      if (measured) {
        failed++;
        if (errors.length < 5) errors.push((e as Error).message);
      }
    }
  };

  await Promise.all(
    threads.map(async (t) => {
      for (let i = 0; i < load.warmup; i++) await one(t, i, false);
    }),
  );
  if (beforeMeasured) await beforeMeasured();
  const start = performance.now();
  await Promise.all(
    threads.map(async (t) => {
      for (let i = 0; i < load.requests; i++) {
        await one(t, load.warmup + i, true);
        if (load.delayMs > 0) await sleep(load.delayMs);
      }
    }),
  );
  const durationMs = performance.now() - start;
  for (const t of threads) t.agent.destroy();
  return {
    requests: load.threads * load.requests,
    failed,
    sessionsLost,
    serverSwitches,
    responseMsTotal: responseMs.reduce((a, b) => a + b, 0),
    durationMs,
    responseMs,
    errors,
  };
}
