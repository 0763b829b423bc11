import { Writable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import {
  FLUSH_PACKET,
  SEND_BODY_CHUNK_TRAILER,
  encodeEndResponse,
  sendBodyChunkHeader,
} from '../control-messages.js';
import { encodeSendHeaders } from '../send-headers.js';
import type { AjpHeader } from '../forward-request.js';
import type { AjpIncomingRequest, AjpSocketInfo } from './incoming-request.js';

/** The transport a response writes to. @internal */
export interface ResponseSink {
  /** Writes packets; returns false when the socket's buffer is full. */
  write(buffers: Buffer[]): boolean;
  /** Calls `cb` once the socket can take more. */
  onDrain(cb: () => void): void;
  /** The response is complete (END_RESPONSE written) or failed. */
  done(ok: boolean, error?: Error): void;
}

type HeaderValue = string | number | readonly string[];

/**
 * The response a server listener writes: a Writable of the body with the methods of Node's
 * `http.ServerResponse` that applications use (`statusCode`, `setHeader`, `writeHead`,
 * `flushHeaders`, `write`, `end`…). Headers go out as one SEND_HEADERS at the first write (or
 * `flushHeaders()`), the body as SEND_BODY_CHUNK packets, `end()` sends END_RESPONSE.
 * `flush()` sends an explicit AJP flush. Bodies of HEAD, 1xx, 204 and 304 are discarded.
 */
export class AjpServerResponse extends Writable {
  /** Status code to send. */
  statusCode = 200;
  /** Reason phrase to send (default: the standard phrase). */
  statusMessage = '';
  /** Whether SEND_HEADERS went out. */
  headersSent = false;
  /** The request this response answers. */
  readonly req: AjpIncomingRequest;
  /** Connection facts of the request. */
  readonly socket: AjpSocketInfo;
  private readonly names = new Map<string, string>();
  private readonly values = new Map<string, HeaderValue>();
  private readonly maxChunk: number;

  /** @internal */
  constructor(
    req: AjpIncomingRequest,
    private readonly sink: ResponseSink,
    private readonly packetSize: number,
  ) {
    super({ highWaterMark: packetSize * 4 });
    this.req = req;
    this.socket = req.socket;
    this.maxChunk = packetSize - 8;
    this.on('error', () => undefined);
  }

  /** Alias of `socket`. */
  get connection(): AjpSocketInfo {
    return this.socket;
  }

  /** Same as `writableEnded`. */
  get finished(): boolean {
    return this.writableEnded;
  }

  /** Sets a header (replacing any value of the same name, case-insensitively). */
  setHeader(name: string, value: HeaderValue): this {
    if (this.headersSent) throw new Error('Cannot set headers after they are sent to the client');
    const k = name.toLowerCase();
    this.names.set(k, name);
    this.values.set(k, value);
    return this;
  }

  /** Adds a value to a header. */
  appendHeader(name: string, value: HeaderValue): this {
    const prev = this.values.get(name.toLowerCase());
    if (prev === undefined) return this.setHeader(name, value);
    const list = [
      ...(Array.isArray(prev) ? prev : [String(prev)]),
      ...(Array.isArray(value) ? value : [String(value)]),
    ];
    return this.setHeader(name, list);
  }

  /** A header's value. */
  getHeader(name: string): HeaderValue | undefined {
    return this.values.get(name.toLowerCase());
  }

  /** All headers by lower-case name. */
  getHeaders(): Record<string, HeaderValue> {
    return Object.fromEntries(this.values);
  }

  /** Lower-case header names. */
  getHeaderNames(): string[] {
    return [...this.values.keys()];
  }

  /** Whether a header is set. */
  hasHeader(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  /** Removes a header. */
  removeHeader(name: string): void {
    if (this.headersSent)
      throw new Error('Cannot remove headers after they are sent to the client');
    this.names.delete(name.toLowerCase());
    this.values.delete(name.toLowerCase());
  }

  /** Sets status, optional reason and headers (an object or `[name, value]` pairs), like Node. */
  writeHead(
    status: number,
    reason?: string | Record<string, HeaderValue> | AjpHeader[],
    headers?: Record<string, HeaderValue> | AjpHeader[],
  ): this {
    if (typeof reason !== 'string' && reason !== undefined) {
      headers = reason;
      reason = undefined;
    }
    this.statusCode = status;
    if (reason !== undefined) this.statusMessage = reason;
    if (headers !== undefined) {
      const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
      for (const [n, v] of pairs) this.setHeader(n, v);
    }
    this.sendHeaders();
    return this;
  }

  /** Sends the headers now. */
  flushHeaders(): void {
    this.sendHeaders();
  }

  /** Sends an explicit AJP flush (an empty SEND_BODY_CHUNK); sends the headers first if needed. */
  flush(): void {
    this.sendHeaders();
    if (!this.bodyless()) this.sink.write([FLUSH_PACKET]);
  }

  private bodyless(): boolean {
    const s = this.statusCode;
    return this.req.method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200);
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    const headers: AjpHeader[] = [];
    for (const [k, v] of this.values) {
      const name = this.names.get(k)!;
      if (Array.isArray(v)) for (const x of v as readonly string[]) headers.push([name, String(x)]);
      else headers.push([name, String(v)]);
    }
    const packet = encodeSendHeaders(
      {
        status: this.statusCode,
        reason: this.statusMessage || STATUS_CODES[this.statusCode] || String(this.statusCode),
        headers,
      },
      { packetSize: this.packetSize },
    );
    this.headersSent = true;
    this.sink.write([packet]);
  }

  /** @internal */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    try {
      this.sendHeaders();
    } catch (e) {
      cb(e as Error);
      return;
    }
    if (this.bodyless() || chunk.length === 0) {
      cb();
      return;
    }
    let ok = true;
    for (let off = 0; off < chunk.length; off += this.maxChunk) {
      const piece = chunk.subarray(off, off + this.maxChunk);
      ok = this.sink.write([sendBodyChunkHeader(piece.length), piece, SEND_BODY_CHUNK_TRAILER]);
    }
    if (ok) cb();
    else this.sink.onDrain(() => cb());
  }

  /** @internal */
  override _final(cb: (error?: Error | null) => void): void {
    try {
      this.sendHeaders();
    } catch (e) {
      cb(e as Error);
      return;
    }
    this.sink.write([encodeEndResponse(true)]);
    this.sink.done(true);
    cb();
  }

  /** @internal */
  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.writableFinished) this.sink.done(false, error ?? undefined);
    cb(error);
  }
}
