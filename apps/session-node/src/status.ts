import type { OwnershipCounts } from './node.js';

/** What the status page shows (also served as JSON at /status.json). */
export interface StatusData {
  readonly id: string;
  readonly url: string;
  readonly state: string;
  readonly ready: boolean;
  readonly uptimeMs: number;
  readonly readyAfterMs: number | undefined;
  readonly replicas: number;
  readonly view: readonly string[];
  readonly members: readonly {
    name: string;
    address: string;
    status: string;
    routable: boolean;
    linked: boolean;
  }[];
  readonly counts: OwnershipCounts;
  readonly pendingOps: number;
  readonly clients: number;
  readonly replication: Record<string, number>;
  readonly memory: Record<string, number>;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** Renders the status page: members, ownership counts, replication traffic, sessions, memory. */
export function renderStatus(s: StatusData): string {
  const rows = s.members
    .map(
      (m) =>
        `<tr><td>${esc(m.name)}${m.name === s.id ? ' (this node)' : ''}</td><td>${esc(m.address)}</td>` +
        `<td>${esc(m.status)}</td><td>${m.routable ? 'yes' : 'no'}</td>` +
        `<td>${m.name === s.id ? '—' : m.linked ? 'open' : 'none'}</td></tr>`,
    )
    .join('');
  const r = s.replication;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>cohort-session-node ${esc(s.id)}</title>
<meta http-equiv="refresh" content="5">
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
.ok{color:#0a0}.bad{color:#c00}</style></head><body>
<h1>cohort-session-node <code>${esc(s.id)}</code></h1>
<p>State <b>${esc(s.state)}</b>, <span class="${s.ready ? 'ok' : 'bad'}">${s.ready ? 'ready' : 'not ready'}</span>${
    s.readyAfterMs === undefined ? '' : ` (ready ${s.readyAfterMs} ms after start)`
  }; up ${(s.uptimeMs / 1000).toFixed(0)} s; endpoint <code>${esc(s.url)}</code>; ${s.replicas} copies per session.</p>
<h2>Members (${s.view.length} in the placement view)</h2>
<table><tr><th>member</th><th>gossip address</th><th>status</th><th>routable</th><th>replication link</th></tr>${rows}</table>
<h2>Sessions</h2>
<table><tr><th>owned</th><th>backup copies</th><th>being claimed</th><th>other records</th><th>live sessions held</th><th>operations waiting for acks</th><th>client connections</th></tr>
<tr><td>${s.counts.owned}</td><td>${s.counts.replica}</td><td>${s.counts.claiming}</td><td>${s.counts.other}</td><td>${s.counts.live}</td><td>${s.pendingOps}</td><td>${s.clients}</td></tr></table>
<h2>Replication</h2>
<table><tr><th>frames sent</th><th>bytes sent</th><th>frames received</th><th>bytes received</th><th>dropped (no link)</th><th>refused</th></tr>
<tr><td>${r.sent ?? 0}</td><td>${r.bytesOut ?? 0}</td><td>${r.received ?? 0}</td><td>${r.bytesIn ?? 0}</td><td>${r.dropped ?? 0}</td><td>${r.refused ?? 0}</td></tr></table>
<p>Replication lag: operations waiting for acknowledgements (above) and the latency histogram
<code>cohort_session_request_seconds</code> at <a href="/metrics">/metrics</a>.</p>
<h2>Memory</h2>
<table><tr><th>RSS</th><th>JS heap used</th><th>external</th><th>array buffers</th></tr>
<tr><td>${mb(s.memory.rss ?? 0)}</td><td>${mb(s.memory.heapUsed ?? 0)}</td><td>${mb(s.memory.external ?? 0)}</td><td>${mb(s.memory.arrayBuffers ?? 0)}</td></tr></table>
<p><a href="/status.json">JSON</a> · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a> · <a href="/readyz">readyz</a></p>
</body></html>
`;
}
