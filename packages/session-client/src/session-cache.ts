import type { Session } from '@cohort/session-codec';

/** One session this instance owns. */
export interface CacheEntry {
  /** The state as stored (the version the backend acknowledged last). */
  session: Session;
  /** The last access seen here (ms): exact idle time, whatever the store's touches say. */
  lastAccess: number;
  /** The access time the store last recorded (ms); touches are sent when it is old. */
  storedAccess: number;
}

/**
 * The sessions this application instance owns (their route is this instance's), most recently
 * used last, at most `max` of them: the sticky fast path, as memcached-session-manager's sticky
 * mode keeps sessions in Tomcat's memory with the store as backup.
 */
export class SessionCache {
  readonly #max: number;
  readonly #map = new Map<string, CacheEntry>();

  /** @param max - most entries (0 disables the cache) */
  constructor(max: number) {
    this.#max = max;
  }

  /** The entry of `key`, marked as most recently used. */
  get(key: string): CacheEntry | undefined {
    const e = this.#map.get(key);
    if (e !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, e);
    }
    return e;
  }

  /** The entry without changing its place. */
  peek(key: string): CacheEntry | undefined {
    return this.#map.get(key);
  }

  /** Stores an entry, dropping the least recently used beyond the limit. */
  set(key: string, entry: CacheEntry): void {
    if (this.#max <= 0) return;
    this.#map.delete(key);
    this.#map.set(key, entry);
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  /** Forgets a session. */
  delete(key: string): void {
    this.#map.delete(key);
  }

  /** How many sessions are held. */
  get size(): number {
    return this.#map.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
  }
}
