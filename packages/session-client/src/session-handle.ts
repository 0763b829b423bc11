import type { Principal, TrackedSession, Version } from '@cohort/session-codec';

/**
 * The session of one request (`req.sessionHandle`): its id and metadata, the attribute methods,
 * and the whole-session operations. `req.session` is `attributes`, for express-session-style
 * property access (`req.session.user = 'ann'`).
 */
export class SessionHandle {
  readonly #tracked: TrackedSession;
  #id: string;
  #key: string;
  #route: string;
  #isNew: boolean;
  #destroyed = false;
  #regenerated = false;
  readonly #newKey: () => string;
  readonly #formatId: (key: string) => string;

  /** @internal built by the middleware */
  constructor(
    tracked: TrackedSession,
    route: string,
    isNew: boolean,
    newKey: () => string,
    formatId: (key: string) => string,
  ) {
    this.#tracked = tracked;
    this.#key = tracked.key;
    this.#route = route;
    this.#isNew = isNew;
    this.#newKey = newKey;
    this.#formatId = formatId;
    this.#id = formatId(this.#key);
  }

  /** The session id as the cookie carries it: `<key>.<route>` (the route of this instance). */
  get id(): string {
    return this.#id;
  }
  /** The key: what the session is stored under. */
  get key(): string {
    return this.#key;
  }
  /** The route in the id: this instance's. */
  get route(): string {
    return this.#route;
  }
  /** True when the session was created by this request (it is stored only if something is set). */
  get isNew(): boolean {
    return this.#isNew;
  }
  /** The stored version this request started from. */
  get version(): Version {
    return this.#tracked.version;
  }
  /** Creation time (ms since the Unix epoch). */
  get createdAt(): number {
    return this.#tracked.createdAt;
  }
  /** Idle timeout in seconds (negative: never). */
  get maxInactiveSeconds(): number {
    return this.#tracked.maxInactiveSeconds;
  }
  /** The authenticated user, or null. */
  get principal(): Principal | null {
    return this.#tracked.principal;
  }
  /** True after {@link SessionHandle.destroy}. */
  get destroyed(): boolean {
    return this.#destroyed;
  }
  /** True after {@link SessionHandle.regenerate}. */
  get regenerated(): boolean {
    return this.#regenerated;
  }
  /** The tracked view (for the middleware). @internal */
  get tracked(): TrackedSession {
    return this.#tracked;
  }

  /** The attributes as properties (reads decode on first access; writes are validated at once). */
  get attributes(): Record<string, unknown> {
    return this.#tracked.attributes;
  }
  /** Reads an attribute (undefined when absent). */
  get(name: string): unknown {
    return this.#tracked.get(name);
  }
  /**
   * Sets an attribute; `undefined` removes it.
   *
   * @throws SessionCodecError for a value that cannot be stored (naming its path); nothing changed
   */
  set(name: string, value: unknown): void {
    this.#tracked.set(name, value);
  }
  /** Removes an attribute. */
  remove(name: string): void {
    this.#tracked.remove(name);
  }
  /** True when the attribute exists. */
  has(name: string): boolean {
    return this.#tracked.has(name);
  }
  /** The attribute names. */
  names(): string[] {
    return this.#tracked.names();
  }
  /** Changes the idle timeout (seconds; negative: never expires). */
  setMaxInactive(seconds: number): void {
    this.#tracked.setMaxInactive(seconds);
  }
  /** Sets or clears the authenticated user. */
  setPrincipal(principal: Principal | null): void {
    this.#tracked.setPrincipal(principal);
  }

  /**
   * Gives the session a new key (after a login, against session fixation), keeping its
   * attributes: at the end of the request the state is stored under the new key, the old one is
   * destroyed, and the cookie carries the new id. `id` and `key` change at once.
   */
  regenerate(): void {
    if (this.#destroyed) return;
    this.#regenerated = true;
    this.#key = this.#newKey();
    this.#id = this.#formatId(this.#key);
  }

  /**
   * Ends the session: it is destroyed in the store at the end of the request and the cookie is
   * cleared. Attribute access afterwards throws (`INVALID_STATE`).
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#tracked.invalidate();
  }
}
