/**
 * Request and response header rules of the proxy: hop-by-hop removal, the forwarding headers
 * (X-Forwarded-*, Forwarded, Via), the Host choice, the request id. Headers are flat
 * `[name, value, name, value, …]` arrays (Node's `rawHeaders` shape) so no map is built.
 */

/** Headers that describe one connection only and are never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Connection-specific header names: the standard ones plus those a `Connection` header lists. */
export function hopByHopNames(raw: readonly string[]): ReadonlySet<string> | undefined {
  let extra: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) {
        const t = token.trim().toLowerCase();
        if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade')
          (extra ??= new Set()).add(t);
      }
    }
  }
  return extra;
}

/** What the request-header rewrite needs to know about the request and the member. */
export interface RequestHeaderContext {
  /** The client's address. */
  readonly clientIp: string;
  /** The scheme the client used (`http`; `https` behind a TLS terminator is not detected). */
  readonly proto: string;
  /** The Host header the client sent (may be undefined on HTTP/1.0). */
  readonly host: string | undefined;
  /** The port the proxy accepted the connection on. */
  readonly localPort: number;
  /** `host:port` of the member, sent as Host unless `preserveHost`. */
  readonly memberHost: string;
  /** The request id, sent in `requestIdHeader`. */
  readonly requestId: string;
  readonly requestIdHeader: string;
  readonly preserveHost: boolean;
  readonly xForwarded: boolean;
  readonly forwarded: boolean;
  readonly via: boolean;
  /** Keep `Upgrade` (WebSocket handshakes keep theirs; the transport adds Connection). */
  readonly keepUpgrade?: boolean;
  /**
   * Drop fields whose names hold an underscore (`X_Forwarded_For`), as nginx does by default
   * (`underscores_in_headers off`): backends that map names to CGI variables would read
   * `X_Forwarded_For` as the `X-Forwarded-For` the proxy sets.
   */
  readonly dropUnderscores?: boolean;
}

const VIA = '1.1 cohort-proxy';

function forwardedNode(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The last host quoted and its result: consecutive requests nearly always carry the same Host. */
let lastHost = '';
let lastQuoted = '';

function quoteIfNeeded(v: string): string {
  if (v === lastHost) return lastQuoted;
  const q = TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
  lastHost = v;
  lastQuoted = q;
  return q;
}

/**
 * The headers to send to the member: hop-by-hop headers, `Expect` and (with `dropUnderscores`)
 * names with an underscore removed, Host kept or set
 * to the member's, `X-Forwarded-For` and `Forwarded` appended to, `X-Forwarded-Proto/Host/Port`
 * set (a client's own values are replaced: the proxy is the edge), `Via` appended, and the
 * request id set (a client-supplied one is replaced).
 */
export function requestHeaders(raw: readonly string[], ctx: RequestHeaderContext): string[] {
  const extra = hopByHopNames(raw);
  const out: string[] = [];
  let xff: string | undefined;
  let fwd: string | undefined;
  let via: string | undefined;
  const idLower = ctx.requestIdHeader.toLowerCase();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'upgrade' && ctx.keepUpgrade) out.push(name, value);
      continue;
    }
    if (extra?.has(lower)) continue;
    if (ctx.dropUnderscores === true && lower.includes('_')) continue;
    switch (lower) {
      case 'host':
        if (ctx.preserveHost) out.push(name, value);
        continue;
      case 'expect':
        continue;
      case 'x-forwarded-for':
        if (ctx.xForwarded) {
          xff = xff === undefined ? value : `${xff}, ${value}`;
          continue;
        }
        break;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'x-forwarded-port':
        if (ctx.xForwarded) continue;
        break;
      case 'forwarded':
        if (ctx.forwarded) {
          fwd = fwd === undefined ? value : `${fwd}, ${value}`;
          continue;
        }
        break;
      case 'via':
        if (ctx.via) {
          via = via === undefined ? value : `${via}, ${value}`;
          continue;
        }
        break;
      default:
        if (lower === idLower) continue;
    }
    out.push(name, value);
  }
  if (!ctx.preserveHost || ctx.host === undefined) out.push('Host', ctx.memberHost);
  if (ctx.xForwarded) {
    out.push('X-Forwarded-For', xff === undefined ? ctx.clientIp : `${xff}, ${ctx.clientIp}`);
    out.push('X-Forwarded-Proto', ctx.proto);
    if (ctx.host !== undefined) out.push('X-Forwarded-Host', ctx.host);
    out.push('X-Forwarded-Port', String(ctx.localPort));
  }
  if (ctx.forwarded) {
    let el = `for=${forwardedNode(ctx.clientIp)};proto=${ctx.proto}`;
    if (ctx.host !== undefined) el += `;host=${quoteIfNeeded(ctx.host)}`;
    out.push('Forwarded', fwd === undefined ? el : `${fwd}, ${el}`);
  }
  if (ctx.via) out.push('Via', via === undefined ? VIA : `${via}, ${VIA}`);
  out.push(ctx.requestIdHeader, ctx.requestId);
  return out;
}
