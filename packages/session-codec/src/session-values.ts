import { Buffer, isUtf8 } from 'node:buffer';
import { SessionCodecError } from './errors.js';
import { asciiSlice, utf8Slice } from './fast-buffer.js';
import { copyBytes, sameBytes, sharedKeyCache } from './key-cache.js';
import { sessionShapes } from './object-shapes.js';
import type { Principal, Session } from './session.js';
import { INITIAL_VERSION, type Version } from './version.js';
import { defaultValueCodec, type ValueCodec } from './value-codec.js';
import { ValueDecoder } from './value-decoder.js';
import { FORMAT_VERSION } from './wire.js';
import { TAG_LATIN1 } from './wire-tags.js';

/**
 * A whole session with every attribute decoded into a JavaScript value: what
 * {@link decodeSessionValues} returns, and what an express-session store's `get` hands back.
 */
export interface SessionValues extends Omit<Session, 'attributes'> {
  /** Attribute name → decoded value, as own enumerable properties (`__proto__` included). */
  readonly values: Record<string, unknown>;
}

/** Options of {@link decodeSessionValues}. */
export interface SessionValuesOptions {
  /** The codec whose limits and custom types apply. */
  readonly codec?: ValueCodec;
}

// Tags of the Session, Principal, Attribute and Version messages (field << 3 | wire type).
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const decoders = new WeakMap<ValueCodec, ValueDecoder>();

let lastCodec: ValueCodec | undefined;
let lastDecoder: ValueDecoder | undefined;

function decoderFor(codec: ValueCodec): ValueDecoder {
  let d = codec === lastCodec ? lastDecoder : decoders.get(codec);
  if (d === undefined) {
    d = new ValueDecoder(codec.limits, codec.types);
    decoders.set(codec, d);
  }
  lastCodec = codec;
  lastDecoder = d;
  // A custom type codec that decodes a session inside a session gets its own decoder.
  return d.busy ? new ValueDecoder(codec.limits, codec.types) : d;
}

/**
 * The attribute names of the last session decoded: the sessions of one application mostly have
 * the same names in the same order, so the name at each position is first compared with these
 * (no hashing, and the string is the one already used as a property key).
 */
let lastNames: readonly string[] = [];
/** The UTF-8 bytes of each of {@link lastNames}. */
let lastNameBytes: readonly Uint8Array[] = [];
/**
 * An array for the decoded values, reused from one session to the next (the object built from
 * it copies them, and it is emptied after), or undefined while a decode uses it.
 */
let spareValues: unknown[] | undefined = [];
/**
 * The list of names {@link lastFactory} was looked up for: {@link lastNames} itself while the
 * names repeat (that array is never changed once it is {@link lastNames}).
 */
let namesOfFactory: readonly string[] | undefined;
/** The compiled object factory of {@link namesOfFactory}, once it has one. */
let lastFactory: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
/** Frozen placeholders for the name lists of a decode whose names repeat (never pushed to). */
const NO_NAMES = Object.freeze([]) as unknown as string[];
const NO_NAME_BYTES = Object.freeze([]) as unknown as Uint8Array[];
/** True when {@link lastNames} is in strictly increasing order. */
let lastNamesSorted = true;

/**
 * A one-pass reader of a `Session` message that decodes every attribute value in place: no
 * protobufjs message objects, no Buffer views, no Map of encoded values. Strings that are ASCII
 * are cut from one Latin-1 decoding of the whole message.
 */
class SessionReader {
  readonly #buf: Buffer;
  readonly #text: string;
  readonly #codec: ValueCodec;
  #pos = 0;

  constructor(buf: Buffer, codec: ValueCodec) {
    this.#buf = buf;
    this.#codec = codec;
    this.#text = asciiSlice(buf, 0, buf.byteLength);
  }

  #malformed(problem: string, expected: string, at = this.#pos): never {
    throw new SessionCodecError('MALFORMED', `Session is not a valid message: ${problem}`, {
      offset: at,
      expected,
    });
  }

  /** High 32 bits of the last varint read. */
  #hi = 0;

  /**
   * A varint of up to 10 bytes: returns its low 32 bits and leaves the high ones in #hi
   * (protobuf's rules: longer values are truncated to 64 bits).
   */
  #varint(end: number): number {
    const buf = this.#buf;
    const start = this.#pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= end) this.#malformed('truncated varint', 'more bytes', start);
      const b = buf[this.#pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) {
        this.#hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    return this.#malformed('varint too long', 'at most 10 bytes', start);
  }

  /** A varint read as a length, with the field checked to fit before `end`; returns its end. */
  #length(end: number): number {
    const buf = this.#buf;
    let len: number;
    const p = this.#pos;
    if (p < end && buf[p] < 0x80) {
      len = buf[p];
      this.#pos = p + 1;
    } else if (p + 2 < end && buf[p + 1] < 0x80) {
      len = (buf[p] & 0x7f) | (buf[p + 1] << 7);
      this.#pos = p + 2;
    } else {
      const lo = this.#varint(end);
      len = this.#hi === 0 ? lo : Infinity;
    }
    if (len > end - this.#pos) {
      this.#malformed(`length ${len} runs past the end`, `at most ${end - this.#pos} bytes`);
    }
    return this.#pos + len;
  }

  /** A signed (int64) or unsigned (uint64) 64-bit field as a safe integer. */
  #int64(end: number, field: string, signed: boolean): number {
    const at = this.#pos;
    // A value below 2^49 in at most 7 bytes (times, versions): the same number signed or not.
    const buf = this.#buf;
    let n = 0;
    let scale = 1;
    for (let p = at; p < end && p < at + 7; p++) {
      const b = buf[p];
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.#pos = p + 1;
        return n;
      }
      scale *= 128;
    }
    const lo = this.#varint(end);
    const hi = this.#hi;
    n =
      signed && hi >= 0x80000000
        ? -((~hi >>> 0) * 4294967296 + (~lo >>> 0) + 1)
        : hi * 4294967296 + lo;
    if (!Number.isSafeInteger(n))
      this.#malformed(`${field} is not a safe integer`, '|n| < 2^53', at);
    return n;
  }

  #string(end: number, what: string): string {
    const start = this.#pos;
    const buf = this.#buf;
    let any = 0;
    for (let i = start; i < end; i++) any |= buf[i];
    this.#pos = end;
    if (any < 0x80) return this.#text.slice(start, end);
    const s = utf8Slice(buf, start, end);
    if (s.includes('\ufffd') && !isUtf8(buf.subarray(start, end))) {
      this.#malformed(`${what} is not valid UTF-8`, 'UTF-8 text', start);
    }
    return s;
  }

  /** Skips a field of an unknown number (protobuf requires readers to accept them). */
  #skip(wire: number, end: number, tagAt: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.#varint(end);
        return;
      case WIRE_FIXED64:
        if (end - this.#pos < 8) this.#malformed('truncated fixed64', '8 bytes');
        this.#pos += 8;
        return;
      case WIRE_LEN:
        this.#pos = this.#length(end);
        return;
      case WIRE_FIXED32:
        if (end - this.#pos < 4) this.#malformed('truncated fixed32', '4 bytes');
        this.#pos += 4;
        return;
      default:
        this.#malformed(`wire type ${wire}`, 'wire type 0, 1, 2 or 5 (no groups)', tagAt);
    }
  }

  /** Reads a field tag (field number << 3 | wire type). */
  #tag(end: number): number {
    const at = this.#pos;
    const b = this.#buf[at];
    let tag: number;
    if (b < 0x80) {
      this.#pos++;
      tag = b;
    } else {
      const lo = this.#varint(end);
      if (this.#hi !== 0) this.#malformed('invalid field tag', 'a field number below 2^29', at);
      tag = lo;
    }
    if (tag >>> 3 === 0) this.#malformed('field number 0', 'a field number of 1 or more', at);
    return tag;
  }

  #expectWire(wire: number, expected: number, field: string, at: number): void {
    if (wire !== expected) {
      this.#malformed(`${field} has wire type ${wire}`, `wire type ${expected}`, at);
    }
  }

  read(): SessionValues {
    const decoder = decoderFor(this.#codec);
    decoder.beginMessage(this.#buf, this.#text);
    try {
      return this.#read(decoder);
    } finally {
      decoder.endMessage();
    }
  }

  #read(decoder: ValueDecoder): SessionValues {
    const buf = this.#buf;
    const end = buf.byteLength;
    const limits = this.#codec.limits;
    // While the names are the last session's they are not collected again: lastNames holds them.
    // (no arrays are made for them until a name differs: both are replaced before any push)
    let names: string[] = NO_NAMES;
    let bytesOfNames: Uint8Array[] = NO_NAME_BYTES;
    const decoded: unknown[] = spareValues ?? [];
    spareValues = undefined;
    let seen: Set<string> | undefined;
    let format = 0;
    let key = '';
    let createdAt = 0;
    let lastAccessedAt = 0;
    let maxInactiveSeconds = 0;
    let isNew = false;
    let principal: Principal | null = null;
    let version: Version = INITIAL_VERSION;
    let count = 0;
    let previous = '';
    // True while the names equal the last session's, position by position.
    let matched = true;
    // Once the names differ from the last session's: true while they are strictly increasing.
    let sorted = true;
    const text = this.#text;
    const maxNameBytes = limits.maxNameBytes;
    const maxValueBytes = limits.maxValueBytes;
    const maxAttributes = Math.min(limits.maxAttributes, lastNames.length);
    // The head as the encoder writes it (format 1, a key shorter than 128 bytes, then the two
    // times): read in order with no tag dispatch. The loop below reads the rest, and would read
    // these fields the same way (a field written again later still wins).
    if (buf[0] === 0x08 && buf[1] === FORMAT_VERSION && buf[2] === 0x12) {
      const keyEnd = 4 + buf[3];
      if (buf[3] < 0x80 && keyEnd < end) {
        format = FORMAT_VERSION;
        this.#pos = 4;
        key = this.#string(keyEnd, 'key');
        if (buf[keyEnd] === 0x18) {
          this.#pos = keyEnd + 1;
          createdAt = this.#int64(end, 'createdAt', true);
          if (buf[this.#pos] === 0x20) {
            this.#pos++;
            lastAccessedAt = this.#int64(end, 'lastAccessedAt', true);
          }
        }
      }
    }
    while (this.#pos < end) {
      // A run of attributes as the encoder writes them, with the names of the last session at
      // the same places (so unique, UTF-8, and no order to check): read with no tag dispatch.
      // The first attribute that is anything else goes through the general code below.
      let p = this.#pos;
      while (matched && buf[p] === 0x42 && count < maxAttributes) {
        let q = p + 1;
        let attrLen = buf[q++];
        if (attrLen >= 0x80) {
          const b = buf[q++];
          if (b >= 0x80 || b === 0) break;
          attrLen = (attrLen & 0x7f) | (b << 7);
        }
        const attrEnd = q + attrLen;
        const nameLen = buf[q + 1];
        if (attrEnd > end || buf[q] !== 0x0a || nameLen >= 0x80 || nameLen > maxNameBytes) break;
        const name = lastNames[count];
        const nameEnd = q + 2 + nameLen;
        const known = lastNameBytes[count];
        if (!sameBytes(known, buf, q + 2, nameEnd) || buf[nameEnd] !== 0x12) break;
        let r = nameEnd + 1;
        let valueLen = buf[r++];
        if (valueLen >= 0x80) {
          const b = buf[r++];
          if (b >= 0x80 || b === 0) break;
          valueLen = (valueLen & 0x7f) | (b << 7);
        }
        if (valueLen === 0 || r + valueLen !== attrEnd || valueLen > maxValueBytes) break;
        const n = buf[r + 1];
        decoded[count] =
          buf[r] === TAG_LATIN1 && n < 0x80 && r + 2 + n === attrEnd
            ? text.slice(r + 2, attrEnd)
            : decoder.decodeRange(r, attrEnd, name);
        previous = name;
        count++;
        p = attrEnd;
      }
      this.#pos = p;
      if (p >= end) break;
      const at = this.#pos;
      const tag = this.#tag(end);
      const wire = tag & 7;
      switch (tag >>> 3) {
        case 1:
          this.#expectWire(wire, WIRE_VARINT, 'format', at);
          format = this.#varint(end);
          if (format !== FORMAT_VERSION) {
            throw new SessionCodecError('UNSUPPORTED_FORMAT', `Session has format ${format}`, {
              expected: `format ${FORMAT_VERSION}`,
            });
          }
          break;
        case 2:
          this.#expectWire(wire, WIRE_LEN, 'key', at);
          key = this.#string(this.#length(end), 'key');
          break;
        case 3:
          this.#expectWire(wire, WIRE_VARINT, 'created_at', at);
          createdAt = this.#int64(end, 'createdAt', true);
          break;
        case 4:
          this.#expectWire(wire, WIRE_VARINT, 'last_accessed_at', at);
          lastAccessedAt = this.#int64(end, 'lastAccessedAt', true);
          break;
        case 5:
          this.#expectWire(wire, WIRE_VARINT, 'max_inactive', at);
          maxInactiveSeconds = this.#varint(end) | 0;
          break;
        case 6:
          this.#expectWire(wire, WIRE_VARINT, 'is_new', at);
          isNew = this.#varint(end) !== 0;
          break;
        case 7:
          this.#expectWire(wire, WIRE_LEN, 'principal', at);
          principal = this.#principal(this.#length(end));
          break;
        case 8: {
          this.#expectWire(wire, WIRE_LEN, 'attributes', at);
          if (count === limits.maxAttributes) {
            throw new SessionCodecError(
              'LIMIT_EXCEEDED',
              `session has more than ${limits.maxAttributes} attributes`,
              { offset: at },
            );
          }
          const attrEnd = this.#length(end);
          let nameStart = -1;
          let nameEnd = -1;
          let valueStart = -1;
          let valueEnd = -1;
          // What the encoder writes: name (length < 128), then value (length < 2^14), nothing
          // else. Read it with no tag dispatch; anything else takes the general loop below.
          const p = this.#pos;
          const nameLen = buf[p + 1];
          const valueTag = p + 2 + nameLen;
          if (
            buf[p] === 0x0a &&
            nameLen < 0x80 &&
            valueTag + 2 < attrEnd &&
            buf[valueTag] === 0x12
          ) {
            const b1 = buf[valueTag + 1];
            const b2 = buf[valueTag + 2];
            const vStart = b1 < 0x80 ? valueTag + 2 : valueTag + 3;
            const vLen = b1 < 0x80 ? b1 : (b1 & 0x7f) | (b2 << 7);
            if ((b1 < 0x80 || b2 < 0x80) && vStart + vLen === attrEnd) {
              nameStart = p + 2;
              nameEnd = valueTag;
              valueStart = vStart;
              valueEnd = attrEnd;
              this.#pos = attrEnd;
            }
          }
          while (this.#pos < attrEnd) {
            const fAt = this.#pos;
            const t = this.#tag(attrEnd);
            const f = t >>> 3;
            const w = t & 7;
            if (f === 1 || f === 2) {
              this.#expectWire(w, WIRE_LEN, f === 1 ? 'Attribute.name' : 'Attribute.value', fAt);
              const fEnd = this.#length(attrEnd);
              if (f === 1) {
                nameStart = this.#pos;
                nameEnd = fEnd;
                // a name written twice: the last wins, but each must be text (as protobuf reads it)
                this.#string(fEnd, 'attribute name');
              } else {
                valueStart = this.#pos;
                valueEnd = fEnd;
              }
              this.#pos = fEnd;
            } else {
              this.#skip(w, attrEnd, fAt);
            }
          }
          if (nameEnd <= nameStart) {
            this.#malformed('attribute without a name', 'a non-empty attribute name', at);
          }
          if (nameEnd - nameStart > limits.maxNameBytes) {
            throw new SessionCodecError(
              'LIMIT_EXCEEDED',
              `attribute name longer than ${limits.maxNameBytes} bytes`,
              { offset: nameStart },
            );
          }
          this.#pos = nameStart;
          const guess = lastNames[count];
          const guessBytes = lastNameBytes[count];
          const same = guess !== undefined && sameBytes(guessBytes, buf, nameStart, nameEnd);
          const cached = same ? undefined : sharedKeyCache.get(buf, nameStart, nameEnd, this.#text);
          const name = same ? guess : (cached ?? this.#string(nameEnd, 'attribute name'));
          if (matched && name === guess) {
            // The same names as the last session so far, which were unique: nothing to check.
          } else {
            if (matched) {
              // The first name that differs: the ones before it were in order if the last
              // session's were (or if there is at most one).
              matched = false;
              sorted = count <= 1 || lastNamesSorted;
              names = lastNames.slice(0, count);
              bytesOfNames = lastNameBytes.slice(0, count);
            }
            if (seen === undefined && sorted && previous < name) {
              // Still in the encoder's order, hence unique.
            } else {
              // Out of the encoder's order: still accepted, if unique.
              sorted = false;
              seen ??= new Set(names);
              if (seen.has(name)) {
                this.#malformed(`attribute ${name} appears twice`, 'unique attribute names', at);
              }
              seen.add(name);
            }
          }
          if (valueEnd <= valueStart) {
            this.#malformed(`attribute ${name} has no value`, 'an encoded Value', at);
          }
          if (valueEnd - valueStart > limits.maxValueBytes) {
            throw new SessionCodecError(
              'LIMIT_EXCEEDED',
              `value is larger than ${limits.maxValueBytes} bytes`,
              { path: name, offset: valueStart },
            );
          }
          if (!matched) {
            names.push(name);
            bytesOfNames.push(
              same
                ? guessBytes
                : cached !== undefined
                  ? (sharedKeyCache.lastBytes as Uint8Array)
                  : copyBytes(buf, nameStart, nameEnd),
            );
          }
          // A Latin-1 string with a one-byte length, the common attribute, is cut here.
          decoded[count] =
            buf[valueStart] === TAG_LATIN1 &&
            buf[valueStart + 1] < 0x80 &&
            valueStart + 2 + buf[valueStart + 1] === valueEnd
              ? this.#text.slice(valueStart + 2, valueEnd)
              : decoder.decodeRange(valueStart, valueEnd, name);
          previous = name;
          count++;
          this.#pos = attrEnd;
          break;
        }
        case 9:
          this.#expectWire(wire, WIRE_LEN, 'version', at);
          version = this.#version(this.#length(end));
          break;
        default:
          this.#skip(wire, end, at);
      }
    }
    if (format !== FORMAT_VERSION) {
      throw new SessionCodecError('UNSUPPORTED_FORMAT', `Session has format ${format}`, {
        expected: `format ${FORMAT_VERSION}`,
      });
    }
    if (key === '') this.#malformed('Session without a key', 'a non-empty key', 0);
    if (!matched) {
      lastNames = names;
      lastNameBytes = bytesOfNames;
    } else if (count !== lastNames.length) {
      lastNames = lastNames.slice(0, count);
      lastNameBytes = lastNameBytes.slice(0, count);
    }
    lastNamesSorted = matched ? lastNamesSorted || count <= 1 : sorted;
    let values: Record<string, unknown>;
    if (lastNames === namesOfFactory && lastFactory !== undefined) {
      values = lastFactory(decoded);
    } else {
      values = sessionShapes.build(lastNames, decoded);
      namesOfFactory = lastNames;
      lastFactory = sessionShapes.factoryOf(lastNames);
    }
    for (let i = 0; i < count; i++) decoded[i] = undefined;
    spareValues = decoded;
    return {
      key,
      createdAt,
      lastAccessedAt,
      maxInactiveSeconds,
      isNew,
      principal,
      version,
      values,
    };
  }

  #principal(end: number): Principal {
    let name = '';
    let authType = '';
    const at = this.#pos;
    while (this.#pos < end) {
      const fAt = this.#pos;
      const t = this.#tag(end);
      const f = t >>> 3;
      const w = t & 7;
      if (f === 1 || f === 2) {
        this.#expectWire(w, WIRE_LEN, f === 1 ? 'Principal.name' : 'Principal.auth_type', fAt);
        const s = this.#string(this.#length(end), 'principal');
        if (f === 1) name = s;
        else authType = s;
      } else {
        this.#skip(w, end, fAt);
      }
    }
    if (name === '') this.#malformed('principal without a name', 'a non-empty principal name', at);
    return { name, authType };
  }

  #version(end: number): Version {
    let epoch = 0;
    let seq = 0;
    while (this.#pos < end) {
      const fAt = this.#pos;
      const t = this.#tag(end);
      const f = t >>> 3;
      const w = t & 7;
      if (f === 1 || f === 2) {
        this.#expectWire(w, WIRE_VARINT, f === 1 ? 'Version.epoch' : 'Version.seq', fAt);
        const n = this.#int64(end, f === 1 ? 'version.epoch' : 'version.seq', false);
        if (f === 1) epoch = n;
        else seq = n;
      } else {
        this.#skip(w, end, fAt);
      }
    }
    return { epoch, seq };
  }
}

/**
 * Decodes a `Session` message and every attribute value in one pass: the full decode, for a
 * reader that needs all of a session at once (an express-session store's `get`, a debugging
 * dump). It checks what {@link decodeSession} with `verifyValues` checks, and returns the values
 * instead of their encoded bytes. ASCII strings of 13 characters or more share memory with one
 * Latin-1 copy of the message text (V8 sliced strings), which stays alive while any of them does.
 *
 * To read a few attributes, {@link decodeSession} and {@link readAttribute} decode only those.
 *
 * @param bytes - the message
 * @param options - the codec whose limits and custom types apply
 * @throws SessionCodecError MALFORMED (with the byte offset, and the attribute path for a bad
 *   value), UNSUPPORTED_FORMAT, LIMIT_EXCEEDED, UNKNOWN_TYPE, CUSTOM_CODEC_FAILED
 */
export function decodeSessionValues(
  bytes: Uint8Array,
  options: SessionValuesOptions = {},
): SessionValues {
  const codec = options.codec ?? defaultValueCodec;
  if (!(bytes instanceof Uint8Array)) {
    throw new SessionCodecError('INVALID_ARGUMENT', 'Session input is not bytes', {
      expected: 'a Uint8Array',
    });
  }
  if (bytes.byteLength > codec.limits.maxEnvelopeBytes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `Session is larger than ${codec.limits.maxEnvelopeBytes} bytes`,
      { offset: 0 },
    );
  }
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new SessionReader(buf, codec).read();
}
