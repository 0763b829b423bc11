import express, { type Express } from 'express';

import { createSessionStore, type SessionStoreOptions } from './sessions.js';

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions extends SessionStoreOptions {
  /** Clock, ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The demo Express app. Every page view counts in the session:
 * - `GET /` an HTML page with the session id, the instance that served it, the creation time and
 *   the counter;
 * - `GET /api/session` the same as JSON;
 * - `GET /healthz` `ok` (creates no session).
 * The session cookie is HttpOnly and SameSite=Lax; the id is never logged.
 */
export function createDemoApp(o: DemoAppOptions): Express {
  const store = createSessionStore(o);
  const now = o.now ?? Date.now;
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
    const { session, created } = store.resolve(req.originalUrl, req.headers.cookie, now());
    session.counter++;
    if (created) {
      res.cookie(store.cookieName, session.id, { httpOnly: true, sameSite: 'lax', path: '/' });
    }
    res.locals['session'] = session;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Instance', store.route);
    next();
  });

  app.get('/api/session', (_req, res) => {
    const s = res.locals['session'];
    res.json({
      id: s.id,
      instance: store.route,
      createdBy: s.createdBy,
      createdAt: new Date(s.createdAt).toISOString(),
      counter: s.counter,
    });
  });

  app.get('/', (_req, res) => {
    const s = res.locals['session'];
    res.type('html').send(`<!doctype html>
<html><head><meta charset="utf-8"><title>cohort demo (${escapeHtml(store.route)})</title>
<style>body{font:16px system-ui,sans-serif;margin:3em}dt{font-weight:bold;margin-top:.6em}code{font-size:1.1em}</style></head>
<body><h1>cohort demo</h1>
<dl>
<dt>Served by instance</dt><dd><code id="instance">${escapeHtml(store.route)}</code></dd>
<dt>Session id</dt><dd><code id="session">${escapeHtml(s.id)}</code></dd>
<dt>Session created</dt><dd><code id="created">${new Date(s.createdAt).toISOString()}</code> by <code>${escapeHtml(s.createdBy)}</code></dd>
<dt>Counter</dt><dd><code id="counter">${s.counter}</code></dd>
</dl>
<p>Reload: the counter grows on the same instance. Stop that instance and reload: another one serves you
(sessions are in memory in this demo, so the counter starts again there).</p>
</body></html>
`);
  });
  return app;
}
