/**
 * Rendezvous (highest-random-weight) placement: every member gets a score for a key, and the
 * members with the highest scores hold the key, highest first. Every node computes the same
 * order from the same member set, and when a member joins or leaves only the keys it wins or held
 * move.
 */

/** A 32-bit FNV-1a hash of a string's UTF-16 code units, mixed with a seed. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The murmur3 32-bit finalizer: spreads the bits of a 32-bit value. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The rendezvous score of `member` for `key`: a 53-bit number built from two independent 32-bit
 * hashes of member and key. Ties are broken by member name in {@link placementOf}.
 */
export function rendezvousScore(key: string, member: string): number {
  const k1 = fnv1a(key, 0);
  const k2 = fnv1a(key, 0x9e3779b9);
  const m1 = fnv1a(member, 0x7f4a7c15);
  const m2 = fnv1a(member, 0x3c6ef372);
  const hi = mix(k1 ^ m1) & 0x1fffff;
  const lo = mix((k2 + m2) >>> 0);
  return hi * 4294967296 + lo;
}

/**
 * The members that hold `key`: the `replicas` members with the highest rendezvous scores, owner
 * first. Fewer when there are fewer members.
 *
 * @param key - the session key
 * @param members - the routable member set (order does not matter)
 * @param replicas - how many copies (owner included)
 */
export function placementOf(key: string, members: readonly string[], replicas: number): string[] {
  const scored: { m: string; s: number }[] = [];
  for (const m of members) scored.push({ m, s: rendezvousScore(key, m) });
  scored.sort((a, b) => (b.s !== a.s ? b.s - a.s : a.m < b.m ? -1 : a.m > b.m ? 1 : 0));
  const n = Math.min(replicas, scored.length);
  const out: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = scored[i]!.m;
  return out;
}
