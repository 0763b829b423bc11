import { Buffer } from 'node:buffer';

const SLOTS = 512;
/** Longer names are not cached (they are rare as keys, and hashing them costs more). */
const MAX_CACHED = 32;

/**
 * The internalized copy of `s` (the one V8 keeps for property names): a flat string of its own,
 * so reading its characters is direct, comparing it with another internalized string is one
 * pointer comparison, and storing a property under it needs no string-table lookup. A slice of
 * a message's text would instead be a view that keeps the whole message alive and is slower to
 * read. A computed key in a literal is always an own property, `__proto__` included.
 *
 * @param s - the text
 */
export function internalized(s: string): string {
  const holder = { [s]: 0 };
  for (const key in holder) return key;
  return s;
}

/**
 * A small content-addressed cache of short ASCII property names, so a decoder that builds objects
 * (attribute names, object keys) reuses the string it made the last time it met the same bytes.
 * A reused string was internalized by V8 at its first use as a property name (names of 13
 * characters or more are copied out of the message and internalized here), so storing a property under it takes the fast
 * path instead of hashing and looking up a fresh string every time (which is what made building
 * objects from bytes slower than `JSON.parse`). Safe to share: a hit is verified byte by byte.
 * It holds at most {@link SLOTS} strings of at most {@link MAX_CACHED} characters.
 */
export class KeyCache {
  readonly #names: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  readonly #bytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(SLOTS).fill(
    undefined,
  );
  #lastBytes: Uint8Array | undefined;

  /**
   * The string for the ASCII bytes `buf[start, end)`, or undefined when they are not short ASCII
   * (the caller decodes those itself).
   *
   * @param buf - the input
   * @param start - where the name starts
   * @param end - where it ends
   * @param text - `buf` decoded as Latin-1 from offset 0 to at least `end`
   */
  get(buf: Buffer, start: number, end: number, text: string): string | undefined {
    const len = end - start;
    if (len > MAX_CACHED) return undefined;
    let h = len;
    let any = 0;
    for (let i = start; i < end; i++) {
      const b = buf[i];
      any |= b;
      h = Math.imul(h ^ b, 0x01000193);
    }
    if (any >= 0x80) return undefined;
    const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
    const cached = this.#bytes[slot];
    if (cached !== undefined && sameBytes(cached, buf, start, end)) {
      this.#lastBytes = cached;
      return this.#names[slot];
    }
    // A slice of 13 characters or more is a view of the whole message text: copy it out.
    const s = len < 13 ? text.slice(start, end) : internalized(text.slice(start, end));
    const bytes = copyBytes(buf, start, end);
    this.#names[slot] = s;
    this.#bytes[slot] = bytes;
    this.#lastBytes = bytes;
    return s;
  }

  /**
   * The bytes of the name the last {@link KeyCache.get} returned (a copy the cache owns and
   * never changes), for {@link sameBytes}.
   */
  get lastBytes(): Uint8Array | undefined {
    return this.#lastBytes;
  }
}

/**
 * True when `s` is exactly the bytes `buf[start, end)`, all ASCII: a cheap check that a name
 * met before at the same place is the one here.
 */
export function sameAscii(s: string, buf: Buffer, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = start, j = 0; i < end; i++, j++) {
    const c = s.charCodeAt(j);
    if (c !== buf[i] || c >= 0x80) return false;
  }
  return true;
}

/** The cache shared by the decoders of this package. */
export const sharedKeyCache: KeyCache = new KeyCache();

/**
 * True when `bytes` are exactly `buf[start, end)`. Comparing two byte arrays is about twice as
 * fast as comparing a string's characters with bytes, so names met again keep their bytes.
 *
 * @param bytes - the encoded name, from {@link nameBytes}
 * @param buf - the input
 * @param start - where the name starts
 * @param end - where it ends
 */
export function sameBytes(bytes: Uint8Array, buf: Buffer, start: number, end: number): boolean {
  const n = bytes.length;
  if (n !== end - start) return false;
  for (let j = 0; j < n; j++) if (bytes[j] !== buf[start + j]) return false;
  return true;
}

/**
 * The UTF-8 bytes of a name, for {@link sameBytes}.
 *
 * @param name - the name
 */
export function nameBytes(name: string): Uint8Array {
  return new Uint8Array(Buffer.from(name, 'utf8'));
}

/**
 * A copy of `buf[start, end)`, the bytes of a name just read, for {@link sameBytes}.
 *
 * @param buf - the input
 * @param start - where the name starts
 * @param end - where it ends
 */
export function copyBytes(buf: Buffer, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = buf[i];
  return out;
}
