import { compareVersions, type Delta, type Session, type Version } from '@cohort/session-codec';
import type {
  ApplyOptions,
  LoadOptions,
  SessionBackend,
  TouchEntry,
  WriteOptions,
} from './backend.js';
import { SessionBackendError } from './errors.js';
import { applyToCurrent } from './rebase.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** The clock, ms since the Unix epoch (default `Date.now`); tests pass a fake one. */
  readonly now?: () => number;
  /**
   * Extra idle time before a session is dropped, on top of its `maxInactiveSeconds`, so that
   * batched touches (which arrive late by up to the batching interval) never expire a live
   * session early. Default 60 000 ms, as the middleware's default touch interval.
   */
  readonly idleGraceMs?: number;
  /** Most sessions held; `create` beyond it rejects with TOO_LARGE (default 1 000 000). */
  readonly maxSessions?: number;
}

interface Entry {
  session: Session;
  /** Deadline on the backend's clock (ms), or Infinity. */
  expiresAt: number;
  /** The last write's request id and the version it produced. */
  lastRequest: string | undefined;
  lastVersion: Version | undefined;
}

/**
 * A {@link SessionBackend} in this process's memory: for development, single-instance apps and
 * tests. Sessions are held as `@cohort/session-codec` values (attribute bytes, not objects);
 * expiry is checked when a session is read or written and by {@link MemoryBackend.sweep}. It
 * replicates nothing: when the process ends, its sessions are gone.
 */
export class MemoryBackend implements SessionBackend {
  readonly #now: () => number;
  readonly #grace: number;
  readonly #max: number;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  /** @param options - clock, idle grace, capacity */
  constructor(options: MemoryBackendOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#grace = options.idleGraceMs ?? 60_000;
    this.#max = options.maxSessions ?? 1_000_000;
    if (!Number.isFinite(this.#grace) || this.#grace < 0) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'idleGraceMs must be a number >= 0');
    }
  }

  #open(): void {
    if (this.#closed) throw new SessionBackendError('CLOSED', 'memory backend is closed');
  }

  #deadline(session: Session, now: number): number {
    return session.maxInactiveSeconds < 0
      ? Infinity
      : now + session.maxInactiveSeconds * 1000 + this.#grace;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #touchEntry(entry: Entry, at: number): void {
    const s = entry.session;
    entry.session = { ...s, lastAccessedAt: Math.max(s.lastAccessedAt, at), isNew: false };
    entry.expiresAt = this.#deadline(entry.session, this.#now());
  }

  /** {@inheritDoc SessionBackend.load} */
  async load(key: string, options: LoadOptions = {}): Promise<Session | null> {
    this.#open();
    const entry = this.#live(key);
    if (entry === undefined) return null;
    if (options.touchAt !== undefined) this.#touchEntry(entry, options.touchAt);
    return entry.session;
  }

  /** {@inheritDoc SessionBackend.revalidate} */
  async revalidate(
    key: string,
    known: Version,
    options: Pick<LoadOptions, 'touchAt'> = {},
  ): Promise<Session | null | 'unchanged'> {
    const s = await this.load(key, options);
    return s !== null && compareVersions(s.version, known) === 0 ? 'unchanged' : s;
  }

  /** {@inheritDoc SessionBackend.create} */
  async create(session: Session, options: WriteOptions): Promise<Version> {
    this.#open();
    const existing = this.#live(session.key);
    if (existing !== undefined) {
      if (existing.lastRequest === options.requestId && existing.lastVersion !== undefined) {
        return existing.lastVersion; // a retry of this very create
      }
      throw new SessionBackendError('EXISTS', 'a session with this key exists already');
    }
    if (this.#entries.size >= this.#max) {
      throw new SessionBackendError('TOO_LARGE', `memory backend holds ${this.#max} sessions`);
    }
    const version: Version = { epoch: 0, seq: 1 };
    const stored: Session = { ...session, version };
    this.#entries.set(session.key, {
      session: stored,
      expiresAt: this.#deadline(stored, this.#now()),
      lastRequest: options.requestId,
      lastVersion: version,
    });
    return version;
  }

  /** {@inheritDoc SessionBackend.apply} */
  async apply(key: string, delta: Delta, options: ApplyOptions): Promise<Version> {
    this.#open();
    if (delta.key !== key) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'delta is for another session key');
    }
    const entry = this.#live(key);
    if (entry === undefined) throw new SessionBackendError('NOT_FOUND', 'no such session');
    if (entry.lastRequest === options.requestId && entry.lastVersion !== undefined) {
      return entry.lastVersion; // a retry: applied once
    }
    const current = entry.session.version;
    if (options.expected !== undefined && compareVersions(options.expected, current) !== 0) {
      throw new SessionBackendError('CAS_FAILED', 'the session changed since the expected version');
    }
    const version: Version = { epoch: current.epoch, seq: current.seq + 1 };
    const next = applyToCurrent(entry.session, delta, version);
    if (next === null) {
      this.#entries.delete(key);
      return current;
    }
    entry.session = next;
    entry.lastRequest = options.requestId;
    entry.lastVersion = version;
    entry.expiresAt = this.#deadline(next, this.#now());
    return version;
  }

  /** {@inheritDoc SessionBackend.touch} */
  async touch(entries: readonly TouchEntry[]): Promise<void> {
    this.#open();
    for (const { key, at } of entries) {
      const entry = this.#live(key);
      if (entry !== undefined) this.#touchEntry(entry, at);
    }
  }

  /** {@inheritDoc SessionBackend.destroy} */
  async destroy(key: string): Promise<void> {
    this.#open();
    this.#entries.delete(key);
  }

  /** {@inheritDoc SessionBackend.all} */
  async all(): Promise<Session[]> {
    this.#open();
    this.sweep();
    return [...this.#entries.values()].map((e) => e.session);
  }

  /** {@inheritDoc SessionBackend.length} */
  async length(): Promise<number> {
    this.#open();
    this.sweep();
    return this.#entries.size;
  }

  /** {@inheritDoc SessionBackend.clear} */
  async clear(): Promise<void> {
    this.#open();
    this.#entries.clear();
  }

  /** Drops every expired session now; returns how many. */
  sweep(): number {
    const now = this.#now();
    let n = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        n++;
      }
    }
    return n;
  }

  /** {@inheritDoc SessionBackend.close} */
  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
  }
}
