import { applyDelta, type Delta, type Session, type Version } from '@cohort/session-codec';

/**
 * Applies a delta's operations to the current state of a session, whatever base the delta was
 * made against: per attribute, the ops overwrite what is stored and leave every other attribute
 * as it is (so two requests changing different attributes both survive).
 *
 * @param current - the stored state
 * @param delta - the request's merged ops (its `key` must be the session's)
 * @param version - the version of the result
 * @returns the new state, or null when the delta invalidates the session
 * @throws SessionCodecError KEY_MISMATCH for a delta of another session
 */
export function applyToCurrent(current: Session, delta: Delta, version: Version): Session | null {
  return applyDelta(
    current,
    { key: delta.key, base: current.version, ops: delta.ops },
    { version },
  );
}
