import type { RequestHead } from './request-head.js';

/** Receives a request body, chunk by chunk. */
export interface BodySink {
  onData(chunk: Buffer): void;
  onEnd(): void;
  /** The body could not be read whole (the client went away, broke the framing, timed out). */
  onError(err: Error): void;
}

/** What a request needs from its connection. */
export interface RequestConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The sink changed or was resumed: deliver what is buffered, read on. */
  bodyFlowChanged(): void;
}

/**
 * One request received by the front end: the parsed head and, when it has a body, a pull-style
 * body. The body waits in the connection (the socket paused) until a sink is attached and
 * resumed, so a sink can be detached before it read anything and another attached (a retry).
 */
export class FrontRequest {
  readonly method: string;
  /** The origin-form target. */
  readonly url: string;
  readonly rawHeaders: string[];
  readonly host: string | undefined;
  readonly cookie: string | undefined;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: number;
  /** -1 when there is no Content-Length. */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly expectContinue: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The whole body was received (true from the start when there is none). */
  complete: boolean;
  /** Where body bytes go; `undefined` keeps them waiting. */
  sink: BodySink | undefined = undefined;
  /** The sink asked for no more bytes for now. */
  paused = true;
  /** Why the body could not be read whole, once it failed (a sink attached later sees it). */
  failure: Error | undefined = undefined;

  /** Builds the request from its head; `conn` delivers its body. */
  constructor(
    head: RequestHead,
    private readonly conn: RequestConnection,
  ) {
    this.method = head.method;
    this.url = head.target;
    this.rawHeaders = head.rawHeaders;
    this.host = head.host;
    this.cookie = head.cookie;
    this.versionMinor = head.versionMinor;
    this.contentLength = head.contentLength;
    this.chunked = head.chunked;
    this.expectContinue = head.expectContinue;
    this.remoteAddress = conn.remoteAddress;
    this.remotePort = conn.remotePort;
    this.localAddress = conn.localAddress;
    this.localPort = conn.localPort;
    this.complete = !head.chunked && head.contentLength <= 0;
  }

  /** Whether the request has a body to read. */
  get hasBody(): boolean {
    return this.chunked || this.contentLength > 0;
  }

  /** The value of a header field (`lowerName` in lower case); repeated fields joined by `, `. */
  header(lowerName: string): string | undefined {
    const raw = this.rawHeaders;
    let v: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === lowerName.length && n.toLowerCase() === lowerName)
        v = v === undefined ? raw[i + 1]! : `${v}, ${raw[i + 1]!}`;
    }
    return v;
  }

  /** Attaches (or with `undefined` detaches) the body's sink; a new sink starts paused. */
  setSink(sink: BodySink | undefined): void {
    this.sink = sink;
    this.paused = true;
  }

  /** Stops the flow of body bytes (the socket is paused; what is buffered waits). */
  pause(): void {
    this.paused = true;
  }

  /** Restarts the flow of body bytes to the sink. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn.bodyFlowChanged();
  }
}
