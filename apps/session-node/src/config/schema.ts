import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/, 'expected host:port');

const ackLevel = z.enum(['owner', 'quorum', 'all']);

/** The YAML/JSON configuration file of cohort-session-node (see the README). */
export const configSchema = z
  .object({
    /** Member name; the node's member id is `name#<boot id>` (default: the host name). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 _ . -')
      .optional(),
    /** WebSocket and HTTP listener (clients, other nodes, status page, metrics). */
    listen: hostPort.default('127.0.0.1:8700'),
    /** Base URL others reach the listener at (ws:// or wss://); default from `listen`. */
    advertise: z
      .string()
      .regex(/^wss?:\/\/[^/\s]+$/, 'expected ws://host:port or wss://host:port')
      .optional(),
    /** Gossip membership (@cohort/membership, UDP and TCP on one port). */
    gossip: z
      .object({
        listen: hostPort.default('127.0.0.1:7946'),
        advertise: hostPort.optional(),
        /** AES-256-GCM keys (base64 of 32 bytes), the first encrypts. */
        keys: z.array(z.string().min(1)).optional(),
        cluster: z.string().min(1).default('cohort'),
        preset: z.enum(['lan', 'wan', 'local']).default('lan'),
        /**
         * Routable-set changes inside this window are one view change (ms). Shorter than the
         * presets' (500 ms for lan) so a restarted node is in its view, and ready, within 1 s.
         */
        routableBatchMs: z.number().int().min(10).max(10_000).default(100),
      })
      .strict()
      .prefault({}),
    /** host:port of the gossip endpoints of other nodes to join through. */
    seeds: z.array(hostPort).default([]),
    /** Copies of each session, owner included. */
    replicas: z.number().int().min(1).max(7).default(3),
    /** Acknowledgement level when a request does not name one. */
    ack: ackLevel.default('quorum'),
    /** Idle timeout of sessions created without one, in seconds (negative: never). */
    maxInactive: z.number().int().min(-1).default(1800),
    limits: z
      .object({
        /** Largest WebSocket message from a client, in bytes. */
        maxFrameBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024),
        /** Largest encoded attribute value, in bytes. */
        maxAttributeBytes: z
          .number()
          .int()
          .min(1)
          .default(1024 * 1024),
        /** Largest session (sum of its encoded attribute values), in bytes. */
        maxSessionBytes: z
          .number()
          .int()
          .min(1)
          .default(4 * 1024 * 1024),
        /** Most attributes in one session. */
        maxAttributes: z.number().int().min(1).default(10_000),
        /** Requests in flight per client connection before the node stops reading it. */
        maxInFlight: z.number().int().min(1).default(1024),
        /** Client connections at once. */
        maxConnections: z.number().int().min(1).default(10_000),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        /** Bearer token clients must present (Authorization header); absent: no check. */
        token: z.string().min(16, 'expected at least 16 characters').optional(),
        /** Token between nodes; default: `token`. */
        peerToken: z.string().min(16, 'expected at least 16 characters').optional(),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        cert: z.string().min(1),
        key: z.string().min(1),
        /** CA bundle to verify other nodes' certificates. */
        ca: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** How long SIGTERM waits for other nodes to take over this node's sessions, in ms. */
    drainMs: z.number().int().min(0).max(600_000).default(10_000),
    /** Operation timeout of the replication engine, in ms. */
    opTimeoutMs: z.number().int().min(100).default(5000),
    /** Tunables of the replication engine (see @cohort/replication `EngineConfig`). */
    engine: z
      .object({
        /**
         * Ownership claims started per second at most. Every new session is a claim, so this
         * bounds session creation per node too; it also paces a restarted node's take-over.
         */
        claimsPerSecond: z.number().int().min(1).default(20_000),
        /** Claims in flight at once. */
        maxConcurrentClaims: z.number().int().min(1).default(1024),
        /**
         * The smallest replica set ownership may move to (capped at `replicas`). 2 keeps a
         * 3-node cluster writable after one node dies (writes at quorum then need both copies);
         * 3 keeps ownership where it is until the node returns or a fourth joins.
         */
        minReplicas: z.number().int().min(1).default(2),
        /** Changes kept per session for catch-up before a snapshot is sent instead. */
        logEntries: z.number().int().min(1).optional(),
        /** Touches reach the backups at most every max(TTL/4, this) ms. */
        minTouchIntervalMs: z.number().int().min(1).optional(),
        /** Retransmission interval of unanswered replication messages, ms. */
        retransmitMs: z.number().int().min(1).optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

/** The configuration as written (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration with defaults applied. */
export type NodeConfig = z.output<typeof configSchema>;
