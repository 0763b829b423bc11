import type { Delta } from './delta.js';
import { SessionCodecError } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { Principal, Session } from './session.js';
import {
  checkVersion,
  compareVersions,
  formatVersion,
  nextVersion,
  type Version,
} from './version.js';

/** Options of {@link applyDelta}. */
export interface ApplyOptions {
  /**
   * The version of the resulting state, assigned by the owner; must be newer than the delta's
   * base. Default: the base with seq + 1.
   */
  readonly version?: Version;
  /** Most attributes the result may have (default {@link DEFAULT_LIMITS}.maxAttributes). */
  readonly maxAttributes?: number;
}

/**
 * Applies a delta to a session. Pure: the input session is not changed, and the result shares
 * the unchanged attribute bytes with it.
 *
 * @param session - the current state
 * @param delta - the changes; `delta.base` must equal `session.version`
 * @param options - the version of the result
 * @returns the new state, or null when the delta invalidates the session
 * @throws SessionCodecError KEY_MISMATCH for another session's delta, VERSION_MISMATCH when the
 *   session is not at the delta's base version (the caller should fetch the missing changes or
 *   the full session), INVALID_ARGUMENT when the result version is not newer than the base,
 *   LIMIT_EXCEEDED when the result would have more than `maxAttributes` attributes
 */
export function applyDelta(
  session: Session,
  delta: Delta,
  options: ApplyOptions = {},
): Session | null {
  if (delta.key !== session.key) {
    throw new SessionCodecError('KEY_MISMATCH', 'delta is for another session', {
      expected: 'a delta with the session key',
    });
  }
  if (compareVersions(delta.base, session.version) !== 0) {
    throw new SessionCodecError(
      'VERSION_MISMATCH',
      `delta applies to version ${formatVersion(delta.base)}, session is at ${formatVersion(session.version)}`,
      { expected: `base version ${formatVersion(session.version)}` },
    );
  }
  const version = options.version ?? nextVersion(delta.base);
  checkVersion(version, 'result version');
  if (compareVersions(version, delta.base) <= 0) {
    throw new SessionCodecError(
      'INVALID_ARGUMENT',
      `result version ${formatVersion(version)} is not newer than the base`,
      {
        expected: `a version after ${formatVersion(delta.base)}`,
      },
    );
  }
  let attributes: Map<string, Uint8Array> | undefined;
  let maxInactiveSeconds = session.maxInactiveSeconds;
  let principal: Principal | null = session.principal;
  let lastAccessedAt = session.lastAccessedAt;
  let isNew = session.isNew;
  for (const op of delta.ops) {
    switch (op.op) {
      case 'invalidate':
        return null;
      case 'set':
        attributes ??= new Map(session.attributes);
        attributes.set(op.name, op.value);
        break;
      case 'remove':
        if (session.attributes.has(op.name) || attributes?.has(op.name)) {
          attributes ??= new Map(session.attributes);
          attributes.delete(op.name);
        }
        break;
      case 'setMaxInactive':
        maxInactiveSeconds = op.seconds;
        break;
      case 'setPrincipal':
        principal = op.principal;
        break;
      case 'touch':
        lastAccessedAt = op.at;
        isNew = false;
        break;
    }
  }
  const maxAttributes = options.maxAttributes ?? DEFAULT_LIMITS.maxAttributes;
  if (attributes !== undefined && attributes.size > maxAttributes) {
    throw new SessionCodecError(
      'LIMIT_EXCEEDED',
      `session would have ${attributes.size} attributes, more than ${maxAttributes}`,
    );
  }
  return {
    key: session.key,
    createdAt: session.createdAt,
    lastAccessedAt,
    maxInactiveSeconds,
    isNew,
    principal,
    attributes: attributes ?? session.attributes,
    version,
  };
}
