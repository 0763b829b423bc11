import { Readable } from 'node:stream';

import { AjpClient, AjpRequestError, type AjpDispatchHandler } from '@cohort/ajp13';

import type { FailurePhase } from '../balancer/retry.js';
import type { ForwardHandler, ForwardRequest, MemberTransport } from './transport.js';

/** Options of {@link createAjpMember}. */
export interface AjpMemberOptions {
  readonly host: string;
  readonly port: number;
  /** The AJP secret Tomcat requires (`secretRequired`); never logged. */
  readonly secret: string | undefined;
  /** The member's route, sent as the AJP route attribute. */
  readonly route: string;
  readonly maxConnections: number;
  readonly connectTimeout: number;
  /** Longest gap between two packets of a reply (mod_jk `reply_timeout`), ms. */
  readonly replyTimeout: number;
  /** Longest wait for a free connection when all are busy (`acquireTimeout`), ms. */
  readonly queueTimeout: number;
}

/** Where an AJP request failed, in the proxy's terms (see {@link FailurePhase}). */
export function phaseOf(err: unknown): FailurePhase {
  if (err instanceof AjpRequestError) {
    if (err.responseStarted) return 'responding';
    switch (err.code) {
      case 'REQUEST_TOO_LARGE':
      case 'INVALID_REQUEST':
        return 'request';
      case 'ACQUIRE_TIMEOUT':
        return 'queue';
      case 'PROTOCOL_ERROR':
        return 'invalid';
      case 'REPLY_TIMEOUT':
        if (err.requestSent) return 'timeout';
        break;
      default:
    }
    if (!err.requestSent) return 'connect';
    return 'sent';
  }
  return 'sent';
}

function contentLength(headers: readonly string[]): number | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'content-length') {
      const n = Number(headers[i + 1]);
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    }
  }
  return undefined;
}

/** Passes one response from the AJP pool to the proxy, mapping errors to failure phases. */
class Relay implements AjpDispatchHandler {
  /** True while the proxy's abort runs: the pool reports the abort from within it. */
  aborting = false;
  private status = 0;

  constructor(private readonly h: ForwardHandler) {}

  onHeaders(status: number, message: string, headers: string[], resume: () => void): boolean {
    this.status = status;
    return this.h.onResponse(status, message, headers, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.h.onData(chunk);
  }

  onEnd(reuse: boolean): void {
    // Tomcat refuses a wrong or missing secret with 403 and closes the connection (reuse=0);
    // an application's 403 leaves the connection open.
    this.h.onEnd(this.status === 403 && !reuse ? 'auth-refused' : undefined);
  }

  onError(err: AjpRequestError): void {
    const phase = phaseOf(err);
    // Tomcat may close the connection right after its 403 for a refused secret, before the
    // END_RESPONSE is read: the same refusal.
    const refused = this.status === 403 && err.responseStarted && err.code === 'CONNECTION_CLOSED';
    // as before the switch to dispatch(), the proxy hears of an abort it made on the next
    // microtask, so that an abort from inside one of its own callbacks does not re-enter it
    const report = (): void => {
      if (refused) this.h.onNotice?.('auth-refused');
      this.h.onError(err, phase);
    };
    if (this.aborting) queueMicrotask(report);
    else report();
  }
}

/**
 * An AJP13 member on @cohort/ajp13's connection pool (to Tomcat's AJP connector). The client
 * address and port, the proxy's address and the route travel as AJP fields and attributes, as
 * mod_jk and mod_proxy_ajp send them. AJP cannot carry a WebSocket upgrade, so there is no
 * `upgrade`.
 */
export function createAjpMember(o: AjpMemberOptions): MemberTransport {
  const client = new AjpClient({
    host: o.host,
    port: o.port,
    secret: o.secret,
    maxConnections: o.maxConnections,
    connectTimeout: o.connectTimeout,
    replyTimeout: o.replyTimeout,
    acquireTimeout: o.queueTimeout,
  });

  function forward(req: ForwardRequest, h: ForwardHandler): (reason?: Error) => void {
    const body = req.body;
    const relay = new Relay(h);
    const abort = client.dispatch(
      {
        method: req.method,
        url: req.path,
        headers: req.headers,
        remoteAddress: req.clientIp,
        remotePort: req.clientPort,
        localAddress: req.localIp,
        serverPort: req.localPort,
        route: o.route,
        body,
        contentLength: body instanceof Readable ? contentLength(req.headers) : undefined,
      },
      relay,
    );
    return (reason?: Error) => {
      relay.aborting = true;
      abort(reason);
      relay.aborting = false;
    };
  }

  return {
    protocol: 'ajp',
    forward,
    close: () => client.close(),
    destroy: () => client.close(),
  };
}
