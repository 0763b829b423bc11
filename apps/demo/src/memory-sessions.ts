import type { DemoSessions, DemoSessionView } from './session-view.js';
import { createSessionStore, type DemoSession, type SessionStoreOptions } from './sessions.js';

function viewOf(s: DemoSession): DemoSessionView {
  return {
    get id() {
      return s.id;
    },
    createdAt: s.createdAt,
    createdBy: s.createdBy,
    get counter() {
      return s.counter;
    },
    count: () => ++s.counter,
    attributes: () => Object.fromEntries(s.attributes),
    set: (name, value) => void s.attributes.set(name, value),
    remove: (name) => void s.attributes.delete(name),
  };
}

/**
 * The demo's sessions in this process's memory ({@link createSessionStore}): an instance that
 * stops loses its sessions, and a request whose id this instance does not hold gets a new session.
 */
export function memorySessions(o: SessionStoreOptions & { now?: () => number }): DemoSessions {
  const store = createSessionStore(o);
  const now = o.now ?? Date.now;
  return {
    kind: 'memory',
    cookieName: store.cookieName,
    middleware: (req, res, next) => {
      const { session, created } = store.resolve(req.originalUrl, req.headers.cookie, now());
      if (created) {
        res.cookie(store.cookieName, session.id, { httpOnly: true, sameSite: 'lax', path: '/' });
      }
      res.locals['session'] = viewOf(session);
      next();
    },
    close: async () => undefined,
  };
}
