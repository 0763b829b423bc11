import { SessionCodecError } from './errors.js';

/**
 * The version of a session state, assigned by its owner: `epoch` grows when ownership changes,
 * `seq` numbers the changes within an epoch. This package only carries and compares it.
 */
export interface Version {
  /** Ownership epoch (non-negative safe integer). */
  readonly epoch: number;
  /** Change number within the epoch (non-negative safe integer). */
  readonly seq: number;
}

/** The version of a session nobody has changed yet. */
export const INITIAL_VERSION: Version = Object.freeze({ epoch: 0, seq: 0 });

/** Orders two versions: negative if `a` is older, 0 if equal, positive if newer. */
export function compareVersions(a: Version, b: Version): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.seq - b.seq;
}

/** The version after `v` in the same epoch. */
export function nextVersion(v: Version): Version {
  return { epoch: v.epoch, seq: v.seq + 1 };
}

/** Formats a version as `epoch:seq` for messages. */
export function formatVersion(v: Version): string {
  return `${v.epoch}:${v.seq}`;
}

/**
 * Checks that a version holds two non-negative safe integers.
 *
 * @param v - the version to check
 * @param field - the field name for the error
 * @throws SessionCodecError INVALID_ARGUMENT otherwise
 */
export function checkVersion(v: Version, field: string): void {
  if (
    typeof v !== 'object' ||
    v === null ||
    !Number.isSafeInteger(v.epoch) ||
    !Number.isSafeInteger(v.seq) ||
    v.epoch < 0 ||
    v.seq < 0
  ) {
    throw new SessionCodecError('INVALID_ARGUMENT', `${field} is not a valid version`, {
      expected: '{ epoch, seq } with non-negative safe integers',
    });
  }
}
