import { connect as netConnect, type Socket } from 'node:net';
import { CPING_PACKET } from '../control-messages.js';
import { ResponseDecoder, type ResponseEvent } from '../response-decoder.js';
import { AjpRequestError } from './request-error.js';

/** What a connection's current user is told. @internal */
export interface ConnectionHandler {
  /** Decoded events, in order. */
  events(events: ResponseEvent[]): void;
  /** A protocol error from the decoder (the connection is destroyed right after). */
  protocolError(err: Error): void;
  /** The socket closed. */
  closed(): void;
}

/**
 * One AJP connection to a backend: a socket, a streaming {@link ResponseDecoder}, a reply timer
 * that runs only while a reply is due and the socket is not paused for backpressure, and a CPING
 * helper. It is idle (no handler: any byte that arrives is junk and the connection is destroyed),
 * or used by exactly one exchange.
 * @internal
 */
export class AjpConnection {
  readonly decoder: ResponseDecoder;
  /** Requests completed on this connection. */
  served = 0;
  /** Time (ms, from the pool's clock) when it last became idle. */
  idleSince = 0;
  closed = false;
  private handler: ConnectionHandler | null = null;
  private replyMs = 0;
  private onReplyTimeout: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private paused = false;
  private timerSuspended = false;
  private readonly closeListeners: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    packetSize: number,
    strict: boolean,
  ) {
    this.decoder = new ResponseDecoder({ packetSize, strict });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.onClose());
  }

  /** Opens a connection, rejecting with CONNECT_FAILED / CONNECT_TIMEOUT. */
  static open(
    host: string,
    port: number,
    timeoutMs: number,
    packetSize: number,
    strict: boolean,
  ): Promise<AjpConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new AjpRequestError(
            'CONNECT_TIMEOUT',
            `no connection to ${host}:${port} within ${timeoutMs} ms`,
            { requestSent: false },
          ),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new AjpConnection(socket, packetSize, strict));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new AjpRequestError(
            'CONNECT_FAILED',
            `cannot connect to ${host}:${port}: ${err.message}`,
            { requestSent: false, cause: err },
          ),
        );
      });
    });
  }

  /** Attaches the exchange that uses the connection now (null = idle). */
  use(handler: ConnectionHandler | null): void {
    this.handler = handler;
    if (handler === null) {
      this.disarm();
      this.timerSuspended = false;
      // the previous user may have paused reading for backpressure; an idle connection must
      // read so that a close or junk from the backend is noticed
      this.resume();
    }
  }

  /** Whether an exchange is using the connection. */
  get busy(): boolean {
    return this.handler !== null;
  }

  /** Registers a callback for when the connection is gone. */
  onGone(cb: () => void): void {
    if (this.closed) cb();
    else this.closeListeners.push(cb);
  }

  /** Writes bytes (one system call for several buffers). */
  write(buffers: Buffer[]): void {
    if (this.closed) return;
    if (buffers.length === 1) {
      this.socket.write(buffers[0]!);
      return;
    }
    this.socket.cork();
    for (const b of buffers) this.socket.write(b);
    this.socket.uncork();
  }

  /** Arms the reply timer: `cb` runs when no byte arrives for `ms` while a reply is due. */
  arm(ms: number, cb: () => void): void {
    this.replyMs = ms;
    this.onReplyTimeout = cb;
    this.restartTimer();
  }

  /** Disarms the reply timer. */
  disarm(): void {
    this.onReplyTimeout = null;
    this.clearTimer();
  }

  /** Suspends the reply timer while the backend waits for us (e.g. for request body data). */
  suspendTimer(suspended: boolean): void {
    this.timerSuspended = suspended;
    this.restartTimer();
  }

  /** Stops reading from the socket (backpressure from the response body consumer). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    this.clearTimer();
  }

  /** Resumes reading. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    this.restartTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private restartTimer(): void {
    this.clearTimer();
    if (
      this.onReplyTimeout === null ||
      this.paused ||
      this.timerSuspended ||
      this.closed ||
      this.replyMs <= 0
    )
      return;
    const cb = this.onReplyTimeout;
    this.timer = setTimeout(cb, this.replyMs);
  }

  /**
   * Sends CPING and waits for CPONG. Any other packet, a timeout or a close destroys the
   * connection and rejects with CPING_FAILED.
   */
  cping(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.use(null);
        this.destroy();
        reject(new AjpRequestError('CPING_FAILED', why, { requestSent: false }));
      };
      this.use({
        events: (events) => {
          if (events.length === 1 && events[0]!.type === 'cpong' && this.decoder.idle) {
            this.use(null);
            resolve();
          } else if (events.length > 0)
            fail(`expected CPONG, got ${events.map((e) => e.type).join(', ')}`);
        },
        protocolError: (err) => fail(`expected CPONG: ${err.message}`),
        closed: () => fail('connection closed while waiting for CPONG'),
      });
      this.arm(timeoutMs, () => fail(`no CPONG within ${timeoutMs} ms`));
      this.write([CPING_PACKET]);
    });
  }

  private onData(chunk: Buffer): void {
    this.restartTimer();
    const h = this.handler;
    if (h === null) {
      // idle: a readable idle connection holds EOF or junk (a stale packet); discard it
      this.destroy();
      return;
    }
    let events: ResponseEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch (err) {
      this.handler = null;
      h.protocolError(err as Error);
      this.destroy();
      return;
    }
    if (events.length > 0) h.events(events);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    const h = this.handler;
    this.handler = null;
    h?.closed();
    for (const cb of this.closeListeners.splice(0)) cb();
  }

  /** Closes the socket at once (the only way to cancel an AJP request). */
  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClose();
  }
}
