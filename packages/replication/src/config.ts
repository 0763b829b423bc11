import { ReplicationError } from './errors.js';

/** Tunables of a {@link ReplicationEngine}. Times are ms on the node's monotonic clock. */
export interface EngineConfig {
  /** Copies of each session, owner included (default 3). */
  readonly replicas: number;
  /**
   * The smallest replica set a node may take ownership with (default: 0, meaning `replicas`).
   * A set of two loses its majority with one failure, so while fewer members are in view than
   * this, ownership does not move and writes wait.
   */
  readonly minReplicas: number;
  /** Resend unanswered prepares/accepts and catch-up to lagging replicas after this (default 200). */
  readonly retransmitMs: number;
  /** Give up a claim that has not completed after this, and retry later (default 2000). */
  readonly claimTimeoutMs: number;
  /** Fail a client operation not acknowledged after this (default 5000). */
  readonly opTimeoutMs: number;
  /** How often unsettled sessions (placement changed) are looked at again (default 500). */
  readonly settleMs: number;
  /** Claims in flight at once, the rejoin catch-up bound (default 64). */
  readonly maxConcurrentClaims: number;
  /** Claims started per second at most, the rejoin catch-up rate (default 2000). */
  readonly claimsPerSecond: number;
  /** Sequenced entries kept per session for catch-up before a snapshot is needed (default 32). */
  readonly logEntries: number;
  /** Entries per catch-up message at most (default 16). */
  readonly catchUpChunk: number;
  /** Touches are replicated at most every max(TTL/4, this) (default 60 000, Resin's window). */
  readonly minTouchIntervalMs: number;
  /**
   * A backup expires a session on its own only when the owner has been gone this long and the
   * session was idle TTL + this long (default: max(TTL, 60 000) when 0).
   */
  readonly backupGraceMs: number;
  /** Invalidated sessions keep their tombstone (for fencing) this long (default 600 000). */
  readonly tombstoneMs: number;
  /** Granularity of the expiry timer wheel (default 250). */
  readonly expiryResolutionMs: number;
  /** The host's wake-up period while work is pending (default 50). */
  readonly tickMs: number;
}

/** The defaults of {@link EngineConfig}. */
export const DEFAULT_CONFIG: EngineConfig = Object.freeze({
  replicas: 3,
  minReplicas: 0,
  retransmitMs: 200,
  claimTimeoutMs: 2000,
  opTimeoutMs: 5000,
  settleMs: 500,
  maxConcurrentClaims: 64,
  claimsPerSecond: 2000,
  logEntries: 32,
  catchUpChunk: 16,
  minTouchIntervalMs: 60_000,
  backupGraceMs: 0,
  tombstoneMs: 600_000,
  expiryResolutionMs: 250,
  tickMs: 50,
});

/**
 * Merges options over the defaults and checks them.
 *
 * @throws ReplicationError INVALID_OP naming the bad option
 */
export function resolveConfig(options: Partial<EngineConfig> = {}): EngineConfig {
  const merged: EngineConfig = { ...DEFAULT_CONFIG, ...options };
  const cfg: EngineConfig = {
    ...merged,
    minReplicas: merged.minReplicas === 0 ? merged.replicas : merged.minReplicas,
  };
  for (const [name, value] of Object.entries(cfg)) {
    const min = name === 'backupGraceMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || (value as number) < min) {
      throw new ReplicationError('INVALID_OP', `option ${name} is ${String(value)}`, {
        field: name,
        expected: `an integer >= ${min}`,
      });
    }
  }
  if (cfg.minReplicas > cfg.replicas) {
    throw new ReplicationError('INVALID_OP', 'option minReplicas is larger than replicas', {
      field: 'minReplicas',
      expected: `at most ${cfg.replicas}`,
    });
  }
  return cfg;
}
