import { Buffer } from 'node:buffer';

/**
 * Node's Buffer has direct `utf8Slice`/`latin1Slice`/`utf8Write` methods (used by protobufjs too)
 * that skip the argument handling of `toString`/`write`; they are not in @types/node. This module
 * uses them when present and falls back to the documented methods otherwise.
 */
interface FastBuffer {
  utf8Slice?(start: number, end: number): string;
  latin1Slice?(start: number, end: number): string;
  utf8Write?(s: string, offset: number, length: number): number;
  latin1Write?(s: string, offset: number, length: number): number;
}

const proto = Buffer.prototype as unknown as FastBuffer;
const hasUtf8Slice = typeof proto.utf8Slice === 'function';
const hasLatin1Slice = typeof proto.latin1Slice === 'function';
const hasUtf8Write = typeof proto.utf8Write === 'function';
const hasLatin1Write = typeof proto.latin1Write === 'function';

/** An empty buffer to hold in fields between calls. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD, as with `toString`). */
export function utf8Slice(buf: Buffer, start: number, end: number): string {
  return hasUtf8Slice
    ? (buf as unknown as Required<FastBuffer>).utf8Slice(start, end)
    : buf.toString('utf8', start, end);
}

/** Decodes bytes as Latin-1 (one character per byte, U+0000–U+00FF); any bytes are valid. */
export function asciiSlice(buf: Buffer, start: number, end: number): string {
  return hasLatin1Slice
    ? (buf as unknown as Required<FastBuffer>).latin1Slice(start, end)
    : buf.toString('latin1', start, end);
}

/** Writes `s` as UTF-8 at `offset`; returns the bytes written. */
export function utf8Write(buf: Buffer, s: string, offset: number, length: number): number {
  return hasUtf8Write
    ? (buf as unknown as Required<FastBuffer>).utf8Write(s, offset, length)
    : buf.write(s, offset, length, 'utf8');
}

/** Writes `s`, whose code units are all at most 0xFF, one byte each at `offset`; returns `length`. */
export function latin1Write(buf: Buffer, s: string, offset: number, length: number): number {
  return hasLatin1Write
    ? (buf as unknown as Required<FastBuffer>).latin1Write(s, offset, length)
    : buf.write(s, offset, length, 'latin1');
}
