import { Buffer } from 'node:buffer';
import { SessionCodecError } from './errors.js';
import { formatPath, setOwn, type PathSegment } from './path.js';
import { checkSessionFields, type Principal, type Session } from './session.js';
import { defaultValueCodec, type ValueCodec } from './value-codec.js';
import { FORMAT_VERSION } from './wire.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The JSON form of a session, see {@link sessionToJson}. */
export interface SessionJson {
  readonly format: number;
  readonly key: string;
  readonly createdAt: number;
  readonly lastAccessedAt: number;
  readonly maxInactiveSeconds: number;
  readonly isNew: boolean;
  readonly principal: Principal | null;
  readonly version: { readonly epoch: number; readonly seq: number };
  /** Attribute name → tagged JSON value. */
  readonly attributes: { readonly [name: string]: Json };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Converts a storable value to tagged JSON. Values JSON cannot hold become one-key objects:
 * `{"$bigint":"12"}`, `{"$bytes":"<base64>"}`, `{"$date":"<ISO 8601>"}` (`null` for an invalid
 * Date), `{"$double":"NaN"|"Infinity"|"-Infinity"|"-0"}`, `{"$type":"Money","value":...}`;
 * a plain object with a key starting with `$` is wrapped as `{"$object":{...}}`.
 *
 * @param value - a value the codec accepts
 * @param codec - for registered custom types
 * @param name - the attribute name for error paths
 * @throws SessionCodecError for a value the codec would refuse
 */
export function valueToJson(
  value: unknown,
  codec: ValueCodec = defaultValueCodec,
  name = 'value',
): Json {
  // Validate (types, cycles, limits) with the binary codec first: the walk below can then trust it.
  codec.encode(value, name);
  return toJson(value, codec);
}

function toJson(value: unknown, codec: ValueCodec): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { $double: Object.is(value, -0) ? '-0' : String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    default:
      break;
  }
  if (value === null) return null;
  const obj = value as object;
  if (Array.isArray(obj)) return obj.map((v) => toJson(v, codec));
  if (isPlainObject(obj)) {
    const out: { [key: string]: Json } = {};
    let escape = false;
    for (const key of Object.keys(obj).sort()) {
      const v = (obj as Record<string, unknown>)[key];
      if (v === undefined) continue;
      if (key.startsWith('$')) escape = true;
      setOwn(out, key, toJson(v, codec));
    }
    return escape ? { $object: out } : out;
  }
  const custom = codec.types.forPrototype(Object.getPrototypeOf(obj) as object);
  if (custom !== undefined) return { $type: custom.name, value: toJson(custom.encode(obj), codec) };
  if (obj instanceof Uint8Array)
    return { $bytes: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64') };
  const time = (obj as Date).getTime();
  return { $date: Number.isNaN(time) ? null : (obj as Date).toISOString() };
}

class JsonReader {
  readonly #codec: ValueCodec;
  readonly #path: PathSegment[];

  constructor(codec: ValueCodec, name: string) {
    this.#codec = codec;
    this.#path = [name];
  }

  fail(problem: string, expected: string): never {
    throw new SessionCodecError('MALFORMED', problem, { path: formatPath(this.#path), expected });
  }

  read(json: unknown, depth: number): unknown {
    switch (typeof json) {
      case 'string':
      case 'boolean':
        return json;
      case 'number':
        return json;
      case 'object':
        break;
      default:
        return this.fail(`${typeof json} is not JSON`, 'a JSON value');
    }
    if (json === null) return null;
    if (depth >= this.#codec.limits.maxDepth) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `nesting deeper than ${this.#codec.limits.maxDepth} levels`,
        {
          path: formatPath(this.#path),
        },
      );
    }
    if (Array.isArray(json)) {
      return json.map((item: unknown, i) => {
        this.#path.push(i);
        const v = this.read(item, depth + 1);
        this.#path.pop();
        return v;
      });
    }
    const obj = json as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.some((k) => k.startsWith('$'))) return this.#tagged(obj, keys, depth);
    return this.#object(obj, keys, depth);
  }

  #object(obj: Record<string, unknown>, keys: string[], depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      this.#path.push(key);
      setOwn(out, key, this.read(obj[key], depth + 1));
      this.#path.pop();
    }
    return out;
  }

  #tagged(obj: Record<string, unknown>, keys: string[], depth: number): unknown {
    const tag = keys.find((k) => k.startsWith('$'))!;
    const v = obj[tag];
    const one = keys.length === 1;
    if (
      one &&
      tag === '$bigint' &&
      typeof v === 'string' &&
      /^-?(?:0|[1-9][0-9]*)$/.test(v) &&
      v !== '-0'
    ) {
      return BigInt(v);
    }
    if (one && tag === '$bytes' && typeof v === 'string' && BASE64.test(v))
      return Buffer.from(v, 'base64');
    if (one && tag === '$date' && v === null) return new Date(Number.NaN);
    if (one && tag === '$date' && typeof v === 'string') {
      const d = new Date(v);
      if (!Number.isNaN(d.getTime()) && d.toISOString() === v) return d;
    }
    if (one && tag === '$double' && typeof v === 'string') {
      if (v === 'NaN') return Number.NaN;
      if (v === 'Infinity') return Number.POSITIVE_INFINITY;
      if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
      if (v === '-0') return -0;
    }
    if (one && tag === '$object' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      return this.#object(v as Record<string, unknown>, Object.keys(v), depth);
    }
    if (keys.length === 2 && tag === '$type' && keys.includes('value') && typeof v === 'string') {
      const codec = this.#codec.types.forName(v);
      if (codec === undefined) {
        throw new SessionCodecError('UNKNOWN_TYPE', `no type codec registered for "${v}"`, {
          path: formatPath(this.#path),
          expected: 'a registered type name',
        });
      }
      this.#path.push({ type: v });
      const plain = this.read(obj.value, depth + 1);
      this.#path.pop();
      try {
        return codec.decode(plain);
      } catch (cause) {
        throw new SessionCodecError('CUSTOM_CODEC_FAILED', `type codec ${v} failed to decode`, {
          path: formatPath(this.#path),
          cause,
        });
      }
    }
    return this.fail(
      `object with key ${JSON.stringify(tag)} is not a valid tagged value`,
      '{"$bigint"}, {"$bytes"}, {"$date"}, {"$double"}, {"$object"} or {"$type","value"} with a valid payload',
    );
  }
}

/**
 * Converts tagged JSON (see {@link valueToJson}) back to a value.
 *
 * @param json - the tagged JSON (already parsed)
 * @param codec - for custom types and limits
 * @param name - the attribute name for error paths
 * @throws SessionCodecError MALFORMED naming the path of a bad tag, or any error of
 *   {@link ValueCodec.encode} for a value over the limits
 */
export function valueFromJson(
  json: unknown,
  codec: ValueCodec = defaultValueCodec,
  name = 'value',
): unknown {
  return new JsonReader(codec, name).read(json, 0);
}

/**
 * Converts a session to JSON for debugging and interop. Attributes are decoded and written as
 * tagged JSON; one that cannot be decoded here (e.g. its custom type is not registered in this
 * process) is written as `{"$encoded":"<base64 of its bytes>"}` and round-trips unchanged.
 *
 * @param session - the session
 * @param codec - for custom types
 */
export function sessionToJson(
  session: Session,
  codec: ValueCodec = defaultValueCodec,
): SessionJson {
  const attributes: { [name: string]: Json } = {};
  for (const name of [...session.attributes.keys()].sort()) {
    const bytes = session.attributes.get(name)!;
    let json: Json;
    try {
      json = toJson(codec.decode(bytes, name), codec);
    } catch (err) {
      if (!(err instanceof SessionCodecError)) throw err;
      json = { $encoded: Buffer.from(bytes).toString('base64') };
    }
    setOwn(attributes, name, json);
  }
  return {
    format: FORMAT_VERSION,
    key: session.key,
    createdAt: session.createdAt,
    lastAccessedAt: session.lastAccessedAt,
    maxInactiveSeconds: session.maxInactiveSeconds,
    isNew: session.isNew,
    principal:
      session.principal === null
        ? null
        : { name: session.principal.name, authType: session.principal.authType },
    version: { epoch: session.version.epoch, seq: session.version.seq },
    attributes,
  };
}

/**
 * Reads the JSON form of a session (parsed object or text).
 *
 * @param input - a {@link SessionJson} object, or its JSON text
 * @param codec - for custom types and limits
 * @throws SessionCodecError MALFORMED (naming the field or attribute path), UNSUPPORTED_FORMAT,
 *   LIMIT_EXCEEDED, INVALID_ARGUMENT
 */
export function sessionFromJson(input: unknown, codec: ValueCodec = defaultValueCodec): Session {
  let json = input;
  if (typeof input === 'string') {
    if (input.length > codec.limits.maxEnvelopeBytes) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `session JSON is longer than ${codec.limits.maxEnvelopeBytes} characters`,
      );
    }
    try {
      json = JSON.parse(input) as unknown;
    } catch (cause) {
      throw new SessionCodecError(
        'MALFORMED',
        `session JSON does not parse: ${(cause as Error).message}`,
        {
          expected: 'JSON text',
          cause,
        },
      );
    }
  }
  const bad = (field: string, expected: string): never => {
    throw new SessionCodecError('MALFORMED', `session JSON field ${field} is invalid`, {
      expected,
    });
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return bad('(root)', 'an object');
  const j = json as Record<string, unknown>;
  if (j.format !== FORMAT_VERSION) {
    throw new SessionCodecError(
      'UNSUPPORTED_FORMAT',
      `session JSON has format ${String(j.format)}`,
      {
        expected: `format ${FORMAT_VERSION}`,
      },
    );
  }
  const attrs = j.attributes;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs))
    return bad('attributes', 'an object');
  const names = Object.keys(attrs);
  if (names.length > codec.limits.maxAttributes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `session has ${names.length} attributes, more than ${codec.limits.maxAttributes}`,
    );
  }
  const attributes = new Map<string, Uint8Array>();
  for (const name of names.sort()) {
    if (name === '') bad('attributes', 'non-empty attribute names');
    const value = (attrs as Record<string, unknown>)[name];
    const keys = typeof value === 'object' && value !== null ? Object.keys(value) : [];
    if (keys.length === 1 && keys[0] === '$encoded') {
      const b64 = (value as { $encoded: unknown }).$encoded;
      if (typeof b64 !== 'string' || !BASE64.test(b64) || b64.length === 0) {
        throw new SessionCodecError('MALFORMED', '$encoded is not base64', {
          path: name,
          expected: 'base64 text',
        });
      }
      attributes.set(name, Buffer.from(b64, 'base64'));
    } else {
      attributes.set(name, codec.encode(valueFromJson(value, codec, name), name));
    }
  }
  const p = j.principal;
  let principal: Principal | null = null;
  if (p !== null && p !== undefined) {
    if (typeof p !== 'object') bad('principal', 'null or { name, authType }');
    const pr = p as Record<string, unknown>;
    principal = { name: pr.name as string, authType: (pr.authType ?? '') as string };
  }
  const v = j.version as Record<string, unknown> | undefined;
  if (typeof v !== 'object' || v === null) bad('version', '{ epoch, seq }');
  const session: Session = {
    key: j.key as string,
    createdAt: j.createdAt as number,
    lastAccessedAt: j.lastAccessedAt as number,
    maxInactiveSeconds: j.maxInactiveSeconds as number,
    isNew: j.isNew as boolean,
    principal,
    attributes,
    version: { epoch: v!.epoch as number, seq: v!.seq as number },
  };
  checkSessionFields(session);
  return session;
}

/** {@link sessionToJson} as text. */
export function stringifySession(session: Session, codec: ValueCodec = defaultValueCodec): string {
  return JSON.stringify(sessionToJson(session, codec));
}
