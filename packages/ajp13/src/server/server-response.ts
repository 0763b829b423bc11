import { Writable } from 'node:stream';
import { OutgoingMessage, STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import {
  FLUSH_PACKET,
  SEND_BODY_CHUNK_TRAILER,
  encodeEndResponse,
  sendBodyChunkHeader,
} from '../control-messages.js';
import { encodeSendHeaders } from '../send-headers.js';
import type { AjpHeader } from '../forward-request.js';
import type { AjpIncomingRequest, AjpSocketInfo } from './incoming-request.js';
import { nodeHttpBehaviour } from './node-behaviour.js';
import { AjpResponseStateError } from './response-error.js';

/** The transport a response writes to. @internal */
export interface ResponseSink {
  /** Writes packets; returns false when the socket's buffer is full. */
  write(buffers: Buffer[]): boolean;
  /** Calls `cb` once the socket can take more. */
  onDrain(cb: () => void): void;
  /** The response is complete (END_RESPONSE written) or failed. */
  done(ok: boolean, error?: Error): void;
  /** A listener of one of the response's events threw `error`. */
  listenerError(error: unknown, event: string): void;
}

type HeaderValue = string | number | readonly string[];
type StoredHeaders = Record<string, [string, HeaderValue]>;
type WriteCallback = (error?: Error | null) => void;

/**
 * Node keeps the headers of an `OutgoingMessage` under this symbol as `{ lowerName: [name,
 * value] }`. Keeping ours in the same place lets code that calls Node's own prototype methods on a
 * response (the `cookies` module behind cookie-session calls `OutgoingMessage.prototype.setHeader`
 * when Express is present) see and change the same headers.
 */
const kOutHeaders: unique symbol = (Object.getOwnPropertySymbols(new OutgoingMessage()).find(
  (s) => s.description === 'kOutHeaders',
) ?? Symbol('kOutHeaders')) as never;

const noop = (): void => undefined;

/**
 * The response a server listener writes: a Writable of the body that behaves as Node's
 * `http.ServerResponse` for applications and middleware (express-session, cookie-session,
 * compression, helmet, on-headers, morgan, finalhandler): `statusCode`, `statusMessage`,
 * `setHeader`/`appendHeader`/`getHeader(s)`/`getHeaderNames`/`hasHeader`/`removeHeader` (which
 * throw `ERR_HTTP_HEADERS_SENT` once the headers went out, as Node's do), `writeHead`,
 * `_implicitHeader()` and `_header`, `headersSent`, `flushHeaders`, `write(chunk, encoding, cb)`,
 * `end(chunk, encoding, cb)`, `'drain'`, `'finish'` and `'close'`. Where `http.ServerResponse`
 * differs between Node releases (the order of `end()`'s callback and `'finish'`, repeated names in
 * a flat `writeHead` array), it does what the running Node's does (see `node-behaviour.ts`).
 * Headers sent implicitly (by the
 * first `write()`, by `end()`, by `flushHeaders()`) go through `this.writeHead(statusCode)`, so
 * hooks that wrap `writeHead` (on-headers) run first. They leave as one SEND_HEADERS, the body as
 * SEND_BODY_CHUNK packets, `end()` sends END_RESPONSE; `flush()` sends an explicit AJP flush.
 * Bodies of HEAD, 1xx, 204 and 304 are discarded. A write after `end()` reports
 * `ERR_STREAM_WRITE_AFTER_END` to its callback and as `'error'` but, unlike Node, never ends the
 * process; an exception thrown by a listener of the response's events is caught and reported to the
 * server (which logs it and aborts the request if it is still running).
 */
export class AjpServerResponse extends Writable {
  /** Status code to send. */
  statusCode = 200;
  /** Reason phrase to send (default: the standard phrase). */
  statusMessage = '';
  /**
   * The response head as text (`HTTP/1.1 200 OK\r\n…\r\n\r\n`) once it went out, else null, as
   * Node's `_header`; middleware tests it to know whether headers were sent.
   */
  _header: string | null = null;
  /** The request this response answers. */
  readonly req: AjpIncomingRequest;
  /** Connection facts of the request. */
  readonly socket: AjpSocketInfo;
  /** Always false: the web server in front adds the Date header. */
  sendDate = false;
  /** @internal */
  [kOutHeaders]: StoredHeaders | null = null;
  private readonly maxChunk: number;
  private closeEmitted = false;
  /** `end()` callbacks waiting for `'finish'`, when Node runs them before it (Node ≥ 24.20). */
  private endCallbacks: WriteCallback[] | null = null;
  /** Why the response could not finish after `end()`, given to later end callbacks (ditto). */
  private flushError: Error | null = null;

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
    this.on('error', noop);
  }

  /** Whether the headers went out (`_header` is set). */
  get headersSent(): boolean {
    return this._header !== null;
  }

  /** Alias of `socket`. */
  get connection(): AjpSocketInfo {
    return this.socket;
  }

  /** Same as `writableEnded`. */
  get finished(): boolean {
    return this.writableEnded;
  }

  /**
   * Emits as `EventEmitter.emit`, but an exception thrown by a listener goes to the server (logged,
   * the request aborted if still running) instead of up into the stream machinery or the socket
   * callback that caused the event, where it would end the process.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'close') this.closeEmitted = true;
    // as Node ≥ 24.20: the end callbacks run just before 'finish' is emitted
    if (event === 'finish') this.flushEndCallbacks(null);
    try {
      return super.emit(event, ...args);
    } catch (err) {
      this.sink.listenerError(err, `response '${String(event)}'`);
      return true;
    }
  }

  private headersOrThrow(what: string): StoredHeaders {
    if (this._header !== null) throw new AjpResponseStateError('ERR_HTTP_HEADERS_SENT', what);
    return (this[kOutHeaders] ??= Object.create(null) as StoredHeaders);
  }

  /**
   * Sets a header (replacing any value of the same name, case-insensitively). Throws
   * `ERR_HTTP_HEADERS_SENT` after the headers went out, and Node's errors for invalid names or
   * values (CR, LF, NUL).
   */
  setHeader(name: string, value: HeaderValue): this {
    const headers = this.headersOrThrow('set');
    validateHeaderName(name);
    validateHeaderValue(name, value as string);
    headers[name.toLowerCase()] = [name, value];
    return this;
  }

  /** Sets every header of a `Headers` or `Map`, as Node's `setHeaders`. */
  setHeaders(headers: Headers | Map<string, HeaderValue>): this {
    for (const [name, value] of headers) this.setHeader(name, value);
    return this;
  }

  /** Adds a value to a header (Node's `appendHeader`). */
  appendHeader(name: string, value: HeaderValue): this {
    const headers = this.headersOrThrow('append');
    validateHeaderName(name);
    validateHeaderValue(name, value as string);
    const entry = headers[name.toLowerCase()];
    if (entry === undefined) return this.setHeader(name, value);
    const list = Array.isArray(entry[1]) ? [...(entry[1] as string[])] : [String(entry[1])];
    if (Array.isArray(value)) list.push(...(value as string[]));
    else list.push(String(value));
    entry[1] = list;
    return this;
  }

  /** A header's value. */
  getHeader(name: string): HeaderValue | undefined {
    return this[kOutHeaders]?.[name.toLowerCase()]?.[1];
  }

  /** All headers by lower-case name. */
  getHeaders(): Record<string, HeaderValue> {
    const out = Object.create(null) as Record<string, HeaderValue>;
    for (const [k, [, v]] of Object.entries(this[kOutHeaders] ?? {})) out[k] = v;
    return out;
  }

  /** Lower-case header names. */
  getHeaderNames(): string[] {
    return Object.keys(this[kOutHeaders] ?? {});
  }

  /** Header names as they were set. */
  getRawHeaderNames(): string[] {
    return Object.values(this[kOutHeaders] ?? {}).map(([name]) => name);
  }

  /** Whether a header is set. */
  hasHeader(name: string): boolean {
    return this[kOutHeaders]?.[name.toLowerCase()] !== undefined;
  }

  /** Removes a header; throws `ERR_HTTP_HEADERS_SENT` after the headers went out, as Node. */
  removeHeader(name: string): void {
    const headers = this.headersOrThrow('remove');
    delete headers[name.toLowerCase()];
  }

  /**
   * Sets status, optional reason and headers (an object, Node's flat `[name, value, …]` array or
   * `[name, value]` pairs) and sends the head now. Throws `ERR_HTTP_HEADERS_SENT` when it already
   * went out and `ERR_HTTP_INVALID_STATUS_CODE` outside 100…999, as Node.
   */
  writeHead(
    status: number,
    reason?: string | Record<string, HeaderValue> | AjpHeader[] | string[],
    headers?: Record<string, HeaderValue> | AjpHeader[] | string[],
  ): this {
    if (this._header !== null) throw new AjpResponseStateError('ERR_HTTP_HEADERS_SENT', 'write');
    const code = status | 0;
    if (code < 100 || code > 999)
      throw new AjpResponseStateError('ERR_HTTP_INVALID_STATUS_CODE', String(status));
    if (typeof reason === 'string') this.statusMessage = reason;
    else {
      this.statusMessage ||= STATUS_CODES[code] ?? 'unknown';
      headers ??= reason;
    }
    this.statusCode = code;
    if (Array.isArray(headers)) {
      if (headers.length > 0 && !Array.isArray(headers[0])) {
        const flat = headers as string[];
        if (nodeHttpBehaviour.writeHeadKeepsRepeatedNames) {
          // as Node ≥ 22: the array's names replace earlier values, but a name repeated in the
          // array keeps every value
          for (let i = 0; i + 1 < flat.length; i += 2) this.removeHeader(flat[i]!);
          for (let i = 0; i + 1 < flat.length; i += 2)
            if (flat[i]) this.appendHeader(flat[i]!, flat[i + 1]!);
        } else {
          // as Node 20: each pair replaces the one before
          for (let i = 0; i + 1 < flat.length; i += 2)
            if (flat[i]) this.setHeader(flat[i]!, flat[i + 1]!);
        }
      } else for (const [n, v] of headers as AjpHeader[]) this.setHeader(n, v);
    } else if (headers !== undefined) {
      for (const [n, v] of Object.entries(headers)) this.setHeader(n, v);
    }
    this.sendHeaders();
    return this;
  }

  /** Sends the head with the current status, through `writeHead` (so its hooks run), as Node. */
  _implicitHeader(): void {
    this.writeHead(this.statusCode);
  }

  /** Sends the headers now. */
  flushHeaders(): void {
    if (this._header === null) this._implicitHeader();
  }

  /** Sends an explicit AJP flush (an empty SEND_BODY_CHUNK); sends the headers first if needed. */
  flush(): void {
    if (this._header === null) this._implicitHeader();
    if (!this.bodyless() && !this.writableFinished && !this.destroyed)
      this.sink.write([FLUSH_PACKET]);
  }

  private bodyless(): boolean {
    const s = this.statusCode;
    return this.req.method === 'HEAD' || s === 204 || s === 304 || (s >= 100 && s < 200);
  }

  private sendHeaders(): void {
    if (this._header !== null) return;
    const headers: AjpHeader[] = [];
    for (const [name, v] of Object.values(this[kOutHeaders] ?? {})) {
      if (Array.isArray(v)) for (const x of v as readonly string[]) headers.push([name, String(x)]);
      else headers.push([name, String(v)]);
    }
    const reason = this.statusMessage || STATUS_CODES[this.statusCode] || String(this.statusCode);
    const packet = encodeSendHeaders(
      { status: this.statusCode, reason, headers },
      { packetSize: this.packetSize },
    );
    let head = `HTTP/1.1 ${this.statusCode} ${reason}\r\n`;
    for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
    this._header = `${head}\r\n`;
    this.sink.write([packet]);
  }

  /** Reports a write refused by the state, as Node: to the callback and as `'error'`. */
  private refuseWrite(
    code: 'ERR_STREAM_WRITE_AFTER_END' | 'ERR_STREAM_DESTROYED',
    cb?: WriteCallback,
  ) {
    const err = new AjpResponseStateError(code, 'write');
    // Node emits 'error' too unless the response was destroyed (ours is also destroyed, by
    // autoDestroy, right after 'finish', so that case is told apart by writableFinished)
    const aborted = () => this.destroyed && !this.writableFinished;
    const emit = !aborted();
    process.nextTick(() => {
      this.guard(cb ?? noop, 'write callback')(err);
      if (emit && !aborted() && !this.closeEmitted) this.emit('error', err);
    });
    return false;
  }

  /**
   * Makes `cb` run when the response finishes, as the running Node does: before the `'finish'`
   * listeners (Node ≥ 24.20, with `null`, or with the error that kept the response from
   * finishing), else as a `'finish'` listener. On a finished response it runs at once with
   * `ERR_STREAM_ALREADY_FINISHED`, as in Node.
   */
  private queueEndCallback(cb: WriteCallback): void {
    const guarded = this.guard(cb, 'end callback');
    if (this.writableFinished) {
      guarded(new AjpResponseStateError('ERR_STREAM_ALREADY_FINISHED', 'end'));
    } else if (!nodeHttpBehaviour.endCallbacksBeforeFinish) {
      this.once('finish', () => guarded());
    } else if (this.flushError !== null) {
      const err = this.flushError;
      process.nextTick(() => guarded(err));
    } else (this.endCallbacks ??= []).push(guarded);
  }

  /** Runs the queued end callbacks with `error` (null: the response finished). */
  private flushEndCallbacks(error: Error | null): void {
    const callbacks = this.endCallbacks;
    if (callbacks === null) return;
    this.endCallbacks = null;
    for (const cb of callbacks) cb(error);
  }

  /** Wraps a user callback so that an exception in it is reported, not thrown into the stream. */
  private guard(cb: WriteCallback, where: string): WriteCallback {
    return (error) => {
      try {
        cb(error);
      } catch (err) {
        this.sink.listenerError(err, where);
      }
    };
  }

  /**
   * Writes body bytes; sends the head first (through `_implicitHeader`). Returns false when the
   * caller should wait for `'drain'`. After `end()` it returns false and reports
   * `ERR_STREAM_WRITE_AFTER_END` to `cb` and as `'error'`.
   */
  override write(
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    cb?: WriteCallback,
  ): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.writableEnded) return this.refuseWrite('ERR_STREAM_WRITE_AFTER_END', cb);
    if (this.destroyed) return this.refuseWrite('ERR_STREAM_DESTROYED', cb);
    if (this._header === null) this._implicitHeader();
    const done = cb === undefined ? undefined : this.guard(cb, 'write callback');
    return encoding === undefined ? super.write(chunk, done) : super.write(chunk, encoding, done);
  }

  /**
   * Ends the response (sending the head first if needed). `cb` runs at `'finish'`. A second
   * `end()` with data is a write after end; without data it only waits for (or reports) the end.
   */
  override end(
    chunk?: unknown,
    encoding?: BufferEncoding | WriteCallback,
    cb?: WriteCallback,
  ): this {
    if (typeof chunk === 'function') {
      cb = chunk as WriteCallback;
      chunk = undefined;
      encoding = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const hasChunk = chunk !== undefined && chunk !== null && chunk !== '';
    if (this.writableEnded) {
      if (hasChunk) this.refuseWrite('ERR_STREAM_WRITE_AFTER_END', cb);
      else if (cb !== undefined) this.queueEndCallback(cb);
      return this;
    }
    if (this.destroyed) {
      if (cb !== undefined) {
        const err = new AjpResponseStateError('ERR_STREAM_DESTROYED', 'end');
        process.nextTick(() => this.guard(cb!, 'end callback')(err));
      }
      return this;
    }
    if (this._header === null) this._implicitHeader();
    if (cb !== undefined) this.queueEndCallback(cb);
    if (!hasChunk) super.end();
    else if (encoding === undefined) super.end(chunk);
    else super.end(chunk, encoding);
    return this;
  }

  /** Sends the head if Writable's own `write`/`end` were called directly; false if that failed. */
  private headOut(cb: (error?: Error | null) => void): boolean {
    if (this._header !== null) return true;
    try {
      this._implicitHeader();
      return true;
    } catch (e) {
      cb(e as Error);
      return false;
    }
  }

  /** @internal */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    if (!this.headOut(cb)) return;
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
    if (!this.headOut(cb)) return;
    this.sink.write([encodeEndResponse(true)]);
    this.sink.done(true);
    cb();
  }

  /** @internal */
  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.writableFinished) {
      this.sink.done(false, error ?? undefined);
      if (this.writableEnded && nodeHttpBehaviour.endCallbacksBeforeFinish) {
        // as Node ≥ 24.20: a response that cannot finish after end() tells its end callbacks
        this.flushError = error ?? new AjpResponseStateError('ERR_STREAM_DESTROYED', 'end');
        this.flushEndCallbacks(this.flushError);
      }
    }
    cb(error);
  }
}
