import { createExtractor, generateSessionId, tomcatDialect } from '@cohort/session-id';

import type { DemoValue } from './session-view.js';

/** One demo session: kept in this instance's memory only. */
export interface DemoSession {
  /** The full session id, `<key>.<route>`. */
  readonly id: string;
  /** The key (what the data is stored under). */
  readonly key: string;
  /** When it was created (ms since the epoch). */
  readonly createdAt: number;
  /** The instance (route) that created it. */
  readonly createdBy: string;
  /** Requests counted in it. */
  counter: number;
  /** The application's attributes (`PUT /api/session/attributes/:name`). */
  readonly attributes: Map<string, DemoValue>;
  /** Last use (ms since the epoch). */
  lastSeen: number;
}

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** This instance's route, put after the key of every id it issues. */
  readonly route: string;
  /** The session cookie's name. Default `JSESSIONID` (what cohort-proxy reads by default). */
  readonly cookieName?: string;
  /** Sessions unused for this long are dropped, ms. Default 30 minutes. */
  readonly maxIdleMs?: number;
  /** Most sessions kept; the least recently used go first. Default 100 000. */
  readonly maxSessions?: number;
}

/** The in-memory session store of a demo instance. */
export interface SessionStore {
  readonly route: string;
  readonly cookieName: string;
  /** The session of a request (from its target and Cookie header), or a new one. */
  resolve(
    target: string,
    cookie: string | undefined,
    now: number,
  ): { session: DemoSession; created: boolean };
  /** Sessions held now. */
  size(): number;
}

/**
 * In-memory sessions with route-encoded ids from @cohort/session-id. A request whose id this
 * instance does not hold (another instance issued it, or this one restarted) gets a new session
 * here, with this instance's route, so the proxy keeps it here from then on.
 */
export function createSessionStore(o: SessionStoreOptions): SessionStore {
  const cookieName = o.cookieName ?? 'JSESSIONID';
  const maxIdle = o.maxIdleMs ?? 30 * 60_000;
  const max = o.maxSessions ?? 100_000;
  const dialect = tomcatDialect();
  const extract = createExtractor({ cookieNames: [cookieName], dialect });
  const sessions = new Map<string, DemoSession>();
  return {
    route: o.route,
    cookieName,
    resolve(target, cookie, now) {
      const found = extract(target, cookie);
      if (found.found) {
        const s = sessions.get(found.key);
        if (s && now - s.lastSeen <= maxIdle) {
          s.lastSeen = now;
          // Keep the map in least-recently-used order.
          sessions.delete(s.key);
          sessions.set(s.key, s);
          return { session: s, created: false };
        }
        if (s) sessions.delete(s.key);
      }
      const id = generateSessionId({ route: o.route, dialect });
      const parsed = dialect.parse(id);
      const key = parsed.ok ? parsed.key : id;
      const session: DemoSession = {
        id,
        key,
        createdAt: now,
        createdBy: o.route,
        counter: 0,
        attributes: new Map(),
        lastSeen: now,
      };
      sessions.set(key, session);
      while (sessions.size > max) sessions.delete(sessions.keys().next().value!);
      return { session, created: true };
    },
    size: () => sessions.size,
  };
}
