import { createDelta, type Delta, type Op } from './delta.js';
import { SessionCodecError } from './errors.js';
import { setOwn } from './path.js';
import { bytesEqual, checkSessionFields, type Session } from './session.js';
import { defaultValueCodec, type ValueCodec } from './value-codec.js';
import { INITIAL_VERSION, type Version } from './version.js';

/** The attribute that holds express-session's `cookie` object. */
export const COOKIE_ATTRIBUTE = 'cookie';

/** The fields of express-session's cookie that are stored (what its `Cookie#toJSON` writes, and two newer ones). */
export interface ExpressCookieData {
  originalMaxAge?: number | null;
  expires?: Date | string | null;
  secure?: boolean | 'auto';
  httpOnly?: boolean;
  domain?: string;
  path?: string;
  sameSite?: boolean | 'lax' | 'strict' | 'none';
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
}

/** The shape express-session hands to a store: attributes as own properties, plus `cookie`. */
export interface ExpressSessionData {
  cookie?: ExpressCookieData;
  [attribute: string]: unknown;
}

/** Options for reading an express-session object. */
export interface FromExpressOptions {
  /** The time of the write, ms since the Unix epoch (the caller reads the clock). */
  readonly now: number;
  /** The value codec. */
  readonly codec?: ValueCodec;
  /** Idle timeout when the cookie has no maxAge (a browser-session cookie); default 86 400 s. */
  readonly defaultMaxInactiveSeconds?: number;
  /** Version of the new state; default {@link INITIAL_VERSION}. */
  readonly version?: Version;
}

/** A session built from express-session data, and the attributes that could not be stored. */
export interface FromExpressResult {
  readonly session: Session;
  /** One error per attribute left out (each names its path); the rest were stored. */
  readonly errors: readonly SessionCodecError[];
}

/** A delta built from express-session data, and the attributes that could not be stored. */
export interface ExpressDeltaResult {
  /** The changes, or null when nothing changed. */
  readonly delta: Delta | null;
  /** One error per attribute left unchanged (each names its path). */
  readonly errors: readonly SessionCodecError[];
}

const COOKIE_FIELDS = [
  'originalMaxAge',
  'expires',
  'secure',
  'httpOnly',
  'domain',
  'path',
  'sameSite',
  'partitioned',
  'priority',
] as const;

/**
 * Copies the stored fields of express-session's cookie (a `Cookie` instance or a plain object)
 * into a plain object; `expires` becomes a Date (or null).
 */
function plainCookie(cookie: unknown): Record<string, unknown> {
  if (typeof cookie !== 'object' || cookie === null) {
    throw new SessionCodecError('INVALID_ARGUMENT', 'session cookie is not an object', {
      path: COOKIE_ATTRIBUTE,
      expected: "express-session's cookie object",
    });
  }
  const c = cookie as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of COOKIE_FIELDS) {
    const v = c[field];
    if (v === undefined) continue;
    if (field === 'expires' && v !== null) {
      const d = v instanceof Date ? new Date(v.getTime()) : new Date(v as string);
      if (Number.isNaN(d.getTime())) {
        throw new SessionCodecError('INVALID_ARGUMENT', 'cookie expires is not a date', {
          path: `${COOKIE_ATTRIBUTE}.expires`,
          expected: 'a Date or a date string',
        });
      }
      out[field] = d;
    } else {
      out[field] = v;
    }
  }
  return out;
}

function maxInactiveOf(data: ExpressSessionData, fallback: number): number {
  const ms = data.cookie?.originalMaxAge;
  return typeof ms === 'number' && Number.isFinite(ms)
    ? Math.max(0, Math.ceil(ms / 1000))
    : fallback;
}

/** Encodes each attribute of express-session data; a bad one is reported and left out. */
function encodeAll(
  data: ExpressSessionData,
  codec: ValueCodec,
): { attrs: Map<string, Uint8Array>; errors: SessionCodecError[]; failed: Set<string> } {
  if (typeof data !== 'object' || data === null) {
    throw new SessionCodecError('INVALID_ARGUMENT', 'session data is not an object', {
      expected: 'an object',
    });
  }
  const attrs = new Map<string, Uint8Array>();
  const errors: SessionCodecError[] = [];
  const failed = new Set<string>();
  for (const name of Object.keys(data).sort()) {
    const raw = data[name];
    if (raw === undefined) continue;
    try {
      const value = name === COOKIE_ATTRIBUTE ? plainCookie(raw) : raw;
      attrs.set(name, codec.encode(value, name));
    } catch (err) {
      if (!(err instanceof SessionCodecError)) throw err;
      errors.push(err);
      failed.add(name);
    }
  }
  if (attrs.size > codec.limits.maxAttributes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `session has ${attrs.size} attributes, more than ${codec.limits.maxAttributes}`,
    );
  }
  return { attrs, errors, failed };
}

/**
 * Builds a session from the object express-session passes to `store.set(sid, session)`. Own
 * enumerable properties become attributes (`cookie` included, as a plain object); the idle
 * timeout comes from `cookie.originalMaxAge`. Properties whose value is undefined are skipped,
 * as JSON would; an attribute that cannot be stored is reported in `errors` and left out.
 *
 * @param key - the session id without its route
 * @param data - express-session's session object
 * @param options - clock reading, codec, default timeout, version
 */
export function fromExpressSession(
  key: string,
  data: ExpressSessionData,
  options: FromExpressOptions,
): FromExpressResult {
  const codec = options.codec ?? defaultValueCodec;
  const { attrs, errors } = encodeAll(data, codec);
  const session: Session = {
    key,
    createdAt: options.now,
    lastAccessedAt: options.now,
    maxInactiveSeconds: maxInactiveOf(data, options.defaultMaxInactiveSeconds ?? 86_400),
    isNew: false,
    principal: null,
    attributes: attrs,
    version: options.version ?? INITIAL_VERSION,
  };
  checkSessionFields(session);
  return { session, errors };
}

/**
 * Turns a session into the object express-session expects from `store.get` (attributes as own
 * properties, `cookie` with `expires` as a Date, which express-session's `Store#createSession`
 * accepts). `__proto__` and `constructor` come back as plain own properties.
 *
 * @param session - the session
 * @param codec - the value codec
 * @throws SessionCodecError if a stored value cannot be decoded
 */
export function toExpressSession(
  session: Session,
  codec: ValueCodec = defaultValueCodec,
): ExpressSessionData {
  const out: Record<string, unknown> = {};
  for (const [name, bytes] of session.attributes) setOwn(out, name, codec.decode(bytes, name));
  return out as ExpressSessionData;
}

/**
 * Computes the per-attribute delta between a stored session and the object express-session
 * wants to save, so a store's `set` ships only what changed (and two requests that change
 * different attributes do not overwrite each other). Every attribute of `data` is encoded (the
 * express-session API hands over the whole object) and compared byte-for-byte.
 *
 * @param base - the stored session
 * @param data - express-session's session object
 * @param options - the codec, and `touchAt` to record an access in the same delta
 */
export function expressSessionDelta(
  base: Session,
  data: ExpressSessionData,
  options: {
    readonly codec?: ValueCodec;
    readonly touchAt?: number;
    readonly defaultMaxInactiveSeconds?: number;
  } = {},
): ExpressDeltaResult {
  const codec = options.codec ?? defaultValueCodec;
  const { attrs, errors, failed } = encodeAll(data, codec);
  const ops: Op[] = [];
  for (const [name, bytes] of attrs) {
    const old = base.attributes.get(name);
    if (old === undefined || !bytesEqual(old, bytes)) ops.push({ op: 'set', name, value: bytes });
  }
  for (const name of base.attributes.keys()) {
    if (!attrs.has(name) && !failed.has(name)) ops.push({ op: 'remove', name });
  }
  const seconds = maxInactiveOf(data, options.defaultMaxInactiveSeconds ?? base.maxInactiveSeconds);
  if (seconds !== base.maxInactiveSeconds) ops.push({ op: 'setMaxInactive', seconds });
  if (options.touchAt !== undefined) ops.push({ op: 'touch', at: options.touchAt });
  const delta = createDelta(base.key, base.version, ops);
  return { delta: delta.ops.length > 0 ? delta : null, errors };
}
