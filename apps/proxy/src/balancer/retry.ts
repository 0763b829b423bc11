/** Where an attempt on a member failed. */
export type FailurePhase =
  /** The connection could not be established (refused, unreachable, connect timeout). */
  | 'connect'
  /** The request was (or may have been) written, and no response byte has arrived. */
  | 'sent'
  /** The member stopped answering before sending response headers within the response timeout. */
  | 'timeout'
  /** Response bytes had already been sent to the client. */
  | 'responding';

/** Methods that may be repeated without changing the result (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

/** The facts {@link mayRetry} decides on. */
export interface RetryInput {
  readonly phase: FailurePhase;
  readonly method: string;
  /** The request body can be sent again: there is none, it is fully buffered, or none of it was read. */
  readonly bodyReplayable: boolean;
  /** Attempts made so far, the failed one included. */
  readonly attempts: number;
  /** The balancer's `maxAttempts`. */
  readonly maxAttempts: number;
}

/**
 * The retry rules: a connection that could not be established is retried for any method; a
 * failure after the request was written but before any response byte is retried only for
 * idempotent methods whose body (if any) was fully buffered; timeouts and anything after response
 * bytes reached the client are never retried. `maxAttempts` bounds all of it.
 */
export function mayRetry(r: RetryInput): boolean {
  if (r.attempts >= r.maxAttempts || !r.bodyReplayable) return false;
  if (r.phase === 'connect') return true;
  if (r.phase === 'sent') return IDEMPOTENT_METHODS.has(r.method);
  return false;
}

/**
 * Whether a failure puts the member in error for the balancer's `retry` period (passive
 * detection): connect failures and resets do; a slow answer (timeout) and client-side aborts do not.
 */
export function marksMemberInError(phase: FailurePhase): boolean {
  return phase === 'connect' || phase === 'sent';
}
