import { Buffer, isUtf8 } from 'node:buffer';
import { SessionCodecError } from './errors.js';
import { asciiSlice, EMPTY_BUFFER, utf8Slice } from './fast-buffer.js';
import { sameAscii, sameBytes, sharedKeyCache } from './key-cache.js';
import { isLatin1 } from './latin1.js';
import { valueShapes } from './object-shapes.js';
import type { Limits } from './limits.js';
import { formatPath, setOwn, type PathSegment } from './path.js';
import type { TypeRegistry } from './type-registry.js';
import {
  CANONICAL_NAN,
  TAG_BIGINT,
  TAG_BOOL,
  TAG_BYTES,
  TAG_CUSTOM,
  TAG_DATE,
  TAG_DOUBLE,
  TAG_FIRST_LEN,
  TAG_INT,
  TAG_LATIN1,
  TAG_LIST,
  TAG_NULL,
  TAG_SECOND_LEN,
  TAG_STRING,
  TAG_STRUCT,
} from './wire-tags.js';

/** How many key positions of objects remember their last key. */
const KEY_GUESSES = 16;
const BIGINT_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const scratchF64 = new Float64Array(1);
const scratchU8 = new Uint8Array(scratchF64.buffer);

/**
 * Decodes the canonical bytes of a `Value` message back into a value. Strict: anything the
 * encoder would not have written (unknown fields, extra fields, non-minimal varints, unsorted or
 * duplicate object keys, non-canonical numbers, invalid UTF-8) is refused with a typed error, so
 * decoding then encoding gives back the same bytes. Limits bound depth, item counts and size.
 */
export class ValueDecoder {
  readonly #limits: Limits;
  readonly #types: TypeRegistry;
  #buf: Buffer = EMPTY_BUFFER;
  #pos = 0;
  #base = 0;
  /**
   * The path of the value being read is `#path[0, #pathLength)`: set by index, never pushed and
   * popped (V8 shrinks an array's storage on pop, so a push/pop pair per nested value would
   * allocate every time).
   */
  #path: PathSegment[] = [''];
  #pathLength = 1;
  /** Latin-1 text of #buf from offset 0 (one char per byte), when decoding a range of a message. */
  #text: string | undefined;
  /** 32-bit words over #buf's memory, made on the first long string of a range decode. */
  #words: Int32Array | undefined;
  #busy = false;
  /** Arrays for the values of objects being read, one per depth, emptied after each use. */
  readonly #spare: unknown[][] = [];
  /** The key met at each position of the last objects decoded (objects repeat their keys). */
  readonly #keyGuess: (string | undefined)[] = new Array<string | undefined>(KEY_GUESSES).fill(
    undefined,
  );

  /**
   * @param limits - size and shape limits
   * @param types - the registered application classes
   */
  constructor(limits: Limits, types: TypeRegistry) {
    this.#limits = limits;
    this.#types = types;
  }

  /**
   * Decodes one value.
   *
   * @param bytes - the bytes of one `Value` message
   * @param name - the attribute name, used as the first path segment of errors
   * @param baseOffset - offset of `bytes` in a larger input, added to offsets in errors
   * @throws SessionCodecError on malformed bytes or a limit passed
   */
  decode(bytes: Uint8Array, name: string, baseOffset = 0): unknown {
    if (bytes.byteLength > this.#limits.maxValueBytes) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `value is larger than ${this.#limits.maxValueBytes} bytes`,
        { path: name, offset: baseOffset },
      );
    }
    this.#buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = 0;
    this.#base = baseOffset;
    this.#path[0] = name;
    this.#pathLength = 1;
    if (bytes[0] === TAG_LATIN1 || bytes[0] === TAG_STRING) {
      // The common case of a top-level string, without the general dispatch.
      const fast = this.#topLevelString(bytes.byteLength);
      if (fast !== undefined) return fast;
    }
    try {
      return this.#value(bytes.byteLength, 0);
    } finally {
      this.#buf = EMPTY_BUFFER;
    }
  }

  /** True between {@link ValueDecoder.beginMessage} and {@link ValueDecoder.endMessage}. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Starts decoding values that lie inside one larger message, without views of them (see
   * {@link ValueDecoder.decodeRange}); {@link ValueDecoder.endMessage} must follow.
   *
   * @param buf - the whole message
   * @param text - `buf` decoded as Latin-1 from offset 0 (one character per byte, so byte
   *   offsets are string offsets)
   */
  beginMessage(buf: Buffer, text: string): void {
    this.#busy = true;
    this.#buf = buf;
    this.#text = text;
    this.#base = 0;
  }

  /** Ends a {@link ValueDecoder.beginMessage}, dropping every reference to the message. */
  endMessage(): void {
    this.#buf = EMPTY_BUFFER;
    this.#text = undefined;
    this.#words = undefined;
    this.#busy = false;
  }

  /**
   * Decodes the value at `[start, end)` of the message given to
   * {@link ValueDecoder.beginMessage}. ASCII strings are cut from the message's Latin-1 text: a
   * substring costs no native call. Error offsets are offsets in the message. The caller checks
   * the value's size against the limits.
   *
   * @param start - where the value starts
   * @param end - where it ends
   * @param name - the attribute name, the first segment of any error path
   * @throws SessionCodecError on malformed bytes or a limit passed
   */
  decodeRange(start: number, end: number, name: string): unknown {
    const buf = this.#buf;
    // The common attribute, a Latin-1 string shorter than 2^14 bytes, without the general
    // dispatch: its bytes are its characters, cut from the message's Latin-1 text unchecked.
    if (buf[start] === TAG_LATIN1 && end - start > 1) {
      const b1 = buf[start + 1];
      const b2 = buf[start + 2];
      const at = b1 < 0x80 ? start + 2 : b2 < 0x80 && b2 !== 0 ? start + 3 : -1;
      const len = b1 < 0x80 ? b1 : (b1 & 0x7f) | (b2 << 7);
      if (at > 0 && at + len === end) return (this.#text as string).slice(at, end);
    }
    this.#pos = start;
    this.#path[0] = name;
    this.#pathLength = 1;
    // An object with a one-byte length (express-session's cookie) of a compiled shape: read
    // without the general dispatch; anything else, from the start again, by #value.
    if (buf[start] === TAG_STRUCT && buf[start + 1] < 0x80 && start + 2 + buf[start + 1] === end) {
      this.#enter(0);
      this.#pos = start + 2;
      const known = this.#knownStruct(end, 0);
      if (known !== undefined) return known;
      this.#pos = start;
    }
    return this.#value(end, 0);
  }

  /** True when every byte of #buf in `[start, end)` is below 0x80. */
  #isAscii(start: number, end: number): boolean {
    const buf = this.#buf;
    let i = start;
    if (end - start >= 128) {
      // Four bytes at a time through aligned 32-bit words of the same memory.
      let words = this.#words;
      if (words === undefined) {
        // reset by endMessage: within one message the memory does not change
        words = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
        this.#words = words;
      }
      const offset = buf.byteOffset;
      while (((offset + i) & 3) !== 0) if (buf[i++] >= 0x80) return false;
      const wordEnd = (offset + end) >>> 2;
      let w = (offset + i) >>> 2;
      let any = 0;
      for (; w + 4 <= wordEnd; w += 4) any |= words[w] | words[w + 1] | words[w + 2] | words[w + 3];
      for (; w < wordEnd; w++) any |= words[w];
      if ((any & 0x80808080) !== 0) return false;
      i = (w << 2) - offset;
    }
    let any = 0;
    for (; i < end; i++) any |= buf[i];
    return any < 0x80;
  }

  /** A whole value that is one short-prefixed string; undefined to take the general path. */
  #topLevelString(end: number): string | undefined {
    const buf = this.#buf;
    let len: number;
    let start: number;
    if (buf[1] < 0x80) {
      len = buf[1];
      start = 2;
    } else if (buf[2] < 0x80 && buf[2] !== 0) {
      len = (buf[1] & 0x7f) | (buf[2] << 7);
      start = 3;
    } else {
      return undefined;
    }
    if (start + len !== end) return undefined;
    if (buf[0] === TAG_LATIN1) {
      this.#buf = EMPTY_BUFFER;
      return asciiSlice(buf, start, end);
    }
    const s = utf8Slice(buf, start, end);
    // Invalid UTF-8 (it decodes to U+FFFD) or Latin-1 text: let the general path report it.
    if (s.includes('\ufffd') && !isUtf8(buf.subarray(start, end))) return undefined;
    if (isLatin1(s)) return undefined;
    this.#buf = EMPTY_BUFFER;
    return s;
  }

  #malformed(problem: string, expected: string, at = this.#pos): never {
    throw new SessionCodecError('MALFORMED', problem, {
      path: formatPath(this.#path, this.#pathLength),
      offset: this.#base + at,
      expected,
    });
  }

  /** Reads a varint below 2^32 (lengths, booleans), minimal form only. */
  #varint32(end: number): number {
    const buf = this.#buf;
    const start = this.#pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.#pos >= end) this.#malformed('truncated varint', 'more bytes', start);
      const b = buf[this.#pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (b === 0 && i > 0) this.#malformed('non-minimal varint', 'the shortest encoding', start);
        if (result > 0xffffffff) this.#malformed('varint too large', 'a value below 2^32', start);
        return result;
      }
      shift += 7;
    }
    return this.#malformed('varint too long', 'at most 5 bytes for a 32-bit value', start);
  }

  /** Reads a length prefix and checks it fits before `end`; returns the end of the field. */
  #length(end: number): number {
    const p = this.#pos;
    let len: number;
    if (p < end && this.#buf[p] < 0x80) {
      len = this.#buf[p];
      this.#pos = p + 1;
    } else {
      len = this.#varint32(end);
    }
    if (len > end - this.#pos) {
      this.#malformed(`length ${len} runs past the end`, `at most ${end - this.#pos} bytes`);
    }
    return this.#pos + len;
  }

  #zigzag64(end: number): number {
    const buf = this.#buf;
    const start = this.#pos;
    let count = 0;
    while (true) {
      if (this.#pos >= end) this.#malformed('truncated varint', 'more bytes', start);
      const b = buf[this.#pos++];
      count++;
      if (b < 0x80) {
        if (b === 0 && count > 1)
          this.#malformed('non-minimal varint', 'the shortest encoding', start);
        break;
      }
      if (count === 10) this.#malformed('varint too long', 'at most 10 bytes', start);
    }
    if (count <= 7) {
      // Below 2^49: exact in a double.
      let zz = 0;
      for (let i = count - 1; i >= 0; i--) zz = zz * 128 + (buf[start + i] & 0x7f);
      return zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
    }
    let zz = 0n;
    for (let i = count - 1; i >= 0; i--) zz = (zz << 7n) | BigInt(buf[start + i] & 0x7f);
    const n = zz & 1n ? -((zz + 1n) >> 1n) : zz >> 1n;
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.#malformed(
        'int_value outside the safe integer range',
        'a safe integer (bigint_value for larger)',
        start,
      );
    }
    return Number(n);
  }

  #float64(end: number): number {
    if (end - this.#pos < 8) this.#malformed('truncated double', '8 bytes');
    const buf = this.#buf;
    const p = this.#pos;
    for (let i = 0; i < 8; i++) scratchU8[i] = buf[p + i];
    const n = scratchF64[0];
    if (Number.isNaN(n)) {
      for (let i = 0; i < 8; i++) {
        if (buf[p + i] !== CANONICAL_NAN[i])
          this.#malformed('non-canonical NaN', 'the canonical quiet NaN');
      }
    }
    this.#pos = p + 8;
    return n;
  }

  #utf8(end: number, what: string): string {
    const start = this.#pos;
    const buf = this.#buf;
    const text = this.#text;
    if (text !== undefined) {
      if (this.#isAscii(start, end)) {
        this.#pos = end;
        return text.slice(start, end);
      }
    } else if (end - start < 32) {
      let i = start;
      while (i < end && buf[i] < 0x80) i++;
      if (i === end) {
        this.#pos = end;
        return asciiSlice(buf, start, end);
      }
    }
    const s = utf8Slice(buf, start, end);
    // Invalid UTF-8 decodes to U+FFFD; only then is the (rarer) full validation needed.
    if (s.includes('\ufffd') && !isUtf8(buf.subarray(start, end))) {
      this.#malformed(`${what} is not valid UTF-8`, 'UTF-8 text', start);
    }
    this.#pos = end;
    return s;
  }

  #value(end: number, depth: number): unknown {
    if (this.#pos >= end) this.#malformed('empty value', 'exactly one Value field');
    const tagAt = this.#pos;
    const tag = this.#buf[this.#pos++];
    let result: unknown;
    switch (tag) {
      case TAG_NULL:
        if (this.#varint32(end) !== 1)
          this.#malformed('null_value is not true', 'null_value = true', tagAt);
        result = null;
        break;
      case TAG_BOOL: {
        const b = this.#varint32(end);
        if (b > 1) this.#malformed('bool_value is not 0 or 1', '0 or 1', tagAt);
        result = b === 1;
        break;
      }
      case TAG_INT:
        result = this.#zigzag64(end);
        break;
      case TAG_BIGINT: {
        const fieldEnd = this.#length(end);
        const text = this.#utf8(fieldEnd, 'bigint_value');
        if (!BIGINT_TEXT.test(text) || text === '-0') {
          this.#malformed(
            'bigint_value is not a canonical decimal integer',
            'digits with no leading zeros',
            tagAt,
          );
        }
        result = BigInt(text);
        break;
      }
      case TAG_DOUBLE: {
        const n = this.#float64(end);
        if (Number.isSafeInteger(n) && !Object.is(n, -0)) {
          this.#malformed(
            'double_value holds a safe integer',
            'int_value for safe integers',
            tagAt,
          );
        }
        result = n;
        break;
      }
      case TAG_LATIN1: {
        const fieldEnd = this.#length(end);
        const text = this.#text;
        result =
          text === undefined
            ? asciiSlice(this.#buf, this.#pos, fieldEnd)
            : text.slice(this.#pos, fieldEnd);
        this.#pos = fieldEnd;
        break;
      }
      case TAG_STRING: {
        const text = this.#utf8(this.#length(end), 'string_value');
        if (isLatin1(text)) {
          this.#malformed(
            'string_value holds only characters up to U+00FF',
            'latin1_value (tag 0x62) for such text',
            tagAt,
          );
        }
        result = text;
        break;
      }
      case TAG_BYTES: {
        const fieldEnd = this.#length(end);
        // A copy: the application may change it, and it must not pin the input.
        result = Buffer.from(this.#buf.subarray(this.#pos, fieldEnd));
        this.#pos = fieldEnd;
        break;
      }
      case TAG_DATE: {
        const ms = this.#float64(end);
        // Only what a Date can hold: an integer within ±8.64e15 (not -0), or NaN.
        if (
          !Number.isNaN(ms) &&
          (!Number.isInteger(ms) || Math.abs(ms) > 8.64e15 || Object.is(ms, -0))
        ) {
          this.#malformed(
            'date_value is not a valid time value',
            'an integer within ±8.64e15 ms, or NaN',
            tagAt,
          );
        }
        result = new Date(ms);
        break;
      }
      case TAG_LIST:
        result = this.#list(this.#length(end), depth);
        break;
      case TAG_STRUCT:
        result = this.#struct(this.#length(end), depth);
        break;
      case TAG_CUSTOM:
        result = this.#custom(this.#length(end), depth);
        break;
      default:
        this.#malformed(
          `unknown Value field tag 0x${tag.toString(16)}`,
          'a Value field (tags 1-12)',
          tagAt,
        );
    }
    if (this.#pos !== end) this.#malformed('more than one Value field', 'exactly one Value field');
    return result;
  }

  #enter(depth: number): void {
    if (depth >= this.#limits.maxDepth) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `nesting deeper than ${this.#limits.maxDepth} levels`,
        {
          path: formatPath(this.#path, this.#pathLength),
          offset: this.#base + this.#pos,
        },
      );
    }
  }

  #tooMany(what: string): never {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `${what} has more than ${this.#limits.maxItems} items`,
      {
        path: formatPath(this.#path, this.#pathLength),
        offset: this.#base + this.#pos,
      },
    );
  }

  #list(end: number, depth: number): unknown[] {
    this.#enter(depth);
    const out: unknown[] = [];
    const path = this.#path;
    const max = this.#limits.maxItems;
    while (this.#pos < end) {
      if (this.#buf[this.#pos] !== TAG_FIRST_LEN)
        this.#malformed('unexpected field in List', 'List.items (tag 0x0a)');
      this.#pos++;
      if (out.length === max) this.#tooMany('list');
      const itemEnd = this.#length(end);
      path[depth + 1] = out.length;
      this.#pathLength = depth + 2;
      out.push(this.#value(itemEnd, depth + 1));
      this.#pathLength = depth + 1;
    }
    return out;
  }

  /**
   * An object written as the encoder writes it (every length below 128) whose keys are, one by
   * one, those of a compiled shape (checked sorted and unique when it was first built), with
   * values of simple kinds read inline; undefined, with the position unchanged, for anything else
   * (then read by the general code, which reports any error).
   */
  #knownStruct(end: number, depth: number): Record<string, unknown> | undefined {
    const buf = this.#buf;
    const text = this.#text as string;
    const start = this.#pos;
    if (start >= end || buf[start] !== TAG_FIRST_LEN || buf[start + 2] !== TAG_FIRST_LEN) {
      return undefined;
    }
    const firstLen = buf[start + 3];
    // (an empty name is left out by the encoder: written, it is refused by the general code)
    if (firstLen >= 0x80 || firstLen === 0) return undefined;
    const shape = valueShapes.compiledStartingWithBytes(buf, start + 4, start + 4 + firstLen);
    if (shape === undefined || shape.names.length > this.#limits.maxItems) return undefined;
    const names = shape.names;
    const bytes = shape.bytes as readonly Uint8Array[];
    const maxNameBytes = this.#limits.maxNameBytes;
    // The factory copies the values: one array per depth serves every object at that depth.
    const values = (this.#spare[depth] ??= []);
    const path = this.#path;
    let p = start;
    for (let i = 0; i < names.length; i++) {
      // Field: 0x0a fieldLen 0x0a nameLen name 0x12 valueLen value
      const fieldLen = buf[p + 1];
      const nameLen = buf[p + 3];
      const fieldEnd = p + 2 + fieldLen;
      const name = names[i];
      if (
        buf[p] !== TAG_FIRST_LEN ||
        fieldLen >= 0x80 ||
        fieldEnd > end ||
        buf[p + 2] !== TAG_FIRST_LEN ||
        nameLen >= 0x80 ||
        nameLen === 0 ||
        nameLen > maxNameBytes ||
        (i > 0 && !sameBytes(bytes[i], buf, p + 4, p + 4 + nameLen))
      ) {
        this.#pos = start;
        return undefined;
      }
      const v = p + 4 + nameLen; // the Field.value tag
      const valueLen = buf[v + 1];
      if (buf[v] !== TAG_SECOND_LEN || valueLen >= 0x80 || v + 2 + valueLen !== fieldEnd) {
        this.#pos = start;
        return undefined;
      }
      const tag = buf[v + 2];
      const b = buf[v + 3];
      if (tag === TAG_LATIN1 && b < 0x80 && v + 4 + b === fieldEnd) {
        values[i] = text.slice(v + 4, fieldEnd);
      } else if (tag === TAG_BOOL && valueLen === 2 && b < 2) {
        values[i] = b === 1;
      } else if (tag === TAG_INT && valueLen >= 2 && valueLen <= 5 && buf[fieldEnd - 1] < 0x80) {
        // An integer of at most 4 varint bytes (|n| < 2^27): every byte but the last has the
        // high bit, and the last is not 0 unless it is the only one (minimal form).
        let k = fieldEnd - 1;
        const last = buf[k];
        if (last === 0 && k > v + 3) {
          this.#pos = start;
          return undefined;
        }
        let zz = last;
        while (--k > v + 2) {
          const byte = buf[k];
          if (byte < 0x80) {
            this.#pos = start;
            return undefined;
          }
          zz = (zz << 7) | (byte & 0x7f);
        }
        values[i] = zz & 1 ? -((zz + 1) / 2) : zz / 2;
      } else if (tag === TAG_DATE && valueLen === 9) {
        // A date whose time is an integer within ±8.64e15 (not -0); any other (NaN, or what
        // the general code refuses) is read by #value.
        for (let k = 0; k < 8; k++) scratchU8[k] = buf[v + 3 + k];
        const ms = scratchF64[0];
        if (Number.isInteger(ms) && Math.abs(ms) <= 8.64e15 && (ms !== 0 || 1 / ms > 0)) {
          values[i] = new Date(ms);
        } else {
          this.#pos = v + 2;
          path[depth + 1] = name;
          this.#pathLength = depth + 2;
          values[i] = this.#value(fieldEnd, depth + 1);
          this.#pathLength = depth + 1;
        }
      } else if (valueLen === 0) {
        this.#pos = start;
        return undefined;
      } else {
        this.#pos = v + 2;
        path[depth + 1] = name;
        this.#pathLength = depth + 2;
        values[i] = this.#value(fieldEnd, depth + 1);
        this.#pathLength = depth + 1;
      }
      p = fieldEnd;
    }
    if (p !== end) {
      this.#pos = start;
      return undefined;
    }
    this.#pos = end;
    // The shape's own factory: still right if a nested object made the cache drop the shape.
    const made = (shape.make as (values: readonly unknown[]) => Record<string, unknown>)(values);
    for (let i = 0; i < names.length; i++) values[i] = undefined;
    return made;
  }

  #struct(end: number, depth: number): Record<string, unknown> {
    this.#enter(depth);
    if (this.#text !== undefined) {
      const known = this.#knownStruct(end, depth);
      if (known !== undefined) return known;
    }
    // In a message (beginMessage), keys and values are collected and the object is made by
    // ObjectShapes, fast for keys met again; otherwise it is filled property by property.
    const shaped = this.#text !== undefined;
    const out: Record<string, unknown> = {};
    // The keys of a compiled shape while every key read so far equals its key at that place
    // (those keys were checked sorted and unique when the shape was first built); else the keys.
    let known: readonly string[] | undefined;
    let keys: string[] | undefined;
    const values: unknown[] = [];
    const path = this.#path;
    const max = this.#limits.maxItems;
    const buf = this.#buf;
    let count = 0;
    let previous: string | undefined;
    while (this.#pos < end) {
      if (buf[this.#pos] !== TAG_FIRST_LEN)
        this.#malformed('unexpected field in Struct', 'Struct.fields (tag 0x0a)');
      this.#pos++;
      if (count === max) this.#tooMany('object');
      const fieldEnd = this.#length(end);
      let name = '';
      const nameAt = this.#pos;
      if (this.#pos < fieldEnd && buf[this.#pos] === TAG_FIRST_LEN) {
        this.#pos++;
        const nameEnd = this.#length(fieldEnd);
        if (nameEnd === this.#pos)
          this.#malformed('empty Field.name written', 'the field left out when empty');
        if (nameEnd - this.#pos > this.#limits.maxNameBytes) {
          this.#malformed('key too long', `at most ${this.#limits.maxNameBytes} bytes`);
        }
        const text = this.#text;
        const expected = known === undefined ? undefined : known[count];
        if (expected !== undefined && sameAscii(expected, buf, this.#pos, nameEnd)) {
          name = expected;
          this.#pos = nameEnd;
        } else {
          const guess = count < KEY_GUESSES ? this.#keyGuess[count] : undefined;
          const cached =
            text === undefined
              ? undefined
              : guess !== undefined && sameAscii(guess, buf, this.#pos, nameEnd)
                ? guess
                : sharedKeyCache.get(buf, this.#pos, nameEnd, text);
          if (cached !== undefined && count < KEY_GUESSES) this.#keyGuess[count] = cached;
          if (cached === undefined) name = this.#utf8(nameEnd, 'key');
          else {
            name = cached;
            this.#pos = nameEnd;
          }
        }
      }
      if (known !== undefined && known[count] === name) {
        // sorted and unique: the compiled shape's keys were checked
      } else {
        if (known !== undefined) {
          keys = known.slice(0, count);
          known = undefined;
        } else if (count === 0 && shaped) {
          known = valueShapes.compiledStartingWith(name);
        }
        if (previous !== undefined && !(previous < name)) {
          this.#malformed('keys out of order or repeated', 'keys sorted and unique', nameAt);
        }
        if (known === undefined) (keys ??= []).push(name);
      }
      previous = name;
      if (this.#pos >= fieldEnd || buf[this.#pos] !== TAG_SECOND_LEN) {
        this.#malformed('Field without a value', 'Field.value (tag 0x12)');
      }
      this.#pos++;
      const valueEnd = this.#length(fieldEnd);
      if (valueEnd !== fieldEnd)
        this.#malformed('Field length mismatch', 'Field.value to end the Field');
      let value: unknown;
      const p = this.#pos;
      const tag = buf[p];
      if (tag === TAG_LATIN1 && shaped && buf[p + 1] < 0x80 && p + 2 + buf[p + 1] === valueEnd) {
        // A short Latin-1 string (one-byte length): every byte sequence is valid.
        value = (this.#text as string).slice(p + 2, valueEnd);
        this.#pos = valueEnd;
      } else if (tag === TAG_BOOL && valueEnd === p + 2 && buf[p + 1] < 2) {
        value = buf[p + 1] === 1;
        this.#pos = valueEnd;
      } else {
        path[depth + 1] = name;
        this.#pathLength = depth + 2;
        value = this.#value(valueEnd, depth + 1);
        this.#pathLength = depth + 1;
      }
      if (shaped) values.push(value);
      else setOwn(out, name, value);
      count++;
    }
    if (!shaped) return out;
    if (known !== undefined && known.length === count) return valueShapes.make(known, values);
    if (known !== undefined) keys = known.slice(0, count);
    return valueShapes.build(keys ?? [], values);
  }

  #custom(end: number, depth: number): unknown {
    this.#enter(depth);
    if (this.#pos >= end || this.#buf[this.#pos] !== TAG_FIRST_LEN) {
      this.#malformed('Custom without a type', 'Custom.type (tag 0x0a)');
    }
    this.#pos++;
    const typeAt = this.#pos;
    const typeName = this.#utf8(this.#length(end), 'type name');
    const codec = this.#types.forName(typeName);
    if (codec === undefined) {
      throw new SessionCodecError('UNKNOWN_TYPE', `no type codec registered for "${typeName}"`, {
        path: formatPath(this.#path, this.#pathLength),
        offset: this.#base + typeAt,
        expected: 'a registered type name',
      });
    }
    if (this.#pos >= end || this.#buf[this.#pos] !== TAG_SECOND_LEN) {
      this.#malformed('Custom without a value', 'Custom.value (tag 0x12)');
    }
    this.#pos++;
    const valueEnd = this.#length(end);
    if (valueEnd !== end)
      this.#malformed('Custom length mismatch', 'Custom.value to end the Custom');
    this.#path[depth + 1] = { type: typeName };
    this.#pathLength = depth + 2;
    const plain = this.#value(valueEnd, depth + 1);
    this.#pathLength = depth + 1;
    try {
      return codec.decode(plain);
    } catch (cause) {
      throw new SessionCodecError(
        'CUSTOM_CODEC_FAILED',
        `type codec ${typeName} failed to decode`,
        {
          path: formatPath(this.#path, this.#pathLength),
          offset: this.#base + typeAt,
          cause,
        },
      );
    }
  }
}
