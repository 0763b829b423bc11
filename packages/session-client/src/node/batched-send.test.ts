import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { setImmediate as immediate } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import { sendBatched } from './batched-send.js';

describe('sendBatched', () => {
  it('holds the writes of one turn in the socket and sends them, in order, after it', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise((r) => wss.once('listening', r));
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      wss.once('connection', (peer) =>
        peer.on('message', (d) => {
          got.push(String(d));
          if (got.length === 3) resolve();
        }),
      ),
    );
    const { port } = wss.address() as { port: number };
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await new Promise((r) => ws.once('open', r));
    const socket = (ws as unknown as { _socket: Socket })._socket;
    for (const m of ['one', 'two', 'three']) sendBatched(ws, Buffer.from(m));
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(0);
    await immediate();
    expect(socket.writableCorked).toBe(0);
    await all;
    expect(got).toEqual(['one', 'two', 'three']);
    ws.terminate();
    await new Promise((r) => wss.close(r));
  });
});
