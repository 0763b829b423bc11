/**
 * Typed errors of the HTTP/1.1 member client. Every failure carries a stable `code` a caller
 * (and a log reader) can act on; protocol errors also say at which byte of the response stream
 * the member's answer went wrong.
 */

/** What was wrong with a member's response bytes. */
export type ResponseErrorCode =
  | 'INVALID_STATUS_LINE'
  | 'UNSUPPORTED_VERSION'
  | 'STATUS_LINE_TOO_LONG'
  | 'HEADERS_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'INVALID_HEADER_LINE'
  | 'INVALID_HEADER_NAME'
  | 'INVALID_HEADER_VALUE'
  | 'OBSOLETE_LINE_FOLDING'
  | 'INVALID_CONTENT_LENGTH'
  | 'CONFLICTING_CONTENT_LENGTH'
  | 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING'
  | 'UNSUPPORTED_TRANSFER_ENCODING'
  | 'INVALID_CHUNK_SIZE'
  | 'CHUNK_EXTENSION_TOO_LARGE'
  | 'INVALID_CHUNK_FRAMING'
  | 'INVALID_TRAILER'
  | 'TRAILERS_TOO_LARGE'
  | 'TOO_MANY_INTERIM_RESPONSES'
  | 'INCOMPLETE_RESPONSE';

/**
 * A member sent bytes that are not a valid HTTP/1.1 response (or broke off in the middle of
 * one). The proxy answers 502; the connection it came on is closed.
 */
export class ResponseParseError extends Error {
  /** What was wrong. */
  readonly code: ResponseErrorCode;
  /** Offset, in bytes from the start of the connection's response stream, of the fault. */
  readonly offset: number;

  /** Builds the error; `detail` says what was expected, in words. */
  constructor(code: ResponseErrorCode, offset: number, detail: string) {
    super(`invalid HTTP response from member at byte ${offset}: ${detail} (${code})`);
    this.name = 'ResponseParseError';
    this.code = code;
    this.offset = offset;
  }
}

/** What failed in the transport around a request (not the response bytes themselves). */
export type ClientErrorCode =
  /** The TCP connection was not established within the connect timeout. */
  | 'CONNECT_TIMEOUT'
  /** No response headers within the response timeout after the request was written. */
  | 'RESPONSE_TIMEOUT'
  /** No body bytes within the body timeout while a response was streaming. */
  | 'BODY_TIMEOUT'
  /** The member closed the connection before the response was complete. */
  | 'CONNECTION_CLOSED'
  /** A request body did not match its declared Content-Length. */
  | 'CONTENT_LENGTH_MISMATCH'
  /** The request cannot be written as HTTP/1.1 (invalid method, target, header name or value). */
  | 'INVALID_REQUEST'
  /** No connection came free within the queue timeout (all `maxConnections` busy). */
  | 'QUEUE_TIMEOUT'
  /** The pool was closed or destroyed before the request could be sent. */
  | 'POOL_CLOSED'
  /** The member switched protocols (101) on a request that did not ask for it. */
  | 'UNEXPECTED_UPGRADE'
  /** The request was aborted by the caller. */
  | 'ABORTED';

/** A transport failure of the HTTP/1.1 member client. */
export class ClientError extends Error {
  /** What failed. */
  readonly code: ClientErrorCode;

  /** Builds the error. */
  constructor(code: ClientErrorCode, message: string) {
    super(`${message} (${code})`);
    this.name = 'ClientError';
    this.code = code;
  }
}
