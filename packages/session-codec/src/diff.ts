import type { Delta, Op } from './delta.js';
import { mergeOps } from './delta.js';
import { SessionCodecError } from './errors.js';
import { bytesEqual, principalsEqual, type Session } from './session.js';

/**
 * Computes the delta that turns `from` into `to` (`applyDelta(from, diffSessions(from, to),
 * { version: to.version })` equals `to`). It names only attributes whose bytes differ.
 *
 * @param from - the base state
 * @param to - the target state of the same session
 * @throws SessionCodecError KEY_MISMATCH for two different sessions, NOT_REPRESENTABLE when `to`
 *   changes what no op can change (creation time, or isNew going back to true)
 */
export function diffSessions(from: Session, to: Session): Delta {
  if (from.key !== to.key) {
    throw new SessionCodecError('KEY_MISMATCH', 'cannot diff two different sessions');
  }
  if (from.createdAt !== to.createdAt) {
    throw new SessionCodecError('NOT_REPRESENTABLE', 'creation times differ', {
      expected: 'the same createdAt',
    });
  }
  if (!from.isNew && to.isNew) {
    throw new SessionCodecError('NOT_REPRESENTABLE', 'isNew cannot become true again');
  }
  const ops: Op[] = [];
  for (const [name, bytes] of to.attributes) {
    const old = from.attributes.get(name);
    if (old === undefined || !bytesEqual(old, bytes)) ops.push({ op: 'set', name, value: bytes });
  }
  for (const name of from.attributes.keys()) {
    if (!to.attributes.has(name)) ops.push({ op: 'remove', name });
  }
  if (from.maxInactiveSeconds !== to.maxInactiveSeconds) {
    ops.push({ op: 'setMaxInactive', seconds: to.maxInactiveSeconds });
  }
  if (!principalsEqual(from.principal, to.principal))
    ops.push({ op: 'setPrincipal', principal: to.principal });
  if (from.lastAccessedAt !== to.lastAccessedAt || from.isNew !== to.isNew) {
    ops.push({ op: 'touch', at: to.lastAccessedAt });
  }
  return { key: from.key, base: from.version, ops: mergeOps(ops) };
}
