/** Small HTTP helpers for the tests: servers on 127.0.0.1:0 and raw requests. */
import { createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running test server. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a `node:http` server on 127.0.0.1 with a free port. */
export async function serve(handler: RequestListener): Promise<TestServer> {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What {@link get} returns. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The first `Set-Cookie` name=value, if any. */
  readonly cookie: string | undefined;
  /** Every `Set-Cookie` header. */
  readonly setCookies: string[];
  /** When the response headers arrived (performance.now()). */
  readonly headersAt: number;
}

/** One GET (or `method`) on a fresh connection. */
export function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false, method }, (res) => {
      const headersAt = performance.now();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const setCookies = (res.headers['set-cookie'] ?? []) as string[];
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          cookie: setCookies[0]?.split(';')[0],
          setCookies,
          headersAt,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
