import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { FrontConnection, type ConnectionHost, type FrontTimeouts } from './connection.js';
import type { FrontRequestError } from './errors.js';
import type { FrontRequest } from './request.js';
import type { HeadLimits } from './request-head.js';
import type { FrontResponse } from './response.js';

/** What the front end hands to the proxy. */
export interface FrontHandlers {
  /** A request whose head was read (its body, if any, is pulled through `req.setSink`). */
  onRequest(req: FrontRequest, res: FrontResponse): void;
  /** A protocol switch (`Connection: upgrade`): the socket is handed over, paused. */
  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer): void;
  /** A request refused by the front end: log it, and write its answer on `socket`, which is then closed. */
  onRefused(err: FrontRequestError, socket: Socket): void;
}

/** Options of {@link FrontServer}. */
export interface FrontServerOptions {
  readonly limits: HeadLimits;
  readonly timeouts: FrontTimeouts;
}

/**
 * The proxy's HTTP/1.1 front end on a plain `net` server: requests are parsed by
 * {@link FrontConnection} and answered by {@link FrontResponse} straight on the socket, without
 * node:http's message objects. Deadlines are checked by one sweep timer for all connections.
 */
export class FrontServer implements ConnectionHost {
  /** The listening server. */
  readonly server: Server;
  readonly limits: HeadLimits;
  readonly timeouts: FrontTimeouts;
  /** Set by `close`: answers end their connections. */
  closing = false;
  private readonly connections = new Set<FrontConnection>();
  private sweep: NodeJS.Timeout | undefined;

  /** Builds the server (not listening yet). */
  constructor(
    options: FrontServerOptions,
    private readonly handlers: FrontHandlers,
  ) {
    this.limits = options.limits;
    this.timeouts = options.timeouts;
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.connections.add(new FrontConnection(socket, this));
    });
  }
  /** Listens on `host:port`; resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const t = this.timeouts;
        const every = Math.min(1000, Math.max(25, Math.floor(Math.min(t.headers, t.idle) / 4)));
        this.sweep = setInterval(() => this.checkDeadlines(), every);
        this.sweep.unref();
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting connections; resolves once every connection is closed. */
  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      this.server.close(() => {
        clearInterval(this.sweep);
        resolve();
      });
      this.closeIdleConnections();
    });
  }

  /** Closes the connections that wait for a next request. */
  closeIdleConnections(): void {
    for (const c of this.connections) c.closeIfIdle();
  }

  /** Closes every connection now. */
  closeAllConnections(): void {
    for (const c of this.connections) c.destroy();
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Hands a request to the proxy. */
  onRequest(req: FrontRequest, res: FrontResponse): void {
    this.handlers.onRequest(req, res);
  }

  /** Hands a protocol switch to the proxy. */
  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer): void {
    this.handlers.onUpgrade(req, socket, head);
  }

  /** Answers and logs a refused request (through the proxy's handler). */
  refuse(socket: Socket, err: FrontRequestError): void {
    this.handlers.onRefused(err, socket);
  }

  /** Drops a closed or handed-over connection. */
  forget(conn: FrontConnection): void {
    this.connections.delete(conn);
  }

  private checkDeadlines(): void {
    const now = Date.now();
    for (const c of this.connections) c.checkDeadline(now);
  }
}
