import session from 'express-session';
import {
  applyDelta,
  COOKIE_ATTRIBUTE,
  createDelta,
  defaultValueCodec,
  expressSessionDelta,
  fromExpressSession,
  toExpressSession,
  type Delta,
  type ExpressSessionData,
  type Op,
  type Session,
  type ValueCodec,
} from '@cohort/session-codec';
import type { AckLevel, SessionBackend } from './backend.js';
import { SessionBackendError, isBackendError } from './errors.js';
import { requestIdGenerator } from './request-id.js';

/** Options of {@link CohortStore}. */
export interface CohortStoreOptions {
  /** Where sessions live. `close()` of the store does not close it. */
  readonly backend: SessionBackend;
  /** The value codec (custom types, limits). */
  readonly codec?: ValueCodec;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
  /**
   * express-session calls `touch` on every unmodified request; the store sends it only when the
   * session's stored access is older than this (default 60 000 ms), so a read-only request costs
   * no store write (reference: Resin's access window). The backend's `idleGraceMs` must be at
   * least this.
   */
  readonly touchAfterMs?: number;
  /** Idle timeout when the cookie has no maxAge (a browser-session cookie); default 86 400 s. */
  readonly defaultMaxInactiveSeconds?: number;
  /** Loaded states kept to diff the next `set` against (default 10 000). */
  readonly baseCacheSize?: number;
  /** Acknowledgement level of writes (default: the backend's). */
  readonly level?: AckLevel;
}

/**
 * The property of the loaded `cookie` object that names the state the request started from.
 * express-session's `Cookie` copies it, and leaves it out of the JSON and of the stored cookie.
 */
const BASE_TAG = '__cohortBase';

type Callback<T = void> = (err?: unknown, value?: T) => void;

interface Base {
  readonly session: Session;
  /** The values the request's object started with (shallow), to skip unchanged primitives. */
  readonly values: Record<string, unknown>;
}
type Data = ExpressSessionData & { cookie?: Record<string, unknown> };

/**
 * An `express-session` store over any {@link SessionBackend}, for applications that change
 * nothing else. A save ships only the attributes that changed since the request loaded the
 * session (`@cohort/session-codec`'s `expressSessionDelta`), so two concurrent requests that change
 * different attributes both survive — where a store that writes the whole session keeps only the
 * later one.
 */
export class CohortStore extends session.Store {
  readonly #backend: SessionBackend;
  readonly #codec: ValueCodec;
  readonly #now: () => number;
  readonly #touchAfter: number;
  readonly #defaultMaxInactive: number;
  readonly #level: AckLevel | undefined;
  readonly #maxBases: number;
  /** Tag → the state a request started from, and the values `get` handed out for it. */
  readonly #bases = new Map<string, Base>();
  #tags = 0;
  readonly #nextRequestId = requestIdGenerator();

  /** @param options - backend, codec, clock, touch window */
  constructor(options: CohortStoreOptions) {
    super();
    this.#backend = options.backend;
    this.#codec = options.codec ?? defaultValueCodec;
    this.#now = options.now ?? Date.now;
    this.#touchAfter = options.touchAfterMs ?? 60_000;
    this.#defaultMaxInactive = options.defaultMaxInactiveSeconds ?? 86_400;
    this.#level = options.level;
    this.#maxBases = options.baseCacheSize ?? 10_000;
  }

  #remember(state: Session, values: Record<string, unknown>): string {
    const tag = `${(this.#tags++).toString(36)}`;
    this.#bases.set(tag, { session: state, values });
    while (this.#bases.size > this.#maxBases) {
      this.#bases.delete(this.#bases.keys().next().value as string);
    }
    return tag;
  }

  #baseOf(sid: string, data: Data): Base | undefined {
    const tag = data.cookie?.[BASE_TAG];
    if (typeof tag !== 'string') return undefined;
    const b = this.#bases.get(tag);
    return b !== undefined && b.session.key === sid ? b : undefined;
  }

  #tag(data: Data, state: Session): void {
    if (typeof data.cookie === 'object' && data.cookie !== null) {
      data.cookie[BASE_TAG] = this.#remember(state, { ...data });
    }
  }

  /**
   * The delta from the request's starting state to `data`. Attributes whose value is the same
   * primitive `get` handed out are unchanged and are not encoded again; every other attribute
   * (objects may have been mutated in place) is encoded and compared byte for byte.
   */
  #diff(base: Base, data: Data, now: number): Delta | null {
    const reduced: Data = {};
    const attrs = new Map<string, Uint8Array>();
    for (const name of Object.keys(data)) {
      const v = data[name];
      if (v === undefined) continue;
      const stored = base.session.attributes.get(name);
      if (
        name !== COOKIE_ATTRIBUTE &&
        stored !== undefined &&
        (typeof v !== 'object' || v === null) &&
        Object.is(v, base.values[name])
      ) {
        continue;
      }
      reduced[name] = v;
      if (stored !== undefined) attrs.set(name, stored);
    }
    const { delta } = expressSessionDelta({ ...base.session, attributes: attrs }, reduced, {
      codec: this.#codec,
      touchAt: now,
      defaultMaxInactiveSeconds: this.#defaultMaxInactive,
    });
    const removes: Op[] = [];
    for (const name of base.session.attributes.keys()) {
      if (data[name] === undefined) removes.push({ op: 'remove', name });
    }
    if (removes.length === 0) return delta;
    return createDelta(base.session.key, base.session.version, [...(delta?.ops ?? []), ...removes]);
  }

  #toData(s: Session): Data {
    const data = toExpressSession(s, this.#codec) as Data;
    if (typeof data.cookie !== 'object' || data.cookie === null) data.cookie = {};
    this.#tag(data, s);
    return data;
  }

  /** Reads a session: `cb(null, data)`, or `cb(null, null)` when absent or expired. */
  override get(sid: string, cb: Callback<session.SessionData | null>): void {
    this.#backend.load(sid).then(
      (s) => {
        if (s === null) return cb(null, null);
        let data: Data;
        try {
          data = this.#toData(s);
        } catch (err) {
          return cb(err);
        }
        cb(null, data as unknown as session.SessionData);
      },
      (err: unknown) => cb(err),
    );
  }

  /** Saves a session: a delta against the state the request loaded, or a create for a new one. */
  override set(sid: string, data: session.SessionData, cb?: Callback): void {
    this.#save(sid, data as unknown as Data).then(
      () => cb?.(),
      (err: unknown) => cb?.(err),
    );
  }

  async #save(sid: string, data: Data, attempt = 0): Promise<void> {
    if (attempt > 3) {
      throw new SessionBackendError(
        'UNAVAILABLE',
        'session kept appearing and disappearing while saving',
      );
    }
    const now = this.#now();
    const requestId = this.#nextRequestId();
    let base = this.#baseOf(sid, data);
    let delta: Delta | null;
    if (base !== undefined) {
      delta = this.#diff(base, data, now);
    } else {
      const { session: fresh } = fromExpressSession(sid, data, {
        now,
        codec: this.#codec,
        defaultMaxInactiveSeconds: this.#defaultMaxInactive,
      });
      try {
        const version = await this.#backend.create(fresh, { requestId, level: this.#level });
        this.#tag(data, { ...fresh, version });
        return;
      } catch (err) {
        if (!isBackendError(err, 'EXISTS')) throw err;
      }
      // Saved before without a base we know (evicted, or another instance created it): diff
      // against what is stored now.
      const current = await this.#backend.load(sid);
      if (current === null) return this.#save(sid, data, attempt + 1);
      base = { session: current, values: {} };
      delta = expressSessionDelta(current, data, {
        codec: this.#codec,
        touchAt: now,
        defaultMaxInactiveSeconds: this.#defaultMaxInactive,
      }).delta;
    }
    if (delta === null) return;
    try {
      const version = await this.#backend.apply(sid, delta, { requestId, level: this.#level });
      this.#tag(data, applyDelta(base.session, delta, { version })!);
    } catch (err) {
      if (!isBackendError(err, 'NOT_FOUND')) throw err;
      // Expired or destroyed meanwhile: store it again, whole.
      delete data.cookie?.[BASE_TAG];
      await this.#save(sid, data, attempt + 1);
    }
  }

  /**
   * Restarts the idle timer: sent only when the stored access is older than `touchAfterMs`,
   * otherwise answered at once.
   */
  override touch(sid: string, data: session.SessionData, cb?: Callback): void {
    const now = this.#now();
    const base = this.#baseOf(sid, data as unknown as Data);
    if (base !== undefined && now - base.session.lastAccessedAt < this.#touchAfter) {
      cb?.();
      return;
    }
    this.#backend.touch([{ key: sid, at: now }]).then(
      () => {
        if (base !== undefined) {
          this.#tag(data as unknown as Data, {
            ...base.session,
            lastAccessedAt: now,
            isNew: false,
          });
        }
        cb?.();
      },
      (err: unknown) => cb?.(err),
    );
  }

  /** Removes a session. */
  override destroy(sid: string, cb?: Callback): void {
    this.#backend.destroy(sid).then(
      () => cb?.(),
      (err: unknown) => cb?.(err),
    );
  }

  /** Every session, as an object keyed by id (as express-session's MemoryStore answers). */
  override all(cb: Callback<Record<string, session.SessionData>>): void {
    const all = this.#backend.all;
    if (all === undefined) {
      cb(new Error('this backend cannot list sessions'));
      return;
    }
    all.call(this.#backend).then(
      (list) => {
        const out: Record<string, session.SessionData> = {};
        try {
          for (const s of list) {
            out[s.key] = toExpressSession(s, this.#codec) as unknown as session.SessionData;
          }
        } catch (err) {
          return cb(err);
        }
        cb(null, out);
      },
      (err: unknown) => cb(err),
    );
  }

  /** How many sessions there are. */
  override length(cb: Callback<number>): void {
    const length = this.#backend.length;
    if (length === undefined) {
      cb(new Error('this backend cannot count sessions'));
      return;
    }
    length.call(this.#backend).then(
      (n) => cb(null, n),
      (err: unknown) => cb(err),
    );
  }

  /** Removes every session of the backend's namespace. */
  override clear(cb?: Callback): void {
    const clear = this.#backend.clear;
    if (clear === undefined) {
      cb?.(new Error('this backend cannot clear sessions'));
      return;
    }
    clear.call(this.#backend).then(
      () => cb?.(),
      (err: unknown) => cb?.(err),
    );
  }
}
