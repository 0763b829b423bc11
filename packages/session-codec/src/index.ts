export {
  SessionCodecError,
  type SessionCodecErrorCode,
  type SessionCodecErrorDetails,
} from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits.js';
export { formatPath, type PathSegment } from './path.js';
export { TypeRegistry, type TypeCodec, type AnyTypeCodec } from './type-registry.js';
export { ValueCodec, defaultValueCodec, type ValueCodecOptions } from './value-codec.js';
