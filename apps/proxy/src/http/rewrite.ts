import { hopByHopNames } from './headers.js';

/** How response headers are rewritten on the way back (httpd `ProxyPassReverse*`). */
export interface ResponseRewrite {
  /** Rewrite `Location` / `Content-Location` that point at the member to the client's origin. */
  readonly location: boolean;
  /** Member origins as they may appear in Location (`http://127.0.0.1:8080`, lower case). */
  readonly memberOrigins: readonly string[];
  /** `Set-Cookie` `Path=` prefix map, internal → public (ProxyPassReverseCookiePath). */
  readonly cookiePath: Readonly<Record<string, string>>;
  /** `Set-Cookie` `Domain=` map, internal → public (ProxyPassReverseCookieDomain). */
  readonly cookieDomain: Readonly<Record<string, string>>;
}

const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Rewrites an absolute URL pointing at a member so it points at `clientOrigin`; others pass unchanged. */
export function rewriteLocation(value: string, rw: ResponseRewrite, clientOrigin: string): string {
  const lower = value.toLowerCase();
  for (const origin of rw.memberOrigins) {
    if (lower.startsWith(origin)) {
      const rest = value.slice(origin.length);
      if (rest === '' || rest[0] === '/' || rest[0] === '?' || rest[0] === '#')
        return clientOrigin + rest;
    }
  }
  return value;
}

/**
 * Rewrites the `Path` and `Domain` attributes of one `Set-Cookie` value: a path starting with an
 * internal prefix gets the public prefix instead, a domain equal (case-insensitively, leading dot
 * ignored) to an internal one gets the public one. The name, value and other attributes are kept.
 */
export function rewriteSetCookie(value: string, rw: ResponseRewrite): string {
  const paths = Object.keys(rw.cookiePath);
  const domains = Object.keys(rw.cookieDomain);
  if (paths.length === 0 && domains.length === 0) return value;
  const parts = value.split(';');
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const attr = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (attr === 'path') {
      let best: string | undefined;
      for (const p of paths)
        if (v.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
      if (best !== undefined) parts[i] = ` Path=${rw.cookiePath[best]}${v.slice(best.length)}`;
    } else if (attr === 'domain') {
      const d = v.replace(/^\./, '').toLowerCase();
      for (const k of domains) {
        if (k.replace(/^\./, '').toLowerCase() === d) {
          parts[i] = ` Domain=${rw.cookieDomain[k]}`;
          break;
        }
      }
    }
  }
  return parts.join(';');
}

/**
 * The headers to send to the client from a member's response: hop-by-hop headers (and those the
 * member's `Connection` lists) removed, `Location`/`Content-Location` and `Set-Cookie` rewritten.
 * `raw` is the flat name/value list; the result is a new flat list.
 */
export function responseHeaders(
  raw: readonly string[],
  rw: ResponseRewrite,
  clientOrigin: string,
): string[] {
  const extra = hopByHopNames(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    let value = raw[i + 1]!;
    if (DROP.has(lower) || extra?.has(lower)) continue;
    if (rw.location && (lower === 'location' || lower === 'content-location')) {
      value = rewriteLocation(value, rw, clientOrigin);
    } else if (lower === 'set-cookie') {
      value = rewriteSetCookie(value, rw);
    }
    out.push(name, value);
  }
  return out;
}
