import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { DecodedForwardRequest } from '../forward-request.js';

/**
 * The connection facts a listener may look at, in the shape of the `net.Socket` fields and events
 * that applications and Express middleware read (`remoteAddress`, `encrypted`, `writable`, and
 * `close` when the AJP connection goes away).
 */
export class AjpSocketInfo extends EventEmitter {
  /** @internal */
  constructor(
    /** Client address (from the Forward Request's remote_addr). */
    readonly remoteAddress: string,
    /** Client port (from the `AJP_REMOTE_PORT` attribute), when the web server sent it. */
    readonly remotePort: number | undefined,
    /** Address the client connected to (`AJP_LOCAL_ADDR`), else the server name. */
    readonly localAddress: string,
    /** Port the client connected to (server_port). */
    readonly localPort: number,
    /** True when the client connection used TLS (is_ssl); Express reads it for `req.protocol`. */
    readonly encrypted: boolean,
    /** Address of the web server (the real TCP peer of the AJP connection). */
    readonly peerAddress: string | undefined,
    private readonly tcp: { destroyed: boolean; destroy(): void },
  ) {
    super();
  }

  /** False once the AJP connection is closed. */
  get writable(): boolean {
    return !this.tcp.destroyed;
  }

  /** False once the AJP connection is closed (middleware such as body parsers checks it). */
  get readable(): boolean {
    return !this.tcp.destroyed;
  }

  /** Closes the AJP connection (aborts the request). */
  destroy(): void {
    this.tcp.destroy();
  }

  /** Accepted for compatibility; timeouts are the server's options. */
  setTimeout(_ms: number, _cb?: () => void): this {
    return this;
  }
}

/**
 * The request a server listener receives: a Readable of the request body (pulled from the web
 * server with GET_BODY_CHUNK as the listener reads, so backpressure reaches the client), with the
 * fields of Node's `http.IncomingMessage` that applications use.
 */
export class AjpIncomingRequest extends Readable {
  /** HTTP method. */
  readonly method: string;
  /** Request target: the path as sent, plus `?query` when there is one. */
  readonly url: string;
  /** Always `1.1`: AJP does not carry the client's version separately from `protocol`. */
  readonly httpVersion: string;
  /** Major version. */
  readonly httpVersionMajor: number;
  /** Minor version. */
  readonly httpVersionMinor: number;
  /** Headers by lower-case name, joined as Node joins them (Set-Cookie an array, Cookie with `; `). */
  readonly headers: Record<string, string | string[]>;
  /** Names and values alternating, in order, as Node's `rawHeaders`. */
  readonly rawHeaders: string[];
  /** Connection facts. */
  readonly socket: AjpSocketInfo;
  /** Alias of `socket` (older code reads `req.connection`). */
  readonly connection: AjpSocketInfo;
  /** Whether the client used TLS. */
  readonly secure: boolean;
  /** Everything the web server sent: attributes (route, remote user, TLS details…), raw fields. */
  readonly ajp: DecodedForwardRequest;
  /** True once the whole body was received. */
  complete = false;

  /** @internal */
  constructor(
    fr: DecodedForwardRequest,
    socket: AjpSocketInfo,
    pull: () => void,
    private readonly listenerError: (error: unknown, event: string) => void = (e) => {
      throw e;
    },
  ) {
    super({ read: pull });
    this.ajp = fr;
    this.method = fr.method;
    this.url =
      fr.attributes.queryString !== undefined ? `${fr.uri}?${fr.attributes.queryString}` : fr.uri;
    const m = /^HTTP\/(\d)\.(\d)$/.exec(fr.protocol);
    this.httpVersionMajor = m ? Number(m[1]) : 1;
    this.httpVersionMinor = m ? Number(m[2]) : 1;
    this.httpVersion = `${this.httpVersionMajor}.${this.httpVersionMinor}`;
    this.rawHeaders = [];
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of fr.headers) {
      this.rawHeaders.push(name, value);
      const k = name.toLowerCase();
      const prev = headers[k];
      if (prev === undefined) headers[k] = k === 'set-cookie' ? [value] : value;
      else if (Array.isArray(prev)) prev.push(value);
      else headers[k] = `${prev}${k === 'cookie' ? '; ' : ', '}${value}`;
    }
    this.headers = headers;
    this.socket = socket;
    this.connection = socket;
    this.secure = fr.isSsl;
  }

  /** True when the request was cut off before its body ended. */
  aborted = false;

  /**
   * Emits as `EventEmitter.emit`, but an exception thrown by a listener (of `data`, `end`,
   * `aborted`…) goes to the server (logged, the request aborted) instead of up into the socket
   * callback that delivered the bytes, where it would end the process.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      this.listenerError(err, `request '${String(event)}'`);
      return true;
    }
  }

  /**
   * As Node's `IncomingMessage`: an abort emits `aborted`, and the error is emitted only when
   * somebody listens for it (an app that never reads the body must not crash).
   * @internal
   */
  override _destroy(error: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.complete && error !== null) {
      this.aborted = true;
      this.emit('aborted');
    }
    cb(this.listenerCount('error') === 0 ? null : error);
  }
}
