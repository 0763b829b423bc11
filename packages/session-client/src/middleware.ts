import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  applyDelta,
  compareVersions,
  createDelta,
  createSession,
  defaultValueCodec,
  TrackedSession,
  type Delta,
  type Session,
  type SessionCodecError,
  type ValueCodec,
} from '@cohort/session-codec';
import {
  createExtractor,
  generateKey,
  signSessionId,
  tomcatDialect,
  type Extractor,
} from '@cohort/session-id';
import type { AckLevel, SessionBackend, TouchEntry } from './backend.js';
import {
  appendSetCookie,
  resolveCookie,
  serializeCookie,
  type CookieOptions,
  type ResolvedCookie,
} from './cookie.js';
import { SessionBackendError, isBackendError } from './errors.js';
import { holdResponse } from './response-hold.js';
import { requestIdGenerator } from './request-id.js';
import { SessionCache, type CacheEntry } from './session-cache.js';
import { SessionHandle } from './session-handle.js';
import { TouchBatcher } from './touch-batcher.js';

/** Options of {@link cohortSession}. */
export interface CohortSessionOptions {
  /** Where sessions live. The middleware does not close it. */
  readonly backend: SessionBackend;
  /**
   * This instance's route (`[A-Za-z0-9_.-]`, as a jvmRoute): issued ids end with `.<route>`, and
   * cohort-proxy (or httpd/HAProxy) sends requests with it here.
   */
  readonly route: string;
  /** Cookie name (default `cohort.sid`). */
  readonly name?: string;
  /** Cookie attributes, as express-session's `cookie` option. */
  readonly cookie?: CookieOptions;
  /**
   * Sign the cookie value as express-session does (`s:<id>.<hmac>`, URL-encoded); the first
   * secret signs, every one verifies (rotation). Default: unsigned (the key is 128 random bits).
   */
  readonly secret?: string | readonly string[];
  /** Idle timeout in seconds (default: `cookie.maxAge` in seconds, else 1800). */
  readonly maxInactiveSeconds?: number;
  /** Send the cookie on every response, renewing its expiry (default false). */
  readonly rolling?: boolean;
  /** Store a new session even when the request set nothing (default false: no store write, no cookie). */
  readonly saveUninitialized?: boolean;
  /** Acknowledgement level of writes (default: the backend's). */
  readonly level?: AckLevel;
  /**
   * How a cached session is trusted. `'version'` (default): each request asks the store in one
   * small round trip whether the version is still the cached one (`revalidate`; no session bytes
   * travel unless it changed), so a change made by another instance — a concurrent request
   * during failover — is never missed. `'none'`: memcached-session-manager's sticky mode, no
   * store round trip for a read; a read can then miss a change another instance made
   * concurrently until this instance's next write notices the version gap.
   */
  readonly cacheValidation?: 'version' | 'none';
  /** Most sessions kept in this instance's cache (default 10 000; 0 turns it off). */
  readonly cacheSize?: number;
  /**
   * A read-only request records its access in the store at most this often per session (default
   * min(60 s, a quarter of the idle timeout)); the touches are sent in batches. The store must
   * keep a session this long past its idle timeout (the backends' `idleGraceMs`).
   */
  readonly touchIntervalMs?: number;
  /** How long a touch waits to be batched (default 1000 ms). */
  readonly touchFlushMs?: number;
  /** The value codec (custom types, limits). */
  readonly codec?: ValueCodec;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
  /**
   * The session write failed at the end of a request (the response is still held, headers
   * unsent). Default: `503 Service Unavailable`, so the client never takes an unacknowledged
   * change for done. Call `send(status, body)` to answer, or write to `res` yourself.
   */
  readonly onStoreError?: (
    err: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    send: (status: number, body: string) => void,
  ) => void;
  /** Attributes mutated in place into something unstorable (each kept its stored value). */
  readonly onAttributeErrors?: (errors: readonly SessionCodecError[], req: IncomingMessage) => void;
}

/** Counters of a middleware (for tests, benchmarks and metrics). */
export interface CohortSessionStats {
  /** Requests that found their session in this instance's cache. */
  cacheHits: number;
  /** Requests whose session was loaded from the backend. */
  loads: number;
  /** Cache hits checked with the store (`cacheValidation: 'version'`). */
  revalidations: number;
  /** Cached sessions found out of date by that check (another instance had written). */
  staleCacheEntries: number;
  /** Sessions created in the backend. */
  creates: number;
  /** Deltas applied. */
  applies: number;
  /** Sessions destroyed. */
  destroys: number;
  /** Touch batches sent, and the accesses in them. */
  touchBatches: number;
  touchedSessions: number;
  /** Touch batches that failed. */
  touchErrors: number;
  /** Sessions re-pinned to this instance (the request came with another route). */
  repins: number;
  /** Writes that saw another writer in between (cache entry dropped). */
  concurrentWrites: number;
}

/** A Connect/Express middleware, also callable from a plain `node:http` handler. */
export interface CohortSessionMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Counters. */
  readonly stats: CohortSessionStats;
  /** How many sessions this instance's cache holds. */
  readonly cacheSize: number;
  /** Sends the touches waiting in the batch now. */
  flushTouches(): Promise<void>;
  /** Sends waiting touches and stops the timer (the backend stays open). */
  close(): Promise<void>;
}

/** The request as the middleware leaves it. */
export interface CohortSessionRequest extends IncomingMessage {
  /** The session's attributes as properties. */
  session: Record<string, unknown>;
  /** The session (id, metadata, regenerate, destroy). */
  sessionHandle: SessionHandle;
  /** The session id (`<key>.<route>`), as express-session's `req.sessionID`. */
  sessionID: string;
}

/** The handle of a request that went through {@link cohortSession}. */
export function sessionOf(req: IncomingMessage): SessionHandle {
  const h = (req as Partial<CohortSessionRequest>).sessionHandle;
  if (h === undefined) {
    throw new SessionBackendError(
      'INVALID_ARGUMENT',
      'request has no session: is cohortSession() mounted?',
    );
  }
  return h;
}

const ROUTE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Runs a write; after a TIMEOUT (it may or may not have happened) runs it once more with the same
 * request id, which the backend applies at most once.
 */
async function once<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isBackendError(err, 'TIMEOUT')) throw err;
    return write();
  }
}

/**
 * The session middleware: route-encoded ids, a cache of the sessions this instance owns,
 * per-attribute deltas, and responses released only after the store acknowledged the request's
 * changes. See the package README for the request flow.
 *
 * @throws SessionBackendError INVALID_ARGUMENT for bad options (naming the option)
 */
export function cohortSession(options: CohortSessionOptions): CohortSessionMiddleware {
  const backend = options.backend;
  const route = options.route;
  if (typeof route !== 'string' || !ROUTE.test(route)) {
    throw new SessionBackendError('INVALID_ARGUMENT', 'route must be 1-64 of [A-Za-z0-9_.-]');
  }
  const cookie: ResolvedCookie = resolveCookie(options.name ?? 'cohort.sid', options.cookie);
  const secrets =
    options.secret === undefined
      ? undefined
      : typeof options.secret === 'string'
        ? [options.secret]
        : [...options.secret];
  if (secrets !== undefined && (secrets.length === 0 || secrets.some((s) => !s))) {
    throw new SessionBackendError('INVALID_ARGUMENT', 'secret must be non-empty strings');
  }
  const maxInactive =
    options.maxInactiveSeconds ??
    (cookie.maxAge !== undefined ? Math.ceil(cookie.maxAge / 1000) : 1800);
  if (!Number.isInteger(maxInactive) || Math.abs(maxInactive) >= 2 ** 31) {
    throw new SessionBackendError('INVALID_ARGUMENT', 'maxInactiveSeconds must be an int32');
  }
  const touchInterval =
    options.touchIntervalMs ??
    (maxInactive > 0 ? Math.min(60_000, (maxInactive * 1000) / 4) : 60_000);
  const touchFlushMs = options.touchFlushMs ?? 1000;
  /** How far a stored access time may lag the true last access (touch interval + one batch). */
  const touchSlack = touchInterval + touchFlushMs;
  const codec = options.codec ?? defaultValueCodec;
  const now = options.now ?? Date.now;
  const rolling = options.rolling ?? false;
  const saveUninitialized = options.saveUninitialized ?? false;
  const level = options.level;
  const validate = (options.cacheValidation ?? 'version') === 'version';
  const cache = new SessionCache(options.cacheSize ?? 10_000);
  const nextRequestId = requestIdGenerator();
  const dialect = tomcatDialect();
  const extract: Extractor = createExtractor({
    cookieNames: [cookie.name],
    pathParameter: null,
    ...(secrets !== undefined ? { signed: { secrets } } : {}),
  });
  const stats: CohortSessionStats = {
    cacheHits: 0,
    loads: 0,
    revalidations: 0,
    staleCacheEntries: 0,
    creates: 0,
    applies: 0,
    destroys: 0,
    touchBatches: 0,
    touchedSessions: 0,
    touchErrors: 0,
    repins: 0,
    concurrentWrites: 0,
  };
  const touches = new TouchBatcher(
    backend,
    touchFlushMs,
    1000,
    (entries: readonly TouchEntry[], err: unknown) => {
      stats.touchBatches++;
      stats.touchedSessions += entries.length;
      if (err !== undefined) {
        stats.touchErrors++;
        return;
      }
      for (const { key, at } of entries) {
        const e = cache.peek(key);
        if (e !== undefined && e.storedAccess < at) e.storedAccess = at;
      }
    },
  );
  const formatId = (key: string): string => dialect.format({ key, route });
  const cookieValue = (id: string): string =>
    secrets === undefined ? id : encodeURIComponent(signSessionId(id, secrets[0]!));
  const onStoreError =
    options.onStoreError ??
    ((_err, _req, _res, send) =>
      send(503, 'Session store unavailable; the change was not saved.\n'));

  const expired = (e: CacheEntry, t: number): boolean =>
    e.session.maxInactiveSeconds >= 0 && t - e.lastAccess > e.session.maxInactiveSeconds * 1000;

  async function start(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t = now();
    const found = extract(req.url ?? '/', req.headers.cookie);
    let base: Session | null = null;
    let entry: CacheEntry | undefined;
    let repin = false;
    let gone = false;
    if (found.found) {
      if (found.route === route) {
        const e = cache.get(found.key);
        if (e !== undefined && !expired(e, t)) {
          if (validate) {
            const due = t - e.storedAccess >= touchInterval;
            const opts = due ? { touchAt: t } : {};
            stats.revalidations++;
            const r = backend.revalidate
              ? await backend.revalidate(found.key, e.session.version, opts)
              : await backend.load(found.key, opts);
            if (r === null) {
              cache.delete(found.key);
              gone = true;
            } else {
              if (r !== 'unchanged' && compareVersions(r.version, e.session.version) !== 0) {
                stats.staleCacheEntries++;
                e.session = r;
              }
              if (due) e.storedAccess = t;
              entry = e;
              base = e.session;
              stats.cacheHits++;
            }
          } else {
            entry = e;
            base = e.session;
            stats.cacheHits++;
          }
        } else if (e !== undefined) {
          // Idle here for longer than its timeout; another instance may have served it since
          // (failover and back): the store decides, below.
          cache.delete(found.key);
          touches.drop(found.key);
        }
      } else {
        repin = true;
      }
      if (base === null && !gone) {
        stats.loads++;
        // No touch in the load: the stored access time says whether the session outlived its
        // timeout (it lags the true last access by at most the touch interval and one batch);
        // the access of this request is recorded at its end (in the delta, or batched).
        base = await backend.load(found.key);
        if (
          base !== null &&
          base.maxInactiveSeconds >= 0 &&
          t - base.lastAccessedAt > base.maxInactiveSeconds * 1000 + touchSlack
        ) {
          base = null;
        }
        if (base !== null) {
          entry = { session: base, lastAccess: t, storedAccess: base.lastAccessedAt };
          cache.set(base.key, entry);
          if (repin) stats.repins++;
        }
      }
    }
    const isNew = base === null;
    if (base === null) {
      base = createSession({ key: generateKey(), now: t, maxInactiveSeconds: maxInactive }, codec);
    } else if (entry !== undefined) {
      entry.lastAccess = t;
    }
    const stored: Session = base;
    const tracked = new TrackedSession(stored, codec);
    const handle = new SessionHandle(tracked, route, isNew, () => generateKey(), formatId);
    const r = req as CohortSessionRequest;
    r.sessionHandle = handle;
    r.session = handle.attributes;
    Object.defineProperty(r, 'sessionID', {
      configurable: true,
      enumerable: true,
      get: () => handle.id,
    });

    const added: string[] = [];
    const setCookie = (): void => {
      const c = serializeCookie(cookie, cookieValue(handle.id), now());
      added.push(c);
      appendSetCookie(res, c);
    };

    const finish = (): Promise<void> | undefined => {
      const t2 = now();
      if (handle.destroyed) {
        cache.delete(stored.key);
        touches.drop(stored.key);
        if (found.found || !isNew) {
          const c = serializeCookie(cookie, '', t2, true);
          added.push(c);
          appendSetCookie(res, c);
        }
        if (isNew) return undefined;
        stats.destroys++;
        return backend.destroy(stored.key);
      }
      const { delta, errors } = tracked.commit();
      if (errors.length > 0) options.onAttributeErrors?.(errors, req);
      if (handle.regenerated) {
        const state = delta === null ? stored : applyDelta(stored, delta, {})!;
        const fresh: Session = {
          ...state,
          key: handle.key,
          createdAt: t2,
          lastAccessedAt: t2,
          isNew: true,
        };
        setCookie();
        cache.delete(stored.key);
        touches.drop(stored.key);
        stats.creates++;
        const requestId = nextRequestId();
        return Promise.all([
          once(() => backend.create(fresh, { requestId, level })).then((version) => {
            cache.set(fresh.key, {
              session: { ...fresh, version },
              lastAccess: t2,
              storedAccess: t2,
            });
          }),
          isNew ? undefined : (stats.destroys++, backend.destroy(stored.key)),
        ]).then(() => undefined);
      }
      if (isNew) {
        if (delta === null && !saveUninitialized) return undefined;
        const state = delta === null ? stored : applyDelta(stored, delta, {})!;
        setCookie();
        stats.creates++;
        const createId = nextRequestId();
        return once(() => backend.create(state, { requestId: createId, level })).then((version) => {
          cache.set(state.key, {
            session: { ...state, version },
            lastAccess: t2,
            storedAccess: t2,
          });
        });
      }
      if (repin || rolling) setCookie();
      const e = cache.peek(stored.key);
      // The access time the store has: the cache's record, or (not cached) the loaded state's.
      const storedAccess = e?.storedAccess ?? stored.lastAccessedAt;
      const touchDue = t2 - storedAccess >= touchInterval;
      if (delta === null) {
        if (touchDue) touches.add(stored.key, t2);
        return undefined;
      }
      touches.drop(stored.key);
      const sent: Delta = touchDue
        ? createDelta(delta.key, delta.base, [...delta.ops, { op: 'touch', at: t2 }])
        : delta;
      stats.applies++;
      const applyId = nextRequestId();
      return once(() => backend.apply(stored.key, sent, { requestId: applyId, level })).then(
        (version) => {
          const cur = cache.peek(stored.key);
          if (
            cur !== undefined &&
            cur.session === stored &&
            version.epoch === stored.version.epoch &&
            version.seq === stored.version.seq + 1
          ) {
            cur.session = applyDelta(stored, sent, { version })!;
            if (touchDue) cur.storedAccess = t2;
          } else {
            // Another request wrote in between (here or on another instance): our copy is
            // stale; the next request reads the store.
            if (cur !== undefined) stats.concurrentWrites++;
            cache.delete(stored.key);
          }
        },
        (err: unknown) => {
          cache.delete(stored.key);
          // Destroyed meanwhile (logout in another tab, expiry): nothing to keep.
          if (isBackendError(err, 'NOT_FOUND')) return;
          throw err;
        },
      );
    };

    holdResponse(res, {
      beforeOutput: finish,
      cookies: () => added,
      onFailure: (err, send) => onStoreError(err, req, res, send),
    });
  }

  const middleware = ((
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) => {
    start(req, res).then(() => next(), next);
  }) as CohortSessionMiddleware;
  Object.defineProperty(middleware, 'stats', { value: stats });
  Object.defineProperty(middleware, 'cacheSize', { get: () => cache.size });
  Object.defineProperty(middleware, 'flushTouches', { value: () => touches.flush() });
  Object.defineProperty(middleware, 'close', { value: () => touches.close() });
  return middleware;
}
