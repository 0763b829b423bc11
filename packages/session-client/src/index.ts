/**
 * @cohort/session-client: replicated sessions for Node.js applications — the `cohortSession()`
 * middleware, the express-session `CohortStore`, the backends they run on (cohort session nodes,
 * Redis / Redis Cluster, memory), and the interface a backend implements.
 *
 * @packageDocumentation
 */
export {
  type AckLevel,
  type LoadOptions,
  type WriteOptions,
  type ApplyOptions,
  type TouchEntry,
  type SessionBackend,
} from './backend.js';
export { SessionBackendError, isBackendError, type SessionBackendErrorCode } from './errors.js';
export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export {
  cohortSession,
  sessionOf,
  type CohortSessionOptions,
  type CohortSessionMiddleware,
  type CohortSessionRequest,
  type CohortSessionStats,
} from './middleware.js';
export { SessionHandle } from './session-handle.js';
export { type CookieOptions } from './cookie.js';
export {
  RedisBackend,
  type RedisBackendOptions,
  type RedisTarget,
  type RedisClientLike,
  type RedisClusterLike,
  type AnyRedis,
} from './redis-backend.js';
export { decodeSessionHash } from './redis-hash.js';
export { NodeBackend, type NodeBackendOptions } from './node/node-backend.js';
