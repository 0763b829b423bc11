import { request, type IncomingHttpHeaders } from 'node:http';

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  /** Method (default GET). */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string | string[]>;
  /** Request body, sent with a Content-Length. */
  body?: string | Uint8Array;
  /** Reject when no complete answer arrives in time (default 10 s). */
  timeoutMs?: number;
}

/** A complete HTTP response. */
export interface HttpResult {
  /** Status code. */
  status: number;
  /** Headers as node parsed them (lower-case names). */
  headers: IncomingHttpHeaders;
  /** The body bytes. */
  raw: Buffer;
  /** The body as UTF-8 text. */
  body: string;
}

/**
 * One HTTP/1.1 request on a fresh connection (no keep-alive, no proxy), for readiness checks and
 * tests. Rejects on connection errors and timeouts.
 */
export function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    // Node adds no Content-Length for DELETE/OPTIONS bodies by itself; say it explicitly.
    if (
      opts.body !== undefined &&
      !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')
    ) {
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = request(url, { method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          raw,
          body: raw.toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** GET `url` with optional headers; see {@link httpRequest}. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return httpRequest(url, { headers });
}

/** Resolves true if `url` answers HTTP `status` (default 200) within 2 s, false on any failure. */
export async function answersHttp(url: string, status = 200): Promise<boolean> {
  try {
    return (await httpRequest(url, { timeoutMs: 2000 })).status === status;
  } catch {
    return false;
  }
}
