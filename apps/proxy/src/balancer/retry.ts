/** Where an attempt on a member failed. */
export type FailurePhase =
  /** The connection could not be established (refused, unreachable, connect timeout). */
  | 'connect'
  /** The request was (or may have been) written, and no response byte has arrived. */
  | 'sent'
  /** The member stopped answering before sending response headers within the response timeout. */
  | 'timeout'
  /**
   * The member answered with bytes that are not a valid response (a head too large, control
   * characters, folded lines, too many interim responses, an unasked 101): a 502 for this
   * request alone, counted towards the balancer's `outlier.consecutiveFailures`.
   */
  | 'invalid'
  /**
   * The request cannot be sent to this member at all (it does not fit an AJP packet, a header
   * cannot be written): the client's fault, answered 400/414/431, never the member's.
   */
  | 'request'
  /**
   * No connection to the member came free within `timeouts.queue` (all `maxConnections` busy):
   * 503 with Retry-After for this request; the member is busy, not broken.
   */
  | 'queue'
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
 * Whether a failure puts the member in error for the balancer's `retry` period at once (passive
 * detection): transport failures do — the connection refused or timed out (`connect`), reset or
 * closed before any response byte (`sent`). An invalid answer, a slow one and a request that
 * cannot be encoded do not: one client can provoke those with its own request, so they only
 * count towards the balancer's `outlier.consecutiveFailures` (see `recordFailure`).
 */
export function marksMemberInError(phase: FailurePhase): boolean {
  return phase === 'connect' || phase === 'sent';
}
