import type { Principal, Session } from '@cohort/session-codec';
import { SessionBackendError } from './errors.js';

/**
 * The Redis layout of one session: one hash, one key per session (so every command and script
 * touches one cluster slot). Fields:
 *
 * | field | holds |
 * |---|---|
 * | `v` | version: the number of writes (decimal) |
 * | `c`, `a` | createdAt, lastAccessedAt (ms, decimal) |
 * | `t` | maxInactiveSeconds (decimal; negative = never expires) |
 * | `n` | isNew (`1` or `0`) |
 * | `p` | principal as JSON `[name, authType]` (absent: none) |
 * | `q` | the last write's request id and the version it made (`<id> <v>`) |
 * | `@<name>` | one attribute's encoded value (the bytes of `@cohort/session-codec`'s Value) |
 */
export const FIELD = {
  version: 'v',
  createdAt: 'c',
  lastAccessedAt: 'a',
  maxInactive: 't',
  isNew: 'n',
  principal: 'p',
  lastRequest: 'q',
} as const;

/** Prefix of attribute fields. */
export const ATTRIBUTE_PREFIX = '@';
const AT = 0x40;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function corrupt(what: string): never {
  throw new SessionBackendError('CORRUPT', `stored session hash: ${what}`);
}

function integer(b: Buffer, field: string, min: number, max: number): number {
  const s = b.toString('latin1');
  if (!/^-?(0|[1-9][0-9]{0,15})$/.test(s)) corrupt(`field ${field} is not a decimal integer`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) corrupt(`field ${field} is out of range`);
  return n;
}

/** Formats a principal for the `p` field. */
export function encodePrincipal(p: Principal): string {
  return JSON.stringify([p.name, p.authType]);
}

function principalOf(b: Buffer): Principal {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(b));
  } catch {
    return corrupt('field p is not JSON text');
  }
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    typeof v[0] !== 'string' ||
    v[0] === '' ||
    typeof v[1] !== 'string'
  ) {
    corrupt('field p is not [name, authType]');
  }
  return { name: (v as string[])[0]!, authType: (v as string[])[1]! };
}

/**
 * Reads the reply of `HGETALL` (a flat array `[field, value, …]` of Buffers) into a session.
 * Attribute values stay encoded (checked when a request reads them).
 *
 * @param key - the session key (not in the hash)
 * @param reply - the raw reply
 * @returns the session, or null for an empty reply (no such key)
 * @throws SessionBackendError CORRUPT naming the field (never a value or the key)
 */
export function decodeSessionHash(key: string, reply: unknown): Session | null {
  if (!Array.isArray(reply)) corrupt('reply is not an array');
  const list = reply as unknown[];
  if (list.length === 0) return null;
  if (list.length % 2 !== 0) corrupt('reply has an odd number of items');
  let version: number | undefined;
  let createdAt: number | undefined;
  let lastAccessedAt: number | undefined;
  let maxInactive: number | undefined;
  let isNew: boolean | undefined;
  let principal: Principal | null = null;
  const attributes = new Map<string, Uint8Array>();
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i += 2) {
    const f = list[i];
    const v = list[i + 1];
    if (!Buffer.isBuffer(f) || !Buffer.isBuffer(v)) corrupt(`item ${i} is not bytes`);
    const fb = f as Buffer;
    const vb = v as Buffer;
    if (fb.length > 0 && fb[0] === AT) {
      let name: string;
      try {
        name = utf8.decode(fb.subarray(1));
      } catch {
        return corrupt(`attribute field ${i / 2} is not UTF-8`);
      }
      if (name === '') corrupt('attribute with an empty name');
      if (attributes.has(name)) corrupt('attribute field repeated');
      attributes.set(name, vb);
      continue;
    }
    const field = fb.toString('latin1');
    if (seen.has(field)) corrupt(`field ${field.slice(0, 8)} repeated`);
    seen.add(field);
    switch (field) {
      case FIELD.version:
        version = integer(vb, field, 0, Number.MAX_SAFE_INTEGER);
        break;
      case FIELD.createdAt:
        createdAt = integer(vb, field, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        break;
      case FIELD.lastAccessedAt:
        lastAccessedAt = integer(vb, field, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        break;
      case FIELD.maxInactive:
        maxInactive = integer(vb, field, -(2 ** 31), 2 ** 31 - 1);
        break;
      case FIELD.isNew: {
        const s = vb.toString('latin1');
        if (s !== '0' && s !== '1') corrupt('field n is not 0 or 1');
        isNew = s === '1';
        break;
      }
      case FIELD.principal:
        principal = principalOf(vb);
        break;
      case FIELD.lastRequest:
        break;
      default:
        corrupt(`unknown field ${JSON.stringify(field.slice(0, 8))}`);
    }
  }
  if (version === undefined) corrupt('field v is missing');
  if (createdAt === undefined) corrupt('field c is missing');
  if (lastAccessedAt === undefined) corrupt('field a is missing');
  if (maxInactive === undefined) corrupt('field t is missing');
  if (isNew === undefined) corrupt('field n is missing');
  return {
    key,
    createdAt: createdAt!,
    lastAccessedAt: lastAccessedAt!,
    maxInactiveSeconds: maxInactive!,
    isNew: isNew!,
    principal,
    attributes,
    version: { epoch: 0, seq: version! },
  };
}
