import { createServer, connect, type Server } from 'node:net';

/** The only address peers are bound to. */
export const LOOPBACK = '127.0.0.1';

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago (the OS picked it for a listener
 * that is closed again before this resolves). Another process could still take it before the
 * caller binds it; peers started with picked ports report that as a start failure.
 */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/**
 * Returns `count` distinct free ports: all listeners are held open until every port is known,
 * so the OS cannot hand out the same port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.unref();
          s.once('error', reject);
          s.listen(0, LOOPBACK, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('freePorts: listener has no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Resolves true if something accepts a TCP connection on `host:port` within `timeoutMs`. */
export function isPortOpen(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    const done = (open: boolean): void => {
      sock.destroy();
      resolve(open);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Waits until nothing accepts connections on `port` any more, up to `timeoutMs`. */
export async function waitPortClosed(port: number, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!(await isPortOpen(port, LOOPBACK, 300))) return true;
    await sleep(50);
  }
  return false;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
