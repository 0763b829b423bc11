import { FrontRequestError } from './errors.js';

/** Limits on a request head (httpd `LimitRequestLine`/`LimitRequestFieldSize`/`LimitRequestFields`). */
export interface HeadLimits {
  /** Most bytes of the whole head: request line and header fields. */
  readonly maxHeaderBytes: number;
  /** Most header fields. */
  readonly maxHeaders: number;
  /** Most bytes of the request line. */
  readonly maxRequestLineBytes: number;
}

/** A parsed request head, with the framing and connection facts the front end acts on. */
export interface RequestHead {
  readonly method: string;
  /**
   * The target in origin form (`/path?query`); an absolute-form target
   * (`http://host/path`) is turned into origin form, its authority becoming the Host. `*` for
   * `OPTIONS *`.
   */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x). */
  readonly versionMinor: number;
  /** Header fields as sent, flat `[name, value, …]`, values without surrounding whitespace. */
  readonly rawHeaders: string[];
  readonly host: string | undefined;
  /** Every `Cookie` field, joined with `; `. */
  readonly cookie: string | undefined;
  /** The declared body length, -1 when there is no Content-Length. */
  readonly contentLength: number;
  /** `Transfer-Encoding: chunked`. */
  readonly chunked: boolean;
  /** The client wants the connection kept open after the answer. */
  readonly keepAlive: boolean;
  /**
   * `Connection: upgrade` with `websocket` in `Upgrade`: a WebSocket handshake. Any other
   * upgrade (`h2c` from `curl --http2`, TLS) is ignored and the request served as HTTP/1.1, as
   * a server that does not speak the protocol may (RFC 9110 §7.8).
   */
  readonly upgrade: boolean;
  /** The value of `Upgrade`, when there is one. */
  readonly upgradeProtocol: string | undefined;
  /** `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than HTAB (CR and LF included: a field value never holds them). */
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Visible ASCII and obs-text, no space, no control character. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
const VERSION = /^HTTP\/(\d)\.(\d)$/;
const DIGITS = /^\d{1,15}$/;
/** `http://` or `https://`, an authority, and the rest (path and query, possibly empty). */
const ABSOLUTE = /^https?:\/\/([^/?#@]+)([/?][^#]*)?$/i;
/** A Content-Length list of equal values (`5, 5`). */
const LENGTH_LIST = /^\d{1,15}(?:[ \t]*,[ \t]*\d{1,15})+$/;

function bad(code: ConstructorParameters<typeof FrontRequestError>[0], message: string): never {
  throw new FrontRequestError(code, 400, message);
}

/** `s` without leading and trailing spaces and tabs (optional whitespace, RFC 9110 §5.6.3). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Whether a comma-separated list of tokens (case-insensitive) contains `token`. */
function hasToken(list: string, token: string): boolean {
  const l = list.toLowerCase();
  if (l === token) return true;
  for (const part of l.split(',')) if (trimOws(part) === token) return true;
  return false;
}

/**
 * Parses a complete request head (`head` is its bytes as latin1, without the blank line that ends
 * it). Strict where leniency lets requests be smuggled past a member: CRLF line endings only, no
 * obsolete line folding, no whitespace before a colon, one Content-Length of plain digits, never
 * Content-Length together with Transfer-Encoding, `chunked` as the only transfer coding.
 * @throws FrontRequestError naming what was wrong, with the status to answer.
 */
export function parseRequestHead(head: string, limits: HeadLimits): RequestHead {
  if (head.length > limits.maxHeaderBytes)
    throw new FrontRequestError(
      'HEADER_TOO_LARGE',
      431,
      `request head larger than ${limits.maxHeaderBytes} bytes`,
    );
  let eol = head.indexOf('\r\n');
  if (eol === -1) eol = head.length;
  if (eol > limits.maxRequestLineBytes)
    throw new FrontRequestError(
      'TARGET_TOO_LONG',
      414,
      `request line longer than ${limits.maxRequestLineBytes} bytes`,
    );
  const sp1 = head.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : head.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 >= eol)
    bad('BAD_REQUEST_LINE', 'the request line is not "method target version"');
  const method = head.slice(0, sp1);
  if (!TOKEN.test(method)) bad('BAD_METHOD', 'the method is not a token');
  const target = head.slice(sp1 + 1, sp2);
  const version = VERSION.exec(head.slice(sp2 + 1, eol));
  if (version === null) bad('BAD_REQUEST_LINE', 'the request line does not end with HTTP/1.x');
  if (version[1] !== '1')
    throw new FrontRequestError('BAD_VERSION', 505, `HTTP/${version[1]} is not supported`);
  if (!TARGET.test(target)) bad('BAD_TARGET', 'the request target holds a forbidden character');
  let originTarget = target;
  let authority: string | undefined;
  if (target.charCodeAt(0) !== 0x2f) {
    if (target === '*') {
      if (method !== 'OPTIONS') bad('BAD_TARGET', 'the * target is only for OPTIONS');
    } else {
      // Absolute form (RFC 9112 §3.2.2, which a server must accept): the authority replaces
      // the Host field and the member gets the origin form.
      const m = ABSOLUTE.exec(target);
      if (m === null)
        bad('BAD_TARGET', 'the request target is neither a path, an absolute URI nor *');
      authority = m[1]!;
      const rest = m[2] ?? '/';
      originTarget = rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest;
    }
  }
  const versionMinor = version[2] === '0' ? 0 : 1;

  const rawHeaders: string[] = [];
  let host: string | undefined;
  let cookie: string | undefined;
  let contentLength = -1;
  let te: string | undefined;
  let connection: string | undefined;
  let upgradeProtocol: string | undefined;
  let expect: string | undefined;
  let pos = eol + 2;
  while (pos < head.length) {
    let end = head.indexOf('\r\n', pos);
    if (end === -1) end = head.length;
    const first = head.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) bad('OBS_FOLD', 'obsolete line folding');
    const colon = head.indexOf(':', pos);
    if (colon === -1 || colon > end) bad('BAD_HEADER', 'a header line without a colon');
    const name = head.slice(pos, colon);
    if (!TOKEN.test(name)) bad('BAD_HEADER', 'a header name is not a token');
    const value = trimOws(head.slice(colon + 1, end));
    if (BAD_VALUE_CHAR.test(value))
      bad('BAD_HEADER', `the value of ${name} holds a control character`);
    if (rawHeaders.length >= limits.maxHeaders * 2)
      throw new FrontRequestError(
        'TOO_MANY_HEADERS',
        431,
        `more than ${limits.maxHeaders} header fields`,
      );
    rawHeaders.push(name, value);
    pos = end + 2;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          if (host !== undefined) bad('DUPLICATE_HOST', 'more than one Host field');
          host = value;
          if (authority !== undefined) rawHeaders[rawHeaders.length - 1] = authority;
        }
        break;
      case 6: {
        const l = name.toLowerCase();
        if (l === 'cookie') cookie = cookie === undefined ? value : `${cookie}; ${value}`;
        else if (l === 'expect') expect = value;
        break;
      }
      case 7:
        if (name.toLowerCase() === 'upgrade') upgradeProtocol = value;
        break;
      case 10:
        if (name.toLowerCase() === 'connection')
          connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          // Repeats of one value (`5, 5`, or the field twice) are that value, as HAProxy reads
          // them (RFC 9110 §8.6); they reach the member as one field. Differing values are
          // refused: the two readings would frame the body differently.
          let n: number;
          if (DIGITS.test(value)) n = Number(value);
          else if (LENGTH_LIST.test(value)) {
            const parts = value.split(',').map((v) => Number(trimOws(v)));
            n = parts[0]!;
            if (parts.some((v) => v !== n))
              bad('DUPLICATE_CONTENT_LENGTH', 'a Content-Length list of different values');
            rawHeaders[rawHeaders.length - 1] = String(n);
          } else bad('BAD_CONTENT_LENGTH', 'Content-Length is not a number');
          if (contentLength !== -1) {
            if (n !== contentLength)
              bad('DUPLICATE_CONTENT_LENGTH', 'Content-Length fields with different values');
            rawHeaders.length -= 2;
          }
          contentLength = n;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          if (te !== undefined)
            bad('UNSUPPORTED_TRANSFER_CODING', 'more than one Transfer-Encoding field');
          te = value;
        }
        break;
    }
  }
  let chunked = false;
  if (te !== undefined) {
    if (contentLength !== -1)
      bad('LENGTH_AND_CHUNKED', 'Content-Length together with Transfer-Encoding');
    if (versionMinor === 0) bad('UNSUPPORTED_TRANSFER_CODING', 'Transfer-Encoding in HTTP/1.0');
    if (te.toLowerCase() !== 'chunked')
      throw new FrontRequestError(
        'UNSUPPORTED_TRANSFER_CODING',
        501,
        'only the chunked transfer coding is supported',
      );
    chunked = true;
  }
  if (authority !== undefined) {
    if (host === undefined) rawHeaders.push('Host', authority);
    host = authority;
  }
  if (host === undefined && versionMinor === 1) bad('MISSING_HOST', 'HTTP/1.1 without Host');
  let expectContinue = false;
  if (expect !== undefined) {
    if (expect.toLowerCase() !== '100-continue')
      throw new FrontRequestError('EXPECTATION_FAILED', 417, 'only 100-continue is expected');
    expectContinue = versionMinor === 1;
  }
  const keepAlive =
    connection === undefined
      ? versionMinor === 1
      : versionMinor === 1
        ? !hasToken(connection, 'close')
        : hasToken(connection, 'keep-alive');
  const upgrade =
    upgradeProtocol !== undefined &&
    connection !== undefined &&
    hasToken(connection, 'upgrade') &&
    hasToken(upgradeProtocol, 'websocket');
  return {
    method,
    target: originTarget,
    versionMinor,
    rawHeaders,
    host,
    cookie,
    contentLength,
    chunked,
    keepAlive,
    upgrade,
    upgradeProtocol,
    expectContinue,
  };
}
