/**
 * Why an operation or a frame was refused, as a stable machine-readable code.
 *
 * - `NOT_OWNER`: this node does not own the session; `owner` names the node it believes does.
 * - `UNAVAILABLE`: this node should own the session but could not take ownership in time (not
 *   enough replicas answered); retry later.
 * - `TIMEOUT`: the write was sequenced but not acknowledged at the requested level in time. Its
 *   outcome is unknown: it may or may not survive.
 * - `OWNERSHIP_LOST`: ownership moved while the write waited for its acknowledgements; it may be
 *   lost.
 * - `CAS_FAILED`: the compare-and-set expected another session version.
 * - `LEASE_HELD`: a lease lock is held and the write carried no fencing token.
 * - `FENCED`: the write carried a fencing token that is not the current lease's.
 * - `STALE`: this node's copy is older than the version the client has already seen.
 * - `NOT_FOUND`: a write to a session that does not exist, without `create`.
 * - `INVALID_OP`: the operation is malformed (the message names the field).
 * - `MALFORMED`: a frame's bytes are not a valid frame (with the byte offset).
 * - `UNSUPPORTED_VERSION`: a frame of a wire version this code does not read.
 */
export type ReplicationErrorCode =
  | 'NOT_OWNER'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'OWNERSHIP_LOST'
  | 'CAS_FAILED'
  | 'LEASE_HELD'
  | 'FENCED'
  | 'STALE'
  | 'NOT_FOUND'
  | 'INVALID_OP'
  | 'MALFORMED'
  | 'UNSUPPORTED_VERSION';

/** Details attached to a {@link ReplicationError}. */
export interface ReplicationErrorDetails {
  /** The field that was wrong, when one was. */
  readonly field?: string;
  /** The byte offset in a decoded frame. */
  readonly offset?: number;
  /** What was expected instead, in words. */
  readonly expected?: string;
  /** The error that caused this one. */
  readonly cause?: unknown;
}

/** The error this package throws for bad input (frames, options, operations). */
export class ReplicationError extends Error {
  /** Stable code, see {@link ReplicationErrorCode}. */
  readonly code: ReplicationErrorCode;
  /** The field that was wrong, if any. */
  readonly field: string | undefined;
  /** Byte offset in a decoded frame, if decoding. */
  readonly offset: number | undefined;
  /** What was expected, in words. */
  readonly expected: string | undefined;

  /**
   * @param code - the stable code
   * @param message - what went wrong, for a person
   * @param details - field, offset, expectation and cause
   */
  constructor(code: ReplicationErrorCode, message: string, details: ReplicationErrorDetails = {}) {
    const where = details.offset !== undefined ? ` at byte ${details.offset}` : '';
    const exp = details.expected !== undefined ? ` (expected ${details.expected})` : '';
    super(`${code}: ${message}${where}${exp}`, { cause: details.cause });
    this.name = 'ReplicationError';
    this.code = code;
    this.field = details.field;
    this.offset = details.offset;
    this.expected = details.expected;
  }
}
