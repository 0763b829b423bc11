import { cpus, loadavg } from 'node:os';

import {
  httpBackends,
  installedVersion,
  PeerScope,
  startPen,
  startTomcats,
  TOMCAT_BENCH_JAVA_OPTS,
} from '@cohort/peers';
import {
  MemoryBackend,
  NodeBackend,
  type AckLevel,
  type SessionBackend,
} from '@cohort/session-client';

import { runClient, type ClientResult } from './client.js';
import { startStudyApp, timedBackend, type AckStats } from './cohort-app.js';
import { startSessionNodes } from './session-nodes.js';
import { CONTROL_JSP, STUDY_JSP, tomcatControl, type ControlAnswer } from './tomcat-pages.js';
import { WireMeter, type WireBytes } from './wire.js';
import type { AttributeSize, LoadShape, WriteMode } from './workload.js';

/** Which system a configuration runs on. */
export type StudySystem = 'cohort' | 'tomcat';

/**
 * How a configuration replicates. `none`: the same applications without replication (cohort:
 * an in-memory store shared by the two apps; Tomcat: the ReplicationValve filters every
 * request). cohort: `owner` (acknowledged by the owner, copied to the backups after — async),
 * `quorum` (owner + 1 backup — sync), `all` (all 3 copies — sync). Tomcat: `async`
 * (channelSendOptions 8, its default) and `sync` (6, use_ack + sync, over the pooled sender).
 */
export type Replication = 'none' | 'owner' | 'quorum' | 'all' | 'async' | 'sync';

/** One configuration of the study. */
export interface StudyConfig {
  readonly system: StudySystem;
  readonly replication: Replication;
  readonly mode: WriteMode;
  readonly size: AttributeSize;
}

/** The measurements of one configuration. */
export interface StudyRow extends StudyConfig {
  /** Measured requests. */
  readonly requests: number;
  /** Requests that failed. */
  readonly failed: number;
  /** Requests with a session cookie answered with a new session. */
  readonly sessionsLost: number;
  /** Requests served by another server than the previous one of the same client thread. */
  readonly serverSwitches: number;
  /** Average response time at the client (through Pen), ms. */
  readonly avgResponseMs: number;
  /**
   * Average request time on the server, ms: cohort — middleware entry to the response handed
   * to the OS (the acknowledgement wait included); Tomcat — the ReplicationValve's request time
   * (the rest of the pipeline plus the replication send), the study's own metric.
   */
  readonly avgRequestMs: number;
  /** Average response time minus the same system's `none` configuration (same mode and size), ms. */
  readonly clusterOverheadMs: number | null;
  /**
   * Average replication time per request, ms: cohort — the time the middleware waited for the
   * store's acknowledgement; Tomcat — the ReplicationValve's send time (what Tomcat itself calls
   * the cluster overhead). null for `none`.
   */
  readonly replicationMs: number | null;
  /** TCP payload bytes on the replication wire during the measured phase. */
  readonly wire: WireBytes;
  /** `wire.appToStore + wire.storeToStore`. */
  readonly wireBytes: number;
  /** Wire bytes per request. */
  readonly bytesPerRequest: number;
  /** Wire bytes per millisecond of the measured phase (the load the run put on the wire). */
  readonly bytesPerMs: number;
  /** Wall-clock time of the measured phase, ms. */
  readonly durationMs: number;
  /** cohort: replication bytes the nodes say they sent to each other (their own counter). */
  readonly nodeReplicationBytes?: number;
  /** Tomcat: the cluster's channelSendOptions read back after the run. */
  readonly channelSendOptions?: number;
  /** The first failures, if any. */
  readonly errors: readonly string[];
}

/** The whole study: what ran, where, and the rows. */
export interface StudyResult {
  readonly load: LoadShape;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly loadAtStart: readonly number[];
    readonly loadAtEnd: readonly number[];
    readonly node: string;
    readonly tomcat10: string | undefined;
    readonly pen: string | undefined;
  };
  readonly rows: readonly StudyRow[];
}

/** Options of {@link runReplicationStudy}. */
export interface StudyOptions {
  /** The client's load (see `CI_LOAD`, `FULL_LOAD`, `loadFromEnv`). */
  readonly load: LoadShape;
  /** Systems to run (default both). */
  readonly systems?: readonly StudySystem[];
  /** Session shapes (default both). */
  readonly sizes?: readonly AttributeSize[];
  /** Tomcat JVM options: `'bench'` for the full JIT (the full-size run), default the test options. */
  readonly tomcatJvm?: 'test' | 'bench';
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

const MODES: readonly WriteMode[] = ['delta', 'full'];
const SETTLE_MS = 300;

function pageQuery(size: AttributeSize, mode: WriteMode, seq: number): string {
  return `size=${size}&mode=${mode}&seq=${seq}`;
}

function baseRow(
  config: StudyConfig,
  client: ClientResult,
  wire: WireBytes,
  avgRequestMs: number,
  replicationMs: number | null,
): StudyRow {
  const wireBytes = wire.appToStore + wire.storeToStore;
  const ok = client.responseMs.length;
  return {
    ...config,
    requests: client.requests,
    failed: client.failed,
    sessionsLost: client.sessionsLost,
    serverSwitches: client.serverSwitches,
    avgResponseMs: ok > 0 ? client.responseMsTotal / ok : NaN,
    avgRequestMs,
    clusterOverheadMs: null,
    replicationMs,
    wire,
    wireBytes,
    bytesPerRequest: client.requests > 0 ? wireBytes / client.requests : 0,
    bytesPerMs: client.durationMs > 0 ? wireBytes / client.durationMs : 0,
    durationMs: client.durationMs,
    errors: client.errors,
  };
}

async function runTomcat(
  opts: StudyOptions,
  sizes: readonly AttributeSize[],
  scope: PeerScope,
  log: (l: string) => void,
): Promise<StudyRow[]> {
  const rows: StudyRow[] = [];
  log('tomcat: starting the DeltaManager pair');
  const tcs = await scope.track(
    startTomcats(['tc1', 'tc2'], {
      cluster: { sync: true },
      webapp: { 'study.jsp': STUDY_JSP, 'control.jsp': CONTROL_JSP },
      ...(opts.tomcatJvm === 'bench' ? { javaOpts: [...TOMCAT_BENCH_JAVA_OPTS] } : {}),
    }),
  );
  // Compile both pages on both nodes before anything is measured, and turn the valve's
  // statistics on (a request that enters the valve with them off is timed from 0).
  for (const tc of tcs) {
    await tomcatControl(tc.url, { reset: '1' });
    const r = await fetch(`${tc.url}/study.jsp?${pageQuery('small', 'delta', 0)}`);
    await r.text();
  }
  const pen = await scope.track(startPen({ backends: httpBackends(tcs) }));
  const settings: Record<'none' | 'async' | 'sync', Record<string, string>> = {
    none: { filter: '.*', sendOptions: '6' },
    async: { filter: 'none', sendOptions: '8' },
    sync: { filter: 'none', sendOptions: '6' },
  };
  for (const size of sizes) {
    for (const mode of MODES) {
      for (const replication of ['none', 'async', 'sync'] as const) {
        const config: StudyConfig = { system: 'tomcat', replication, mode, size };
        for (const tc of tcs) await tomcatControl(tc.url, settings[replication]);
        const meter = new WireMeter(
          tcs.map((t) => t.receiverPort!),
          tcs.map((t) => t.pid),
        );
        const client = await runClient(
          (seq) => `${pen.url}/study.jsp?${pageQuery(size, mode, seq)}`,
          opts.load,
          async () => {
            for (const tc of tcs) await tomcatControl(tc.url, { reset: '1' });
            await meter.start();
          },
        );
        await new Promise((r) => setTimeout(r, SETTLE_MS)); // async sends reach the wire
        const wire = await meter.stop();
        const stats: ControlAnswer[] = [];
        for (const tc of tcs) stats.push(await tomcatControl(tc.url));
        // Each node's count includes its reset request (answered after the reset).
        const n = stats.reduce((a, s) => a + Math.max(0, (s.nrOfRequests ?? 0) - 1), 0);
        const reqMs = stats.reduce((a, s) => a + (s.totalRequestTime ?? 0), 0);
        const sendMs = stats.reduce((a, s) => a + (s.totalSendTime ?? 0), 0);
        const row: StudyRow = {
          ...baseRow(
            config,
            client,
            wire,
            n > 0 ? reqMs / n : NaN,
            replication === 'none' ? null : n > 0 ? sendMs / n : NaN,
          ),
          channelSendOptions: stats[0]?.channelSendOptions ?? -1,
        };
        rows.push(row);
        log(`tomcat ${replication} ${mode} ${size}: ${summary(row)}`);
      }
    }
  }
  await pen.stop();
  for (const tc of tcs) await tc.stop();
  return rows;
}

async function runCohort(
  opts: StudyOptions,
  sizes: readonly AttributeSize[],
  scope: PeerScope,
  log: (l: string) => void,
): Promise<StudyRow[]> {
  const rows: StudyRow[] = [];
  log('cohort: starting 3 session nodes');
  const cluster = await startSessionNodes(3);
  const nodeBackend = new NodeBackend({
    nodes: cluster.nodes.map((n) => n.url),
    token: cluster.token,
  });
  const memory = new MemoryBackend();
  try {
    for (const size of sizes) {
      for (const mode of MODES) {
        for (const replication of ['none', 'owner', 'quorum', 'all'] as const) {
          const config: StudyConfig = { system: 'cohort', replication, mode, size };
          const acks: AckStats = { writes: 0, ackMsTotal: 0 };
          const store: SessionBackend = replication === 'none' ? memory : nodeBackend;
          const backend = timedBackend(store, acks);
          const level: AckLevel | undefined = replication === 'none' ? undefined : replication;
          const apps = [
            await startStudyApp({ route: 'app1', backend, ...(level ? { level } : {}) }),
            await startStudyApp({ route: 'app2', backend, ...(level ? { level } : {}) }),
          ];
          const pen = await scope.track(
            startPen({ backends: apps.map((a) => ({ port: a.port, name: a.route })) }),
          );
          const meter = new WireMeter(
            cluster.nodes.map((n) => n.port),
            cluster.nodes.map((n) => n.pid),
          );
          let nodeBytes0 = 0;
          try {
            const client = await runClient(
              (seq) => `${pen.url}/study?${pageQuery(size, mode, seq)}`,
              opts.load,
              async () => {
                for (const a of apps) Object.assign(a.stats, { requests: 0, requestMsTotal: 0 });
                Object.assign(acks, { writes: 0, ackMsTotal: 0 });
                nodeBytes0 = await cluster.replicationBytesSent();
                await meter.start();
              },
            );
            await new Promise((r) => setTimeout(r, SETTLE_MS)); // `owner` copies reach the backups
            const wire = await meter.stop();
            const nodeBytes = (await cluster.replicationBytesSent()) - nodeBytes0;
            const served = apps.reduce((a, x) => a + x.stats.requests, 0);
            const reqMs = apps.reduce((a, x) => a + x.stats.requestMsTotal, 0);
            const row: StudyRow = {
              ...baseRow(
                config,
                client,
                wire,
                served > 0 ? reqMs / served : NaN,
                replication === 'none'
                  ? null
                  : acks.writes > 0
                    ? acks.ackMsTotal / acks.writes
                    : NaN,
              ),
              ...(replication === 'none' ? {} : { nodeReplicationBytes: nodeBytes }),
            };
            rows.push(row);
            log(`cohort ${replication} ${mode} ${size}: ${summary(row)}`);
          } finally {
            await pen.stop();
            for (const a of apps) await a.close();
          }
        }
      }
    }
  } finally {
    await nodeBackend.close();
    await memory.close();
    await cluster.stop();
  }
  return rows;
}

function summary(r: StudyRow): string {
  return (
    `${r.requests} req, ${r.failed} failed, response ${r.avgResponseMs.toFixed(2)} ms, ` +
    `request ${r.avgRequestMs.toFixed(2)} ms, replication ${r.replicationMs === null ? '-' : r.replicationMs.toFixed(2)} ms, ` +
    `${Math.round(r.bytesPerRequest)} B/req`
  );
}

/** Fills in each row's cluster overhead against its system's `none` row of the same mode and size. */
export function withClusterOverhead(rows: readonly StudyRow[]): StudyRow[] {
  return rows.map((r) => {
    if (r.replication === 'none') return r;
    const base = rows.find(
      (b) =>
        b.system === r.system && b.replication === 'none' && b.mode === r.mode && b.size === r.size,
    );
    return { ...r, clusterOverheadMs: base ? r.avgResponseMs - base.avgResponseMs : null };
  });
}

/**
 * Runs the study: for each system (Tomcat 10 DeltaManager pair; two Express apps with
 * `cohortSession()` on 3 cohort-session-node processes), each session shape and each write
 * mode, the no-replication baseline and every replication mode, with the client going through
 * Pen. Starts and stops everything it needs.
 */
export async function runReplicationStudy(opts: StudyOptions): Promise<StudyResult> {
  const log = opts.log ?? (() => undefined);
  const systems = opts.systems ?? ['tomcat', 'cohort'];
  const sizes = opts.sizes ?? ['small', 'large'];
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  const scope = new PeerScope();
  const rows: StudyRow[] = [];
  try {
    if (systems.includes('tomcat')) rows.push(...(await runTomcat(opts, sizes, scope, log)));
    if (systems.includes('cohort')) rows.push(...(await runCohort(opts, sizes, scope, log)));
  } finally {
    await scope.stop();
  }
  return {
    load: opts.load,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      loadAtStart,
      loadAtEnd: loadavg(),
      node: process.versions.node,
      tomcat10: installedVersion('tomcat10'),
      pen: installedVersion('pen'),
    },
    rows: withClusterOverhead(rows),
  };
}
