import type { Delta, Session, Version } from '@cohort/session-codec';

/**
 * How many copies must hold a write before it is acknowledged. `owner`: the owner alone
 * (Tomcat's async mode; a crash can lose it); `quorum` (default): the owner and one backup;
 * `all`: every replica. A backend with one copy (Redis) treats all three alike.
 */
export type AckLevel = 'owner' | 'quorum' | 'all';

/** Options of {@link SessionBackend.load}. */
export interface LoadOptions {
  /**
   * Read-your-writes after failover: answer only with a state at least this new (a replica that
   * is behind waits or forwards to the owner). A backend with one copy ignores it.
   */
  readonly minVersion?: Version;
  /**
   * Record an access at this time (ms since the Unix epoch) in the same round trip: sets
   * `lastAccessedAt`, clears `isNew` and restarts the idle timer. The returned session shows it.
   */
  readonly touchAt?: number;
}

/** Options of the writing operations. */
export interface WriteOptions {
  /** Acknowledgement level; the backend's default when absent. */
  readonly level?: AckLevel;
  /**
   * Identifies this write so that a retry after a timeout or a failover applies it once. Unique
   * per write (the middleware uses a random 96-bit id per request).
   */
  readonly requestId: string;
}

/** Options of {@link SessionBackend.apply}. */
export interface ApplyOptions extends WriteOptions {
  /**
   * Compare-and-set: apply only if the stored version is exactly this one, otherwise reject with
   * `CAS_FAILED`. Without it the delta's operations apply to whatever is stored, per attribute,
   * in arrival order (two requests changing different attributes both survive).
   */
  readonly expected?: Version;
}

/** One entry of a batched {@link SessionBackend.touch}. */
export interface TouchEntry {
  /** The session key (the id without its route). */
  readonly key: string;
  /** Access time, ms since the Unix epoch. */
  readonly at: number;
}

/**
 * Where sessions live: a cohort session-node cluster, Redis (or Redis Cluster / Valkey), or the
 * process's memory. The {@link cohortSession} middleware and the express-session
 * {@link CohortStore} work over any of them, with the same semantics:
 *
 * - sessions are {@link Session} values of `@cohort/session-codec`, attribute values kept as
 *   encoded bytes (a backend stores and returns them without decoding);
 * - changes travel as per-attribute {@link Delta}s; the backend applies each op to its current
 *   state (not to the delta's base), so concurrent requests that change different attributes
 *   never overwrite each other; `expected` turns an apply into a compare-and-set;
 * - each stored state has a {@link Version} that grows with every change;
 * - a session expires `maxInactiveSeconds` after its last access (negative: never), the idle time
 *   being measured by the store;
 * - every failure rejects with a {@link SessionBackendError}; keys are never logged.
 *
 * Keys are session ids without their route (`@cohort/session-id`), so re-pinning a session to
 * another route never moves its data.
 */
export interface SessionBackend {
  /**
   * Reads a session.
   *
   * @param key - the session key
   * @param options - minimum version, access to record in the same round trip
   * @returns the session, or null when it does not exist or has expired
   * @throws SessionBackendError UNAVAILABLE, TIMEOUT, CORRUPT
   */
  load(key: string, options?: LoadOptions): Promise<Session | null>;

  /**
   * Optional: a conditional load for a client that holds a copy at version `known` (the
   * middleware's cache). One round trip that answers `'unchanged'` (no session bytes) when the
   * stored version is still `known`, else the session (or null when gone), as {@link load}.
   * Without it the middleware calls `load` instead.
   *
   * @throws SessionBackendError UNAVAILABLE, TIMEOUT, CORRUPT
   */
  revalidate?(
    key: string,
    known: Version,
    options?: Pick<LoadOptions, 'touchAt'>,
  ): Promise<Session | null | 'unchanged'>;

  /**
   * Stores a new session with all its fields and attributes (its `version` is ignored; the
   * store assigns the first one).
   *
   * @returns the version of the stored state
   * @throws SessionBackendError EXISTS if the key is taken; UNAVAILABLE, TIMEOUT, TOO_LARGE
   */
  create(session: Session, options: WriteOptions): Promise<Version>;

  /**
   * Applies one request's changes. An `invalidate` op destroys the session.
   *
   * @param key - the session key (equal to `delta.key`)
   * @param delta - the merged operations (`@cohort/session-codec` `createDelta` or
   *   `TrackedSession.commit`)
   * @returns the version of the new state (for `invalidate`, the version it had)
   * @throws SessionBackendError NOT_FOUND (absent or expired), CAS_FAILED, UNAVAILABLE, TIMEOUT,
   *   TOO_LARGE
   */
  apply(key: string, delta: Delta, options: ApplyOptions): Promise<Version>;

  /**
   * Records accesses of several sessions in one round trip (restarts their idle timers).
   * Sessions that no longer exist are skipped silently.
   *
   * @throws SessionBackendError UNAVAILABLE, TIMEOUT
   */
  touch(entries: readonly TouchEntry[]): Promise<void>;

  /**
   * Removes a session; removing an absent one is not an error.
   *
   * @throws SessionBackendError UNAVAILABLE, TIMEOUT
   */
  destroy(key: string): Promise<void>;

  /** Every live session (express-session's optional `all`); may be O(sessions). */
  all?(): Promise<Session[]>;

  /** How many live sessions there are (express-session's optional `length`). */
  length?(): Promise<number>;

  /** Removes every session of this backend (its namespace only, never the whole store). */
  clear?(): Promise<void>;

  /** Closes connections and timers; later calls reject with `CLOSED`. */
  close(): Promise<void>;
}
