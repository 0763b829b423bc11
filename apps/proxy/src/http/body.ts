import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

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
 * destroys the client's request: it detaches and leaves it paused, so a bridge that read nothing
 * can be replaced by a fresh one for a retry.
 */
export class BodyBridge extends Readable {
  /** Bytes read from the client so far. */
  consumed = 0;
  /** The client's side failed (malformed chunked body, connection reset): not the member's fault. */
  clientFailed = false;
  private readonly src: IncomingMessage;
  private readonly limit: number;

  /** Wraps `src`, refusing more than `limit` bytes. */
  constructor(src: IncomingMessage, limit: number) {
    super({ highWaterMark: 65_536 });
    this.src = src;
    this.limit = limit;
    src.on('data', this.onData);
    src.on('end', this.onEnd);
    src.on('error', this.onError);
    src.pause();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.consumed += chunk.length;
    if (this.consumed > this.limit) {
      this.destroy(new BodyTooLargeError(this.limit));
      return;
    }
    if (!this.push(chunk)) this.src.pause();
  };

  private readonly onEnd = (): void => {
    this.push(null);
  };

  private readonly onError = (err: Error): void => {
    this.clientFailed = true;
    this.destroy(err);
  };

  override _read(): void {
    this.src.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('error', this.onError);
    this.src.pause();
    cb(err);
  }
}

/**
 * Reads a whole request body of known, small length into one Buffer (for retries). Resolves
 * `undefined` if the client went away or sent a different length.
 */
export function readSmallBody(req: IncomingMessage, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (v: Buffer | undefined) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFail);
      req.off('close', onClose);
      resolve(v);
    };
    const onData = (c: Buffer) => {
      got += c.length;
      if (got > length) done(undefined);
      else chunks.push(c);
    };
    const onEnd = () =>
      done(
        got === length
          ? chunks.length === 1
            ? chunks[0]!
            : Buffer.concat(chunks, got)
          : undefined,
      );
    const onFail = () => done(undefined);
    const onClose = () => {
      if (!req.complete) done(undefined);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onFail);
    req.on('close', onClose);
  });
}
