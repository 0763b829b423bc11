import protobuf from 'protobufjs/minimal.js';
import { cohort } from '../gen/session.js';
import type { Delta, Op } from './delta.js';
import { checkOp } from './delta.js';
import { SessionCodecError } from './errors.js';
import { checkSessionFields, type Principal, type Session } from './session.js';
import { defaultValueCodec, type ValueCodec } from './value-codec.js';
import { checkVersion, type Version } from './version.js';

const pb = cohort.session.v1;

let writer: protobuf.Writer | undefined;

/**
 * One protobufjs writer reused by every encode: its buffer keeps the size it grew to, so an
 * encode does not pay for growing it again; `finish()` copies the bytes out. Encoding is
 * synchronous, so sharing is safe.
 */
function sharedWriter(): protobuf.Writer {
  writer ??= protobuf.Writer.create();
  const w = writer as unknown as { pos: number; states: number[] | null; buf: Uint8Array };
  w.pos = 0;
  w.states = null;
  // Do not keep a very large buffer alive after encoding one huge session.
  if (w.buf.byteLength > 1024 * 1024) writer = protobuf.Writer.create();
  return writer;
}

/** The format version written in every Session and Delta message, and the only one read. */
export const FORMAT_VERSION = 1;

/** Options for decoding sessions and deltas. */
export interface WireDecodeOptions {
  /** The codec whose limits apply (and whose types are used when verifying values). */
  readonly codec?: ValueCodec;
  /**
   * Also decode every attribute value once to check it (default false: a node can hold and
   * forward values without decoding them; a reader gets a typed error when it reads a bad one).
   */
  readonly verifyValues?: boolean;
}

interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
}

function malformed(problem: string, offset?: number, expected?: string): SessionCodecError {
  return new SessionCodecError('MALFORMED', problem, { offset, expected });
}

/** Converts a protobufjs 64-bit field (number or Long) to a safe integer, or throws. */
function toSafe(v: number | LongLike | null | undefined, field: string): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw malformed(`${field} is not a safe integer`);
    return v;
  }
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  const n = high * 4294967296 + (v.low >>> 0);
  if (!Number.isSafeInteger(n))
    throw malformed(`${field} is outside the safe integer range`, undefined, '|n| < 2^53');
  return n;
}

function decodeMessage<T>(
  bytes: Uint8Array,
  what: string,
  codec: ValueCodec,
  decode: (r: protobuf.Reader) => T,
): T {
  if (!(bytes instanceof Uint8Array)) {
    throw new SessionCodecError('INVALID_ARGUMENT', `${what} input is not bytes`, {
      expected: 'a Uint8Array',
    });
  }
  if (bytes.byteLength > codec.limits.maxEnvelopeBytes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `${what} is larger than ${codec.limits.maxEnvelopeBytes} bytes`,
      {
        offset: 0,
      },
    );
  }
  const reader = protobuf.Reader.create(bytes);
  try {
    return decode(reader);
  } catch (cause) {
    throw new SessionCodecError(
      'MALFORMED',
      `${what} is not a valid message: ${(cause as Error).message}`,
      {
        offset: reader.pos,
        expected: `a ${what} message of proto/session.proto`,
        cause,
      },
    );
  }
}

function checkFormat(format: number | null | undefined, what: string): void {
  if ((format ?? 0) !== FORMAT_VERSION) {
    throw new SessionCodecError('UNSUPPORTED_FORMAT', `${what} has format ${format ?? 0}`, {
      expected: `format ${FORMAT_VERSION}`,
    });
  }
}

function toVersion(
  v: { epoch?: number | LongLike | null; seq?: number | LongLike | null } | null | undefined,
): Version {
  return { epoch: toSafe(v?.epoch, 'version.epoch'), seq: toSafe(v?.seq, 'version.seq') };
}

function toPrincipal(
  p: { name?: string | null; authType?: string | null } | null | undefined,
): Principal | null {
  if (p === null || p === undefined) return null;
  if (!p.name) throw malformed('principal without a name', undefined, 'a non-empty principal name');
  return { name: p.name, authType: p.authType ?? '' };
}

function checkValueBytes(
  name: string,
  value: Uint8Array | null | undefined,
  codec: ValueCodec,
  verify: boolean,
): Uint8Array {
  if (!value || value.byteLength === 0)
    throw malformed(`attribute ${name} has no value`, undefined, 'an encoded Value');
  if (value.byteLength > codec.limits.maxValueBytes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `value is larger than ${codec.limits.maxValueBytes} bytes`,
      { path: name },
    );
  }
  if (verify) codec.decode(value, name);
  return value;
}

function checkName(name: string | null | undefined, codec: ValueCodec): string {
  if (!name) throw malformed('attribute without a name', undefined, 'a non-empty attribute name');
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: count only when it could matter.
  if (
    name.length * 3 > codec.limits.maxNameBytes &&
    Buffer.byteLength(name, 'utf8') > codec.limits.maxNameBytes
  ) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `attribute name longer than ${codec.limits.maxNameBytes} bytes`,
    );
  }
  return name;
}

/**
 * Encodes a session as a `Session` message. Deterministic: attributes are written sorted by name,
 * so equal sessions give equal bytes.
 *
 * @param session - the session
 * @throws SessionCodecError INVALID_ARGUMENT for an invalid field
 */
export function encodeSession(session: Session): Uint8Array {
  checkSessionFields(session);
  const names = [...session.attributes.keys()].sort();
  const attributes = names.map((name) => ({ name, value: session.attributes.get(name)! }));
  return pb.Session.encode(
    {
      format: FORMAT_VERSION,
      key: session.key,
      createdAt: session.createdAt,
      lastAccessedAt: session.lastAccessedAt,
      maxInactive: session.maxInactiveSeconds,
      isNew: session.isNew,
      principal:
        session.principal === null
          ? null
          : { name: session.principal.name, authType: session.principal.authType },
      attributes,
      version: { epoch: session.version.epoch, seq: session.version.seq },
    },
    sharedWriter(),
  ).finish();
}

/**
 * Decodes a `Session` message. Attribute values stay encoded (see {@link readAttribute}); when the
 * input is a Buffer they are views into it, so the caller must not reuse the input's memory.
 *
 * @param bytes - the message
 * @param options - limits, and whether to verify every value
 * @throws SessionCodecError MALFORMED (with the byte offset), UNSUPPORTED_FORMAT, LIMIT_EXCEEDED
 */
export function decodeSession(bytes: Uint8Array, options: WireDecodeOptions = {}): Session {
  const codec = options.codec ?? defaultValueCodec;
  const m = decodeMessage(bytes, 'Session', codec, (r) => pb.Session.decode(r));
  checkFormat(m.format, 'Session');
  if (!m.key) throw malformed('Session without a key', undefined, 'a non-empty key');
  const list = m.attributes ?? [];
  if (list.length > codec.limits.maxAttributes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `session has ${list.length} attributes, more than ${codec.limits.maxAttributes}`,
    );
  }
  const attributes = new Map<string, Uint8Array>();
  for (const a of list) {
    const name = checkName(a.name, codec);
    if (attributes.has(name))
      throw malformed(`attribute ${name} appears twice`, undefined, 'unique attribute names');
    attributes.set(name, checkValueBytes(name, a.value, codec, options.verifyValues === true));
  }
  const session: Session = {
    key: m.key,
    createdAt: toSafe(m.createdAt, 'createdAt'),
    lastAccessedAt: toSafe(m.lastAccessedAt, 'lastAccessedAt'),
    maxInactiveSeconds: m.maxInactive ?? 0,
    isNew: m.isNew ?? false,
    principal: toPrincipal(m.principal),
    attributes,
    version: toVersion(m.version),
  };
  return session;
}

function opToMessage(op: Op): cohort.session.v1.Op.$Properties {
  switch (op.op) {
    case 'set':
      return { set: { name: op.name, value: op.value } };
    case 'remove':
      return { remove: op.name };
    case 'setMaxInactive':
      return { setMaxInactive: op.seconds };
    case 'setPrincipal':
      return {
        setPrincipal: {
          principal:
            op.principal === null
              ? null
              : { name: op.principal.name, authType: op.principal.authType },
        },
      };
    case 'touch':
      return { touch: op.at };
    case 'invalidate':
      return { invalidate: true };
  }
}

/**
 * Encodes a delta as a `Delta` message (ops in the delta's order, which {@link createDelta} makes
 * canonical).
 *
 * @param delta - the delta
 * @throws SessionCodecError INVALID_ARGUMENT for an invalid key, version or op
 */
export function encodeDelta(delta: Delta): Uint8Array {
  if (typeof delta.key !== 'string' || delta.key === '') {
    throw new SessionCodecError('INVALID_ARGUMENT', 'delta key is invalid', {
      expected: 'a non-empty string',
    });
  }
  checkVersion(delta.base, 'delta base');
  const ops = delta.ops.map((op) => {
    checkOp(op);
    return opToMessage(op);
  });
  return pb.Delta.encode(
    {
      format: FORMAT_VERSION,
      key: delta.key,
      base: { epoch: delta.base.epoch, seq: delta.base.seq },
      ops,
    },
    sharedWriter(),
  ).finish();
}

function messageToOp(
  m: cohort.session.v1.Op.$Properties,
  index: number,
  codec: ValueCodec,
  verify: boolean,
): Op {
  // protobufjs keeps the last member of a oneof, as protobuf requires; an op with none is refused.
  switch (m.kind) {
    case 'set': {
      const name = checkName(m.set!.name, codec);
      return { op: 'set', name, value: checkValueBytes(name, m.set!.value, codec, verify) };
    }
    case 'remove':
      return { op: 'remove', name: checkName(m.remove, codec) };
    case 'setMaxInactive':
      return { op: 'setMaxInactive', seconds: m.setMaxInactive! };
    case 'setPrincipal':
      return { op: 'setPrincipal', principal: toPrincipal(m.setPrincipal!.principal) };
    case 'touch':
      return { op: 'touch', at: toSafe(m.touch, 'touch') };
    case 'invalidate':
      if (m.invalidate !== true) throw malformed(`op ${index}: invalidate is not true`);
      return { op: 'invalidate' };
    default:
      throw malformed(
        `op ${index} has no kind`,
        undefined,
        'one of set, remove, setMaxInactive, setPrincipal, touch, invalidate',
      );
  }
}

/**
 * Decodes a `Delta` message. Values stay encoded (views into a Buffer input, as for
 * {@link decodeSession}).
 *
 * @param bytes - the message
 * @param options - limits, and whether to verify every value
 * @throws SessionCodecError MALFORMED (with the byte offset), UNSUPPORTED_FORMAT, LIMIT_EXCEEDED
 */
export function decodeDelta(bytes: Uint8Array, options: WireDecodeOptions = {}): Delta {
  const codec = options.codec ?? defaultValueCodec;
  const m = decodeMessage(bytes, 'Delta', codec, (r) => pb.Delta.decode(r));
  checkFormat(m.format, 'Delta');
  if (!m.key) throw malformed('Delta without a key', undefined, 'a non-empty key');
  const list = m.ops ?? [];
  if (list.length > codec.limits.maxOps) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `delta has ${list.length} ops, more than ${codec.limits.maxOps}`,
    );
  }
  const verify = options.verifyValues === true;
  const ops = list.map((op, i) => messageToOp(op, i, codec, verify));
  return { key: m.key, base: toVersion(m.base), ops };
}
