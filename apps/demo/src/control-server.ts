import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  /** The token a request must carry (`Authorization: Bearer <token>`). */
  readonly token: string;
  /** The processes that may be stopped, by name (`app1`, `sn2`, …): true when one was stopped. */
  readonly kill: (name: string) => boolean;
  /** The names of the processes running now. */
  readonly running: () => readonly string[];
}

/** A running control endpoint. */
export interface ControlServer {
  readonly server: Server;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

function tokenOk(header: string | undefined, token: string): boolean {
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * The quick start's control endpoint, on 127.0.0.1 only (a free port): `GET /processes` lists the
 * running processes, `POST /kill/<name>` stops one with SIGKILL (after answering). Every request
 * needs the token; a wrong or missing one is 401, an unknown name 404.
 */
export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (!tokenOk(req.headers.authorization, o.token)) {
      send(401, { error: 'UNAUTHORIZED', message: 'the control token is missing or wrong' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/processes') {
      send(200, { running: o.running() });
      return;
    }
    const m = /^\/kill\/([A-Za-z0-9_-]{1,32})$/.exec(url.pathname);
    if (req.method === 'POST' && m) {
      const name = m[1]!;
      if (!o.running().includes(name)) {
        send(404, { error: 'NO_SUCH_PROCESS', message: `${name} is not running` });
        return;
      }
      // Answer first: the process stopped may be the one forwarding this request.
      res.on('finish', () => setTimeout(() => o.kill(name), 50));
      send(200, { killed: name });
      return;
    }
    send(404, { error: 'NOT_FOUND', message: 'GET /processes or POST /kill/<name>' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
