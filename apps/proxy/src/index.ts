/**
 * cohort-proxy: a balancing reverse proxy for HTTP and AJP members with session affinity read
 * from the session id, failover to the replication partner, re-pinning, fail-back policies and
 * safe retries.
 * @packageDocumentation
 */
export { ConfigError, type ConfigErrorCode, type ConfigIssue } from './config/errors.js';
export {
  loadConfig,
  parseConfig,
  validateConfig,
  type ResolvedBalancer,
  type ResolvedConfig,
  type ResolvedMember,
} from './config/load.js';
export {
  MEMBER_STATES,
  STATE_ALIASES,
  configSchema,
  type BalancerConfig,
  type MemberConfig,
  type MemberStateName,
  type MethodName,
  type ProxyConfig,
  type ProxyConfigInput,
} from './config/schema.js';
export { parseDuration, parseSize } from './config/duration.js';
export {
  decide,
  type BalancerView,
  type DecideInput,
  type Decision,
  type DecisionKind,
  type FailbackPolicy,
  type PinAction,
  type RepinPolicy,
} from './balancer/decide.js';
export {
  memberState,
  servesOwn,
  takesNew,
  takesRedirect,
  type MemberState,
} from './balancer/member-state.js';
export {
  byBusyness,
  byRequests,
  byTraffic,
  createMethod,
  hash32,
  powerOfTwo,
  rendezvous,
  type Method,
  type PickContext,
} from './balancer/methods.js';
export {
  recordAnswer,
  recordCheck,
  recordFailure,
  slowStartWeight,
  type CheckPolicy,
  type HealthEvent,
  type OutlierPolicy,
} from './balancer/health.js';
export {
  IDEMPOTENT_METHODS,
  marksMemberInError,
  mayRetry,
  type FailurePhase,
  type RetryInput,
} from './balancer/retry.js';
export { createRouter, hostName, type Routable } from './balancer/router.js';
export {
  clearPinCookie,
  createRouteReader,
  pinCookie,
  type AffinityOptions,
  type RequestRoutes,
  type RouteReader,
} from './balancer/affinity.js';
export { requestHeaders, type RequestHeaderContext } from './http/headers.js';
export {
  responseHeaders,
  rewriteLocation,
  rewriteSetCookie,
  type ResponseRewrite,
} from './http/rewrite.js';
export { FrontRequestError, type FrontErrorCode } from './front/errors.js';
export { parseRequestHead, type HeadLimits, type RequestHead } from './front/request-head.js';
export { FrontServer, type FrontHandlers, type FrontServerOptions } from './front/server.js';
export type { FrontRequest, BodySink } from './front/request.js';
export { FrontResponse, InvalidResponseHeaderError } from './front/response.js';
export { ManagementError, type ManagementErrorCode } from './management-error.js';
export {
  applyOverrides,
  noOverrides,
  parseStateChange,
  type AddedMember,
  type MemberOverride,
  type Overrides,
  type StateChange,
} from './overrides.js';
export type { BalancerStatus, MemberStatus, ProxyStatus } from './status.js';
export { CohortProxy, type ProxyEvents, type ProxyOptions, type ProxyStats } from './proxy.js';
export { AdminServer, type AdminServerOptions } from './admin/server.js';
export { AdminError, type AdminErrorCode } from './admin/errors.js';
export { AdminToken } from './admin/token.js';
export { ProxyMetrics } from './admin/metrics.js';
export {
  readStateFile,
  writeStateFile,
  StatePersistence,
  STATE_FILE_VERSION,
  type StateFileRead,
} from './admin/state-file.js';
export type { ResolvedAdmin } from './config/load.js';
