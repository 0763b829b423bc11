import { ClientError } from './errors.js';

/** A method or field name: RFC 9110 token characters only. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Anything that may not appear in a field value (controls other than HTAB, DEL). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Anything that may not appear in a request target (controls, space, DEL, non-latin1). */
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;

/** Methods whose requests carry a body by definition: they get `Content-Length: 0` without one. */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The body of a request as {@link buildRequestHead} frames it. */
export type BodyKind = 'none' | 'buffer' | 'stream';

/** A request head ready to write, and what it says about the connection. */
export interface RequestHead {
  /** Request line, header lines and the empty line, one latin1 string. */
  readonly text: string;
  /** The Content-Length the head declares, -1 when the body is chunked or absent. */
  readonly contentLength: number;
  /** The body is sent with chunked framing (a stream without Content-Length). */
  readonly chunked: boolean;
  /** The request asked the member to close the connection after the response. */
  readonly close: boolean;
}

function invalid(what: string): ClientError {
  return new ClientError('INVALID_REQUEST', `cannot send the request to the member: ${what}`);
}

/**
 * Serializes a request head for HTTP/1.1: `method path HTTP/1.1`, the given headers in order,
 * then what framing needs (Content-Length for a buffered body that lacks it, or
 * `Transfer-Encoding: chunked` for a stream without Content-Length) and Host when missing.
 * Every part is checked: a method or name that is not a token, a target or value with control
 * characters (a header-injection attempt or a bug upstream) throws a {@link ClientError}
 * `INVALID_REQUEST` rather than reach the member. Transfer-Encoding, Upgrade and Keep-Alive in
 * `headers` are refused: this client owns the framing and the connection.
 */
export function buildRequestHead(
  method: string,
  path: string,
  headers: readonly string[],
  body: BodyKind,
  bodyLength: number,
  host: string,
): RequestHead {
  if (!TOKEN.test(method)) throw invalid(`method "${method}" is not a token`);
  if (path.length === 0 || BAD_TARGET.test(path))
    throw invalid('the target is empty or has invalid characters');
  let text = `${method} ${path} HTTP/1.1\r\n`;
  let contentLength = -1;
  let close = false;
  let hasHost = false;
  const n = headers.length;
  if ((n & 1) === 1) throw invalid('the header list has an odd length');
  for (let i = 0; i < n; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) throw invalid(`header name "${name}" is not a token`);
    if (BAD_VALUE.test(value)) throw invalid(`the value of header ${name} has invalid characters`);
    const l = name.length;
    if (l === 4 || l === 10 || l === 14 || l === 17 || l === 7) {
      const lower = name.toLowerCase();
      if (lower === 'host') hasHost = true;
      else if (lower === 'content-length') {
        if (contentLength !== -1 || !/^\d{1,15}$/.test(value))
          throw invalid('Content-Length is repeated or not a number');
        contentLength = Number(value);
      } else if (lower === 'connection') {
        const v = value.toLowerCase();
        if (v === 'close') close = true;
        else if (v !== 'keep-alive') throw invalid(`Connection "${value}"`);
      } else if (lower === 'transfer-encoding' || lower === 'keep-alive' || lower === 'upgrade') {
        throw invalid(`header ${name} is set by the transport`);
      }
    }
    text += `${name}: ${value}\r\n`;
  }
  if (!hasHost) text += `Host: ${host}\r\n`;
  let chunked = false;
  if (body === 'buffer') {
    if (contentLength === -1) {
      contentLength = bodyLength;
      text += `Content-Length: ${bodyLength}\r\n`;
    } else if (contentLength !== bodyLength)
      throw new ClientError(
        'CONTENT_LENGTH_MISMATCH',
        `the request body has ${bodyLength} bytes, Content-Length says ${contentLength}`,
      );
  } else if (body === 'stream') {
    if (contentLength === -1) {
      chunked = true;
      text += 'Transfer-Encoding: chunked\r\n';
    }
  } else if (contentLength > 0) {
    throw new ClientError(
      'CONTENT_LENGTH_MISMATCH',
      `the request has no body but Content-Length says ${contentLength}`,
    );
  } else if (contentLength === -1 && PAYLOAD_METHODS.has(method)) {
    text += 'Content-Length: 0\r\n';
  }
  return { text: text + '\r\n', contentLength, chunked, close };
}
