import { Readable } from 'node:stream';

import type { BodySink, FrontRequest } from '../front/request.js';

/** The request body went over `maxBodyBytes` while streaming. */
export class BodyTooLargeError extends Error {
  /** Always `ERR_BODY_TOO_LARGE`. */
  readonly code = 'ERR_BODY_TOO_LARGE';
  /** Builds the error for a limit. */
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The start of a streamed body, read before a member is chosen (see {@link readBodyStart}). */
export interface BodyStart {
  /** The first bytes of the body (may be empty when the body is empty). */
  readonly chunk: Buffer;
  /** The body ended within `chunk`: nothing more comes from the client. */
  readonly ended: boolean;
}

function ignoreError(): void {}

/**
 * A request body streamed to a member with backpressure: it reads from the client's request
 * only when the member connection asks for more. Destroying the bridge (a failed attempt) never
 * destroys the client's request: it detaches and leaves the rest of the body waiting, so a bridge
 * that read nothing from the client beyond the start can be replaced by a fresh one for a retry.
 *
 * The bridge always has an error listener of its own: a client that resets mid-body destroys
 * the bridge with an error at any moment — while it waits in a member pool's queue, after the
 * member connection let go of it — and that must never reach the process as an unhandled
 * 'error' event. The error stays readable in `errored` and `clientFailed`.
 */
export class BodyBridge extends Readable implements BodySink {
  /** Bytes read from the client so far, the start included. */
  consumed = 0;
  /** Bytes read from the client after the start (0: the bridge can be replaced for a retry). */
  consumedAfterStart = 0;
  /** The client's side failed (malformed chunked body, connection reset): not the member's fault. */
  clientFailed = false;
  /**
   * Told when the client's side fails, whoever reads the bridge: a request still waiting for a
   * member connection must end then, not when a connection frees up and waits for a body byte
   * that can never come.
   */
  onClientFailure: ((err: Error) => void) | undefined = undefined;
  private readonly src: FrontRequest;
  private readonly limit: number;

  /**
   * Wraps the body of `src`, refusing more than `limit` bytes. `start`, when given, is what was
   * read of the body already; it is sent first, and when it holds the whole body the client's
   * request is not read at all.
   */
  constructor(src: FrontRequest, limit: number, start?: BodyStart) {
    super({ highWaterMark: 65_536 });
    this.src = src;
    this.limit = limit;
    this.on('error', ignoreError);
    if (start !== undefined) {
      this.consumed = start.chunk.length;
      if (start.chunk.length > 0) this.push(start.chunk);
      if (start.ended) {
        this.push(null);
        return;
      }
    }
    if (src.failure !== undefined) {
      // Failed before this bridge existed: its reader sees the error on its first read.
      this.clientFailed = true;
      this.destroy(src.failure);
      return;
    }
    src.setSink(this);
  }

  /** Body bytes from the client. */
  onData(chunk: Buffer): void {
    if (this.destroyed) return;
    this.consumed += chunk.length;
    this.consumedAfterStart += chunk.length;
    if (this.consumed > this.limit) {
      this.destroy(new BodyTooLargeError(this.limit));
      return;
    }
    if (!this.push(chunk)) this.src.pause();
  }

  /** The body ended. */
  onEnd(): void {
    if (!this.destroyed) this.push(null);
  }

  /** The client's side failed. */
  onError(err: Error): void {
    if (this.destroyed) return;
    this.clientFailed = true;
    this.destroy(err);
    this.onClientFailure?.(err);
  }

  override _read(): void {
    if (this.src.sink === this) this.src.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.src.sink === this) this.src.setSink(undefined);
    cb(err);
  }
}

/**
 * Reads a whole request body of known, small length into one Buffer (for retries). Resolves
 * `undefined` if the client went away before sending all of it.
 */
export function readSmallBody(req: FrontRequest, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    req.setSink({
      onData(c) {
        got += c.length;
        chunks.push(c);
      },
      onEnd() {
        req.setSink(undefined);
        if (got !== length) resolve(undefined);
        else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got));
      },
      onError() {
        req.setSink(undefined);
        resolve(undefined);
      },
    });
    req.resume();
  });
}

/**
 * Waits for the first bytes of a streamed body (or its end) before a member is chosen, so a
 * client that sends a request head and then nothing holds no member connection (nginx buffers
 * the whole body for the same reason). Resolves `undefined` if the body failed first (the client
 * went away, broke the framing, or the request timed out). The request is left paused.
 */
export function readBodyStart(req: FrontRequest): Promise<BodyStart | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let settled = false;
    // One socket read can carry several chunks and the end: collect what this turn delivers.
    const settle = (): void => {
      if (settled) return;
      settled = true;
      if (req.sink === sink) req.setSink(undefined);
      resolve({ chunk: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), ended });
    };
    const sink = {
      onData(c: Buffer): void {
        if (c.length === 0 || settled) return;
        chunks.push(c);
        req.pause();
        queueMicrotask(settle);
      },
      onEnd(): void {
        ended = true;
        queueMicrotask(settle);
      },
      onError(): void {
        if (settled) return;
        settled = true;
        if (req.sink === sink) req.setSink(undefined);
        resolve(undefined);
      },
    };
    req.setSink(sink);
    req.resume();
  });
}
