/**
 * @cohort/session-codec: the session model, attribute values, per-attribute deltas and their
 * protobuf wire encoding (proto/session.proto, format 1). Sans-I/O: times are passed in.
 *
 * @packageDocumentation
 */
export {
  SessionCodecError,
  type SessionCodecErrorCode,
  type SessionCodecErrorDetails,
} from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits.js';
export { formatPath, type PathSegment } from './path.js';
export { TypeRegistry, type TypeCodec, type AnyTypeCodec } from './type-registry.js';
export { ValueCodec, defaultValueCodec, type ValueCodecOptions } from './value-codec.js';
export {
  INITIAL_VERSION,
  compareVersions,
  nextVersion,
  formatVersion,
  type Version,
} from './version.js';
export {
  createSession,
  readAttribute,
  readAttributes,
  sessionsEqual,
  bytesEqual,
  type Session,
  type Principal,
  type NewSession,
} from './session.js';
export {
  createDelta,
  mergeOps,
  isEmptyDelta,
  type Delta,
  type Op,
  type SetOp,
  type RemoveOp,
  type SetMaxInactiveOp,
  type SetPrincipalOp,
  type TouchOp,
  type InvalidateOp,
} from './delta.js';
export { applyDelta, type ApplyOptions } from './apply-delta.js';
export { diffSessions } from './diff.js';
export { TrackedSession, type CommitResult } from './tracked-session.js';
export {
  FORMAT_VERSION,
  encodeSession,
  decodeSession,
  encodeDelta,
  decodeDelta,
  type WireDecodeOptions,
} from './wire.js';
export {
  decodeSessionValues,
  type SessionValues,
  type SessionValuesOptions,
} from './session-values.js';
export {
  valueToJson,
  valueFromJson,
  sessionToJson,
  sessionFromJson,
  stringifySession,
  type Json,
  type SessionJson,
} from './json-codec.js';
export {
  COOKIE_ATTRIBUTE,
  fromExpressSession,
  toExpressSession,
  expressSessionDelta,
  type ExpressCookieData,
  type ExpressSessionData,
  type FromExpressOptions,
  type FromExpressResult,
  type ExpressDeltaResult,
} from './express-session.js';
