// Tags (field number << 3 | wire type) of the Value, List, Struct, Field and Custom messages of
// proto/session.proto, as written by the hand-written value codec. All fit in one byte.

/** Value.null_value (varint). */
export const TAG_NULL = 0x08;
/** Value.bool_value (varint). */
export const TAG_BOOL = 0x10;
/** Value.int_value (sint64, varint). */
export const TAG_INT = 0x18;
/** Value.bigint_value (string). */
export const TAG_BIGINT = 0x22;
/** Value.double_value (fixed64). */
export const TAG_DOUBLE = 0x29;
/** Value.string_value (string): text with at least one code unit above 0xFF. */
export const TAG_STRING = 0x32;
/** Value.latin1_value (bytes): text whose UTF-16 code units are all at most 0xFF, one byte each. */
export const TAG_LATIN1 = 0x62;
/** Value.bytes_value (bytes). */
export const TAG_BYTES = 0x3a;
/** Value.date_value (fixed64). */
export const TAG_DATE = 0x41;
/** Value.list_value (message). */
export const TAG_LIST = 0x4a;
/** Value.struct_value (message). */
export const TAG_STRUCT = 0x52;
/** Value.custom_value (message). */
export const TAG_CUSTOM = 0x5a;
/** Field 1, length-delimited: List.items, Struct.fields, Field.name, Custom.type. */
export const TAG_FIRST_LEN = 0x0a;
/** Field 2, length-delimited: Field.value, Custom.value. */
export const TAG_SECOND_LEN = 0x12;

/**
 * Bytes a varint takes for a non-negative integer below 2^64 (exact below 2^53, and correct at
 * every 7-bit boundary above it).
 */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  if (n < 2 ** 35) return 5;
  if (n < 2 ** 42) return 6;
  if (n < 2 ** 49) return 7;
  if (n < 2 ** 56) return 8;
  if (n < 2 ** 63) return 9;
  return 10;
}

/** The canonical NaN written for every NaN (quiet NaN, no payload), little-endian. */
export const CANONICAL_NAN = Object.freeze([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
