import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Writes a small plain-text error answer naming the request id, if nothing was sent yet. */
export function sendError(
  res: ServerResponse,
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
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n${detail}\nrequest id: ${requestId}\n`;
  const headers: Record<string, string | number> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    [requestIdHeader]: requestId,
    ...extra,
  };
  if (close) headers['Connection'] = 'close';
  res.writeHead(status, headers);
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
