import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { NodeBackend, type SessionBackend } from '@cohort/session-client';

import { createDemoApp, type DemoAppOptions } from './app.js';
import { nodePlacement } from './placement.js';
import type { DemoSessions } from './session-view.js';

/** Options of {@link startDemo}. */
export interface StartDemoOptions extends DemoAppOptions {
  /** Port (default 0: any free one). */
  readonly port?: number;
  /** Address (default 127.0.0.1). */
  readonly host?: string;
  /**
   * Keep sessions in these cohort session nodes (`ws://host:port`, one is enough, the others are
   * learned from it) through a `NodeBackend` this server opens and closes. Ignored when
   * `backend` is given.
   */
  readonly sessionNodes?: readonly string[];
  /** The session nodes' client token (`auth.token` in their configuration). */
  readonly sessionToken?: string;
}

/** A running demo instance. */
export interface DemoServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly route: string;
  /** Where its sessions are kept. */
  readonly sessions: DemoSessions;
  /** Stops listening, sends waiting session touches, closes the backend it opened. */
  close(): Promise<void>;
}

/**
 * Starts a demo instance on `host:port` (default 127.0.0.1 and a free port), with sessions in
 * memory, in `backend`, or in the cohort session nodes `sessionNodes`.
 */
export async function startDemo(o: StartDemoOptions): Promise<DemoServer> {
  let owned: SessionBackend | undefined;
  let placement = o.placement;
  if (o.backend === undefined && o.sessionNodes !== undefined && o.sessionNodes.length > 0) {
    const nb = new NodeBackend({
      nodes: o.sessionNodes,
      ...(o.sessionToken !== undefined ? { token: o.sessionToken } : {}),
    });
    owned = nb;
    placement ??= nodePlacement(nb);
  } else if (o.backend instanceof NodeBackend) {
    placement ??= nodePlacement(o.backend);
  }
  const app = createDemoApp({
    ...o,
    ...(owned !== undefined ? { backend: owned } : {}),
    ...(placement !== undefined ? { placement } : {}),
  });
  const host = o.host ?? '127.0.0.1';
  const server = app.listen(o.port ?? 0, host);
  try {
    await once(server, 'listening');
  } catch (e) {
    await owned?.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    route: o.route,
    sessions: app.sessions,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await app.sessions.close();
      await owned?.close();
    },
  };
}
