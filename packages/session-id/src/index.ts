/**
 * @cohort/session-id — route-encoded session ids: generate them, format and parse them in the
 * Tomcat, Resin and memcached-session-manager dialects, extract them from raw requests without
 * building a cookie map, rewrite their route, and sign them as express-session does.
 * @packageDocumentation
 */
export type { NoSessionReason, ParseResult, ParsedSessionId, SessionIdDialect } from './dialect.js';
export { SessionIdError, type SessionIdErrorCode } from './errors.js';
export { tomcatDialect, type TomcatDialectOptions } from './tomcat.js';
export { msmDialect } from './msm.js';
export {
  resinDialect,
  resinOwnerIndex,
  RESIN_OWNER_CHARS,
  type ResinDialectOptions,
} from './resin.js';
export { formatRouteCookie, parseRouteCookie } from './route-cookie.js';
export {
  generateKey,
  generateSessionId,
  type GenerateKeyOptions,
  type GenerateSessionIdOptions,
} from './generate.js';
export { signSessionId, unsignSessionId, type UnsignResult } from './signed.js';
export {
  createExtractor,
  type Extraction,
  type Extractor,
  type ExtractorOptions,
  type FoundSession,
  type NoSession,
  type RawInput,
  type SessionSource,
} from './extract.js';
export { withRoute } from './with-route.js';
