const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of a string's UTF-16 code units (stable across processes; not cryptographic). */
export function hashString(s: string, seed = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** 32-bit FNV-1a of bytes (used as the metadata version digest; not cryptographic). */
export function hashBytes(b: Uint8Array, seed = FNV_OFFSET): number {
  let h = seed;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i] as number;
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** Hash of one member's version for the membership checksum (name and incarnation). */
export function memberVersionHash(name: string, incarnation: number): number {
  // A final avalanche step so that XOR-combining many entries stays well distributed.
  let h = hashString(name);
  h ^= incarnation >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
