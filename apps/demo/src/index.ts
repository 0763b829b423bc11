/**
 * cohort-demo: a small Express app that issues route-encoded session ids (its own route per
 * instance) and keeps sessions in memory, or in cohort session nodes through `cohortSession()` of
 * `@cohort/session-client`; used by the quick start and the end-to-end tests.
 * @packageDocumentation
 */
export { createDemoApp, type DemoApp, type DemoAppOptions } from './app.js';
export { startDemo, type DemoServer, type StartDemoOptions } from './server.js';
export {
  cohortSessions,
  type CohortDemoSessions,
  type CohortSessionsOptions,
} from './cohort-sessions.js';
export { memorySessions } from './memory-sessions.js';
export {
  ATTRIBUTE_NAME,
  RESERVED_ATTRIBUTES,
  isDemoValue,
  type DemoSessions,
  type DemoSessionView,
  type DemoValue,
} from './session-view.js';
export {
  createSessionStore,
  type DemoSession,
  type SessionStore,
  type SessionStoreOptions,
} from './sessions.js';
export { nodePlacement, type SessionPlacement } from './placement.js';
export {
  startControlServer,
  type ControlServer,
  type ControlServerOptions,
} from './control-server.js';
