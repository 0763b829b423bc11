import { isBackendError, type AckLevel, type SessionBackend } from '@cohort/session-client';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type Response,
} from 'express';

import { cohortSessions } from './cohort-sessions.js';
import { memorySessions } from './memory-sessions.js';
import {
  ATTRIBUTE_NAME,
  isDemoValue,
  RESERVED_ATTRIBUTES,
  type DemoSessions,
  type DemoSessionView,
} from './session-view.js';
import type { SessionPlacement } from './placement.js';
import type { SessionStoreOptions } from './sessions.js';

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions extends SessionStoreOptions {
  /** Clock, ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Keep sessions in this backend through `cohortSession()` of `@cohort/session-client` (a
   * `NodeBackend` for cohort session nodes) instead of this process's memory. The app does not
   * close it.
   */
  readonly backend?: SessionBackend;
  /** Acknowledgement level of session writes with a `backend` (default: the backend's). */
  readonly ack?: AckLevel;
  /** The owner and backups of a session key (shown on the page and in the JSON). */
  readonly placement?: (key: string) => SessionPlacement | undefined;
  /**
   * The quick start's control endpoint (loopback) and its token: `POST /api/control/kill/:name`
   * (with the header `X-Cohort-Demo: control`) is forwarded there, and the page shows kill buttons.
   */
  readonly control?: { readonly url: string; readonly token: string };
}

/** The demo Express app, with the sessions it keeps. */
export type DemoApp = Express & {
  /** Where its sessions are kept; `close()` it when the app stops. */
  readonly sessions: DemoSessions;
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A session node's name (`sn1`) from its member id (`sn1#d16ca226`, the name and an incarnation). */
function nodeName(id: string): string {
  const hash = id.indexOf('#');
  return hash < 0 ? id : id.slice(0, hash);
}

const ATTRIBUTES_PATH = '/api/session/attributes';

function sessionOfResponse(res: Response): DemoSessionView {
  return res.locals['session'] as DemoSessionView;
}

function sessionJson(
  s: DemoSessionView,
  instance: string,
  placement?: (key: string) => SessionPlacement | undefined,
): Record<string, unknown> {
  const where = s.key !== undefined ? placement?.(s.key) : undefined;
  return {
    id: s.id,
    instance,
    createdBy: s.createdBy,
    createdAt: new Date(s.createdAt).toISOString(),
    counter: s.counter,
    attributes: s.attributes(),
    ...(where !== undefined ? { owner: where.owner, backups: where.backups } : {}),
  };
}

function attributeName(req: Request, res: Response): string | undefined {
  const name = String(req.params['name']);
  if (!ATTRIBUTE_NAME.test(name) || RESERVED_ATTRIBUTES.has(name)) {
    res.status(400).json({
      error: 'INVALID_ATTRIBUTE',
      message: `attribute name must be 1-64 of [A-Za-z0-9_.-] and not one of ${[...RESERVED_ATTRIBUTES].join(', ')}`,
    });
    return undefined;
  }
  return name;
}

/**
 * The demo Express app. Every page view counts in the session:
 * - `GET /` an HTML page with the session id, the instance that served it, the creation time and
 *   the counter;
 * - `GET /api/session` the same as JSON (with the application's attributes);
 * - `GET /api/session/attributes` the same JSON without counting;
 * - `PUT /api/session/attributes/:name` (a JSON string, number or boolean) sets an attribute,
 *   `DELETE` removes it; neither counts, both answer with the session's JSON;
 * - `GET /healthz` `ok` (creates no session).
 *
 * Sessions live in this process's memory, or with `backend` in that `SessionBackend` through
 * `cohortSession()` (the response leaves once the backend acknowledged the request's changes; a
 * store that fails answers 503). The session cookie is HttpOnly and SameSite=Lax; the id is never
 * logged.
 */
export function createDemoApp(o: DemoAppOptions): DemoApp {
  const now = o.now ?? Date.now;
  const sessions: DemoSessions =
    o.backend === undefined
      ? memorySessions(o)
      : cohortSessions({
          backend: o.backend,
          route: o.route,
          ...(o.cookieName !== undefined ? { cookieName: o.cookieName } : {}),
          ...(o.maxIdleMs !== undefined ? { maxIdleMs: o.maxIdleMs } : {}),
          ...(o.ack !== undefined ? { level: o.ack } : {}),
          now,
        });
  const route = o.route;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });

  app.use((req, res, next) => {
    if (req.path === '/favicon.ico') {
      res.status(404).end();
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Instance', route);
    next();
  });
  const control = o.control;
  if (control !== undefined) {
    // Forwarded to the quick start's loopback control endpoint with its token, which never
    // reaches the browser. The custom header makes a cross-site form or fetch fail (a preflight
    // this app does not answer), so only the demo page's own script can press the buttons.
    app.post('/api/control/kill/:name', async (req, res) => {
      if (req.get('x-cohort-demo') !== 'control') {
        res.status(403).json({ error: 'FORBIDDEN', message: 'X-Cohort-Demo: control is required' });
        return;
      }
      try {
        const r = await fetch(
          `${control.url}/kill/${encodeURIComponent(String(req.params['name']))}`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${control.token}` },
          },
        );
        res
          .status(r.status)
          .type('json')
          .send(await r.text());
      } catch {
        res
          .status(502)
          .json({ error: 'CONTROL_UNAVAILABLE', message: 'the quick start did not answer' });
      }
    });
  }
  app.use(sessions.middleware);
  app.use((req, res, next) => {
    if (req.path !== ATTRIBUTES_PATH && !req.path.startsWith(`${ATTRIBUTES_PATH}/`)) {
      sessionOfResponse(res).count();
    }
    next();
  });

  app.get('/api/session', (_req, res) => {
    res.json(sessionJson(sessionOfResponse(res), route, o.placement));
  });
  app.get(ATTRIBUTES_PATH, (_req, res) => {
    res.json(sessionJson(sessionOfResponse(res), route, o.placement));
  });
  app.put(
    `${ATTRIBUTES_PATH}/:name`,
    express.json({ strict: false, limit: '16kb' }),
    (req, res) => {
      const name = attributeName(req, res);
      if (name === undefined) return;
      const value: unknown = req.body;
      if (!isDemoValue(value)) {
        res.status(400).json({
          error: 'INVALID_VALUE',
          message: 'the body must be a JSON string, finite number or boolean',
        });
        return;
      }
      const s = sessionOfResponse(res);
      s.set(name, value);
      res.json(sessionJson(s, route, o.placement));
    },
  );
  app.delete(`${ATTRIBUTES_PATH}/:name`, (req, res) => {
    const name = attributeName(req, res);
    if (name === undefined) return;
    const s = sessionOfResponse(res);
    s.remove(name);
    res.json(sessionJson(s, route, o.placement));
  });

  app.get('/', (_req, res) => {
    const s = sessionOfResponse(res);
    const kept =
      sessions.kind === 'memory'
        ? 'sessions are in memory in this demo, so the counter starts again there'
        : 'sessions are kept by the cohort session nodes, so the counter continues there';
    const where = s.key !== undefined ? o.placement?.(s.key) : undefined;
    const placementHtml =
      where === undefined
        ? o.placement === undefined || s.key === undefined
          ? ''
          : `<dt>Session owner</dt><dd><code id="owner">(not known yet: reload)</code></dd>
`
        : `<dt>Session owner</dt><dd><code id="owner">${escapeHtml(where.owner)}</code></dd>
<dt>Backups</dt><dd><code id="backups">${escapeHtml(where.backups.join(', ') || '(none)')}</code></dd>
`;
    const button = (name: string, label: string): string =>
      `<button data-kill="${escapeHtml(name)}">${escapeHtml(label)}</button> `;
    const controlHtml =
      control === undefined
        ? ''
        : `<p>${button(route, `Kill this instance (${route})`)}${
            where !== undefined
              ? button(nodeName(where.owner), `Kill the owner session node (${where.owner})`)
              : ''
          }</p>
<p id="control-result"></p>
<script>
for (const b of document.querySelectorAll('button[data-kill]')) {
  b.onclick = async () => {
    const out = document.getElementById('control-result');
    try {
      const r = await fetch('/api/control/kill/' + b.dataset.kill, { method: 'POST', headers: { 'X-Cohort-Demo': 'control' } });
      out.textContent = r.ok ? b.dataset.kill + ' killed; reloading…' : 'failed: ' + (await r.text());
      if (r.ok) setTimeout(() => location.reload(), 1500);
    } catch (e) { out.textContent = 'failed: ' + e; }
  };
}
</script>
`;
    res.type('html').send(`<!doctype html>
<html><head><meta charset="utf-8"><title>cohort demo (${escapeHtml(route)})</title>
<style>body{font:16px system-ui,sans-serif;margin:3em}dt{font-weight:bold;margin-top:.6em}code{font-size:1.1em}</style></head>
<body><h1>cohort demo</h1>
<dl>
<dt>Served by instance</dt><dd><code id="instance">${escapeHtml(route)}</code></dd>
<dt>Session id</dt><dd><code id="session">${escapeHtml(s.id)}</code></dd>
<dt>Session created</dt><dd><code id="created">${new Date(s.createdAt).toISOString()}</code> by <code>${escapeHtml(s.createdBy)}</code></dd>
<dt>Counter</dt><dd><code id="counter">${s.counter}</code></dd>
${placementHtml}</dl>
<p>Reload: the counter grows on the same instance. Stop that instance and reload: another one serves you
(${kept}).</p>
${controlHtml}</body></html>
`);
  });

  // Bad request bodies keep their 4xx; a session store that fails when the request starts (its
  // load) is 503, as the middleware answers a write that failed at the end of a request.
  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res
        .status(status)
        .json(
          status === 413
            ? { error: 'TOO_LARGE', message: 'the body is over 16 KiB' }
            : { error: 'BAD_REQUEST', message: 'the body could not be read as JSON' },
        );
      return;
    }
    if (isBackendError(err)) {
      res.status(503).json({
        error: 'SESSION_STORE_UNAVAILABLE',
        message: `the session store failed (${(err as { code: string }).code}); try again`,
      });
      return;
    }
    next(err);
  };
  app.use(onError);
  return Object.assign(app, { sessions });
}
