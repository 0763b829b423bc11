import { randomBytes } from 'node:crypto';

/**
 * Request ids: a random per-process prefix and a counter, `<8 hex>-<base36>`; unique across
 * workers without coordination, and cheap.
 */
export function createRequestIds(): () => string {
  const prefix = randomBytes(4).toString('hex') + '-';
  let n = 0;
  return () => prefix + (++n).toString(36);
}
