/**
 * Lifeguard's dynamic suspicion timeout: it starts at `maxMs` and falls logarithmically towards
 * `minMs` as independent confirmations arrive; `k` confirmations reach the minimum.
 * `timeout = max(min, max - (max - min) * log(c + 1) / log(k + 1))`.
 */
export function suspicionTimeout(
  confirmations: number,
  k: number,
  minMs: number,
  maxMs: number,
): number {
  if (k <= 0) return minMs;
  const c = Math.min(Math.max(confirmations, 0), k);
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac));
}
