import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import type { StudyResult, StudyRow } from './study.js';

const ms = (v: number | null): string => (v === null || Number.isNaN(v) ? '–' : v.toFixed(2));
const int = (v: number): string => Math.round(v).toLocaleString('en-US').replace(/,/g, ' ');

function label(r: StudyRow): string {
  if (r.system === 'cohort') {
    return r.replication === 'none'
      ? 'cohort, memory store (no replication)'
      : `cohort, ack ${r.replication}`;
  }
  return r.replication === 'none'
    ? 'Tomcat DeltaManager, valve filters all (no replication)'
    : `Tomcat DeltaManager, ${r.replication}`;
}

/** The study's rows as a markdown table, one row per configuration. */
export function markdownTable(rows: readonly StudyRow[]): string {
  const head =
    '| size | mode | configuration | requests | failed | lost sessions | avg response ms | avg request ms | cluster overhead ms | replication ms | wire B/request (app↔store + store↔store) | wire B/ms |';
  const sep = '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.map(
    (r) =>
      `| ${r.size} | ${r.mode} | ${label(r)} | ${r.requests} | ${r.failed} | ${r.sessionsLost} | ${ms(r.avgResponseMs)} | ${ms(r.avgRequestMs)} | ${ms(r.clusterOverheadMs)} | ${ms(r.replicationMs)} | ${int(r.bytesPerRequest)} (${int(r.wire.appToStore / Math.max(1, r.requests))} + ${int(r.wire.storeToStore / Math.max(1, r.requests))}) | ${r.bytesPerMs.toFixed(1)} |`,
  );
  return [head, sep, ...body].join('\n');
}

/** A title line describing the run (load, machine). */
export function runDescription(result: StudyResult): string {
  const l = result.load;
  const m = result.machine;
  return (
    `${l.threads} client threads × ${l.requests} requests, ${l.delayMs} ms apart (after ${l.warmup} warm-up requests each), ` +
    `through Pen ${m.pen ?? '?'}; Tomcat ${m.tomcat10 ?? '?'}; Node ${m.node}; ${m.cpus} CPUs, ` +
    `load average ${m.loadAtStart[0]?.toFixed(1)} at start, ${m.loadAtEnd[0]?.toFixed(1)} at end`
  );
}

/** Writes the result as JSON (creating the folder). */
export function writeJson(file: string, result: StudyResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
