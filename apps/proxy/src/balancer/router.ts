/** What the router needs of a balancer: where it applies. */
export interface Routable {
  /** Host names it serves (case-insensitive, `*.example.com` wildcards); absent = every host. */
  readonly hosts?: readonly string[] | undefined;
  /** Path prefix it serves (`/` = everything). */
  readonly path: string;
}

function hostMatches(patterns: readonly string[] | undefined, host: string): boolean {
  if (patterns === undefined) return true;
  for (const p of patterns) {
    const lp = p.toLowerCase();
    if (lp === '*' || lp === host) return true;
    if (lp.startsWith('*.') && host.endsWith(lp.slice(1)) && host.length > lp.length - 1)
      return true;
  }
  return false;
}

function pathMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  if (prefix.endsWith('/') || path.length === prefix.length) return true;
  const next = path.charCodeAt(prefix.length);
  return next === 0x2f /* / */ || next === 0x3b /* ; */ || next === 0x3f; /* ? */
}

/** Lower-cased host name of a Host header value, without the port. */
export function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  let h = hostHeader;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return (end === -1 ? h : h.slice(0, end + 1)).toLowerCase();
  }
  const colon = h.indexOf(':');
  if (colon !== -1) h = h.slice(0, colon);
  return h.toLowerCase();
}

/**
 * Builds the balancer lookup: for a Host and a request target, the balancer whose hosts match
 * and whose path prefix is the longest match (balancers with explicit hosts win over catch-alls
 * with the same prefix). Path prefixes match on segment boundaries (`/app` matches `/app/x`,
 * `/app;jsessionid=…`, not `/apple`).
 */
export function createRouter<T extends Routable>(
  balancers: readonly T[],
): (host: string | undefined, target: string) => T | undefined {
  const ordered = [...balancers].sort(
    (a, b) =>
      b.path.length - a.path.length ||
      Number(b.hosts !== undefined) - Number(a.hosts !== undefined),
  );
  if (ordered.length === 1 && ordered[0]!.hosts === undefined && ordered[0]!.path === '/') {
    const only = ordered[0]!;
    return () => only;
  }
  return (hostHeader, target) => {
    const host = hostName(hostHeader);
    for (const b of ordered) {
      if (hostMatches(b.hosts, host) && pathMatches(b.path, target)) return b;
    }
    return undefined;
  };
}
