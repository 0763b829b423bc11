/**
 * The checker of the MSM + Redis scenario: one client's history of counter requests against its
 * session, every response compared with what was acknowledged before it.
 */

/** One request of a client: a page view that adds one to the session's counter. */
export interface CounterOp {
  /** The response was a 200 with the session's state: the increment is acknowledged. */
  readonly ok: boolean;
  /**
   * The increment may have been applied without the client knowing, or twice: a failed request
   * (the store may have taken the write before failing), or one in flight at an app instance that
   * was stopped (the proxy retries a GET that got no response on another instance).
   */
  readonly uncertain: boolean;
  /** What the response showed (ok only): the session's identity and its counter. */
  readonly seen?: { readonly key: string; readonly createdAt: number; readonly counter: number };
}

/** What {@link checkCounterHistory} found. */
export interface CounterVerdict {
  /** Responses that showed another session (key or creation time) than the first one. */
  readonly lostSessions: number;
  /** Responses whose counter was below the acknowledged increments (an acknowledged write lost). */
  readonly lostIncrements: number;
  /** Responses whose counter was beyond every increment that could have happened. */
  readonly unexplained: number;
  /** Increments seen beyond the acknowledged ones, all explained by uncertain requests (retries). */
  readonly extraIncrements: number;
  /** One line per problem (no session ids). */
  readonly problems: readonly string[];
}

/**
 * Checks one client's history in request order (a client waits for each response before the
 * next): every response shows the first response's session; its counter is at least the last
 * acknowledged counter plus the acknowledged increments since (so no counter ever goes back), and
 * at most that plus one per uncertain or failed request since.
 */
export function checkCounterHistory(ops: readonly CounterOp[]): CounterVerdict {
  const problems: string[] = [];
  let lostSessions = 0;
  let lostIncrements = 0;
  let unexplained = 0;
  let extraIncrements = 0;
  let identity: { key: string; createdAt: number } | undefined;
  let counter = 0;
  let certain = 0;
  let possible = 0;
  ops.forEach((op, i) => {
    if (op.ok) certain++;
    if (op.uncertain || !op.ok) possible++;
    if (!op.ok || op.seen === undefined) return;
    const s = op.seen;
    if (identity === undefined) identity = { key: s.key, createdAt: s.createdAt };
    else if (identity.key !== s.key || identity.createdAt !== s.createdAt) {
      lostSessions++;
      problems.push(`op ${i}: another session than the first response showed`);
      identity = { key: s.key, createdAt: s.createdAt };
      counter = 0;
    }
    const low = counter + certain;
    const high = low + possible;
    if (s.counter < low) {
      lostIncrements++;
      problems.push(`op ${i}: counter ${s.counter}, at least ${low} acknowledged`);
    } else if (s.counter > high) {
      unexplained++;
      problems.push(`op ${i}: counter ${s.counter}, at most ${high} possible`);
    } else extraIncrements += s.counter - low;
    counter = s.counter;
    certain = 0;
    possible = 0;
  });
  return { lostSessions, lostIncrements, unexplained, extraIncrements, problems };
}
