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

/**
 * A request body streamed to a member with backpressure: it reads from the client's request
 * only when the member connection asks for more. Destroying the bridge (a failed attempt) never
 * destroys the client's request: it detaches and leaves the rest of the body waiting, so a bridge
 * that read nothing can be replaced by a fresh one for a retry.
 */
export class BodyBridge extends Readable implements BodySink {
  /** Bytes read from the client so far. */
  consumed = 0;
  /** The client's side failed (malformed chunked body, connection reset): not the member's fault. */
  clientFailed = false;
  private readonly src: FrontRequest;
  private readonly limit: number;

  /** Wraps the body of `src`, refusing more than `limit` bytes. */
  constructor(src: FrontRequest, limit: number) {
    super({ highWaterMark: 65_536 });
    this.src = src;
    this.limit = limit;
    src.setSink(this);
  }

  /** Body bytes from the client. */
  onData(chunk: Buffer): void {
    if (this.destroyed) return;
    this.consumed += chunk.length;
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
  }

  override _read(): void {
    this.src.resume();
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
