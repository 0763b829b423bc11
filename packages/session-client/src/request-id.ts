import { randomBytes } from 'node:crypto';

/**
 * Makes the ids of writes, unique across processes without a random draw per write: 96 random
 * bits per generator, then a counter (`<16 chars>.<base36 n>`).
 */
export function requestIdGenerator(): () => string {
  const prefix = `${randomBytes(12).toString('base64url')}.`;
  let n = 0;
  return () => prefix + (n++).toString(36);
}
