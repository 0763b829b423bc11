import type { Readable } from 'node:stream';

import { clearPinCookie, pinCookie } from './balancer/affinity.js';
import { decide, type DecisionKind, type PinAction } from './balancer/decide.js';
import type { MemberState } from './balancer/member-state.js';
import { recordAnswer, recordFailure, type HealthEvent } from './balancer/health.js';
import { mayRetry, type FailurePhase } from './balancer/retry.js';
import type { FrontRequest } from './front/request.js';
import type { FrontResponse } from './front/response.js';
import { BodyBridge, BodyTooLargeError, type BodyStart } from './http/body.js';
import { sendError } from './http/errors.js';
import { requestHeaders } from './http/headers.js';
import { responseHeaders } from './http/rewrite.js';
import type { ForwardHandler, MemberNotice } from './members/transport.js';
import type { BalancerRuntime, MemberRuntime } from './runtime.js';

/** Fields of an interim response that concern one connection only. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'proxy-connection',
]);

/** Marks a held first chunk as already written. */
const EMPTY = Buffer.alloc(0);

/** The Content-Length of a flat header list, -1 when absent, repeated or not a plain number. */
function declaredLength(headers: readonly string[]): number {
  let n = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length !== 14 || name.toLowerCase() !== 'content-length') continue;
    if (n !== -1) return -1;
    const v = headers[i + 1]!;
    if (!/^\d{1,15}$/.test(v)) return -1;
    n = Number(v);
  }
  return n;
}

/** The bytes of a flat header list's names and values. */
function headerBytes(headers: readonly string[]): number {
  let n = 0;
  for (const h of headers) n += h.length;
  return n;
}

/** What an exchange reports when it ends (one access-log line). */
export interface ExchangeRecord {
  readonly requestId: string;
  readonly balancer: string;
  readonly method: string;
  readonly target: string;
  readonly status: number;
  readonly bytes: number;
  readonly ms: number;
  readonly member: string | undefined;
  /** The route the session id carried (never the id). */
  readonly route: string | undefined;
  readonly kind: DecisionKind | undefined;
  readonly sticky: boolean;
  readonly failover: boolean;
  readonly retries: number;
  readonly outcome: 'ok' | 'error' | 'client-abort' | 'member-abort';
  readonly error: string | undefined;
}

/** Environment an exchange needs from the proxy. */
export interface ExchangeEnv {
  readonly now: () => number;
  readonly random: () => number;
  readonly requestIdHeader: string;
  readonly maxBodyBytes: number;
  readonly onDone: (r: ExchangeRecord) => void;
  readonly onMemberError: (
    b: BalancerRuntime,
    m: MemberRuntime,
    err: Error,
    phase: FailurePhase,
    requestId: string,
    /** The failure put the member in error. */
    marked: boolean,
  ) => void;
  /** A transport noticed something about its member that an operator must fix. */
  readonly onMemberNotice: (b: BalancerRuntime, m: MemberRuntime, notice: MemberNotice) => void;
  /** A member's health changed (ejected by 5xx answers in a row). */
  readonly onHealthEvent: (b: BalancerRuntime, m: MemberRuntime, event: HealthEvent) => void;
}

/**
 * One proxied request: the affinity decision, the attempts on members (with the retry rules),
 * the streaming of the response with backpressure, client aborts, and the access record.
 */
export class Exchange implements ForwardHandler {
  private attempts = 0;
  private readonly tried = new Set<MemberState>();
  private member: MemberRuntime | undefined;
  private kind: DecisionKind | undefined;
  private pin: PinAction;
  private abortAttempt: ((reason?: Error) => void) | undefined;
  private inflight = false;
  private done = false;
  private bytes = 0;
  private firstKind: DecisionKind | undefined;
  private resume: (() => void) | undefined;
  private readonly started: number;
  private bridge: BodyBridge | undefined;
  /** The start of a streamed body, read before the first attempt; every bridge sends it first. */
  private bodyStart: BodyStart | undefined;

  constructor(
    private readonly env: ExchangeEnv,
    private readonly b: BalancerRuntime,
    private readonly req: FrontRequest,
    private readonly res: FrontResponse,
    private readonly requestId: string,
    private readonly owner: string | undefined,
    private readonly pinRoute: string | undefined,
    private readonly hashKey: string | undefined,
    /** A fully buffered body, `null` for none, `'stream'` to stream it from the client. */
    private body: Buffer | null | 'stream',
    private readonly clientOrigin: string,
  ) {
    this.started = env.now();
    res.onClose = this.onClientClose;
    res.onDrain = this.onDrain;
  }

  private readonly onClientClose = (): void => {
    if (this.done) return;
    if (!this.res.finished) {
      // Finish first: the abort below may call onError synchronously, and a client that went
      // away says nothing about the member.
      this.finish(this.res.headersSent ? this.res.statusCode : 499, 'client-abort', undefined);
      this.abortAttempt?.(new Error('client closed the connection'));
    }
  };

  /**
   * The client's body broke (reset, ended early, bad framing, too slow) while an attempt runs:
   * the attempt is aborted at once — also while it waits in a member pool's queue — and the
   * client answered 400 if it is still there.
   */
  private readonly onBodyFailure = (err: Error): void => {
    if (this.done || !this.inflight) return;
    this.abortAttempt?.(err);
  };

  /** Starts with a body that was buffered after the exchange was created. */
  startWith(body: Buffer): void {
    if (this.done) return;
    this.body = body;
    this.attempt();
  }

  /** Starts streaming a body whose first bytes (`start`) arrived after the exchange was created. */
  startStreaming(start: BodyStart): void {
    if (this.done) return;
    this.bodyStart = start;
    this.attempt();
  }

  /** Makes the next attempt, or answers when no member can take the request. */
  attempt(): void {
    const d = decide(this.b.view, {
      owner: this.owner,
      pin: this.pinRoute,
      now: this.env.now(),
      random: this.env.random,
      tried: this.tried,
      hashKey: this.hashKey,
    });
    if (!d.member) {
      const retryAfter = String(Math.max(1, Math.ceil(this.b.config.retry / 1000)));
      this.reply(503, 'no member of this balancer can take the request', {
        'Retry-After': retryAfter,
      });
      return;
    }
    const m = this.b.byState.get(d.member)!;
    this.member = m;
    this.kind = d.kind;
    this.firstKind ??= d.kind;
    this.pin = d.pin;
    this.attempts++;
    m.state.inflight++;
    m.state.requests++;
    this.inflight = true;
    this.resume = undefined;
    const h = this.b.config.headers;
    const req = this.req;
    let body: Buffer | Readable | null;
    if (this.body === 'stream') {
      this.bridge = new BodyBridge(req, this.env.maxBodyBytes, this.bodyStart);
      this.bridge.onClientFailure = this.onBodyFailure;
      if (this.bridge.clientFailed) {
        // The body broke before this attempt: nothing to send, nobody to blame.
        this.endAttempt();
        this.reply(400, 'the request body could not be read', undefined, true);
        return;
      }
      body = this.bridge;
    } else body = this.body;
    this.abortAttempt = m.transport.forward(
      {
        method: req.method,
        path: req.url,
        headers: requestHeaders(req.rawHeaders, {
          clientIp: req.remoteAddress,
          proto: 'http',
          host: req.host,
          localPort: req.localPort,
          memberHost: m.hostPort,
          requestId: this.requestId,
          requestIdHeader: this.env.requestIdHeader,
          preserveHost: h.preserveHost,
          xForwarded: h.xForwarded,
          forwarded: h.forwarded,
          via: h.via,
          dropUnderscores: h.underscores === 'drop',
        }),
        body,
        clientIp: req.remoteAddress,
        clientPort: req.remotePort,
        localIp: req.localAddress,
        localPort: req.localPort,
        host: req.host,
      },
      this,
    );
  }

  private endAttempt(): void {
    if (!this.inflight) return;
    this.inflight = false;
    this.member!.state.inflight--;
  }

  onInformational(status: number, statusText: string, headers: string[]): void {
    if (this.done) return;
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!HOP_BY_HOP.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
    }
    this.res.writeInformational(status, statusText, out);
  }

  onResponse(status: number, statusText: string, headers: string[], resume: () => void): boolean {
    if (this.done) return false;
    this.resume = resume;
    const m = this.member!;
    const event = recordAnswer(
      m.state,
      status,
      this.env.now(),
      this.b.view.members,
      this.b.outlier,
    );
    if (event !== undefined) this.env.onHealthEvent(this.b, m, event);
    const out = responseHeaders(headers, this.b.rewrite, this.clientOrigin);
    this.declaredLength = declaredLength(out);
    const pin = this.pin;
    if (pin !== undefined) {
      const a = this.b.affinity;
      out.push(
        'Set-Cookie',
        pin === 'clear'
          ? clearPinCookie(a)
          : pinCookie(
              a,
              pin.set,
              this.b.config.failback === 'when-idle' ? this.b.config.failbackIdle : undefined,
            ),
      );
    }
    try {
      this.res.writeHead(status, statusText || undefined, out);
    } catch (e) {
      // A member sent a header Node refuses to write (invalid characters): a protocol error.
      this.abortAttempt?.(e as Error);
      this.endAttempt();
      this.reply(502, 'the member sent an invalid response header');
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return false;
    this.bytes += chunk.length;
    this.member!.state.traffic += chunk.length;
    if (this.held === undefined && this.bytes === chunk.length) {
      // Small answers arrive whole: hold the first chunk until the end (usually in the same
      // tick) so headers and body leave in one write. When the chunk is the whole declared body
      // the end is already on its way (undici completes in the same parse); otherwise, and
      // for AJP (whose end packet may come later), flush it on the next turn.
      this.held = chunk;
      if (chunk.length !== this.declaredLength || this.member!.transport.protocol !== 'http')
        setImmediate(this.flushHeld);
      return true;
    }
    this.flushHeld();
    if (this.res.write(chunk)) return true;
    this.draining = true;
    return false;
  }

  private held: Buffer | undefined;
  /** The response's Content-Length, -1 when it has none (or several). */
  private declaredLength = -1;

  private readonly flushHeld = (): void => {
    const h = this.held;
    if (h === undefined || h.length === 0) return;
    this.held = EMPTY;
    if (!this.done) this.res.write(h);
  };

  /** The member's body is paused until the client's socket drains. */
  private draining = false;

  private readonly onDrain = (): void => {
    if (!this.draining) return;
    this.draining = false;
    this.resume?.();
  };

  onNotice(notice: MemberNotice): void {
    if (this.member !== undefined) this.env.onMemberNotice(this.b, this.member, notice);
  }

  onEnd(notice?: MemberNotice): void {
    this.endAttempt();
    const m = this.member!;
    if (notice !== undefined) this.env.onMemberNotice(this.b, m, notice);
    else if (m.state.warning !== undefined) m.state.warning = undefined;
    if (this.done) return;
    const h = this.held;
    this.held = EMPTY;
    if (h !== undefined && h.length > 0) this.res.end(h);
    else this.res.end();
    this.finish(this.res.statusCode, 'ok', undefined);
  }

  onError(err: Error, phase: FailurePhase): void {
    this.endAttempt();
    if (this.done) return;
    const m = this.member!;
    if (err instanceof BodyTooLargeError || this.bridge?.errored instanceof BodyTooLargeError) {
      this.reply(413, `request body larger than ${this.env.maxBodyBytes} bytes`, undefined, true);
      return;
    }
    if (this.bridge?.clientFailed) {
      // The client's body broke (bad chunked framing, reset): the member is not at fault.
      this.reply(400, 'the request body could not be read', undefined, true);
      return;
    }
    if (phase === 'responding') {
      m.state.lastError = { message: err.message, phase, at: this.env.now() };
      this.env.onMemberError(this.b, m, err, phase, this.requestId, false);
      this.res.destroy();
      this.finish(this.res.statusCode, 'member-abort', err);
      return;
    }
    const event = recordFailure(
      m.state,
      phase,
      err.message,
      this.env.now(),
      this.b.view.members,
      this.b.outlier,
    );
    this.tried.add(m.state);
    this.env.onMemberError(this.b, m, err, phase, this.requestId, event === 'ejected');
    const bodyReplayable =
      this.body !== 'stream' ||
      (this.bridge !== undefined &&
        !this.bridge.clientFailed &&
        this.bridge.consumedAfterStart === 0 &&
        (this.bodyStart?.ended === true || !this.req.complete));
    if (this.bridge !== undefined && !this.bridge.destroyed) this.bridge.destroy();
    m.state.errors++;
    if (
      mayRetry({
        phase,
        method: this.req.method,
        bodyReplayable,
        attempts: this.attempts,
        maxAttempts: this.b.config.maxAttempts,
      })
    ) {
      m.state.retries++;
      this.attempt();
      return;
    }
    const unread = this.body === 'stream';
    switch (phase) {
      case 'timeout':
        this.reply(504, 'the member did not answer in time');
        return;
      case 'connect':
        this.reply(503, 'no member could be reached', { 'Retry-After': this.retryAfter() });
        return;
      case 'queue':
        this.reply(503, 'every connection to the member is busy', {
          'Retry-After': this.retryAfter(),
        });
        return;
      case 'request':
        if ((err as { code?: unknown }).code !== 'REQUEST_TOO_LARGE')
          this.reply(400, 'the request cannot be sent to the member', undefined, unread);
        else if (this.req.url.length > headerBytes(this.req.rawHeaders))
          this.reply(414, 'the request target is too long for the member', undefined, unread);
        else
          this.reply(
            431,
            'the request header fields are too large for the member',
            undefined,
            unread,
          );
        return;
      case 'invalid':
        this.reply(502, 'the member sent an invalid response', undefined, unread);
        return;
      default:
        this.reply(502, 'the member failed before answering', undefined, unread);
    }
  }

  /** `Retry-After` in seconds: the balancer's `retry` period, at least 1. */
  private retryAfter(): string {
    return String(Math.max(1, Math.ceil(this.b.config.retry / 1000)));
  }

  /**
   * Answers with an error status (nothing was sent yet) and ends the exchange. An answer while
   * the request body is still unread closes the connection anyway (the front end sees to it).
   */
  reply(status: number, detail: string, extra?: Record<string, string>, close = false): void {
    if (this.done) return;
    sendError(this.res, status, this.requestId, this.env.requestIdHeader, detail, extra, close);
    this.finish(status, 'error', new Error(detail));
  }

  private finish(status: number, outcome: ExchangeRecord['outcome'], err: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    this.res.onClose = undefined;
    // A member may answer before reading the whole body: detach from the client's request so
    // what Node still reads (and discards) is not buffered here.
    if (this.bridge !== undefined && !this.bridge.destroyed) this.bridge.destroy();
    const kind = this.kind;
    const failover =
      kind === 'redirect' || kind === 'domain' || kind === 'failover' || this.firstKind !== kind;
    const st = this.member?.state;
    if (st !== undefined && outcome !== 'error') {
      if (failover) st.failovers++;
      if (this.pin !== undefined && this.pin !== 'clear') st.repins++;
      if (status >= 500) st.errors++;
    }
    this.env.onDone({
      requestId: this.requestId,
      balancer: this.b.name,
      method: this.req.method!,
      target: this.req.url,
      status,
      bytes: this.bytes,
      ms: this.env.now() - this.started,
      member: this.member?.config.route,
      route: this.owner,
      kind,
      sticky: kind === 'sticky' || kind === 'pinned',
      failover,
      retries: Math.max(0, this.attempts - 1),
      outcome,
      error: err?.message,
    });
  }
}
