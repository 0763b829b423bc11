/**
 * cohort-demo: a small Express app that issues route-encoded session ids (its own route per
 * instance) and keeps sessions in memory; used by the quick start and the end-to-end tests of
 * cohort-proxy.
 * @packageDocumentation
 */
export { createDemoApp, type DemoAppOptions } from './app.js';
export { startDemo, type DemoServer } from './server.js';
export {
  createSessionStore,
  type DemoSession,
  type SessionStore,
  type SessionStoreOptions,
} from './sessions.js';
