import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import type { FrontResponse } from '../front/response.js';

/** Writes a small plain-text error answer naming the request id, if nothing was sent yet. */
export function sendError(
  res: FrontResponse,
  status: number,
  requestId: string,
  requestIdHeader: string,
  detail: string,
  extra?: Record<string, string>,
  close = false,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(
    `${status} ${STATUS_CODES[status] ?? ''}\n${detail}\nrequest id: ${requestId}\n`,
  );
  const headers = [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(body.length),
    'Cache-Control',
    'no-store',
    requestIdHeader,
    requestId,
  ];
  if (extra !== undefined) for (const [k, v] of Object.entries(extra)) headers.push(k, v);
  if (close) res.closeConnection();
  res.writeHead(status, undefined, headers);
  res.end(body);
}

/** Writes an error answer on a raw socket (parse errors, refused upgrades) and closes it. */
export function sendRawError(
  socket: Duplex,
  status: number,
  requestId: string,
  requestIdHeader: string,
  detail: string,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n${detail}\nrequest id: ${requestId}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${requestIdHeader}: ${requestId}\r\n\r\n${body}`,
  );
}
