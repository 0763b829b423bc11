import { Buffer } from 'node:buffer';
import { SessionCodecError } from './errors.js';
import { setOwn } from './path.js';
import { checkVersion, INITIAL_VERSION, type Version } from './version.js';
import { defaultValueCodec, type ValueCodec } from './value-codec.js';

/** The authenticated user of a session. */
export interface Principal {
  /** The user name (non-empty). */
  readonly name: string;
  /** How the user authenticated (`FORM`, `BASIC`, `oidc`, ...); may be empty. */
  readonly authType: string;
}

/**
 * A session as stored and replicated. Immutable: changes produce a new object (see
 * {@link applyDelta} and {@link TrackedSession}). Attribute values are kept encoded, so a session
 * node can hold and forward a session without decoding attributes, and a client decodes only the
 * attributes it reads.
 */
export interface Session {
  /** The session id without its route suffix. */
  readonly key: string;
  /** Creation time, ms since the Unix epoch, as the creator's clock read it. */
  readonly createdAt: number;
  /** Last access, ms since the Unix epoch, as the last toucher's clock read it. */
  readonly lastAccessedAt: number;
  /** Idle seconds before the session expires; negative means never. */
  readonly maxInactiveSeconds: number;
  /** True until the first request after the one that created it (cleared by a touch). */
  readonly isNew: boolean;
  /** The authenticated user, or null. */
  readonly principal: Principal | null;
  /** Attribute name → encoded value (bytes of a `Value` message). */
  readonly attributes: ReadonlyMap<string, Uint8Array>;
  /** The version its owner assigned to this state. */
  readonly version: Version;
}

/** What {@link createSession} needs. */
export interface NewSession {
  /** The session id without its route. */
  readonly key: string;
  /** The creation time, ms since the Unix epoch (the caller reads the clock). */
  readonly now: number;
  /** Idle seconds before expiry; negative means never. */
  readonly maxInactiveSeconds: number;
  /** Initial attributes, encoded with `codec`. */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** The authenticated user. */
  readonly principal?: Principal | null;
  /** The version of the new state; {@link INITIAL_VERSION} when absent. */
  readonly version?: Version;
}

/**
 * Checks the non-attribute fields of a session.
 *
 * @throws SessionCodecError INVALID_ARGUMENT naming the bad field
 */
export function checkSessionFields(s: Omit<Session, 'attributes'>): void {
  const bad = (field: string, expected: string): never => {
    throw new SessionCodecError('INVALID_ARGUMENT', `session ${field} is invalid`, { expected });
  };
  if (typeof s.key !== 'string' || s.key.length === 0) bad('key', 'a non-empty string');
  if (!Number.isSafeInteger(s.createdAt)) bad('createdAt', 'an integer number of ms');
  if (!Number.isSafeInteger(s.lastAccessedAt)) bad('lastAccessedAt', 'an integer number of ms');
  checkMaxInactive(s.maxInactiveSeconds);
  if (typeof s.isNew !== 'boolean') bad('isNew', 'a boolean');
  if (s.principal !== null) checkPrincipal(s.principal);
  checkVersion(s.version, 'session version');
}

/** @throws SessionCodecError INVALID_ARGUMENT unless `seconds` is an int32. */
export function checkMaxInactive(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < -(2 ** 31) || seconds >= 2 ** 31) {
    throw new SessionCodecError('INVALID_ARGUMENT', 'maxInactiveSeconds is invalid', {
      expected: 'an integer number of seconds (negative = never expires) within int32',
    });
  }
}

/** @throws SessionCodecError INVALID_ARGUMENT unless `p` is a principal with a non-empty name. */
export function checkPrincipal(p: Principal): void {
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.name !== 'string' ||
    p.name === '' ||
    typeof p.authType !== 'string'
  ) {
    throw new SessionCodecError('INVALID_ARGUMENT', 'principal is invalid', {
      expected: '{ name: non-empty string, authType: string }',
    });
  }
}

/**
 * Creates a new session (isNew = true, lastAccessedAt = createdAt = now).
 *
 * @param init - key, time, timeout and optional attributes, principal and version
 * @param codec - the value codec for the attributes
 * @throws SessionCodecError for an invalid field or attribute value (with its path)
 */
export function createSession(init: NewSession, codec: ValueCodec = defaultValueCodec): Session {
  const attributes = new Map<string, Uint8Array>();
  for (const name of Object.keys(init.attributes ?? {}).sort()) {
    const value = init.attributes![name];
    if (value !== undefined) attributes.set(name, codec.encode(value, name));
  }
  const session: Session = {
    key: init.key,
    createdAt: init.now,
    lastAccessedAt: init.now,
    maxInactiveSeconds: init.maxInactiveSeconds,
    isNew: true,
    principal: init.principal ?? null,
    attributes,
    version: init.version ?? INITIAL_VERSION,
  };
  checkSessionFields(session);
  return session;
}

/**
 * Decodes one attribute of a session (and only that one).
 *
 * @param session - the session
 * @param name - the attribute name
 * @param codec - the value codec
 * @returns the value, or undefined when the attribute is absent
 * @throws SessionCodecError if the stored bytes are malformed
 */
export function readAttribute(
  session: Session,
  name: string,
  codec: ValueCodec = defaultValueCodec,
): unknown {
  const bytes = session.attributes.get(name);
  return bytes === undefined ? undefined : codec.decode(bytes, name);
}

/**
 * Decodes every attribute into a plain object (own properties only; `__proto__` is a plain key).
 *
 * @param session - the session
 * @param codec - the value codec
 */
export function readAttributes(
  session: Session,
  codec: ValueCodec = defaultValueCodec,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, bytes] of session.attributes) {
    setOwn(out, name, codec.decode(bytes, name));
  }
  return out;
}

/** Byte-wise equality of two encoded values. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  const n = a.byteLength;
  if (n !== b.byteLength) return false;
  // Long values: native comparison (both are Buffers when they come from this package's codecs).
  if (n > 32 && Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when two principals are equal (both null, or same name and auth type). */
export function principalsEqual(a: Principal | null, b: Principal | null): boolean {
  return a === b || (a !== null && b !== null && a.name === b.name && a.authType === b.authType);
}

/**
 * True when two sessions hold the same state, including the version.
 */
export function sessionsEqual(a: Session, b: Session): boolean {
  if (
    a.key !== b.key ||
    a.createdAt !== b.createdAt ||
    a.lastAccessedAt !== b.lastAccessedAt ||
    a.maxInactiveSeconds !== b.maxInactiveSeconds ||
    a.isNew !== b.isNew ||
    !principalsEqual(a.principal, b.principal) ||
    a.version.epoch !== b.version.epoch ||
    a.version.seq !== b.version.seq ||
    a.attributes.size !== b.attributes.size
  ) {
    return false;
  }
  for (const [name, bytes] of a.attributes) {
    const other = b.attributes.get(name);
    if (other === undefined || !bytesEqual(bytes, other)) return false;
  }
  return true;
}
