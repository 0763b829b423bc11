import { ResponseParseError, type ResponseErrorCode } from './errors.js';

/** Size and count limits of {@link ResponseParser}; every field has a default. */
export interface ResponseLimits {
  /** Most bytes of a response head: status line, header lines and the empty line. */
  readonly maxHeadSize: number;
  /** Most bytes of the status line (without its CRLF). */
  readonly maxStatusLine: number;
  /** Most header fields in a head. */
  readonly maxHeaders: number;
  /** Most bytes of the extensions on one chunk-size line. */
  readonly maxChunkExtension: number;
  /** Most interim (1xx) responses before the final one. */
  readonly maxInterim: number;
}

/** The limits a parser uses when none are given: generous for real servers, small for memory. */
export const DEFAULT_RESPONSE_LIMITS: ResponseLimits = {
  maxHeadSize: 16_384,
  maxStatusLine: 2_048,
  maxHeaders: 128,
  maxChunkExtension: 1_024,
  maxInterim: 16,
};

/** Receives the parts of a response from {@link ResponseParser.execute}. */
export interface ResponseSink {
  /**
   * The final response head (interim 1xx responses other than 101 are skipped). `headers` is
   * flat `[name, value, …]`, names as sent, values without surrounding whitespace. Return
   * `false` to stop parsing before the body (execute returns; call it again to go on).
   */
  onHead(status: number, reason: string, headers: string[]): boolean;
  /** A piece of the body (never empty). Return `false` to stop parsing after it. */
  onBody(chunk: Buffer): boolean;
  /** The response is complete (not called for 101, whose later bytes are another protocol). */
  onComplete(): void;
  /** An interim 1xx response other than 101 (e.g. 103 Early Hints), before the final one. */
  onInterim?(status: number, reason: string, headers: string[]): void;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const SEMICOLON = 59;
const TERMINATOR = Buffer.from('\r\n\r\n', 'latin1');
const PREFIX = 'HTTP/';

/** Characters allowed in a field name (RFC 9110 §5.6.2 tchar). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;

/** Value of a hex digit, -1 for anything else. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

const S_HEAD = 0;
const S_BODY_LENGTH = 1;
const S_BODY_CLOSE = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_EXT = 4;
const S_CHUNK_SIZE_LF = 5;
const S_CHUNK_DATA = 6;
const S_CHUNK_DATA_CR = 7;
const S_CHUNK_DATA_LF = 8;
const S_TRAILERS = 9;
const S_TRAILER_LF = 10;
const S_TRAILERS_END_LF = 11;
const S_DONE = 12;

/** 13 hex digits stay below 2^53: a larger chunk size is refused rather than rounded. */
const MAX_SIZE_DIGITS = 13;

/** A field-value character: HTAB, SP, VCHAR or obs-text (no other control, no DEL). */
function badValueChar(c: number): boolean {
  return (c < SP && c !== HTAB) || c === 127;
}

/** The value of a Content-Length field (a list of equal values is one value), -1 if invalid. */
function parseLength(v: string): number {
  if (v.includes(',')) {
    let n = -1;
    for (const part of v.split(',')) {
      const m = parseLength(part.trim());
      if (m === -1 || (n !== -1 && m !== n)) return -1;
      n = m;
    }
    return n;
  }
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * An incremental, sans-I/O parser of HTTP/1.1 responses on one connection: feed it the bytes
 * as they arrive with {@link execute}, and it calls its sink with the head, the body pieces
 * and the end. Framing follows RFC 9112 §6.3: no body for HEAD requests, 1xx, 204 and 304;
 * chunked when Transfer-Encoding is `chunked` (extensions checked and skipped, trailers
 * checked and dropped); Content-Length; otherwise the body runs to the end of the connection.
 *
 * It is strict where leniency lets a response be read two ways: CRLF line ends only, no
 * obsolete line folding, no control characters in names or values, Content-Length together
 * with Transfer-Encoding refused, differing Content-Length values refused, transfer codings
 * other than `chunked` refused. Every fault throws a {@link ResponseParseError}; nothing else
 * is thrown. Memory is bounded by {@link ResponseLimits.maxHeadSize} (a partial head is the
 * only thing buffered); bodies pass through as slices of the input.
 */
export class ResponseParser {
  /** Status of the last final head parsed. */
  status = 0;
  /** Whether the connection may carry another request once this response is complete. */
  keepAlive = false;
  /** The member's `Keep-Alive: timeout=` in ms, -1 when it sent none. */
  keepAliveTimeout = -1;
  /** The response was 101: the bytes after the head belong to another protocol. */
  upgraded = false;

  private readonly limits: ResponseLimits;
  private state = S_HEAD;
  private noBody = false;
  /** A head that has not arrived whole yet (a copy, at most maxHeadSize bytes). */
  private partial: Buffer | undefined;
  /** Bytes consumed before the current `execute` call. */
  private offset = 0;
  private remaining = 0;
  private chunkSize = 0;
  private sizeDigits = 0;
  private extLen = 0;
  private lineLen = 0;
  private inName = true;
  private trailerBytes = 0;
  private interim = 0;
  /** Set by the head step when the sink asked to stop. */
  private halted = false;

  /** Builds a parser reporting to `sink`. */
  constructor(
    private readonly sink: ResponseSink,
    limits?: Partial<ResponseLimits>,
  ) {
    this.limits = limits ? { ...DEFAULT_RESPONSE_LIMITS, ...limits } : DEFAULT_RESPONSE_LIMITS;
  }

  /** Prepares for the response to a new request; `noBody` for HEAD (the response has no body). */
  reset(noBody: boolean): void {
    this.state = S_HEAD;
    this.noBody = noBody;
    this.partial = undefined;
    this.status = 0;
    this.keepAlive = false;
    this.keepAliveTimeout = -1;
    this.upgraded = false;
    this.interim = 0;
  }

  /** The response is complete (or switched protocols). */
  get done(): boolean {
    return this.state === S_DONE;
  }

  /** Bytes held back for an incomplete head (the parser's only buffer, at most maxHeadSize). */
  get buffered(): number {
    return this.partial?.length ?? 0;
  }

  /** The body runs until the member closes the connection. */
  get closeDelimited(): boolean {
    return this.state === S_BODY_CLOSE;
  }

  /**
   * Parses `buf`, the next bytes of the stream. Returns how many were consumed: all of them,
   * unless the sink asked to stop (the rest is to be given again later) or the response ended
   * inside `buf` (what follows it is not part of this response).
   */
  execute(buf: Buffer): number {
    const n = this.run(buf);
    this.offset += n;
    return n;
  }

  /** The member closed the connection: completes a close-delimited body, otherwise throws. */
  finish(): void {
    if (this.state === S_DONE) return;
    if (this.state === S_BODY_CLOSE) {
      this.state = S_DONE;
      this.sink.onComplete();
      return;
    }
    throw this.fail(
      'INCOMPLETE_RESPONSE',
      0,
      this.state === S_HEAD
        ? 'the connection ended before the response head was complete'
        : 'the connection ended before the response body was complete',
    );
  }

  private fail(code: ResponseErrorCode, pos: number, detail: string): ResponseParseError {
    this.state = S_DONE;
    this.partial = undefined;
    return new ResponseParseError(code, this.offset + pos, detail);
  }

  private run(buf: Buffer): number {
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case S_HEAD: {
          const next = this.headBytes(buf, pos);
          if (next < 0) return len;
          pos = next;
          if (this.halted) {
            this.halted = false;
            return pos;
          }
          break;
        }
        case S_BODY_LENGTH: {
          const n = Math.min(this.remaining, len - pos);
          const chunk = n === len ? buf : buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_DONE;
            this.sink.onBody(chunk);
            this.sink.onComplete();
            return pos;
          }
          if (!this.sink.onBody(chunk)) return pos;
          break;
        }
        case S_BODY_CLOSE: {
          const chunk = pos === 0 ? buf : buf.subarray(pos);
          if (!this.sink.onBody(chunk)) return len;
          return len;
        }
        case S_CHUNK_SIZE: {
          const c = buf[pos]!;
          const h = HEX[c]!;
          if (h >= 0) {
            if (++this.sizeDigits > MAX_SIZE_DIGITS)
              throw this.fail('INVALID_CHUNK_SIZE', pos, 'chunk size too large');
            this.chunkSize = this.chunkSize * 16 + h;
          } else if (this.sizeDigits === 0) {
            throw this.fail('INVALID_CHUNK_SIZE', pos, 'expected a hexadecimal chunk size');
          } else if (c === SEMICOLON) {
            this.state = S_CHUNK_EXT;
            this.extLen = 0;
          } else if (c === CR) {
            this.state = S_CHUNK_SIZE_LF;
          } else {
            throw this.fail('INVALID_CHUNK_SIZE', pos, 'unexpected character after chunk size');
          }
          pos++;
          break;
        }
        case S_CHUNK_EXT: {
          const c = buf[pos]!;
          if (c === CR) this.state = S_CHUNK_SIZE_LF;
          else if (badValueChar(c))
            throw this.fail('INVALID_CHUNK_SIZE', pos, 'control character in chunk extension');
          else if (++this.extLen > this.limits.maxChunkExtension)
            throw this.fail(
              'CHUNK_EXTENSION_TOO_LARGE',
              pos,
              `chunk extensions longer than ${this.limits.maxChunkExtension} bytes`,
            );
          pos++;
          break;
        }
        case S_CHUNK_SIZE_LF: {
          if (buf[pos] !== LF)
            throw this.fail('INVALID_CHUNK_FRAMING', pos, 'expected LF after CR of chunk size');
          pos++;
          if (this.chunkSize === 0) {
            this.state = S_TRAILERS;
            this.lineLen = 0;
            this.inName = true;
            this.trailerBytes = 0;
          } else {
            this.state = S_CHUNK_DATA;
            this.remaining = this.chunkSize;
          }
          break;
        }
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, len - pos);
          const chunk = n === len ? buf : buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = S_CHUNK_DATA_CR;
          if (!this.sink.onBody(chunk)) return pos;
          break;
        }
        case S_CHUNK_DATA_CR: {
          if (buf[pos] !== CR)
            throw this.fail('INVALID_CHUNK_FRAMING', pos, 'expected CRLF after chunk data');
          pos++;
          this.state = S_CHUNK_DATA_LF;
          break;
        }
        case S_CHUNK_DATA_LF: {
          if (buf[pos] !== LF)
            throw this.fail('INVALID_CHUNK_FRAMING', pos, 'expected LF after chunk data');
          pos++;
          this.state = S_CHUNK_SIZE;
          this.chunkSize = 0;
          this.sizeDigits = 0;
          break;
        }
        case S_TRAILERS: {
          const c = buf[pos]!;
          if (++this.trailerBytes > this.limits.maxHeadSize)
            throw this.fail(
              'TRAILERS_TOO_LARGE',
              pos,
              `trailers longer than ${this.limits.maxHeadSize} bytes`,
            );
          if (c === CR) {
            this.state = this.lineLen === 0 ? S_TRAILERS_END_LF : S_TRAILER_LF;
          } else if (this.inName) {
            if (c === COLON && this.lineLen > 0) this.inName = false;
            else if (TOKEN[c] !== 1)
              throw this.fail('INVALID_TRAILER', pos, 'invalid character in a trailer name');
            this.lineLen++;
          } else {
            if (badValueChar(c))
              throw this.fail('INVALID_TRAILER', pos, 'control character in a trailer value');
            this.lineLen++;
          }
          pos++;
          break;
        }
        case S_TRAILER_LF: {
          if (buf[pos] !== LF)
            throw this.fail('INVALID_CHUNK_FRAMING', pos, 'expected LF after CR in trailers');
          if (this.inName) throw this.fail('INVALID_TRAILER', pos, 'trailer line without a colon');
          pos++;
          this.state = S_TRAILERS;
          this.lineLen = 0;
          this.inName = true;
          break;
        }
        case S_TRAILERS_END_LF: {
          if (buf[pos] !== LF)
            throw this.fail('INVALID_CHUNK_FRAMING', pos, 'expected LF ending the trailers');
          pos++;
          this.state = S_DONE;
          this.sink.onComplete();
          return pos;
        }
        default:
          return pos;
      }
    }
    return pos;
  }

  /**
   * Consumes head bytes from `buf` at `pos`. Returns the position after the head, or -1 when
   * the head is not complete yet (everything was consumed into the partial head).
   */
  private headBytes(buf: Buffer, pos: number): number {
    let data: Buffer;
    let start: number;
    let from: number;
    const prev = this.partial?.length ?? 0;
    if (this.partial === undefined) {
      data = buf;
      start = pos;
      from = pos;
    } else {
      data = Buffer.concat([this.partial, pos === 0 ? buf : buf.subarray(pos)]);
      start = 0;
      from = Math.max(0, prev - 3);
    }
    // Where the head starts in the stream, for error offsets relative to this call.
    const at = pos - prev;
    const end = data.indexOf(TERMINATOR, from);
    if (end === -1) {
      this.checkPartial(data, start, at);
      this.partial = Buffer.from(data.subarray(start));
      return -1;
    }
    if (end + 4 - start > this.limits.maxHeadSize)
      throw this.fail(
        'HEADERS_TOO_LARGE',
        at + this.limits.maxHeadSize,
        `response head longer than ${this.limits.maxHeadSize} bytes`,
      );
    const text = data.toString('latin1', start, end);
    this.partial = undefined;
    const next = pos + (end + 4 - start) - prev;
    this.halted = !this.parseHead(text, at);
    return next;
  }

  /** Rejects an incomplete head early when what arrived already cannot become a valid one. */
  private checkPartial(data: Buffer, start: number, at: number): void {
    const have = data.length - start;
    // A line ended by a bare LF never completes a CRLF head: refuse it now rather than wait
    // for the response timeout.
    for (let lf = data.indexOf(LF, start); lf !== -1; lf = data.indexOf(LF, lf + 1)) {
      if (lf === start || data[lf - 1] !== CR) {
        const cr = data.indexOf(CR, start);
        const inStatusLine = cr === -1 || cr > lf;
        const line = inStatusLine ? start : data.lastIndexOf(LF, lf - 1) + 1;
        const colon = data.indexOf(0x3a, line);
        throw this.fail(
          inStatusLine
            ? 'INVALID_STATUS_LINE'
            : colon !== -1 && colon < lf
              ? 'INVALID_HEADER_VALUE'
              : 'INVALID_HEADER_LINE',
          at + (lf - start),
          'a bare LF (lines must end with CRLF)',
        );
      }
    }
    const n = Math.min(have, PREFIX.length);
    for (let i = 0; i < n; i++) {
      if (data[start + i] !== PREFIX.charCodeAt(i))
        throw this.fail('INVALID_STATUS_LINE', at + i, 'expected "HTTP/" at the start');
    }
    if (have > this.limits.maxStatusLine + 1) {
      const eol = data.indexOf(CR, start);
      if (eol === -1 || eol - start > this.limits.maxStatusLine)
        throw this.fail(
          'STATUS_LINE_TOO_LONG',
          at + this.limits.maxStatusLine,
          `status line longer than ${this.limits.maxStatusLine} bytes`,
        );
    }
    if (have >= this.limits.maxHeadSize)
      throw this.fail(
        'HEADERS_TOO_LARGE',
        at + this.limits.maxHeadSize,
        `response head longer than ${this.limits.maxHeadSize} bytes`,
      );
  }

  /**
   * Parses a complete head (without its final CRLFCRLF) that starts at `at` relative to the
   * current call. Returns false when the sink asked to stop.
   */
  private parseHead(text: string, at: number): boolean {
    const lim = this.limits;
    let eol = text.indexOf('\r\n');
    if (eol === -1) eol = text.length;
    if (eol > lim.maxStatusLine)
      throw this.fail(
        'STATUS_LINE_TOO_LONG',
        at + lim.maxStatusLine,
        `status line longer than ${lim.maxStatusLine} bytes`,
      );
    if (!text.startsWith('HTTP/1.')) {
      if (/^HTTP\/\d\.\d /.test(text))
        throw this.fail('UNSUPPORTED_VERSION', at + 5, 'only HTTP/1.0 and HTTP/1.1 are spoken');
      throw this.fail('INVALID_STATUS_LINE', at, 'expected "HTTP/1.x" at the start');
    }
    const minor = text.charCodeAt(7);
    if (minor !== 48 && minor !== 49) {
      if (minor >= 48 && minor <= 57 && text.charCodeAt(8) === SP)
        throw this.fail('UNSUPPORTED_VERSION', at + 7, 'only HTTP/1.0 and HTTP/1.1 are spoken');
      throw this.fail('INVALID_STATUS_LINE', at + 7, 'invalid HTTP version');
    }
    if (eol < 12 || text.charCodeAt(8) !== SP)
      throw this.fail('INVALID_STATUS_LINE', at + 8, 'expected a space and a 3-digit status');
    const d1 = text.charCodeAt(9) - 48;
    const d2 = text.charCodeAt(10) - 48;
    const d3 = text.charCodeAt(11) - 48;
    if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9)
      throw this.fail('INVALID_STATUS_LINE', at + 9, 'the status is not 3 digits from 100');
    if (eol > 12 && text.charCodeAt(12) !== SP)
      throw this.fail('INVALID_STATUS_LINE', at + 12, 'expected a space after the status');
    for (let i = 13; i < eol; i++) {
      if (badValueChar(text.charCodeAt(i)))
        throw this.fail('INVALID_STATUS_LINE', at + i, 'control character in the reason phrase');
    }
    const status = d1 * 100 + d2 * 10 + d3;
    const reason = eol > 13 ? text.slice(13, eol) : '';

    const headers: string[] = [];
    let length = -1;
    let te: string | undefined;
    let close = false;
    let keepAlive = false;
    let kaTimeout = -1;
    const max = lim.maxHeaders * 2;
    let p = eol + 2;
    while (p < text.length) {
      let e = text.indexOf('\r\n', p);
      if (e === -1) e = text.length;
      if (headers.length >= max)
        throw this.fail('TOO_MANY_HEADERS', at + p, `more than ${lim.maxHeaders} header fields`);
      const c0 = text.charCodeAt(p);
      if (c0 === SP || c0 === HTAB)
        throw this.fail('OBSOLETE_LINE_FOLDING', at + p, 'a header line starts with whitespace');
      let i = p;
      while (i < e && TOKEN[text.charCodeAt(i)] === 1) i++;
      if (i === e) throw this.fail('INVALID_HEADER_LINE', at + p, 'a header line has no colon');
      if (text.charCodeAt(i) !== COLON || i === p)
        throw this.fail('INVALID_HEADER_NAME', at + i, 'invalid character in a header name');
      let vs = i + 1;
      while (vs < e) {
        const c = text.charCodeAt(vs);
        if (c !== SP && c !== HTAB) break;
        vs++;
      }
      let ve = e;
      while (ve > vs) {
        const c = text.charCodeAt(ve - 1);
        if (c !== SP && c !== HTAB) break;
        ve--;
      }
      for (let j = vs; j < ve; j++) {
        if (badValueChar(text.charCodeAt(j)))
          throw this.fail('INVALID_HEADER_VALUE', at + j, 'control character in a header value');
      }
      const name = text.slice(p, i);
      const value = text.slice(vs, ve);
      headers.push(name, value);
      const nl = i - p;
      if (nl === 14 || nl === 17 || nl === 10) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') {
          const n = parseLength(value);
          if (n === -1)
            throw this.fail('INVALID_CONTENT_LENGTH', at + vs, `Content-Length "${value}"`);
          if (length !== -1 && n !== length)
            throw this.fail(
              'CONFLICTING_CONTENT_LENGTH',
              at + vs,
              `Content-Length ${n} after ${length}`,
            );
          // Equal repeats (`5, 5`, or the field twice) are one value: passed on as one field,
          // as HAProxy does, since clients such as Node's refuse the repeat.
          if (length !== -1) headers.length -= 2;
          else if (value.includes(',')) headers[headers.length - 1] = String(n);
          length = n;
        } else if (lower === 'transfer-encoding') {
          te = te === undefined ? value : `${te},${value}`;
        } else if (lower === 'connection') {
          for (const t of value.split(',')) {
            const token = t.trim().toLowerCase();
            if (token === 'close') close = true;
            else if (token === 'keep-alive') keepAlive = true;
          }
        } else if (lower === 'keep-alive') {
          const m = /(?:^|[,;\s])timeout\s*=\s*(\d{1,9})/i.exec(value);
          if (m) kaTimeout = Number(m[1]) * 1000;
        }
      }
      p = e + 2;
    }

    if (te !== undefined) {
      if (length !== -1)
        throw this.fail(
          'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
          at,
          'both Content-Length and Transfer-Encoding',
        );
      let chunked = 0;
      for (const t of te.split(',')) {
        const token = t.trim().toLowerCase();
        if (token === '') continue;
        if (token !== 'chunked' || ++chunked > 1)
          throw this.fail(
            'UNSUPPORTED_TRANSFER_ENCODING',
            at,
            `Transfer-Encoding "${te}" (only "chunked" is accepted)`,
          );
      }
      if (chunked === 0)
        throw this.fail('UNSUPPORTED_TRANSFER_ENCODING', at, 'empty Transfer-Encoding');
    }

    if (status < 200 && status !== 101) {
      if (++this.interim > lim.maxInterim)
        throw this.fail(
          'TOO_MANY_INTERIM_RESPONSES',
          at,
          `more than ${lim.maxInterim} interim responses`,
        );
      this.sink.onInterim?.(status, reason, headers);
      return true;
    }

    this.status = status;
    this.keepAliveTimeout = kaTimeout;
    this.keepAlive = !close && (minor === 49 || keepAlive);
    const sink = this.sink;
    if (status === 101) {
      this.upgraded = true;
      this.keepAlive = false;
      this.state = S_DONE;
      sink.onHead(status, reason, headers);
      return false;
    }
    if (this.noBody || status === 204 || status === 304 || (te === undefined && length === 0)) {
      this.state = S_DONE;
      sink.onHead(status, reason, headers);
      sink.onComplete();
      return false;
    }
    if (te !== undefined) {
      this.state = S_CHUNK_SIZE;
      this.chunkSize = 0;
      this.sizeDigits = 0;
    } else if (length > 0) {
      this.state = S_BODY_LENGTH;
      this.remaining = length;
    } else {
      this.state = S_BODY_CLOSE;
      this.keepAlive = false;
    }
    return sink.onHead(status, reason, headers);
  }
}
