import type { MethodName } from '../config/schema.js';
import type { MemberState } from './member-state.js';

/** What a method may use besides the candidates. */
export interface PickContext {
  /** The `hash` method's key (client address, header or cookie value), when there is one. */
  readonly hashKey?: string | undefined;
  /** Uniform random number in [0, 1). */
  readonly random: () => number;
}

/** A balancing method: picks one of the candidates (never empty) for a request without a usable route. */
export type Method = (candidates: readonly MemberState[], ctx: PickContext) => MemberState;

/**
 * httpd's `byrequests`: smooth weighted round robin. Each pick adds every candidate's weight to
 * its `lbstatus`, takes the highest, and subtracts the sum of the weights from the winner.
 */
export function byRequests(candidates: readonly MemberState[]): MemberState {
  let best = candidates[0]!;
  let total = 0;
  for (const m of candidates) {
    m.lbstatus += m.weight;
    total += m.weight;
    if (m.lbstatus > best.lbstatus) best = m;
  }
  best.lbstatus -= total;
  return best;
}

/** httpd's `bytraffic`: the fewest bytes moved per unit of weight. */
export function byTraffic(candidates: readonly MemberState[]): MemberState {
  let best = candidates[0]!;
  let bestScore = best.traffic / best.weight;
  for (let i = 1; i < candidates.length; i++) {
    const m = candidates[i]!;
    const s = m.traffic / m.weight;
    if (s < bestScore) {
      best = m;
      bestScore = s;
    }
  }
  return best;
}

/** httpd's `bybusyness`: the fewest requests in flight per unit of weight; ties go by byrequests. */
export function byBusyness(candidates: readonly MemberState[]): MemberState {
  let min = Infinity;
  for (const m of candidates) min = Math.min(min, m.inflight / m.weight);
  const tied = candidates.filter((m) => m.inflight / m.weight === min);
  return tied.length === 1 ? tied[0]! : byRequests(tied);
}

/** Power of two choices: two distinct random candidates, the less busy (per weight) wins. */
export function powerOfTwo(candidates: readonly MemberState[], ctx: PickContext): MemberState {
  const n = candidates.length;
  if (n === 1) return candidates[0]!;
  const i = Math.floor(ctx.random() * n);
  let j = Math.floor(ctx.random() * (n - 1));
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  return b.inflight / b.weight < a.inflight / a.weight ? b : a;
}

/** 32-bit FNV-1a of a string's UTF-16 code units, then a murmur3 finaliser for avalanche. */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Weighted rendezvous (highest random weight) hashing of the key over the candidates' routes:
 * adding or removing a member moves only the keys that land on (or came from) that member.
 * Returns `undefined` when there is no key.
 */
export function rendezvous(
  candidates: readonly MemberState[],
  key: string | undefined,
): MemberState | undefined {
  if (key === undefined || key === '') return undefined;
  const kh = hash32(key);
  let best: MemberState | undefined;
  let bestScore = -Infinity;
  for (const m of candidates) {
    const h = hash32(m.route, kh);
    const u = (h + 0.5) / 4294967296;
    const score = m.weight / -Math.log(u);
    if (score > bestScore) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

/** Builds a method by name. Methods with state (round robin's position) keep it in the closure. */
export function createMethod(name: MethodName): Method {
  switch (name) {
    case 'byrequests':
      return byRequests;
    case 'bytraffic':
      return byTraffic;
    case 'bybusyness':
      return byBusyness;
    case 'p2c':
      return powerOfTwo;
    case 'roundrobin': {
      let next = 0;
      return (candidates) => {
        next = (next + 1) & 0x3fffffff;
        return candidates[next % candidates.length]!;
      };
    }
    case 'hash': {
      let next = 0;
      // No key: fall back to round robin, as HAProxy's hash algorithms do.
      return (candidates, ctx) => {
        const hit = rendezvous(candidates, ctx.hashKey);
        if (hit) return hit;
        next = (next + 1) & 0x3fffffff;
        return candidates[next % candidates.length]!;
      };
    }
  }
}
