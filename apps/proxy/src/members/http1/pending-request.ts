import type { FailurePhase } from '../../balancer/retry.js';
import type { ForwardHandler, ForwardRequest } from '../transport.js';
import { ClientError, ResponseParseError } from './errors.js';
import type { RequestHead } from './request-head.js';

/** Error codes that say the connection never came up, whatever was attempted. */
const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT', // undici's, for WebSocket handshakes
]);

/** Error codes of a member that did not send its response head in time. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['RESPONSE_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

/**
 * Where a failed request got to: `connect` when no byte of it was written (safe to send
 * anywhere again) or the connection never came up, `responding` once its response head was
 * handed on, `invalid` when the member's answer was not valid HTTP, `request` when the request
 * could not be written, `timeout` when the member did not answer in time, `sent` otherwise.
 */
export function phaseOf(err: Error, written: boolean, responded: boolean): FailurePhase {
  if (responded) return 'responding';
  const code = (err as { code?: unknown }).code;
  if (err instanceof ResponseParseError || code === 'UNEXPECTED_UPGRADE') return 'invalid';
  if (code === 'INVALID_REQUEST') return 'request';
  if (code === 'QUEUE_TIMEOUT') return 'queue';
  if (!written || (typeof code === 'string' && CONNECT_CODES.has(code))) return 'connect';
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
  return 'sent';
}

/** What a request needs from the connection it is on. */
export interface RequestCarrier {
  /** Fails the request with `err` and closes the connection. */
  abort(r: PendingRequest, err: Error): void;
  /** Restarts a response body paused by the handler. */
  resume(r: PendingRequest): void;
}

/**
 * One request from the moment it is handed to the pool until its handler heard the end or an
 * error (exactly one of the two, exactly once). It records how far it got, which decides the
 * phase of a failure. `abort` and `resume` are the only closures a request costs.
 */
export class PendingRequest {
  /** The head was handed to the socket: from here on a failure is not `connect`. */
  written = false;
  /** The response head was handed to the handler. */
  responded = false;
  /** The handler heard the end or an error. */
  finished = false;
  /** Waiting in its pool's queue. */
  queued = false;
  /** When it joined the queue (pool clock). */
  queuedAt = 0;
  /** The connection carrying the request, once it has one. */
  carrier: RequestCarrier | undefined;

  /** Wraps `req` (with its serialized `head`) for `handler`; `dequeue` drops it from a queue. */
  constructor(
    readonly req: ForwardRequest,
    readonly head: RequestHead,
    readonly handler: ForwardHandler,
    private readonly dequeue: (r: PendingRequest) => void,
  ) {}

  /** Aborts the request (closing its connection) unless it already finished. */
  readonly abort = (reason?: Error): void => {
    if (this.finished) return;
    const err = reason ?? new ClientError('ABORTED', 'the request was aborted');
    if (this.carrier !== undefined) this.carrier.abort(this, err);
    else {
      this.dequeue(this);
      this.fail(err);
    }
  };

  /** Resumes a paused response body. */
  readonly resume = (): void => {
    this.carrier?.resume(this);
  };

  /** Reports `err` to the handler with the phase the request reached (once). */
  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.carrier = undefined;
    this.handler.onError(err, phaseOf(err, this.written, this.responded));
  }
}
