import type { ProxyStatus } from '../status.js';
import {
  FIELD_HEADINGS,
  MEMBER_FIELDS,
  memberCells,
  memberKey,
  summaryText,
  type Cell,
} from './view.js';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** The state buttons of a member's row: label, the state sent, tooltip. */
export const STATE_ACTIONS: readonly (readonly [string, string, string])[] = [
  ['Activate', 'active', 'take new sessions (httpd -D -S -N -H, mod_jk A, HAProxy ready)'],
  ['Drain', 'draining', 'only its own sessions (httpd N, HAProxy drain)'],
  ['Disable', 'disabled', 'own sessions and redirects, no new ones (mod_jk D)'],
  ['Stop', 'stopped', 'no requests at all (httpd S, mod_jk S, HAProxy maint)'],
];

/** What the page says above the tables after a change made through its form. */
export interface PageMessage {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

/** Options of {@link renderPage}. */
export interface PageOptions {
  /** The path prefix (`/cohort-status`). */
  readonly path: string;
  /** False when no token is configured: the buttons are shown disabled. */
  readonly changesEnabled: boolean;
  /** The outcome of the last form action (from the redirect's query). */
  readonly message?: PageMessage;
}

function td(field: string, c: Cell): string {
  const cls = c.cls === undefined ? '' : ` class="${escapeHtml(c.cls)}"`;
  const title = c.title === undefined ? '' : ` title="${escapeHtml(c.title)}"`;
  return `<td data-f="${field}"${cls}${title}>${escapeHtml(c.text)}</td>`;
}

/**
 * The status page: one table per balancer, a row per member with its state, health, weights,
 * counters, last check and error, and the action buttons — all in one plain HTML form that
 * POSTs to `<path>/action` with the token and redirects back, so it works without JavaScript.
 * With JavaScript (`<path>/assets/status.js`) the same form calls the JSON API and the page
 * updates over a WebSocket. Every value is escaped.
 */
export function renderPage(s: ProxyStatus, o: PageOptions): string {
  const p = escapeHtml(o.path);
  const off = o.changesEnabled ? '' : ' disabled';
  const out: string[] = [];
  out.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>cohort-proxy status</title>',
    `<link rel="stylesheet" href="${p}/assets/status.css">`,
    `<script src="${p}/assets/status.js" defer></script>`,
    `</head><body data-prefix="${p}">`,
    '<h1>cohort-proxy status</h1>',
    `<p id="summary">${escapeHtml(summaryText(s))}</p>`,
    `<p id="live" class="muted">Static page: reload it (or press Refresh) to see new figures.</p>`,
    o.message === undefined
      ? '<p id="message" role="status" hidden></p>'
      : `<p id="message" role="status" class="msg ${o.message.kind}">${escapeHtml(o.message.text)}</p>`,
    `<form id="manage" method="post" action="${p}/action">`,
    '<fieldset class="token">',
    o.changesEnabled
      ? '<label>Token <input type="password" name="token" id="token" autocomplete="current-password" size="24"></label>'
      : '<span class="muted">Read-only: no admin token is configured (<code>admin.token</code> or <code>admin.tokenFile</code>), so changes are refused.</span>',
    ' <button name="op" value="refresh" id="refresh">Refresh</button>',
    '</fieldset>',
    '<div id="balancers">',
  );
  for (const b of s.balancers) {
    const n = escapeHtml(b.name);
    out.push(
      `<section class="balancer" data-balancer="${n}">`,
      `<h2>Balancer ${n} <small>${escapeHtml((b.hosts ?? ['*']).join(', '))} ${escapeHtml(b.path)} · ${escapeHtml(b.method)}</small></h2>`,
      '<table><thead><tr>',
      ...MEMBER_FIELDS.map(
        (f) =>
          `<th title="${escapeHtml(FIELD_HEADINGS[f][1])}">${escapeHtml(FIELD_HEADINGS[f][0])}</th>`,
      ),
      '<th>Actions</th></tr></thead><tbody>',
    );
    for (const m of b.members) {
      const cells = memberCells(m);
      const key = escapeHtml(memberKey(m));
      const ref = escapeHtml(`${b.name}|${m.route}`);
      out.push(
        `<tr data-key="${key}" class="row-${escapeHtml(m.health)}">`,
        ...MEMBER_FIELDS.map((f) => td(f, cells[f])),
        '<td class="actions">',
        ...STATE_ACTIONS.map(
          ([label, state, title]) =>
            `<button name="op" value="${escapeHtml(`${state}|`)}${ref}" title="${escapeHtml(title)}"${off}>${label}</button>`,
        ),
        ` <input name="weight|${ref}" value="${m.weight}" size="4" inputmode="decimal" aria-label="weight of ${key}"${off}>`,
        `<button name="op" value="weight|${ref}"${off}>Set weight</button>`,
        ` <button name="op" value="remove|${ref}" title="remove the member (requests in flight finish)"${off}>Remove</button>`,
        '</td></tr>',
      );
    }
    out.push(
      '</tbody></table>',
      `<p class="add">Add a member: <input name="add-url|${n}" placeholder="http://host:port" size="24" aria-label="URL"${off}>`,
      ` <input name="add-route|${n}" placeholder="route" size="8" aria-label="route"${off}>`,
      ` <input name="add-weight|${n}" placeholder="weight" size="4" aria-label="weight"${off}>`,
      ` <button name="op" value="add|${n}"${off}>Add</button></p>`,
      '</section>',
    );
  }
  out.push(
    '</div></form>',
    `<p class="muted">JSON: <a href="${p}/api/status">${p}/api/status</a> · Prometheus: <a href="/metrics">/metrics</a> · live: <code>${p}/ws</code></p>`,
    '</body></html>',
  );
  return out.join('\n');
}
