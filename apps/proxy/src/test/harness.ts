import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import { pino } from 'pino';

import { validateConfig, type ResolvedConfig } from '../config/load.js';
import { CohortProxy } from '../proxy.js';

/** A real HTTP member for tests: a node:http server on 127.0.0.1:0 with a handler. */
export interface TestMember {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly requests: IncomingMessage[];
  close(): Promise<void>;
}

/** Starts a member that answers with `handler`, recording every request it got. */
export async function startMember(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestMember> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A member that prints its route and the request line, like index.jsp prints its node. */
export function routeEcho(route: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.setHeader('X-Member', route);
      res.end(
        JSON.stringify({
          route,
          method: req.method,
          url: req.url,
          headers: req.headers,
          bodyBytes: body.length,
          body: body.length < 1000 ? body.toString() : undefined,
        }),
      );
    });
  };
}

/** Log lines captured from a proxy. */
export interface CapturedLog {
  readonly lines: Record<string, unknown>[];
  readonly text: () => string;
}

/** A pino logger that keeps its records in memory. */
export function captureLogger(): { logger: pino.Logger; log: CapturedLog } {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw += chunk.toString();
      for (const l of chunk.toString().split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, dest), log: { lines, text: () => raw } };
}

/** Starts a proxy on 127.0.0.1:0 with the given config object (validated). */
export async function startProxy(config: unknown): Promise<{
  proxy: CohortProxy;
  url: string;
  port: number;
  log: CapturedLog;
  config: ResolvedConfig;
  stop: () => Promise<void>;
}> {
  const resolved = validateConfig(config);
  const { logger, log } = captureLogger();
  const proxy = new CohortProxy(resolved, { logger });
  const addr = await proxy.listen(0, '127.0.0.1');
  return {
    proxy,
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    log,
    config: resolved,
    stop: () => proxy.close(200),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound then closed). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Sends raw bytes on a fresh TCP connection and collects everything the server sends until it
 * closes (or `waitMs` of silence after the last byte, or the overall `timeoutMs`).
 */
export async function rawExchange(
  port: number,
  data: string | Buffer | (string | Buffer)[],
  opts: { waitMs?: number; timeoutMs?: number; gapMs?: number } = {},
): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    let idle: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(idle);
      clearTimeout(overall);
      sock.destroy();
      resolve(out);
    };
    const overall = setTimeout(finish, opts.timeoutMs ?? 5000);
    sock.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(idle);
      idle = setTimeout(finish, opts.waitMs ?? 300);
    });
    sock.on('close', finish);
    sock.on('error', finish);
    const parts = Array.isArray(data) ? data : [data];
    let i = 0;
    const next = () => {
      if (i >= parts.length || sock.destroyed) return;
      sock.write(parts[i++]!);
      if (i < parts.length) setTimeout(next, opts.gapMs ?? 0);
    };
    sock.on('connect', next);
  });
}

/** A tiny cookie jar for one simulated browser: applies Set-Cookie (Max-Age=0 removes). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  /** The Cookie header to send, or undefined when empty. */
  header(): string | undefined {
    return this.cookies.size === 0
      ? undefined
      : [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Applies the Set-Cookie values of a response. */
  apply(setCookie: string | string[] | undefined): void {
    for (const sc of ([] as string[]).concat(setCookie ?? [])) {
      const pair = sc.slice(0, sc.indexOf(';') === -1 ? sc.length : sc.indexOf(';'));
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (/;\s*Max-Age=0/i.test(sc)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }

  /** One cookie's value. */
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}
