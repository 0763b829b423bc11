import { compareVersions, formatVersion, type Version } from '@cohort/session-codec';

/** One completed client operation, as recorded by a test harness. */
export interface HistoryOp {
  /** Who issued it (operations of one client are sequential). */
  readonly client: string;
  readonly key: string;
  readonly kind: 'write' | 'read';
  /** When it was issued and when its answer arrived (harness time). */
  readonly invokedAt: number;
  readonly respondedAt: number;
  /** Whether it succeeded; failed operations are ignored (their outcome may be unknown). */
  readonly ok: boolean;
  /** The version the answer named. */
  readonly version?: Version;
  /**
   * Writes: the attribute written, the counter value it received, and whether it was
   * acknowledged at a durable level (`quorum` or `all`); an `owner`-level write may be lost.
   */
  readonly wrote?: { readonly attr: string; readonly value: number; readonly durable: boolean };
  /** Reads: the counter attributes of the session read, or null when it did not exist. */
  readonly read?: ReadonlyMap<string, number> | null;
}

/** A violation found by {@link checkHistory}. */
export interface HistoryViolation {
  readonly rule: 'monotonic' | 'same-version-same-state' | 'read-your-writes';
  readonly key: string;
  readonly client: string;
  readonly message: string;
}

function describe(read: ReadonlyMap<string, number> | null): string {
  if (read === null) return 'absent';
  return [...read]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * Checks a recorded history of client operations on sessions, per session:
 *
 * 1. **monotonic**: the versions one client is answered never go back (reads and write acks);
 * 2. **same-version-same-state**: two reads that name the same version saw the same state;
 * 3. **read-your-writes**: after a client's write of `attr = n` was acknowledged at version v at a
 *    durable level, its
 *    later reads show `attr >= n`, unless the session was invalidated or expired between v and the
 *    read's version (`invalidations` lists the versions at which that happened).
 *
 * @param history - completed operations (any order; sorted by response time here)
 * @param invalidations - per key, the versions at which the session ended
 * @returns the violations, empty when the history is consistent
 */
export function checkHistory(
  history: readonly HistoryOp[],
  invalidations: ReadonlyMap<string, readonly Version[]> = new Map(),
): HistoryViolation[] {
  const out: HistoryViolation[] = [];
  const ops = history
    .filter((h) => h.ok && h.version)
    .sort((a, b) => a.respondedAt - b.respondedAt);
  const seen = new Map<string, Version>();
  const written = new Map<string, { attr: string; value: number; version: Version }[]>();
  const states = new Map<string, { state: string; client: string }>();
  for (const op of ops) {
    const id = `${op.client}\u0000${op.key}`;
    const v = op.version!;
    const last = seen.get(id);
    if (last && compareVersions(v, last) < 0) {
      out.push({
        rule: 'monotonic',
        key: op.key,
        client: op.client,
        message: `${op.kind} answered version ${formatVersion(v)} after the client saw ${formatVersion(last)}`,
      });
    }
    if (!last || compareVersions(v, last) > 0) seen.set(id, v);
    if (op.kind === 'write' && op.wrote) {
      if (!op.wrote.durable) continue;
      let list = written.get(id);
      if (!list) written.set(id, (list = []));
      list.push({ ...op.wrote, version: v });
      continue;
    }
    if (op.kind !== 'read' || op.read === undefined) continue;
    const sv = `${op.key}\u0000${formatVersion(v)}`;
    const state = describe(op.read);
    const prior = states.get(sv);
    if (prior && prior.state !== state) {
      out.push({
        rule: 'same-version-same-state',
        key: op.key,
        client: op.client,
        message: `version ${formatVersion(v)} read as {${state}}, but ${prior.client} read it as {${prior.state}}`,
      });
    } else if (!prior) states.set(sv, { state, client: op.client });
    const ends = invalidations.get(op.key) ?? [];
    for (const w of written.get(id) ?? []) {
      const ended = ends.some(
        (e) => compareVersions(e, w.version) > 0 && compareVersions(e, v) <= 0,
      );
      if (ended) continue;
      const got = op.read === null ? undefined : op.read.get(w.attr);
      if (got === undefined || got < w.value) {
        out.push({
          rule: 'read-your-writes',
          key: op.key,
          client: op.client,
          message: `read at ${formatVersion(v)} shows ${w.attr}=${got ?? 'absent'} after the client's write of ${w.value} was acknowledged at ${formatVersion(w.version)}`,
        });
      }
    }
  }
  return out;
}
