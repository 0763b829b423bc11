import type { MemberStatus, ProxyStatus } from '../status.js';

/** The columns of a member's row on the status page, in order. */
export const MEMBER_FIELDS = [
  'route',
  'url',
  'state',
  'health',
  'weight',
  'inflight',
  'requests',
  'bytes',
  'errors',
  'retries',
  'failovers',
  'repins',
  'check',
  'lastError',
  'warning',
  'source',
] as const;

/** One column of {@link MEMBER_FIELDS}. */
export type MemberField = (typeof MEMBER_FIELDS)[number];

/** Column headings (with a tooltip naming the httpd / mod_jk / HAProxy equivalent). */
export const FIELD_HEADINGS: Readonly<Record<MemberField, readonly [string, string]>> = {
  route: ['Route', 'jvmRoute; httpd route=, mod_jk worker name, HAProxy server cookie'],
  url: ['URL', 'the member address'],
  state: ['State', 'administrative state: active, disabled, draining, standby, stopped'],
  health: ['Health', 'ok, ejected (passive detection), down (failed its checks), stopped'],
  weight: ['Weight', 'configured weight (effective weight during a slow start)'],
  inflight: ['In flight', 'requests being served now (HAProxy scur, httpd Busy)'],
  requests: ['Requests', 'requests sent (httpd Elected, mod_jk Acc, HAProxy stot)'],
  bytes: ['Bytes', 'response bytes relayed from the member (httpd From, HAProxy bout)'],
  errors: ['Errors', 'failed requests (mod_jk Err, HAProxy eresp + econ)'],
  retries: ['Retries', 'attempts moved to another member (HAProxy wretr)'],
  failovers: ['Failovers', 'sessions served here because their owner was unusable'],
  repins: ['Re-pins', 'sessions pinned here by the routing cookie after a failover'],
  check: ['Check', 'duration of the last active health check, and why it failed'],
  lastError: ['Last error', 'the last failure, its phase and how long ago'],
  warning: ['Warning', 'a problem an operator must fix'],
  source: ['Source', 'config file, management API or discovery'],
};

/** What one cell shows: its text, a class for its colour, a tooltip. */
export interface Cell {
  readonly text: string;
  readonly cls?: string;
  readonly title?: string;
}

/** A duration in ms as people read it: `850 ms`, `12.3 s`, `4 min`, `2.5 h`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A byte count: `512 B`, `1.5 KiB`, `12.0 MiB`, `3.20 GiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The key of a member's row: `balancer/route` (names cannot hold a `/`). */
export function memberKey(m: Pick<MemberStatus, 'balancer' | 'route'>): string {
  return `${m.balancer}/${m.route}`;
}

/** The cells of a member's row (the server renders them; the live page sets them). */
export function memberCells(m: MemberStatus): Record<MemberField, Cell> {
  const check =
    m.check === 'unchecked'
      ? { text: '—', title: 'no active health check' }
      : {
          text: `${m.check}${m.checkLatencyMs === undefined ? '' : ` ${m.checkLatencyMs} ms`}${m.checkError === undefined ? '' : `: ${m.checkError}`}`,
          cls: m.check === 'up' ? 'good' : 'bad',
        };
  return {
    route: { text: m.route },
    url: { text: m.url },
    state: { text: m.state, cls: `state-${m.state}` },
    health: {
      text:
        m.health === 'ejected'
          ? `ejected ${formatMs(m.ejectedForMs)}`
          : m.ignoreErrors
            ? `${m.health} (errors ignored)`
            : m.health,
      cls: `health-${m.health}`,
      title: `${m.ejections} ejection${m.ejections === 1 ? '' : 's'}`,
    },
    weight: {
      text: m.effectiveWeight === m.weight ? `${m.weight}` : `${m.weight} (${m.effectiveWeight})`,
      title: m.effectiveWeight === m.weight ? undefined : 'slow start: the weight in use now',
    },
    inflight: { text: `${m.inflight}` },
    requests: { text: `${m.requests}` },
    bytes: { text: formatBytes(m.bytes), title: `${m.bytes} bytes` },
    errors: { text: `${m.errors}`, cls: m.errors > 0 ? 'bad' : undefined },
    retries: { text: `${m.retries}` },
    failovers: { text: `${m.failovers}` },
    repins: { text: `${m.repins}` },
    check,
    lastError:
      m.lastError === undefined
        ? { text: '' }
        : {
            text: `${m.lastError.message} (${m.lastError.phase}, ${formatMs(m.lastError.agoMs)} ago)`,
            cls: 'bad',
          },
    warning: { text: m.warning ?? '', cls: m.warning === undefined ? undefined : 'warn' },
    source: { text: m.source },
  };
}

/** The summary line above the tables. */
export function summaryText(s: ProxyStatus): string {
  const t = s.totals;
  return `pid ${s.pid} · up ${formatMs(s.uptimeMs)} · ${t.requests} requests · ${t.inflight} in flight · ${t.errors} errors · ${t.retries} retries · ${t.failovers} failovers · ${t.upgrades} WebSocket upgrades · ${new Date(s.at).toISOString()}`;
}

/** What the live page receives over the WebSocket: the snapshot and the cells to show. */
export interface LiveUpdate {
  readonly status: ProxyStatus;
  readonly summary: string;
  /** Per row key (`balancer/route`), the cells in {@link MEMBER_FIELDS} order. */
  readonly rows: Record<string, readonly Cell[]>;
}

/** Builds the live page's message for a snapshot. */
export function liveUpdate(s: ProxyStatus): LiveUpdate {
  const rows: Record<string, readonly Cell[]> = {};
  for (const b of s.balancers)
    for (const m of b.members) {
      const cells = memberCells(m);
      rows[memberKey(m)] = MEMBER_FIELDS.map((f) => cells[f]);
    }
  return { status: s, summary: summaryText(s), rows };
}
