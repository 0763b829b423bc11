import {
  cohortSession,
  sessionOf,
  type AckLevel,
  type CohortSessionStats,
  type SessionBackend,
  type SessionHandle,
} from '@cohort/session-client';

import {
  isDemoValue,
  RESERVED_ATTRIBUTES,
  type DemoSessions,
  type DemoSessionView,
  type DemoValue,
} from './session-view.js';

/** Options of {@link cohortSessions}. */
export interface CohortSessionsOptions {
  /** Where the sessions live: a `NodeBackend` (session nodes), `RedisBackend` or `MemoryBackend`. */
  readonly backend: SessionBackend;
  /** This instance's route, put after the key of every id it issues. */
  readonly route: string;
  /** The session cookie's name. Default `JSESSIONID` (what cohort-proxy reads by default). */
  readonly cookieName?: string;
  /** Idle timeout, ms (rounded up to seconds). Default 30 minutes. */
  readonly maxIdleMs?: number;
  /** Acknowledgement level of the session writes (default: the backend's). */
  readonly level?: AckLevel;
  /** Clock, ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
}

/** {@link DemoSessions} kept by `cohortSession()`, with its counters. */
export interface CohortDemoSessions extends DemoSessions {
  readonly kind: 'cohort';
  /** The middleware's counters (cache hits, loads, re-pins, …). */
  readonly stats: CohortSessionStats;
}

function viewOf(h: SessionHandle, route: string): DemoSessionView {
  const counter = (): number => {
    const n = h.get('counter');
    return typeof n === 'number' ? n : 0;
  };
  return {
    get id() {
      return h.id;
    },
    get key() {
      return h.key;
    },
    createdAt: h.createdAt,
    get createdBy() {
      const by = h.get('createdBy');
      return typeof by === 'string' ? by : route;
    },
    get counter() {
      return counter();
    },
    count: () => {
      const n = counter() + 1;
      h.set('counter', n);
      return n;
    },
    attributes: () => {
      const out: Record<string, DemoValue> = {};
      for (const name of h.names().sort()) {
        if (RESERVED_ATTRIBUTES.has(name)) continue;
        const v = h.get(name);
        if (isDemoValue(v)) out[name] = v;
      }
      return out;
    },
    set: (name, value) => h.set(name, value),
    remove: (name) => h.remove(name),
  };
}

/**
 * The demo's sessions through `cohortSession()` of `@cohort/session-client`: route-encoded ids,
 * a cache of the sessions this instance serves, one per-attribute delta per request, the response
 * released once the backend acknowledged it. With a `NodeBackend` every change is on more than
 * one session node before the browser sees it, so an instance (or a node) that dies loses none:
 * the next instance loads the session from the nodes and re-pins its cookie to itself.
 */
export function cohortSessions(o: CohortSessionsOptions): CohortDemoSessions {
  const cookieName = o.cookieName ?? 'JSESSIONID';
  const sessions = cohortSession({
    backend: o.backend,
    route: o.route,
    name: cookieName,
    maxInactiveSeconds: Math.ceil((o.maxIdleMs ?? 30 * 60_000) / 1000),
    ...(o.level !== undefined ? { level: o.level } : {}),
    ...(o.now !== undefined ? { now: o.now } : {}),
  });
  return {
    kind: 'cohort',
    cookieName,
    stats: sessions.stats,
    middleware: (req, res, next) => {
      sessions(req, res, (err?: unknown) => {
        if (err !== undefined) {
          next(err);
          return;
        }
        const h = sessionOf(req);
        if (h.isNew) h.set('createdBy', o.route);
        res.locals['session'] = viewOf(h, o.route);
        next();
      });
    },
    close: () => sessions.close(),
  };
}
