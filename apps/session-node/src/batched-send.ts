import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Sockets corked since the last flush. */
const corked = new Set<Socket>();
let scheduled = false;

function flush(): void {
  scheduled = false;
  for (const s of corked) s.uncork();
  corked.clear();
}

/**
 * Sends one binary message on a WebSocket, coalescing the writes of one event-loop turn: the
 * first send on a socket corks it, and every socket corked is uncorked in `setImmediate` (right
 * after the I/O callbacks of this turn), so the answers, requests and frames that several
 * callbacks produce leave in one `writev` instead of one system call each. The cost of a
 * message on loopback is mostly that system call.
 *
 * @param ws - an open WebSocket (`ws`); its underlying socket is the private `_socket`
 * @param bytes - the message
 */
export function sendBatched(ws: WebSocket, bytes: Uint8Array): void {
  const socket = (ws as unknown as { _socket?: Socket | null })._socket;
  if (socket && !socket.destroyed && !corked.has(socket)) {
    socket.cork();
    corked.add(socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }
  ws.send(bytes);
}
