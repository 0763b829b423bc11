import { SessionCodecError } from './errors.js';
import { checkMaxInactive, checkPrincipal, type Principal } from './session.js';
import { checkVersion, type Version } from './version.js';

/** Set one attribute to an encoded value. */
export interface SetOp {
  readonly op: 'set';
  readonly name: string;
  /** The encoded value (bytes of a `Value` message). */
  readonly value: Uint8Array;
}
/** Remove one attribute (no effect if absent). */
export interface RemoveOp {
  readonly op: 'remove';
  readonly name: string;
}
/** Change the idle timeout. */
export interface SetMaxInactiveOp {
  readonly op: 'setMaxInactive';
  /** Seconds; negative means never expires. */
  readonly seconds: number;
}
/** Set or clear (null) the principal. */
export interface SetPrincipalOp {
  readonly op: 'setPrincipal';
  readonly principal: Principal | null;
}
/** Record an access: sets lastAccessedAt and clears isNew. */
export interface TouchOp {
  readonly op: 'touch';
  /** Access time, ms since the Unix epoch (the caller reads the clock). */
  readonly at: number;
}
/** End the session. */
export interface InvalidateOp {
  readonly op: 'invalidate';
}

/** One operation of a {@link Delta}. */
export type Op = SetOp | RemoveOp | SetMaxInactiveOp | SetPrincipalOp | TouchOp | InvalidateOp;

/**
 * The changes one request made to one session, to be applied to the state with version `base`.
 * Built by {@link createDelta} (or {@link TrackedSession.commit}), its ops are merged: at most one
 * op per attribute and per field, in canonical order (attributes by name, then maxInactive,
 * principal, touch), or a lone `invalidate`.
 */
export interface Delta {
  /** The session id without its route. */
  readonly key: string;
  /** The version of the state the delta applies to. */
  readonly base: Version;
  /** The merged operations. */
  readonly ops: readonly Op[];
}

const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Merges a request's operations into the minimal equivalent list: the last op on an attribute
 * wins (several sets of one name become one; set then remove becomes remove), the last
 * maxInactive, principal and touch win, and `invalidate` replaces everything.
 *
 * @param ops - operations in the order they happened
 * @returns the merged operations in canonical order
 * @throws SessionCodecError INVALID_ARGUMENT for a malformed op
 */
export function mergeOps(ops: readonly Op[]): Op[] {
  const attributes = new Map<string, SetOp | RemoveOp>();
  let maxInactive: SetMaxInactiveOp | undefined;
  let principal: SetPrincipalOp | undefined;
  let touch: TouchOp | undefined;
  for (const op of ops) {
    checkOp(op);
    switch (op.op) {
      case 'invalidate':
        return [{ op: 'invalidate' }];
      case 'set':
      case 'remove':
        attributes.set(op.name, op);
        break;
      case 'setMaxInactive':
        maxInactive = op;
        break;
      case 'setPrincipal':
        principal = op;
        break;
      case 'touch':
        touch = op;
        break;
    }
  }
  const out: Op[] = [...attributes.values()].sort(byName);
  if (maxInactive) out.push(maxInactive);
  if (principal) out.push(principal);
  if (touch) out.push(touch);
  return out;
}

/**
 * Checks one op's shape.
 *
 * @throws SessionCodecError INVALID_ARGUMENT naming what is wrong
 */
export function checkOp(op: Op): void {
  const bad = (expected: string): never => {
    throw new SessionCodecError('INVALID_ARGUMENT', `invalid ${String(op?.op)} op`, { expected });
  };
  switch (op?.op) {
    case 'set':
      if (typeof op.name !== 'string') bad('a string name');
      if (!(op.value instanceof Uint8Array) || op.value.byteLength === 0)
        bad('encoded value bytes');
      return;
    case 'remove':
      if (typeof op.name !== 'string') bad('a string name');
      return;
    case 'setMaxInactive':
      checkMaxInactive(op.seconds);
      return;
    case 'setPrincipal':
      if (op.principal !== null) checkPrincipal(op.principal);
      return;
    case 'touch':
      if (!Number.isSafeInteger(op.at)) bad('an integer time in ms');
      return;
    case 'invalidate':
      return;
    default:
      bad('one of set, remove, setMaxInactive, setPrincipal, touch, invalidate');
  }
}

/**
 * Builds a delta from operations in the order they happened (merging them, see {@link mergeOps}).
 *
 * @param key - the session id without its route
 * @param base - the version the delta applies to
 * @param ops - the operations
 * @throws SessionCodecError INVALID_ARGUMENT for a bad key, version or op
 */
export function createDelta(key: string, base: Version, ops: readonly Op[]): Delta {
  if (typeof key !== 'string' || key.length === 0) {
    throw new SessionCodecError('INVALID_ARGUMENT', 'delta key is invalid', {
      expected: 'a non-empty string',
    });
  }
  checkVersion(base, 'delta base');
  return { key, base, ops: mergeOps(ops) };
}

/** True when a delta changes nothing. */
export function isEmptyDelta(delta: Delta): boolean {
  return delta.ops.length === 0;
}
