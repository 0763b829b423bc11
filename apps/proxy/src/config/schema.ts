import { z } from 'zod';

import { parseDuration, parseSize } from './duration.js';

/** Renames familiar alias keys (httpd, mod_jk, HAProxy names) to cohort's own before validation. */
function withAliases<T extends z.ZodType>(aliases: Record<string, string>, schema: T) {
  return z.preprocess((input, ctx) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
    const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
    for (const [alias, name] of Object.entries(aliases)) {
      if (!(alias in out)) continue;
      if (name in out) {
        ctx.addIssue({
          code: 'custom',
          path: [alias],
          message: `"${alias}" is an alias of "${name}"; give only one of them`,
        });
        continue;
      }
      out[name] = out[alias];
      delete out[alias];
    }
    return out;
  }, schema);
}

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration such as 500ms, 2s, 5m or a number of milliseconds, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size such as 16k, 10m or a number of bytes, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ROUTE = /^[A-Za-z0-9_.-]+$/;
const token = z.string().regex(TOKEN, "expected an HTTP token (letters, digits, !#$%&'*+-.^_`|~)");
const route = z.string().regex(ROUTE, 'expected a route of letters, digits, "-", "_" or "."');

/** Member states, cohort names. */
export const MEMBER_STATES = ['active', 'disabled', 'draining', 'standby', 'stopped'] as const;
/** A member's administrative state. */
export type MemberStateName = (typeof MEMBER_STATES)[number];

/** Familiar state names from mod_jk, HAProxy and nginx, mapped to cohort's. */
export const STATE_ALIASES: Readonly<Record<string, MemberStateName>> = {
  a: 'active',
  ready: 'active',
  enabled: 'active',
  d: 'disabled',
  drain: 'draining',
  n: 'draining',
  s: 'stopped',
  maint: 'stopped',
  down: 'stopped',
  backup: 'standby',
  h: 'standby',
  'hot-standby': 'standby',
};

const state = z.string().transform((v, ctx) => {
  const lower = v.toLowerCase();
  if ((MEMBER_STATES as readonly string[]).includes(lower)) return lower as MemberStateName;
  const alias = STATE_ALIASES[lower];
  if (alias) return alias;
  ctx.addIssue({
    code: 'custom',
    message: `expected one of ${MEMBER_STATES.join(', ')} (or an alias: ${Object.keys(STATE_ALIASES).join(', ')}), got ${JSON.stringify(v)}`,
  });
  return z.NEVER;
});

const memberUrl = z.string().transform((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `expected a URL such as http://127.0.0.1:8080, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'ajp:') {
    ctx.addIssue({
      code: 'custom',
      message: `expected an http:// or ajp:// URL, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.username) {
    ctx.addIssue({
      code: 'custom',
      message: `a member URL is scheme://host:port only, got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  const protocol = u.protocol === 'ajp:' ? ('ajp' as const) : ('http' as const);
  const port = u.port ? Number(u.port) : protocol === 'ajp' ? 8009 : 80;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { protocol, host, port, origin: `${protocol}://${u.host}` };
});

/** One backend member (httpd BalancerMember, mod_jk worker, HAProxy server). */
export const memberSchema = withAliases(
  { loadfactor: 'weight', lbfactor: 'weight', activation: 'state', status: 'state' },
  z.strictObject({
    url: memberUrl,
    route: route.optional(),
    weight: z.number().gt(0).max(1000).default(1),
    state: state.default('active'),
    redirect: route.optional(),
    domain: z.string().min(1).optional(),
    secret: z.string().min(1).optional(),
    maxConnections: z.number().int().min(1).max(65_536).default(1024),
  }),
);

const DIALECTS = ['tomcat', 'resin', 'msm', 'none'] as const;

/** How the session id and its route are read (httpd stickysession, mod_jk session_cookie/path). */
export const affinitySchema = z.strictObject({
  dialect: z.enum(DIALECTS).default('tomcat'),
  separator: z.string().length(1).default('.'),
  cookie: z.union([token, z.array(token).min(1)]).default('JSESSIONID'),
  pathParameter: z.union([token, z.null()]).default('jsessionid'),
  routeCookie: token.default('ROUTEID'),
  routeCookiePath: z.string().startsWith('/').default('/'),
});

const METHODS = ['byrequests', 'bytraffic', 'bybusyness', 'p2c', 'hash', 'roundrobin'] as const;
/** Balancing methods. */
export type MethodName = (typeof METHODS)[number];

/** The key of the `hash` method. */
export const hashKeySchema = z.strictObject({
  source: z.enum(['client', 'header', 'cookie']).default('client'),
  name: token.optional(),
});

/** Headers added to requests and rewritten in responses. */
export const headersSchema = withAliases(
  { ProxyPreserveHost: 'preserveHost', ProxyVia: 'via' },
  z.strictObject({
    preserveHost: z.boolean().default(false),
    xForwarded: z.boolean().default(true),
    forwarded: z.boolean().default(true),
    via: z.boolean().default(true),
    requestId: token.default('X-Request-Id'),
    underscores: z.enum(['drop', 'pass']).default('drop'),
    rewriteLocation: z.boolean().default(true),
    cookiePath: z.record(z.string(), z.string()).default({}),
    cookieDomain: z.record(z.string(), z.string()).default({}),
  }),
);

/** Expected statuses of an HTTP check: `200-399`, `200`, `200,204`, `2xx`. */
const statusList = z
  .string()
  .regex(
    /^\s*(?:[1-5]\d\d(?:-[1-5]\d\d)?|[1-5]xx)(?:\s*,\s*(?:[1-5]\d\d(?:-[1-5]\d\d)?|[1-5]xx))*\s*$/,
    'expected statuses such as "200-399", "200,204" or "2xx"',
  );

/**
 * Active health checks of a balancer's members (HAProxy `check inter rise fall` + `option
 * httpchk` + `http-check expect`, mod_proxy_hcheck `hcmethod hcuri hcinterval hcpasses hcfails`,
 * mod_jk CPing). `type` defaults to `http` for http:// members and `ajp` (CPing/CPong) for
 * ajp:// members.
 */
export const healthCheckSchema = withAliases(
  {
    inter: 'interval',
    hcinterval: 'interval',
    hcpasses: 'rise',
    hcfails: 'fall',
    hcuri: 'path',
    hcmethod: 'method',
  },
  z.strictObject({
    type: z.enum(['http', 'tcp', 'ajp']).optional(),
    method: z.enum(['GET', 'HEAD', 'OPTIONS']).default('GET'),
    path: z.string().startsWith('/').default('/'),
    host: z.string().min(1).optional(),
    expectStatus: statusList.default('200-399'),
    expectBody: z
      .string()
      .min(1)
      .refine((v) => {
        try {
          new RegExp(v);
          return true;
        } catch {
          return false;
        }
      }, 'expected a regular expression')
      .optional(),
    interval: duration.default(5_000),
    timeout: duration.default(2_000),
    rise: z.number().int().min(1).max(100).default(2),
    fall: z.number().int().min(1).max(100).default(3),
    jitter: z.number().min(0).max(1).default(0.1),
  }),
);

/**
 * Passive outlier detection (Envoy `outlier_detection`, HAProxy `observe layer7` + `error-limit`):
 * a transport failure ejects a member at once, `consecutiveFailures` failed answers (5xx,
 * invalid, timed out) in a row do; each ejection lasts `retry` × 2^(ejections − 1), at most
 * `maxEjectionTime`; at most `maxEjectionPercent` of the members are ejected at once (at least one).
 */
export const outlierSchema = z.strictObject({
  consecutiveFailures: z.number().int().min(1).max(1000).default(5),
  maxEjectionTime: duration.default(300_000),
  maxEjectionPercent: z.number().min(0).max(100).default(50),
});

/** One balancer: a set of members chosen by host and path prefix. */
export const balancerSchema = withAliases(
  { lbmethod: 'method', maxattempts: 'maxAttempts', stickysession: 'affinity' },
  z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'expected a name of letters, digits, "-", "_" or "."'),
    hosts: z.array(z.string().min(1)).optional(),
    path: z.string().startsWith('/').default('/'),
    method: z.enum(METHODS).default('byrequests'),
    hashKey: hashKeySchema.optional(),
    affinity: affinitySchema.default(affinitySchema.parse({})),
    repin: z.enum(['none', 'cookie']).default('cookie'),
    failback: z.enum(['immediate', 'never', 'when-idle']).default('never'),
    failbackIdle: duration.default(300_000),
    retry: duration.default(2_000),
    maxAttempts: z.number().int().min(1).max(16).optional(),
    retryBodyCap: size.default(65_536),
    headers: headersSchema.default(headersSchema.parse({})),
    healthCheck: healthCheckSchema.optional(),
    outlier: outlierSchema.default(outlierSchema.parse({})),
    slowStart: duration.default(0),
    discover: z
      .strictObject({
        role: z.string().min(1).default('app'),
        service: z.string().min(1).optional(),
      })
      .optional(),
    members: z.array(memberSchema).min(1),
  }),
);

/** Front-end limits (httpd LimitRequest*, nginx client_*, HAProxy tune.*). */
export const limitsSchema = z.strictObject({
  maxHeaderBytes: size.default(16_384),
  maxHeaders: z.number().int().min(1).max(10_000).default(100),
  maxRequestLineBytes: size.default(8_190),
  maxBodyBytes: size.default(10 * 1024 * 1024),
});

/** Timeouts, front and back. */
export const timeoutsSchema = z.strictObject({
  headers: duration.default(10_000),
  idle: duration.default(5_000),
  request: duration.default(300_000),
  connect: duration.default(3_000),
  response: duration.default(60_000),
  body: duration.default(60_000),
  queue: duration.default(10_000),
  send: duration.default(60_000),
  drain: duration.default(30_000),
});

const listen = z.union([
  z.string().transform((v, ctx) => {
    const i = v.lastIndexOf(':');
    const port = Number(v.slice(i + 1));
    if (i < 1 || !Number.isInteger(port) || port < 0 || port > 65_535) {
      ctx.addIssue({ code: 'custom', message: `expected host:port, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return { host: v.slice(0, i).replace(/^\[|\]$/g, ''), port };
  }),
  z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535),
  }),
]);

/**
 * Joining the gossip membership (@cohort/membership) to learn members: balancers with
 * `discover` take the application instances that announce themselves there.
 */
export const discoverySchema = z.strictObject({
  name: z.string().min(1).max(255).optional(),
  bind: listen.default({ host: '127.0.0.1', port: 7946 }),
  advertise: z.string().min(3).optional(),
  seeds: z.array(z.string().min(3)).default([]),
  /** AES-256-GCM keys, 32 bytes base64; the first encrypts. Never logged. */
  keys: z.array(z.string().min(1)).min(1).optional(),
  cluster: z.string().min(1).default('cohort'),
  preset: z.enum(['lan', 'wan', 'local']).default('lan'),
});

/** Path segments of the admin pages: `/cohort-status`, `/lb/status` (no trailing slash). */
const ADMIN_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;

/**
 * The admin listener: the status page, its JSON and WebSocket views, the management API and
 * `/metrics` (httpd balancer-manager, mod_jk's status worker, HAProxy's stats page and runtime
 * API). Off unless this section is given; it binds loopback unless `listen` says otherwise.
 * Changes need the `token` (or the first line of `tokenFile`); without one the pages are
 * read-only. Changes are kept in `stateFile`, when given, and read back at start.
 */
export const adminSchema = z.strictObject({
  listen: listen.default({ host: '127.0.0.1', port: 8001 }),
  /** The management token (never logged). */
  token: z
    .string()
    .regex(
      /^[\x21-\x7e]{16,1024}$/,
      'expected 16 to 1024 visible ASCII characters without spaces (e.g. `openssl rand -hex 16`)',
    )
    .optional(),
  /** A file whose first line is the token (kept out of the configuration file). */
  tokenFile: z.string().min(1).optional(),
  /** Where management changes are kept across restarts (HAProxy `server-state-file`). */
  stateFile: z.string().min(1).optional(),
  path: z
    .string()
    .regex(ADMIN_PATH, 'expected a path such as /cohort-status (no trailing slash)')
    .refine((p) => p !== '/metrics', '/metrics is the metrics endpoint')
    .default('/cohort-status'),
});

/** The whole proxy configuration file. */
export const configSchema = z.strictObject({
  listen: listen.default({ host: '127.0.0.1', port: 8000 }),
  workers: z.number().int().min(1).max(256).default(1),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      access: z.boolean().default(true),
    })
    .default({ level: 'info', access: true }),
  limits: limitsSchema.default(limitsSchema.parse({})),
  timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
  discovery: discoverySchema.optional(),
  admin: adminSchema.optional(),
  balancers: z.array(balancerSchema).min(1),
});

/** A validated proxy configuration (defaults filled in). */
export type ProxyConfig = z.output<typeof configSchema>;
/** A validated balancer. */
export type BalancerConfig = ProxyConfig['balancers'][number];
/** A validated member. */
export type MemberConfig = BalancerConfig['members'][number];
/** A configuration as written in the file (before defaults). */
export type ProxyConfigInput = z.input<typeof configSchema>;
