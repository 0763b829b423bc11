import type { Op, Session, Version } from '@cohort/session-codec';
import type { ReplicationErrorCode } from './errors.js';

/**
 * When a write is acknowledged:
 * - `owner`: as soon as the owner applied it (asynchronous replication; lost if the owner dies
 *   before a backup received it);
 * - `quorum`: once a majority of the replica set holds it (owner + one backup with 3 copies);
 * - `all`: once every member of the replica set holds it.
 */
export type AckLevel = 'owner' | 'quorum' | 'all';

/** Fields shared by every client operation. */
interface OpBase {
  /** The caller's id for this operation, echoed in the result. */
  readonly id: number;
  /** The session key (the id without its route). */
  readonly key: string;
  /**
   * The newest version this client has seen for the session: a node whose copy is older refuses
   * with `STALE` instead of answering from the past.
   */
  readonly minVersion?: Version;
}

/** Change a session with per-attribute operations. */
export interface WriteOp extends OpBase {
  readonly kind: 'write';
  /** The operations (session-codec ops; merged as a request's delta). */
  readonly ops: readonly Op[];
  /** Acknowledgement level (default `quorum`). */
  readonly level?: AckLevel;
  /** Compare-and-set: apply only if the session is at exactly this version. */
  readonly expected?: Version;
  /** The fencing token of the lease this writer holds. */
  readonly fence?: Version;
  /** Create the session with these fields when it does not exist. */
  readonly create?: { readonly createdAt: number; readonly maxInactiveSeconds: number };
}

/** Read a session at its owner; `touch` records an access (batched to the replicas). */
export interface ReadOp extends OpBase {
  readonly kind: 'read';
  /** Record an access at this time (ms since the Unix epoch, the client's clock). */
  readonly touch?: number;
}

/** Take the session's lease lock for `durationMs` (on the owner's monotonic clock). */
export interface AcquireLeaseOp extends OpBase {
  readonly kind: 'acquire';
  readonly holder: string;
  readonly durationMs: number;
  readonly level?: AckLevel;
}

/** Give back the lease lock identified by its token. */
export interface ReleaseLeaseOp extends OpBase {
  readonly kind: 'release';
  readonly token: Version;
  readonly level?: AckLevel;
}

/** An operation a client submits to the engine of the node it believes owns the session. */
export type ClientOp = WriteOp | ReadOp | AcquireLeaseOp | ReleaseLeaseOp;

/** A successful operation. */
export interface OpSuccess {
  readonly id: number;
  readonly ok: true;
  /** The session version after the operation (for reads: the version read). */
  readonly version: Version;
  /** Reads: the session, or null when it does not exist. */
  readonly session?: Session | null;
  /** Lease acquisition: the fencing token. */
  readonly token?: Version;
}

/** A refused or failed operation. */
export interface OpFailure {
  readonly id: number;
  readonly ok: false;
  readonly code: ReplicationErrorCode;
  readonly message: string;
  /** For `NOT_OWNER`: the member believed to own the session. */
  readonly owner?: string;
  /** For `CAS_FAILED` and `STALE`: the node's current version. */
  readonly current?: Version;
}

/** The outcome of a client operation. */
export type OpResult = OpSuccess | OpFailure;
