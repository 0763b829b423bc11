import { join } from 'node:path';

import { requirePeers } from '@cohort/peers/vitest';
import { describe, expect, it } from 'vitest';

import { markdownTable, runDescription, writeJson } from './report.js';
import { runReplicationStudy, type StudyResult, type StudyRow } from './study.js';
import { loadFromEnv, SHAPES } from './workload.js';

// Issue 14 scenario 5: the Tomcat 5 + Pen session replication study (SessionReplicationClient:
// 2 threads, N requests with a pause, 100 × 1 KB and 1 × 100 KB attributes, full vs delta,
// async vs sync), run scaled down against the real Tomcat 10 DeltaManager pair and against
// cohort (two Express apps with cohortSession() on 3 cohort-session-node processes), both
// behind the real Pen. It asserts that the experiment ran and the relations that must hold
// whatever the machine's speed — never timings. STUDY_FULL=1 (or STUDY_REQUESTS etc.) scales it.

const need = requirePeers(['tomcat10', 'pen'], 'replication study');

describe.skipIf(need.skip)('replication study (issue 14 scenario 5)', () => {
  const load = loadFromEnv();
  let result: StudyResult;
  const row = (
    system: StudyRow['system'],
    replication: StudyRow['replication'],
    mode: StudyRow['mode'],
    size: StudyRow['size'],
  ): StudyRow => {
    const r = result.rows.find(
      (x) =>
        x.system === system && x.replication === replication && x.mode === mode && x.size === size,
    );
    expect(r, `${system} ${replication} ${mode} ${size}`).toBeDefined();
    return r!;
  };

  it('runs every configuration through Pen with no failed request', async () => {
    result = await runReplicationStudy({ load, log: (l) => console.log(l) });
    console.log(`${runDescription(result)}\n\n${markdownTable(result.rows)}`);
    writeJson(
      join(import.meta.dirname, '..', '..', 'bench-results', 'replication-study.json'),
      result,
    );
    // 2 sizes × 2 modes × (Tomcat: none, async, sync + cohort: none, owner, quorum, all)
    expect(result.rows).toHaveLength(2 * 2 * (3 + 4));
    for (const r of result.rows) {
      const what = `${r.system} ${r.replication} ${r.mode} ${r.size}: ${r.errors.join('; ')}`;
      expect(r.requests, what).toBe(load.threads * load.requests);
      expect(r.failed, what).toBe(0);
      expect(r.avgResponseMs, what).toBeGreaterThan(0);
      expect(r.avgRequestMs, what).toBeGreaterThanOrEqual(0);
      if (r.replication !== 'none') {
        // a replicated session is never lost, wherever Pen sends the next connection
        expect(r.sessionsLost, what).toBe(0);
        expect(r.replicationMs, what).not.toBeNull();
        expect(r.clusterOverheadMs, what).not.toBeNull();
      }
    }
  }, 240_000);

  it('replicates what each request changed: at least one copy of it crosses the wire', () => {
    for (const size of ['small', 'large'] as const) {
      const changed = SHAPES[size].bytes; // delta mode: one attribute per request
      for (const rep of ['async', 'sync'] as const) {
        // the other Tomcat receives every change
        expect(row('tomcat', rep, 'delta', size).bytesPerRequest).toBeGreaterThan(changed);
      }
      for (const rep of ['owner', 'quorum', 'all'] as const) {
        const r = row('cohort', rep, 'delta', size);
        // app → owner, then owner → 2 backups (at `owner` too, after the acknowledgement)
        expect(r.wire.appToStore / r.requests).toBeGreaterThan(changed);
        expect(r.wire.storeToStore / r.requests).toBeGreaterThan(2 * changed);
        expect(r.nodeReplicationBytes! / r.requests).toBeGreaterThan(2 * changed);
      }
    }
  });

  it('sends far fewer bytes per request as deltas than as full sessions (small attributes), about the same for one large attribute', () => {
    for (const [system, reps] of [
      ['tomcat', ['async', 'sync']],
      ['cohort', ['owner', 'quorum', 'all']],
    ] as const) {
      for (const rep of reps) {
        const delta = row(system, rep, 'delta', 'small').bytesPerRequest;
        const full = row(system, rep, 'full', 'small').bytesPerRequest;
        // one 1 KB attribute against 100 of them
        expect(delta * 10, `${system} ${rep}`).toBeLessThan(full);
        const dl = row(system, rep, 'delta', 'large').bytesPerRequest;
        const fl = row(system, rep, 'full', 'large').bytesPerRequest;
        // the only attribute is the whole session: delta and full are the same write
        expect(dl / fl, `${system} ${rep} large`).toBeGreaterThan(0.8);
        expect(dl / fl, `${system} ${rep} large`).toBeLessThan(1.25);
      }
    }
  });

  it('replicates nothing in the baselines, and Tomcat ran with the send options asked for', () => {
    for (const size of ['small', 'large'] as const) {
      for (const mode of ['delta', 'full'] as const) {
        expect(row('cohort', 'none', mode, size).wireBytes).toBe(0);
        // the valve filters every request: what is left is heartbeats and SESSION_CREATED
        const none = row('tomcat', 'none', mode, size);
        expect(none.bytesPerRequest).toBeLessThan(
          row('tomcat', 'async', mode, size).bytesPerRequest / 10,
        );
        expect(none.channelSendOptions).toBe(6);
        expect(row('tomcat', 'async', mode, size).channelSendOptions).toBe(8);
        expect(row('tomcat', 'sync', mode, size).channelSendOptions).toBe(6);
        // cohort: every change is written to the store, acknowledged, once per request
        expect(row('cohort', 'quorum', mode, size).wire.appToStore).toBeGreaterThan(0);
      }
    }
  });
});
