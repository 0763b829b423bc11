/** Why the front end refused a request before it reached a balancer. */
export type FrontErrorCode =
  | 'BAD_REQUEST_LINE'
  | 'BAD_METHOD'
  | 'BAD_TARGET'
  | 'BAD_VERSION'
  | 'BAD_HEADER'
  | 'BAD_LINE_ENDING'
  | 'OBS_FOLD'
  | 'MISSING_HOST'
  | 'DUPLICATE_HOST'
  | 'BAD_CONTENT_LENGTH'
  | 'DUPLICATE_CONTENT_LENGTH'
  | 'LENGTH_AND_CHUNKED'
  | 'UNSUPPORTED_TRANSFER_CODING'
  | 'BAD_CHUNK'
  | 'EXPECTATION_FAILED'
  | 'HEADER_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'TARGET_TOO_LONG'
  | 'HEADERS_TIMEOUT'
  | 'REQUEST_TIMEOUT'
  | 'BODY_INCOMPLETE';

/**
 * A request the front end refuses: a typed error with the HTTP status to answer (400, 408, 414,
 * 417, 431, 501, 505) and a reason that names what was wrong. It never carries header values.
 */
export class FrontRequestError extends Error {
  /** What was wrong. */
  readonly code: FrontErrorCode;
  /** The status the client gets. */
  readonly status: number;

  /** Builds the error. */
  constructor(code: FrontErrorCode, status: number, message: string) {
    super(message);
    this.name = 'FrontRequestError';
    this.code = code;
    this.status = status;
  }
}
