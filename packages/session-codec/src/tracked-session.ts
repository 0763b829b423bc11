import { Buffer } from 'node:buffer';
import { createDelta, type Delta, type Op } from './delta.js';
import { SessionCodecError } from './errors.js';
import {
  bytesEqual,
  checkMaxInactive,
  checkPrincipal,
  principalsEqual,
  type Principal,
  type Session,
} from './session.js';
import { defaultValueCodec, type ValueCodec } from './value-codec.js';
import type { Version } from './version.js';

/** What {@link TrackedSession.commit} returns. */
export interface CommitResult {
  /** The minimal delta, or null when the request changed nothing. */
  readonly delta: Delta | null;
  /**
   * Attributes that were mutated in place into something that cannot be stored; each failed
   * alone (left at its stored value) and the rest of the delta is intact.
   */
  readonly errors: readonly SessionCodecError[];
}

interface Entry {
  /** Bytes in the base session, if present there. */
  readonly base: Uint8Array | undefined;
  /** 'read': decoded from base; 'set': replaced; 'removed'. */
  state: 'read' | 'set' | 'removed';
  /** The live value handed to or received from the application. */
  live: unknown;
  /** Bytes encoded when the value was set. */
  bytes: Uint8Array | undefined;
}

/**
 * A view over a session for the length of one request. It records what the application does and
 * produces the minimal delta at the end:
 *
 * - explicit `set`/`remove` (a value is validated and encoded when set, so a bad value is refused
 *   at once, naming its path, and the session is left as it was);
 * - in-place mutation (`session.attributes.cart.items.push(x)`): every object value the
 *   application read or set is encoded again at {@link TrackedSession.commit} and compared
 *   byte-for-byte with the stored bytes. Only those: attributes never read cost nothing, and
 *   a read-only request produces no delta;
 * - replacing a value with an equal one produces no op.
 *
 * Not thread-safe; one per request.
 */
export class TrackedSession {
  readonly #base: Session;
  readonly #codec: ValueCodec;
  readonly #entries = new Map<string, Entry>();
  #touched = false;
  /** How many attributes exist now (base, plus added, minus removed). */
  #size: number;
  #state: 'open' | 'committed' | 'invalidated' = 'open';
  #maxInactiveSeconds: number;
  #principal: Principal | null;
  #lastAccessedAt: number;
  #isNew: boolean;
  #proxy: Record<string, unknown> | undefined;

  /**
   * @param session - the state at the start of the request
   * @param codec - the value codec (limits, custom types)
   */
  constructor(session: Session, codec: ValueCodec = defaultValueCodec) {
    this.#base = session;
    this.#codec = codec;
    this.#maxInactiveSeconds = session.maxInactiveSeconds;
    this.#principal = session.principal;
    this.#lastAccessedAt = session.lastAccessedAt;
    this.#isNew = session.isNew;
    this.#size = session.attributes.size;
  }

  /** The session id without its route. */
  get key(): string {
    return this.#base.key;
  }
  /** The version of the base state (the delta's base). */
  get version(): Version {
    return this.#base.version;
  }
  /** Creation time, ms. */
  get createdAt(): number {
    return this.#base.createdAt;
  }
  /** Last access, ms, including a touch made in this request. */
  get lastAccessedAt(): number {
    return this.#lastAccessedAt;
  }
  /** True until touched after its first request. */
  get isNew(): boolean {
    return this.#isNew;
  }
  /** Idle timeout in seconds, including a change made in this request. */
  get maxInactiveSeconds(): number {
    return this.#maxInactiveSeconds;
  }
  /** The principal, including a change made in this request. */
  get principal(): Principal | null {
    return this.#principal;
  }
  /** How many attributes the session has now. */
  get size(): number {
    return this.#size;
  }
  /** True once {@link TrackedSession.invalidate} was called. */
  get invalidated(): boolean {
    return this.#state === 'invalidated';
  }

  #open(): void {
    if (this.#state !== 'open') {
      throw new SessionCodecError('INVALID_STATE', `session is ${this.#state}`, {
        expected: 'a session that is neither committed nor invalidated',
      });
    }
  }

  #checkName(name: string): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new SessionCodecError('INVALID_ARGUMENT', 'attribute name is invalid', {
        expected: 'a non-empty string',
      });
    }
    if (Buffer.byteLength(name, 'utf8') > this.#codec.limits.maxNameBytes) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `attribute name is longer than ${this.#codec.limits.maxNameBytes} bytes`,
        {
          path: name,
        },
      );
    }
  }

  /**
   * Reads an attribute. The first read decodes it; later reads return the same live object, so
   * in-place changes to it are seen at commit.
   *
   * @returns the value, or undefined when absent
   * @throws SessionCodecError if the stored bytes cannot be decoded (e.g. an unknown custom type)
   */
  get(name: string): unknown {
    this.#open();
    const entry = this.#entries.get(name);
    if (entry !== undefined) return entry.state === 'removed' ? undefined : entry.live;
    const base = this.#base.attributes.get(name);
    if (base === undefined) return undefined;
    const live = this.#codec.decode(base, name);
    this.#entries.set(name, { base, state: 'read', live, bytes: undefined });
    return live;
  }

  /** True when the attribute exists (without decoding it). */
  has(name: string): boolean {
    this.#open();
    const entry = this.#entries.get(name);
    return entry !== undefined ? entry.state !== 'removed' : this.#base.attributes.has(name);
  }

  /** The names of the attributes that exist now. */
  names(): string[] {
    this.#open();
    const names = new Set(this.#base.attributes.keys());
    for (const [name, entry] of this.#entries) {
      if (entry.state === 'removed') names.delete(name);
      else names.add(name);
    }
    return [...names];
  }

  /**
   * Sets an attribute. The value is validated and encoded now; setting `undefined` removes it.
   *
   * @throws SessionCodecError naming the path of a value that cannot be stored (e.g.
   *   `cart.items[3].price: function is not serializable`); the session is then unchanged
   */
  set(name: string, value: unknown): void {
    this.#open();
    if (value === undefined) {
      this.remove(name);
      return;
    }
    this.#checkName(name);
    const entry = this.#entries.get(name);
    const exists =
      entry !== undefined ? entry.state !== 'removed' : this.#base.attributes.has(name);
    if (!exists && this.#size >= this.#codec.limits.maxAttributes) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `session has ${this.#codec.limits.maxAttributes} attributes already`,
        {
          path: name,
        },
      );
    }
    const bytes = this.#codec.encode(value, name);
    if (!exists) this.#size++;
    if (entry !== undefined) {
      entry.state = 'set';
      entry.live = value;
      entry.bytes = bytes;
    } else {
      this.#entries.set(name, {
        base: this.#base.attributes.get(name),
        state: 'set',
        live: value,
        bytes,
      });
    }
  }

  /** Removes an attribute (no effect if absent). */
  remove(name: string): void {
    this.#open();
    const entry = this.#entries.get(name);
    if (entry !== undefined ? entry.state !== 'removed' : this.#base.attributes.has(name))
      this.#size--;
    if (entry !== undefined) {
      entry.state = 'removed';
      entry.live = undefined;
      entry.bytes = undefined;
    } else {
      this.#entries.set(name, {
        base: this.#base.attributes.get(name),
        state: 'removed',
        live: undefined,
        bytes: undefined,
      });
    }
  }

  /** Changes the idle timeout (seconds; negative = never expires). */
  setMaxInactive(seconds: number): void {
    this.#open();
    checkMaxInactive(seconds);
    this.#maxInactiveSeconds = seconds;
  }

  /** Sets (or with null, clears) the authenticated user. */
  setPrincipal(principal: Principal | null): void {
    this.#open();
    if (principal !== null) checkPrincipal(principal);
    const copy = principal === null ? null : { name: principal.name, authType: principal.authType };
    this.#principal = copy;
  }

  /**
   * Records an access at `at` (ms since the Unix epoch; the caller reads the clock). Whether a
   * request touches is the caller's policy (touches are usually batched).
   */
  touch(at: number): void {
    this.#open();
    if (!Number.isSafeInteger(at)) {
      throw new SessionCodecError('INVALID_ARGUMENT', 'touch time is invalid', {
        expected: 'an integer time in ms',
      });
    }
    this.#lastAccessedAt = at;
    this.#isNew = false;
    this.#touched = true;
  }

  /** Ends the session: the delta becomes a lone `invalidate`, and the view closes. */
  invalidate(): void {
    this.#open();
    this.#state = 'invalidated';
  }

  /**
   * The attributes as a property bag, for code written against `req.session.x`:
   * reading a property is {@link TrackedSession.get}, assigning is {@link TrackedSession.set}
   * (undefined removes), `delete` is {@link TrackedSession.remove}; `Object.keys` lists names.
   */
  get attributes(): Record<string, unknown> {
    this.#proxy ??= new Proxy(Object.create(null) as Record<string, unknown>, {
      get: (_t, prop) => (typeof prop === 'string' ? this.get(prop) : undefined),
      set: (_t, prop, value) => {
        if (typeof prop !== 'string') return false;
        this.set(prop, value);
        return true;
      },
      deleteProperty: (_t, prop) => {
        if (typeof prop === 'string') this.remove(prop);
        return true;
      },
      has: (_t, prop) => typeof prop === 'string' && this.has(prop),
      ownKeys: () => this.names(),
      getOwnPropertyDescriptor: (_t, prop) =>
        typeof prop === 'string' && this.has(prop)
          ? { value: this.get(prop), writable: true, enumerable: true, configurable: true }
          : undefined,
      defineProperty: () => false,
      setPrototypeOf: () => false,
    });
    return this.#proxy;
  }

  /**
   * Ends the request: compares what the application touched with the stored bytes and returns
   * the minimal delta. Only attributes that were read or set are encoded (again); values that
   * cannot be mutated in place (strings, numbers, ...) are not encoded at all.
   */
  commit(): CommitResult {
    if (this.#state === 'committed') {
      throw new SessionCodecError('INVALID_STATE', 'session is committed', {
        expected: 'one commit per request',
      });
    }
    const base = this.#base;
    if (this.#state === 'invalidated') {
      this.#state = 'committed';
      return { delta: createDelta(base.key, base.version, [{ op: 'invalidate' }]), errors: [] };
    }
    this.#state = 'committed';
    const ops: Op[] = [];
    const errors: SessionCodecError[] = [];
    for (const [name, entry] of this.#entries) {
      if (entry.state === 'removed') {
        if (entry.base !== undefined) ops.push({ op: 'remove', name });
        continue;
      }
      let bytes = entry.bytes ?? entry.base;
      const live = entry.live;
      if (typeof live === 'object' && live !== null) {
        try {
          bytes = this.#codec.encode(live, name);
        } catch (err) {
          if (!(err instanceof SessionCodecError)) throw err;
          errors.push(err);
          continue;
        }
      }
      if (bytes !== undefined && (entry.base === undefined || !bytesEqual(bytes, entry.base))) {
        ops.push({ op: 'set', name, value: bytes });
      }
    }
    if (this.#maxInactiveSeconds !== base.maxInactiveSeconds) {
      ops.push({ op: 'setMaxInactive', seconds: this.#maxInactiveSeconds });
    }
    if (!principalsEqual(this.#principal, base.principal))
      ops.push({ op: 'setPrincipal', principal: this.#principal });
    if (this.#touched) ops.push({ op: 'touch', at: this.#lastAccessedAt });
    if (ops.length === 0) return { delta: null, errors };
    return { delta: createDelta(base.key, base.version, ops), errors };
  }
}
