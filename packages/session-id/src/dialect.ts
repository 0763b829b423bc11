/** A session id taken apart: the key that names the data, and the route that names its server. */
export interface ParsedSessionId {
  /** The session key: the part session nodes store the data under; it never changes. */
  readonly key: string;
  /** The route (Tomcat `jvmRoute`, mod_jk worker name), or `undefined` when the id carries none. */
  readonly route: string | undefined;
  /** memcached-session-manager's store node id (`n1` in `<key>-n1.<route>`), when present. */
  readonly storeNode?: string;
}

/** Why a string is not a session id of a dialect, or why a request carries no usable session id. */
export type NoSessionReason =
  /** The request carries no session id under any configured name. */
  | 'absent'
  /** The value was empty. */
  | 'empty'
  /** The value was longer than `maxLength`. */
  | 'too-long'
  /** The value held a character outside the allowed set (control characters, `%`, spaces, …). */
  | 'bad-character'
  /** A route separator was present but the route after it was empty. */
  | 'empty-route'
  /** The key before the route separator was empty. */
  | 'empty-key'
  /** The id did not have the shape of the dialect (e.g. a Resin owner index outside the cluster). */
  | 'bad-format'
  /** A signed cookie (express-session `s:<value>.<sig>`) whose signature did not verify. */
  | 'bad-signature'
  /** A signed cookie was expected but the value was not signed, or its percent-encoding was broken. */
  | 'not-signed'
  /** The Cookie header was longer than `maxHeaderLength`; it was not scanned. */
  | 'header-too-long';

/** The result of parsing: the parts, or the reason the string is not a valid id. */
export type ParseResult =
  | ({ readonly ok: true } & ParsedSessionId)
  | { readonly ok: false; readonly reason: NoSessionReason };

/**
 * A session-id dialect: how a key and a route are put together in one string, and taken apart.
 * `parse(format(x))` gives back `x` for every valid `x`.
 */
export interface SessionIdDialect {
  /** The dialect's name, for logs and configuration (`tomcat`, `msm`, `resin`). */
  readonly name: string;
  /** Joins a key and a route into an id. Throws `SessionIdError` on an invalid key or route. */
  format(parts: ParsedSessionId): string;
  /** Takes an id apart. Never throws; an invalid id gives `{ ok: false, reason }`. */
  parse(id: string): ParseResult;
  /** The same id with another route (re-pinning after failover); the key is unchanged. */
  withRoute(id: string, route: string): string;
}
