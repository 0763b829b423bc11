import { connect as netConnect, type Socket } from 'node:net';
import { CPING_PACKET } from '../control-messages.js';
import { AjpProtocolError } from '../errors.js';
import { ResponseParser, type ResponseSink } from './response-parser.js';
import { AjpRequestError } from './request-error.js';

/** What a connection's current user is told: decoded messages, then these. @internal */
export interface ConnectionHandler extends ResponseSink {
  /** A protocol error from the decoder (the connection is destroyed right after). */
  protocolError(err: Error): void;
  /** The socket closed. */
  closed(): void;
  /** No byte for the armed reply time while a reply was due. */
  timedOut(): void;
}

/**
 * One AJP connection to a backend: a socket, a streaming {@link ResponseParser} that hands each
 * message to the current user, a reply timer that counts only while a reply is due and the socket
 * is not paused for backpressure, and a CPING helper. It is idle (no handler: any byte that arrives
 * is junk and the connection is destroyed), or used by exactly one exchange.
 *
 * The reply timer is one Node timer per connection, created once and left running: arming,
 * disarming and every received byte only note the time, and the timer, when it fires, either
 * reports the timeout or sleeps again for what is left. A busy connection thus costs no timer
 * operation per request or per packet.
 * @internal
 */
export class AjpConnection {
  readonly decoder: ResponseParser;
  /** Requests completed on this connection. */
  served = 0;
  /** Time (ms, `Date.now()`) when it last became idle. */
  idleSince = 0;
  /** Time of its last idle event (going idle, or an idle CPING). */
  idleEventAt = 0;
  /** Whether it sits in the pool's idle list. */
  pooled = false;
  /** The pool's idle timer of this connection, reused (see {@link AjpConnection.idleTimerLive}). */
  idleTimer: NodeJS.Timeout | null = null;
  /** Whether {@link AjpConnection.idleTimer} is scheduled. */
  idleTimerLive = false;
  closed = false;
  private handler: ConnectionHandler | null = null;
  private replyMs = 0;
  private armed = false;
  private lastActivity = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private timerLive = false;
  private paused = false;
  private timerSuspended = false;
  private readonly closeListeners: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    packetSize: number,
    strict: boolean,
  ) {
    this.decoder = new ResponseParser({ packetSize, strict });
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

  /**
   * Attaches the exchange that uses the connection now (null = idle). Whatever is left of the
   * socket read being decoded is not given to the new user.
   */
  use(handler: ConnectionHandler | null): void {
    this.handler = handler;
    this.decoder.sink = handler;
    this.decoder.stop();
    if (handler === null) {
      this.armed = false;
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

  /** Writes one buffer. */
  write1(buffer: Buffer): void {
    if (!this.closed) this.socket.write(buffer);
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

  /** Arms the reply timer: the handler's `timedOut` runs when no byte arrives for `ms` while a reply is due. */
  arm(ms: number): void {
    this.replyMs = ms;
    this.armed = true;
    this.lastActivity = Date.now();
    this.ensureTimer();
  }

  /** Disarms the reply timer. */
  disarm(): void {
    this.armed = false;
  }

  /** Suspends the reply timer while the backend waits for us (e.g. for request body data). */
  suspendTimer(suspended: boolean): void {
    this.timerSuspended = suspended;
    if (!suspended) {
      this.lastActivity = Date.now();
      this.ensureTimer();
    }
  }

  /** Stops reading from the socket (backpressure from the response body consumer). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  /** Resumes reading. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    if (this.armed) {
      this.lastActivity = Date.now();
      this.ensureTimer();
    }
  }

  private counting(): boolean {
    return this.armed && !this.paused && !this.timerSuspended && !this.closed && this.replyMs > 0;
  }

  /** Makes sure the timer fires no later than `lastActivity + replyMs` while counting. */
  private ensureTimer(): void {
    if (!this.counting()) return;
    if (this.timerLive) {
      if (this.timerMs <= this.replyMs) return; // fires early enough; it re-checks then
      clearTimeout(this.timer!);
      this.timer = null;
    }
    this.schedule(this.replyMs);
  }

  private schedule(ms: number): void {
    this.timerLive = true;
    if (this.timer !== null && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimer, ms);
    // a reply is due only while the socket reads, which keeps the process alive by itself
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timerLive = false;
    if (!this.counting()) return;
    const left = this.lastActivity + this.replyMs - Date.now();
    if (left > 0) {
      this.schedule(left);
      return;
    }
    this.handler?.timedOut();
  };

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
      const other = (what: string) => () => fail(`expected CPONG, got ${what}`);
      this.use({
        headers: other('send-headers'),
        body: other('body-chunk'),
        flush: other('flush'),
        end: other('end-response'),
        getBody: other('get-body-chunk'),
        cpong: (trailing) => {
          if (trailing) fail('expected CPONG, got more bytes after it');
          else {
            this.use(null);
            resolve();
          }
        },
        protocolError: (err) => fail(`expected CPONG: ${err.message}`),
        closed: () => fail('connection closed while waiting for CPONG'),
        timedOut: () => fail(`no CPONG within ${timeoutMs} ms`),
      });
      this.arm(timeoutMs);
      this.write1(CPING_PACKET);
    });
  }

  private onData(chunk: Buffer): void {
    const h = this.handler;
    if (h === null) {
      // idle: a readable idle connection holds EOF or junk (a stale packet); discard it
      this.destroy();
      return;
    }
    if (this.armed) this.lastActivity = Date.now();
    try {
      this.decoder.feed(chunk);
    } catch (err) {
      if (!(err instanceof AjpProtocolError)) {
        // a user callback threw: the stream is in an unknown state
        this.destroy();
        throw err;
      }
      const cur = this.handler;
      this.handler = null;
      this.decoder.sink = null;
      cur?.protocolError(err);
      this.destroy();
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerLive = false;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimerLive = false;
    const h = this.handler;
    this.handler = null;
    this.decoder.sink = null;
    h?.closed();
    for (const cb of this.closeListeners.splice(0)) cb();
  }

  /** Closes the socket at once (the only way to cancel an AJP request). */
  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClose();
  }
}
