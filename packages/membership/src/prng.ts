/** A source of uniform random numbers in [0, 1), injected into the protocol core. */
export type Random = () => number;

/**
 * A small, fast, seeded PRNG (sfc32). Same seed, same sequence: the simulator and the tests use
 * it so that a run is replayable from its seed.
 */
export function seededRandom(seed: number): Random {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** In-place Fisher–Yates shuffle driven by the injected random source. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** Up to `k` distinct random items of `items` (does not modify the input). */
export function sample<T>(random: Random, items: readonly T[], k: number): T[] {
  if (k >= items.length) return shuffle(random, items.slice());
  const picked = new Set<number>();
  const out: T[] = [];
  while (out.length < k) {
    const i = randomInt(random, items.length);
    if (picked.has(i)) continue;
    picked.add(i);
    out.push(items[i] as T);
  }
  return out;
}
