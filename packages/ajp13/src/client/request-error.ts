import type { AjpProtocolError } from '../errors.js';

/** Codes of {@link AjpRequestError}. */
export type AjpRequestErrorCode =
  /** The TCP connection to the backend could not be made. */
  | 'CONNECT_FAILED'
  /** Connecting took longer than `connectTimeout`. */
  | 'CONNECT_TIMEOUT'
  /** No CPONG within `ping.timeout`, or something else came instead. */
  | 'CPING_FAILED'
  /** No free connection within `acquireTimeout` (all `maxConnections` busy). */
  | 'ACQUIRE_TIMEOUT'
  /** The request headers and attributes do not fit in one packet (answer 413 or 400). */
  | 'REQUEST_TOO_LARGE'
  /** The request is not valid (bad header name, CR/LF in a value, a privileged attribute…). */
  | 'INVALID_REQUEST'
  /** The backend sent nothing for longer than `replyTimeout` while a reply was due. */
  | 'REPLY_TIMEOUT'
  /** The backend closed the connection before END_RESPONSE. */
  | 'CONNECTION_CLOSED'
  /** The backend broke the protocol (see `cause`). */
  | 'PROTOCOL_ERROR'
  /** The request body stream failed or ended before its declared length. */
  | 'BODY_ERROR'
  /** The caller aborted (signal, or destroyed the response body). */
  | 'ABORTED'
  /** The client was closed. */
  | 'CLIENT_CLOSED';

/**
 * An error of {@link AjpClient.request} and {@link AjpClient.dispatch}. `requestSent` tells
 * whether any byte of this request reached the backend connection: when false, nothing was sent
 * and the request can be retried on another backend whatever its method. `retryable` is true when the request may safely be repeated
 * elsewhere: nothing was sent, or the connection was a pooled one the backend had closed and no
 * response byte and no body beyond the buffered first packet went out.
 */
export class AjpRequestError extends Error {
  /** Stable machine-readable code. */
  readonly code: AjpRequestErrorCode;
  /** Whether any byte of the request was written to the backend connection. */
  readonly requestSent: boolean;
  /** Whether any byte of the response arrived. */
  readonly responseStarted: boolean;
  /** Whether the request can be sent again elsewhere without risk of doing it twice. */
  readonly retryable: boolean;
  /** The suggested HTTP status for a proxy answering its client (502, 503, 504, 413, 400…). */
  readonly status: number;

  /** Creates the error. */
  constructor(
    code: AjpRequestErrorCode,
    message: string,
    state: {
      requestSent: boolean;
      responseStarted?: boolean;
      retryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(`${code}: ${message}`, state.cause === undefined ? undefined : { cause: state.cause });
    this.name = 'AjpRequestError';
    this.code = code;
    this.requestSent = state.requestSent;
    this.responseStarted = state.responseStarted ?? false;
    this.retryable = state.retryable ?? !state.requestSent;
    this.status = statusFor(code);
  }

  /** The protocol error behind a PROTOCOL_ERROR, if any. */
  get protocolError(): AjpProtocolError | undefined {
    return this.code === 'PROTOCOL_ERROR' ? (this.cause as AjpProtocolError) : undefined;
  }
}

function statusFor(code: AjpRequestErrorCode): number {
  switch (code) {
    case 'REQUEST_TOO_LARGE':
      return 413;
    case 'INVALID_REQUEST':
    case 'BODY_ERROR':
      return 400;
    case 'REPLY_TIMEOUT':
    case 'CONNECT_TIMEOUT':
    case 'ACQUIRE_TIMEOUT':
      return 504;
    case 'CONNECT_FAILED':
    case 'CPING_FAILED':
    case 'CLIENT_CLOSED':
      return 503;
    default:
      return 502;
  }
}
