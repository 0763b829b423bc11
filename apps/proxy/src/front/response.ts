import { STATUS_CODES } from 'node:http';

/** What a response needs from its connection. */
export interface ResponseConnection {
  /** Writes bytes to the client; false when the socket buffer is full ('drain' follows). */
  write(data: Buffer | string): boolean;
  /** The response was written whole; `close` ends the connection after it. */
  responseEnded(close: boolean): void;
  /** Cuts the connection now. */
  destroy(): void;
  /** The proxy is closing: answers end their connections. */
  readonly closing: boolean;
  /** The request's body is still being read: an answer now ends the connection. */
  readonly readingBody: boolean;
}

/** A header field the proxy was asked to send holds a character HTTP forbids (CR, LF, NUL…). */
export class InvalidResponseHeaderError extends Error {
  /** Always `ERR_INVALID_RESPONSE_HEADER`. */
  readonly code = 'ERR_INVALID_RESPONSE_HEADER';
  /** Names the field. */
  constructor(name: string) {
    super(`invalid characters in the response header field ${JSON.stringify(name)}`);
    this.name = 'InvalidResponseHeaderError';
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
/** Below this many body bytes, head and body are copied into one buffer for a single write. */
const COALESCE_BYTES = 16_384;

/**
 * The answer to one request, written straight to the socket: the head is kept until the first
 * body bytes (or the end) so that a small answer leaves in one write. Framing follows the
 * member's: its Content-Length when it sent one, else chunked for HTTP/1.1 clients and the end of
 * the connection for HTTP/1.0 ones; no body for HEAD, 1xx, 204 and 304.
 */
export class FrontResponse {
  /** The status written (200 until `writeHead`). */
  statusCode = 200;
  /** `writeHead` was called: an error answer can no longer replace this one. */
  headersSent = false;
  /** The whole response was handed to the socket. */
  finished = false;
  /** Called once if the client connection closes before the response finished. */
  onClose: (() => void) | undefined = undefined;
  /** Called when the socket drained after `write` returned false. */
  onDrain: (() => void) | undefined = undefined;
  private head: string | undefined = undefined;
  private chunked = false;
  private bodyless = false;
  private close: boolean;

  /** A response on `conn` to a request with `method`, from a client speaking HTTP/1.`minor`. */
  constructor(
    private readonly conn: ResponseConnection,
    private readonly method: string,
    private readonly versionMinor: number,
    keepAlive: boolean,
  ) {
    this.close = !keepAlive;
  }

  /** Ends the connection after this response (`Connection: close`); call before `writeHead`. */
  closeConnection(): void {
    this.close = true;
  }

  /**
   * Sets the status line and header fields (flat `[name, value, …]`, no hop-by-hop fields).
   * @throws InvalidResponseHeaderError when a name or value holds a forbidden character.
   */
  writeHead(status: number, statusText: string | undefined, headers: readonly string[]): void {
    if (statusText !== undefined && BAD_VALUE_CHAR.test(statusText))
      throw new InvalidResponseHeaderError('(status text)');
    if (!Number.isInteger(status) || status < 100 || status > 999)
      throw new InvalidResponseHeaderError('(status code)');
    let head = `HTTP/1.1 ${status} ${statusText ?? STATUS_CODES[status] ?? ''}\r\n`;
    let hasLength = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      if (!TOKEN.test(name) || BAD_VALUE_CHAR.test(value))
        throw new InvalidResponseHeaderError(name);
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += name + ': ' + value + CRLF;
    }
    this.bodyless =
      this.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (!this.bodyless && !hasLength) {
      if (this.versionMinor === 1) {
        this.chunked = true;
        head += 'Transfer-Encoding: chunked\r\n';
      } else this.close = true;
    }
    if (this.conn.closing || this.conn.readingBody) this.close = true;
    if (this.close) head += 'Connection: close\r\n';
    else if (this.versionMinor === 0) head += 'Connection: keep-alive\r\n';
    this.statusCode = status;
    this.headersSent = true;
    this.head = head + CRLF;
  }

  /** Writes body bytes; returns false when the caller should wait for `onDrain`. */
  write(chunk: Buffer): boolean {
    if (this.finished || chunk.length === 0) return true;
    if (this.bodyless) return true;
    return this.send(chunk, false);
  }

  /** Writes the last body bytes (if any) and ends the response. */
  end(chunk?: Buffer): void {
    if (this.finished) return;
    if (chunk !== undefined && chunk.length > 0 && !this.bodyless) this.send(chunk, true);
    else if (this.head !== undefined) {
      this.conn.write(this.chunked ? this.head + LAST_CHUNK : this.head);
      this.head = undefined;
    } else if (this.chunked) this.conn.write(LAST_CHUNK);
    this.finished = true;
    this.onClose = undefined;
    this.conn.responseEnded(this.close);
  }

  /** Writes `100 Continue` (the client waits for it before sending its body). */
  writeContinue(): void {
    if (!this.headersSent) this.conn.write('HTTP/1.1 100 Continue\r\n\r\n');
  }

  /**
   * Sends an informational response (103 Early Hints) ahead of the final one, to HTTP/1.1
   * clients only (RFC 9110 §15.2: a 1.0 client cannot read one). `headers` is flat and already
   * checked by the member's response parser.
   */
  writeInformational(status: number, reason: string, headers: readonly string[]): void {
    if (this.headersSent || this.versionMinor !== 1) return;
    let text = `HTTP/1.1 ${status} ${reason || 'Early Hints'}\r\n`;
    for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    this.conn.write(text + '\r\n');
  }

  /** Cuts the client connection (a response that cannot be completed). */
  destroy(): void {
    this.conn.destroy();
  }

  private send(chunk: Buffer, last: boolean): boolean {
    const head = this.head;
    this.head = undefined;
    if (this.chunked) {
      const prefix = (head ?? '') + chunk.length.toString(16) + CRLF;
      const suffix = last ? CRLF + LAST_CHUNK : CRLF;
      if (chunk.length <= COALESCE_BYTES) return this.conn.write(joined(prefix, chunk, suffix));
      this.conn.write(prefix);
      this.conn.write(chunk);
      return this.conn.write(suffix);
    }
    if (head === undefined) return this.conn.write(chunk);
    if (chunk.length <= COALESCE_BYTES) return this.conn.write(joined(head, chunk, ''));
    this.conn.write(head);
    return this.conn.write(chunk);
  }
}

/** `prefix` (latin1), `chunk`, `suffix` (latin1) in one buffer. */
function joined(prefix: string, chunk: Buffer, suffix: string): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + chunk.length + suffix.length);
  out.write(prefix, 0, 'latin1');
  chunk.copy(out, prefix.length);
  if (suffix.length > 0) out.write(suffix, prefix.length + chunk.length, 'latin1');
  return out;
}
