/**
 * `@cohort/session-client/express-session`: the express-session store. A separate entry so that
 * the rest of the package does not need express-session installed.
 *
 * @packageDocumentation
 */
export { CohortStore, type CohortStoreOptions } from './express-store.js';
