import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** What {@link httpCall} received. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One HTTP request on a fresh connection (no agent), the body read to its end. Rejects when the
 * connection is cut before the end of the response.
 */
export function httpCall(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: o.method ?? 'GET', headers: o.headers, agent: false });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** `name=value` of every Set-Cookie, for sending back as a Cookie header. */
export function cookieHeader(reply: HttpReply, previous = ''): string {
  const jar = new Map<string, string>();
  for (const c of previous.split('; ').filter(Boolean)) {
    const i = c.indexOf('=');
    jar.set(c.slice(0, i), c.slice(i + 1));
  }
  for (const line of reply.headers['set-cookie'] ?? []) {
    const pair = line.split(';')[0]!;
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}
