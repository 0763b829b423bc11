/**
 * What went wrong in a session backend or in the middleware, as a stable code.
 *
 * - `NOT_FOUND`: the session does not exist (never created, destroyed, or expired).
 * - `EXISTS`: `create` for a key that is already taken.
 * - `CAS_FAILED`: `apply` with `expected` and the stored version is another one.
 * - `UNAVAILABLE`: the store cannot be reached (connection refused or lost, no node up).
 * - `TIMEOUT`: the store did not answer in time; the operation may or may not have happened
 *   (retry with the same request id, which the store applies once).
 * - `CORRUPT`: the store returned data this client cannot read (a malformed hash, bad bytes).
 * - `TOO_LARGE`: a session or delta over a configured limit.
 * - `INVALID_ARGUMENT`: an argument outside its documented range (the message names it).
 * - `CLOSED`: the backend was closed.
 */
export type SessionBackendErrorCode =
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'CAS_FAILED'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'CORRUPT'
  | 'TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'CLOSED';

/**
 * The one error type a {@link SessionBackend} rejects with, and that the middleware and the
 * store pass on. Messages never contain session keys or attribute values.
 */
export class SessionBackendError extends Error {
  /** Stable code, see {@link SessionBackendErrorCode}. */
  readonly code: SessionBackendErrorCode;

  /**
   * @param code - what went wrong
   * @param message - for a person: what, where, what to do
   * @param options - the underlying error, if any
   */
  constructor(code: SessionBackendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionBackendError';
    this.code = code;
  }
}

/** True when `err` is a {@link SessionBackendError} with the given code. */
export function isBackendError(err: unknown, code?: SessionBackendErrorCode): boolean {
  return err instanceof SessionBackendError && (code === undefined || err.code === code);
}
