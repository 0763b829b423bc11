import { Readable } from 'node:stream';

import { AjpClient, AjpRequestError, type AjpHeader } from '@cohort/ajp13';

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
}

function phaseOf(err: unknown): FailurePhase {
  if (err instanceof AjpRequestError) {
    if (err.responseStarted) return 'responding';
    if (!err.requestSent) return 'connect';
    if (err.code === 'REPLY_TIMEOUT') return 'timeout';
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
  });

  function forward(req: ForwardRequest, h: ForwardHandler): (reason?: Error) => void {
    const ac = new AbortController();
    let finished = false;
    const headers: AjpHeader[] = [];
    for (let i = 0; i < req.headers.length; i += 2)
      headers.push([req.headers[i]!, req.headers[i + 1]!]);
    const body = req.body;
    client
      .request({
        method: req.method,
        url: req.path,
        headers,
        remoteAddress: req.clientIp,
        remotePort: req.clientPort,
        localAddress: req.localIp,
        serverPort: req.localPort,
        route: o.route,
        body,
        contentLength: body instanceof Readable ? contentLength(req.headers) : undefined,
        signal: ac.signal,
      })
      .then(
        (res) => {
          const flat: string[] = [];
          for (const [n, v] of res.rawHeaders) flat.push(n, v);
          const stream = res.body;
          const cont = h.onResponse(res.status, res.statusMessage, flat, () => stream.resume());
          stream.on('data', (c: Buffer) => {
            if (!h.onData(c)) stream.pause();
          });
          stream.on('end', () => {
            if (finished) return;
            finished = true;
            h.onEnd();
          });
          stream.on('error', (e: Error) => {
            if (finished) return;
            finished = true;
            h.onError(e, 'responding');
          });
          if (!cont) stream.pause();
        },
        (err: unknown) => {
          if (finished) return;
          finished = true;
          h.onError(err instanceof Error ? err : new Error(String(err)), phaseOf(err));
        },
      );
    return (reason?: Error) => {
      if (finished) return;
      ac.abort(reason);
    };
  }

  return {
    protocol: 'ajp',
    forward,
    close: () => client.close(),
    destroy: () => client.close(),
  };
}
