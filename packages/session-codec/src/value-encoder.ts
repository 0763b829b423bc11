import { Buffer } from 'node:buffer';
import { SessionCodecError } from './errors.js';
import { EMPTY_BUFFER, latin1Write, utf8Write } from './fast-buffer.js';
import { isLatin1 } from './latin1.js';
import type { Limits } from './limits.js';
import { formatPath, type PathSegment } from './path.js';
import type { AnyTypeCodec, TypeRegistry } from './type-registry.js';
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
  varintSize,
} from './wire-tags.js';

// Kinds recorded by the measuring pass so the writing pass does not classify values again.
const K_NULL = 0;
const K_FALSE = 1;
const K_TRUE = 2;
const K_INT = 3;
const K_DOUBLE = 4;
const K_BIGINT = 5;
const K_STRING = 6;
const K_BYTES = 7;
const K_DATE = 8;
const K_LIST = 9;
const K_STRUCT = 10;
const K_CUSTOM = 11;
const K_LATIN1 = 12;

const TWO_31 = 2 ** 31;
const scratchF64 = new Float64Array(1);
const scratchU8 = new Uint8Array(scratchF64.buffer);

/** Byte length of `s` in UTF-8, or -1 when it holds a lone surrogate. */
function utf8Length(s: string): number {
  const n = s.length;
  if (n < 128) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return n;
  }
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return -1;
  return Buffer.byteLength(s, 'utf8');
}

function describe(value: object): string {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  const name = proto?.constructor?.name;
  return typeof name === 'string' && name !== '' ? `instance of ${name}` : 'object';
}

/**
 * Encodes attribute values to the canonical protobuf bytes of the `Value` message in two passes:
 * the first validates the value and measures every nested message (recording sizes, kinds, UTF-8
 * lengths and sorted keys in flat arrays), the second writes into a buffer of the exact size.
 * Not reentrant; {@link ValueCodec} makes a fresh one when a custom codec re-enters.
 */
export class ValueEncoder {
  readonly #limits: Limits;
  readonly #types: TypeRegistry;
  // Plan recorded by measure() in pre-order and replayed by write().
  #sizes: number[] = [];
  #kinds: number[] = [];
  #objects: unknown[] = [];
  #path: PathSegment[] = [];
  #stack: object[] = [];
  // Lengths of the plan arrays (kept apart: resetting an array's length is slow in V8).
  #sn = 0;
  #kn = 0;
  #on = 0;
  #budget = 0;
  #buf: Buffer = EMPTY_BUFFER;
  #pos = 0;
  #si = 0;
  #ki = 0;
  #oi = 0;
  /** True while an encode runs. */
  busy = false;

  /**
   * @param limits - size and shape limits
   * @param types - the registered application classes
   */
  constructor(limits: Limits, types: TypeRegistry) {
    this.#limits = limits;
    this.#types = types;
  }

  /**
   * Validates and encodes one value.
   *
   * @param value - the value
   * @param name - the attribute name, used as the first path segment of errors
   * @returns the canonical bytes of a `Value` message
   * @throws SessionCodecError naming the path of the first bad part
   */
  encode(value: unknown, name: string): Buffer {
    if (typeof value === 'string') return this.#encodeString(value, name);
    this.busy = true;
    this.#sn = 0;
    this.#kn = 0;
    this.#on = 0;
    this.#path = [name];
    this.#budget = 0;
    try {
      const size = this.#measure(value, 0);
      if (size > this.#limits.maxValueBytes) this.#tooLarge();
      const buf = Buffer.allocUnsafe(size);
      this.#buf = buf;
      this.#pos = 0;
      this.#si = 0;
      this.#ki = 0;
      this.#oi = 0;
      this.#write(value);
      if (this.#pos !== size) {
        // Only possible when a value changed between the passes (an exotic proxy).
        this.#fail('UNSUPPORTED_TYPE', 'value changed while it was being encoded');
      }
      return buf;
    } finally {
      // Drop references to application objects; after an error the stack may be unbalanced.
      if (this.#on > 0) this.#objects = [];
      if (this.#stack.length > 0) this.#stack = [];
      this.#buf = EMPTY_BUFFER;
      this.busy = false;
    }
  }

  /** The common case of a top-level string, without the two-pass plan. */
  #encodeString(s: string, name: string): Buffer {
    const latin1 = isLatin1(s);
    const len = latin1 ? s.length : utf8Length(s);
    if (len < 0) {
      throw new SessionCodecError('INVALID_STRING', 'string contains a lone surrogate', {
        path: name,
        expected: 'well-formed UTF-16',
      });
    }
    const size = 1 + varintSize(len) + len;
    if (size > this.#limits.maxValueBytes) {
      throw new SessionCodecError(
        'LIMIT_EXCEEDED',
        `value is larger than ${this.#limits.maxValueBytes} bytes encoded`,
        {
          path: name,
        },
      );
    }
    const buf = Buffer.allocUnsafe(size);
    buf[0] = latin1 ? TAG_LATIN1 : TAG_STRING;
    let pos = 1;
    let n = len;
    while (n > 0x7f) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    if (len === s.length && len < 64) {
      for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
    } else if (latin1) {
      latin1Write(buf, s, pos, len);
    } else {
      utf8Write(buf, s, pos, len);
    }
    return buf;
  }

  #fail(
    code: 'UNSUPPORTED_TYPE' | 'CYCLE' | 'INVALID_STRING' | 'LIMIT_EXCEEDED',
    problem: string,
    expected?: string,
  ): never {
    throw new SessionCodecError(code, problem, { path: formatPath(this.#path), expected });
  }

  #tooLarge(): never {
    this.#fail(
      'LIMIT_EXCEEDED',
      `value is larger than ${this.#limits.maxValueBytes} bytes encoded`,
    );
  }

  #spend(bytes: number): void {
    this.#budget += bytes;
    if (this.#budget > this.#limits.maxValueBytes) this.#tooLarge();
  }

  #stringLength(s: string, what: string): number {
    const len = utf8Length(s);
    if (len < 0)
      this.#fail('INVALID_STRING', `${what} contains a lone surrogate`, 'well-formed UTF-16');
    this.#spend(len);
    return len;
  }

  /** Validates `value`, records its plan and returns the size of its Value message. */
  #measure(value: unknown, depth: number): number {
    const slot = this.#sn++;
    let size: number;
    switch (typeof value) {
      case 'string': {
        if (isLatin1(value)) {
          const len = value.length;
          this.#spend(len);
          this.#kinds[this.#kn++] = K_LATIN1;
          this.#sizes[this.#sn++] = len;
          size = 1 + varintSize(len) + len;
          break;
        }
        const len = this.#stringLength(value, 'string');
        this.#kinds[this.#kn++] = K_STRING;
        this.#sizes[this.#sn++] = len;
        size = 1 + varintSize(len) + len;
        break;
      }
      case 'number': {
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
          this.#kinds[this.#kn++] = K_INT;
          const zz = value >= 0 ? value * 2 : -value * 2 - 1;
          size = 1 + varintSize(zz);
        } else {
          this.#kinds[this.#kn++] = K_DOUBLE;
          size = 9;
        }
        this.#spend(size);
        break;
      }
      case 'boolean':
        this.#kinds[this.#kn++] = value ? K_TRUE : K_FALSE;
        size = 2;
        this.#spend(2);
        break;
      case 'bigint': {
        const text = value.toString();
        this.#kinds[this.#kn++] = K_BIGINT;
        this.#objects[this.#on++] = text;
        this.#spend(text.length);
        size = 1 + varintSize(text.length) + text.length;
        break;
      }
      case 'object':
        if (value === null) {
          this.#kinds[this.#kn++] = K_NULL;
          size = 2;
          this.#spend(2);
        } else {
          size = this.#measureObject(value, depth);
        }
        break;
      case 'undefined':
        this.#fail(
          'UNSUPPORTED_TYPE',
          'undefined is not serializable',
          'a value, or null (remove the attribute to unset it)',
        );
        break;
      default:
        this.#fail('UNSUPPORTED_TYPE', `${typeof value} is not serializable`);
    }
    this.#sizes[slot] = size;
    return size;
  }

  #enter(value: object, depth: number): void {
    if (depth >= this.#limits.maxDepth) {
      this.#fail('LIMIT_EXCEEDED', `nesting deeper than ${this.#limits.maxDepth} levels`);
    }
    if (this.#stack.includes(value)) this.#fail('CYCLE', 'value refers to itself (cycle)');
    this.#stack.push(value);
  }

  #measureObject(value: object, depth: number): number {
    if (Array.isArray(value)) return this.#measureList(value as unknown[], depth);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return this.#measureStruct(value as Record<string, unknown>, depth);
    }
    const custom = this.#types.forPrototype(proto as object);
    if (custom !== undefined) return this.#measureCustom(value, custom, depth);
    if (value instanceof Uint8Array) {
      this.#kinds[this.#kn++] = K_BYTES;
      const len = value.byteLength;
      this.#spend(len);
      return 1 + varintSize(len) + len;
    }
    if (value instanceof Date) {
      this.#kinds[this.#kn++] = K_DATE;
      this.#spend(9);
      return 9;
    }
    return this.#fail(
      'UNSUPPORTED_TYPE',
      `${describe(value)} is not serializable`,
      'null, boolean, number, bigint, string, Uint8Array, Date, array, plain object or a class with a registered type codec',
    );
  }

  #measureList(list: readonly unknown[], depth: number): number {
    const n = list.length;
    if (n > this.#limits.maxItems) {
      this.#fail('LIMIT_EXCEEDED', `list has ${n} items, more than ${this.#limits.maxItems}`);
    }
    this.#enter(list, depth);
    this.#kinds[this.#kn++] = K_LIST;
    const inner = this.#sn++;
    let content = 0;
    const path = this.#path;
    for (let i = 0; i < n; i++) {
      path.push(i);
      const item = this.#measure(list[i], depth + 1);
      path.pop();
      content += 1 + varintSize(item) + item;
    }
    this.#sizes[inner] = content;
    this.#stack.pop();
    this.#spend(1 + varintSize(content));
    return 1 + varintSize(content) + content;
  }

  #measureStruct(obj: Record<string, unknown>, depth: number): number {
    const keys = Object.keys(obj);
    if (keys.length > this.#limits.maxItems) {
      this.#fail(
        'LIMIT_EXCEEDED',
        `object has ${keys.length} keys, more than ${this.#limits.maxItems}`,
      );
    }
    this.#enter(obj, depth);
    keys.sort();
    // Keys whose value is undefined are left out, as JSON does.
    let kept = keys;
    for (let i = 0; i < keys.length; i++) {
      if (obj[keys[i]] === undefined) {
        kept = keys.filter((k) => obj[k] !== undefined);
        break;
      }
    }
    // Values are read once here and replayed, so getters cannot change them between the passes.
    const values = kept.map((k) => obj[k]);
    this.#kinds[this.#kn++] = K_STRUCT;
    this.#objects[this.#on++] = kept;
    this.#objects[this.#on++] = values;
    const inner = this.#sn++;
    let content = 0;
    const path = this.#path;
    for (let i = 0; i < kept.length; i++) {
      const key = kept[i];
      path.push(key);
      const nameLen = this.#stringLength(key, 'key');
      if (nameLen > this.#limits.maxNameBytes) {
        this.#fail('LIMIT_EXCEEDED', `key is longer than ${this.#limits.maxNameBytes} bytes`);
      }
      const fieldSlot = this.#sn;
      this.#sizes[fieldSlot] = nameLen;
      this.#sn += 2;
      const item = this.#measure(values[i], depth + 1);
      path.pop();
      const field =
        (nameLen > 0 ? 1 + varintSize(nameLen) + nameLen : 0) + 1 + varintSize(item) + item;
      this.#sizes[fieldSlot + 1] = field;
      content += 1 + varintSize(field) + field;
    }
    this.#sizes[inner] = content;
    this.#stack.pop();
    this.#spend(1 + varintSize(content));
    return 1 + varintSize(content) + content;
  }

  #measureCustom(value: object, codec: AnyTypeCodec, depth: number): number {
    this.#enter(value, depth);
    let plain: unknown;
    try {
      plain = codec.encode(value);
    } catch (cause) {
      throw new SessionCodecError(
        'CUSTOM_CODEC_FAILED',
        `type codec ${codec.name} failed to encode`,
        {
          path: formatPath(this.#path),
          cause,
        },
      );
    }
    this.#kinds[this.#kn++] = K_CUSTOM;
    this.#objects[this.#on++] = codec.name;
    this.#objects[this.#on++] = plain;
    const typeLen = Buffer.byteLength(codec.name, 'utf8');
    const inner = this.#sn;
    this.#sizes[inner + 1] = typeLen;
    this.#sn += 2;
    this.#path.push({ type: codec.name });
    const item = this.#measure(plain, depth + 1);
    this.#path.pop();
    const content = 1 + varintSize(typeLen) + typeLen + 1 + varintSize(item) + item;
    this.#sizes[inner] = content;
    this.#stack.pop();
    this.#spend(content - item);
    return 1 + varintSize(content) + content;
  }

  #varint(n: number): void {
    const buf = this.#buf;
    let pos = this.#pos;
    if (n < TWO_31) {
      while (n > 0x7f) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      buf[pos++] = n;
    } else {
      while (n >= 0x80) {
        buf[pos++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      buf[pos++] = n;
    }
    this.#pos = pos;
  }

  #zigzag(n: number): void {
    if (n > -TWO_31 / 2 && n < TWO_31 / 2) {
      this.#varint(((n << 1) ^ (n >> 31)) >>> 0);
      return;
    }
    // Beyond 2^30 the zigzag value can pass 2^53: compute it exactly with BigInt.
    let zz = BigInt(n) >= 0n ? BigInt(n) << 1n : (-BigInt(n) << 1n) - 1n;
    const buf = this.#buf;
    let pos = this.#pos;
    while (zz >= 0x80n) {
      buf[pos++] = Number(zz & 0x7fn) | 0x80;
      zz >>= 7n;
    }
    buf[pos++] = Number(zz);
    this.#pos = pos;
  }

  #double(n: number): void {
    const buf = this.#buf;
    const pos = this.#pos;
    if (Number.isNaN(n)) {
      for (let i = 0; i < 8; i++) buf[pos + i] = CANONICAL_NAN[i];
    } else {
      scratchF64[0] = n;
      for (let i = 0; i < 8; i++) buf[pos + i] = scratchU8[i];
    }
    this.#pos = pos + 8;
  }

  #string(s: string, len: number): void {
    const buf = this.#buf;
    let pos = this.#pos;
    if (len === s.length && len < 64) {
      for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
      this.#pos = pos;
    } else {
      this.#pos = pos + utf8Write(buf, s, pos, len);
    }
  }

  /** Writes the Value message of `value` following the recorded plan. */
  #write(value: unknown): void {
    this.#si++; // the value's own size, read by the parent
    const buf = this.#buf;
    switch (this.#kinds[this.#ki++]) {
      case K_NULL:
        buf[this.#pos++] = TAG_NULL;
        buf[this.#pos++] = 1;
        return;
      case K_FALSE:
      case K_TRUE:
        buf[this.#pos++] = TAG_BOOL;
        buf[this.#pos++] = value === true ? 1 : 0;
        return;
      case K_INT:
        buf[this.#pos++] = TAG_INT;
        this.#zigzag(value as number);
        return;
      case K_DOUBLE:
        buf[this.#pos++] = TAG_DOUBLE;
        this.#double(value as number);
        return;
      case K_BIGINT: {
        const text = this.#objects[this.#oi++] as string;
        buf[this.#pos++] = TAG_BIGINT;
        this.#varint(text.length);
        this.#string(text, text.length);
        return;
      }
      case K_LATIN1: {
        const len = this.#sizes[this.#si++];
        buf[this.#pos++] = TAG_LATIN1;
        this.#varint(len);
        if (len < 64) {
          let pos = this.#pos;
          const s = value as string;
          for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
          this.#pos = pos;
        } else {
          this.#pos += latin1Write(buf, value as string, this.#pos, len);
        }
        return;
      }
      case K_STRING: {
        const len = this.#sizes[this.#si++];
        buf[this.#pos++] = TAG_STRING;
        this.#varint(len);
        this.#string(value as string, len);
        return;
      }
      case K_BYTES: {
        const bytes = value as Uint8Array;
        buf[this.#pos++] = TAG_BYTES;
        this.#varint(bytes.byteLength);
        buf.set(bytes, this.#pos);
        this.#pos += bytes.byteLength;
        return;
      }
      case K_DATE:
        buf[this.#pos++] = TAG_DATE;
        this.#double((value as Date).getTime());
        return;
      case K_LIST: {
        const list = value as readonly unknown[];
        buf[this.#pos++] = TAG_LIST;
        this.#varint(this.#sizes[this.#si++]);
        for (let i = 0; i < list.length; i++) {
          buf[this.#pos++] = TAG_FIRST_LEN;
          this.#varint(this.#sizes[this.#si]);
          this.#write(list[i]);
        }
        return;
      }
      case K_STRUCT: {
        const keys = this.#objects[this.#oi++] as string[];
        const values = this.#objects[this.#oi++] as unknown[];
        buf[this.#pos++] = TAG_STRUCT;
        this.#varint(this.#sizes[this.#si++]);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          const nameLen = this.#sizes[this.#si++];
          const field = this.#sizes[this.#si++];
          buf[this.#pos++] = TAG_FIRST_LEN;
          this.#varint(field);
          if (nameLen > 0) {
            buf[this.#pos++] = TAG_FIRST_LEN;
            this.#varint(nameLen);
            this.#string(key, nameLen);
          }
          buf[this.#pos++] = TAG_SECOND_LEN;
          this.#varint(this.#sizes[this.#si]);
          this.#write(values[i]);
        }
        return;
      }
      case K_CUSTOM: {
        const name = this.#objects[this.#oi++] as string;
        const plain = this.#objects[this.#oi++];
        buf[this.#pos++] = TAG_CUSTOM;
        this.#varint(this.#sizes[this.#si++]);
        const typeLen = this.#sizes[this.#si++];
        buf[this.#pos++] = TAG_FIRST_LEN;
        this.#varint(typeLen);
        this.#string(name, typeLen);
        buf[this.#pos++] = TAG_SECOND_LEN;
        this.#varint(this.#sizes[this.#si]);
        this.#write(plain);
        return;
      }
    }
  }
}
