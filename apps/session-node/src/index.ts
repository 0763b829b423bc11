/**
 * cohort-session-node: the replicated session server.
 *
 * @packageDocumentation
 */
export { SessionNode } from './node.js';
export type { OwnershipCounts, SessionNodeOptions } from './node.js';
export { loadNodeConfig, resolveNodeConfig } from './config/load.js';
export { ConfigError } from './config/errors.js';
export { configSchema } from './config/schema.js';
export type { ConfigInput, NodeConfig } from './config/schema.js';
export { CLIENT_PATH, CLOSE_CODES } from './client-connection.js';
export { REPLICATION_PATH } from './peers.js';
export { SEQ_ATTRIBUTE_PREFIX } from './requests.js';
export type { StatusData } from './status.js';
