import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createDemoApp, type DemoAppOptions } from './app.js';

/** A running demo instance. */
export interface DemoServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly route: string;
  close(): Promise<void>;
}

/** Starts a demo instance on `host:port` (default 127.0.0.1 and a free port). */
export async function startDemo(
  o: DemoAppOptions & { port?: number; host?: string },
): Promise<DemoServer> {
  const app = createDemoApp(o);
  const host = o.host ?? '127.0.0.1';
  const server = app.listen(o.port ?? 0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    route: o.route,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
