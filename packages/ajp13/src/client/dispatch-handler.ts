import type { Readable } from 'node:stream';
import type { ForwardAttributes } from '../forward-request.js';
import type { AjpRequestError } from './request-error.js';

/** One request through {@link AjpClient.dispatch}. */
export interface AjpDispatchOptions {
  /** HTTP method. */
  method: string;
  /** Request target: path and optional `?query` (origin form). */
  url: string;
  /**
   * Request headers as one flat list `[name, value, name, value, …]` (Node's `rawHeaders`
   * shape), in order. Content-Length and Transfer-Encoding are replaced by the body framing.
   */
  headers?: readonly string[];
  /** The client's protocol as Tomcat should report it. Default `HTTP/1.1`. */
  protocol?: string;
  /** Client address. */
  remoteAddress: string;
  /** Client port (sent as `AJP_REMOTE_PORT`). */
  remotePort?: number;
  /** Local address the client connected to (sent as `AJP_LOCAL_ADDR`). */
  localAddress?: string;
  /** Whether the client used TLS (is_ssl). */
  secure?: boolean;
  /** Server name; default from the Host header, else the backend host. */
  serverName?: string;
  /** Server port; default from the Host header, else 443/80 by `secure`. */
  serverPort?: number;
  /** Route attribute (0x06). */
  route?: string;
  /** More attributes (remote user, auth type, TLS details, request attributes). */
  attributes?: Omit<ForwardAttributes, 'secret' | 'queryString' | 'route'>;
  /** The body: none, a Buffer, or a stream (of `contentLength` bytes, or of unknown length). */
  body?: Buffer | Readable | null;
  /** Length of a stream body, when known. */
  contentLength?: number;
}

/**
 * Receives one response of {@link AjpClient.dispatch}. Exactly one of `onEnd` and `onError` is
 * called, once, and never from within the `dispatch()` call itself. Return `false` from
 * `onHeaders` or `onData` to stop reading from the backend (backpressure) until `resume` is
 * called; the bytes of the socket read already received may still arrive through `onData`.
 */
export interface AjpDispatchHandler {
  /**
   * SEND_HEADERS arrived: the status, its reason phrase for the client (the standard one when
   * the backend sent only digits, as Tomcat does), and the headers as a flat
   * `[name, value, …]` list (names as the backend sent them, coded ones in canonical case).
   */
  onHeaders(status: number, statusMessage: string, headers: string[], resume: () => void): boolean;
  /** A piece of the body (a view of the socket data, valid to keep). Not called for HEAD, 1xx, 204, 304. */
  onData(chunk: Buffer): boolean;
  /**
   * END_RESPONSE arrived; the connection is back in the pool (or closed when it may not be
   * reused). `reuse` is the backend's own flag: false when it closes the connection after this
   * response (Tomcat does after refusing a request's secret with 403).
   */
  onEnd(reuse: boolean): void;
  /** The request failed or was aborted; `err` says how far it got (`requestSent`, `responseStarted`). */
  onError(err: AjpRequestError): void;
}
