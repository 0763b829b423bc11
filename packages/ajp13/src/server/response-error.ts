/**
 * Codes of {@link AjpResponseStateError}: the codes Node's `http.ServerResponse` uses for the same
 * mistakes, so middleware that tests `err.code` behaves the same behind AJP.
 */
export type AjpResponseStateCode =
  /** `setHeader`, `appendHeader`, `removeHeader` or `writeHead` after the headers went out. */
  | 'ERR_HTTP_HEADERS_SENT'
  /** `writeHead` with a status outside 100…999. */
  | 'ERR_HTTP_INVALID_STATUS_CODE'
  /** `write()` or `end(chunk)` after `end()`. */
  | 'ERR_STREAM_WRITE_AFTER_END'
  /** `end(cb)` on a response that already finished. */
  | 'ERR_STREAM_ALREADY_FINISHED'
  /** `write()` on a destroyed response (the connection went away). */
  | 'ERR_STREAM_DESTROYED';

const MESSAGES: Record<AjpResponseStateCode, (what: string) => string> = {
  ERR_HTTP_HEADERS_SENT: (what) => `Cannot ${what} headers after they are sent to the client`,
  ERR_HTTP_INVALID_STATUS_CODE: (what) => `Invalid status code: ${what}`,
  ERR_STREAM_WRITE_AFTER_END: () => 'write after end',
  ERR_STREAM_ALREADY_FINISHED: (what) => `Cannot call ${what} after a stream was finished`,
  ERR_STREAM_DESTROYED: (what) => `Cannot call ${what} after a stream was destroyed`,
};

/**
 * A call that the state of an {@link AjpServerResponse} does not allow, with Node's code and
 * message for it (`Cannot set headers after they are sent to the client`, `write after end`…).
 */
export class AjpResponseStateError extends Error {
  /** Node's code for this mistake. */
  readonly code: AjpResponseStateCode;

  /** @internal */
  constructor(code: AjpResponseStateCode, what = '') {
    super(MESSAGES[code](what));
    this.name = code === 'ERR_HTTP_INVALID_STATUS_CODE' ? 'RangeError' : 'Error';
    this.code = code;
  }
}
