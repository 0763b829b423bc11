/**
 * The checker of the cluster end-to-end test: each client's history of requests against one
 * session — every response it got back — compared with what was acknowledged before it and with
 * what it reads back at the end.
 */

/** What one request of a client did, and what its response (if any) showed. */
export interface ClientOp {
  /** `count`: a page view (counter + 1); `set`: the client's own attribute set to `value`; `read`: a read that changes nothing. */
  readonly kind: 'count' | 'set' | 'read';
  /** The response was a 200 (the change is acknowledged). */
  readonly ok: boolean;
  /**
   * The change may have happened although the client cannot tell, or more than once: a failed
   * request, or one in flight at an instance that was killed (the proxy retries idempotent
   * requests on another instance, and the dead one may have stored it first).
   */
  readonly uncertain: boolean;
  /** For `set`: the value written (a client writes increasing values). */
  readonly value?: number;
  /** What the response showed (ok only). */
  readonly seen?: {
    /** The session key (the id without its route) and creation time: the session's identity. */
    readonly key: string;
    readonly createdAt: string;
    readonly counter: number;
    /** The client's own attribute (undefined before its first set). */
    readonly attribute: number | undefined;
  };
}

/** What {@link checkClientHistory} found. */
export interface HistoryVerdict {
  /** Responses that showed a new session (another key or creation time) after the first. */
  readonly lostSessions: number;
  /** Responses that showed less than was acknowledged before them (counter or attribute). */
  readonly lostWrites: number;
  /** Responses whose counter was beyond every increment that could have happened. */
  readonly unexplained: number;
  /** Increments seen beyond the acknowledged ones, all explained by uncertain requests. */
  readonly extraIncrements: number;
  /** One line per problem (no session ids). */
  readonly problems: readonly string[];
}

/**
 * Checks one client's history, in the order its requests were made (a client waits for each
 * response before the next request). The rules:
 *
 * - every response shows the same session (key and creation time) as the first one;
 * - a response never shows a counter below the last acknowledged one (a `count` response shows
 *   at least one more), nor the attribute below the last acknowledged value;
 * - a counter never grows by more than the increments that could have happened since the last
 *   response: one per `count` request, plus one per uncertain request (a retry may apply twice);
 * - the attribute is never beyond the largest value written.
 */
export function checkClientHistory(ops: readonly ClientOp[]): HistoryVerdict {
  const problems: string[] = [];
  let lostSessions = 0;
  let lostWrites = 0;
  let unexplained = 0;
  let extraIncrements = 0;
  let identity: { key: string; createdAt: string } | undefined;
  let counter = 0; // last counter a response showed (acknowledged)
  let possible = 0; // increments that may have happened since then, beyond certain ones
  let certain = 0; // increments that happened since then for sure (none: see the count rule)
  let attribute = 0; // last acknowledged value of the attribute
  let written = 0; // largest value any set request carried
  ops.forEach((op, i) => {
    if (op.kind === 'count') {
      if (op.ok) certain++;
      possible += op.uncertain || !op.ok ? 1 : 0;
    }
    if (op.kind === 'set' && op.value !== undefined) written = Math.max(written, op.value);
    if (!op.ok || op.seen === undefined) return;
    const s = op.seen;
    if (identity === undefined) identity = { key: s.key, createdAt: s.createdAt };
    else if (identity.key !== s.key || identity.createdAt !== s.createdAt) {
      lostSessions++;
      problems.push(`op ${i} (${op.kind}): another session than the first response showed`);
      identity = { key: s.key, createdAt: s.createdAt };
      counter = 0;
      attribute = 0;
    }
    const low = counter + certain;
    const high = counter + certain + possible;
    if (s.counter < low) {
      lostWrites++;
      problems.push(`op ${i} (${op.kind}): counter ${s.counter}, at least ${low} acknowledged`);
    } else if (s.counter > high) {
      unexplained++;
      problems.push(`op ${i} (${op.kind}): counter ${s.counter}, at most ${high} possible`);
    } else extraIncrements += s.counter - low;
    const a = s.attribute ?? 0;
    if (op.kind === 'set' && op.value !== undefined && a !== op.value) {
      lostWrites++;
      problems.push(`op ${i} (set): the response shows ${a}, not the ${op.value} it set`);
    } else if (a < attribute) {
      lostWrites++;
      problems.push(`op ${i} (${op.kind}): attribute ${a}, ${attribute} acknowledged`);
    } else if (a > written) {
      unexplained++;
      problems.push(`op ${i} (${op.kind}): attribute ${a}, never written`);
    }
    counter = s.counter;
    certain = 0;
    possible = 0;
    attribute = Math.max(attribute, a);
  });
  return { lostSessions, lostWrites, unexplained, extraIncrements, problems };
}
