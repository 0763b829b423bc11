import { createServer, type AddressInfo, type Socket } from 'node:net';
import { RequestDecoder, type RequestEvent } from '../src/index.js';

/** A scripted AJP container for client tests: `onEvent` sees every decoded message and writes raw bytes. */
export interface FakeContainer {
  port: number;
  connections: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function fakeContainer(
  onEvent: (e: RequestEvent, socket: Socket, decoder: RequestDecoder, conn: number) => void,
): Promise<FakeContainer> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server = createServer((s) => {
    const conn = n++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    const d = new RequestDecoder({ packetSize: 65536 });
    s.on('data', (chunk: Buffer) => {
      try {
        for (const e of d.push(chunk)) onEvent(e, s, d, conn);
      } catch {
        s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return n;
    },
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
