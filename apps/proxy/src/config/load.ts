import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { LineCounter, parseDocument, type YAMLError } from 'yaml';

import { AdminToken } from '../admin/token.js';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import {
  configSchema,
  type BalancerConfig,
  type MemberConfig,
  type ProxyConfig,
} from './schema.js';

/** A member after resolution: its route is always set. */
export type ResolvedMember = MemberConfig & { readonly route: string };
/** A balancer after resolution: routes and `maxAttempts` are always set. */
export type ResolvedBalancer = Omit<BalancerConfig, 'members' | 'maxAttempts'> & {
  readonly members: readonly ResolvedMember[];
  readonly maxAttempts: number;
  /**
   * The routes in the order the Resin dialect's owner letter indexes (`a` = the first): the
   * configured members, also those removed at run time, then the added ones. Unset: `members`.
   */
  readonly routeOrder?: readonly string[];
};
/**
 * A validated configuration with every default and derived value filled in, and the warnings:
 * settings that are valid but probably not meant (`--check` prints them, the proxy logs them at
 * start and on reload).
 */
export type ResolvedConfig = Omit<ProxyConfig, 'balancers' | 'admin'> & {
  readonly balancers: readonly ResolvedBalancer[];
  /** The admin listener, when the file has an `admin` section. */
  readonly admin: ResolvedAdmin | undefined;
  /** Valid but doubtful settings, each with its key path; empty when there are none. */
  readonly warnings: readonly ConfigIssue[];
};

/** The admin listener after resolution: the token read, file paths absolute. */
export interface ResolvedAdmin {
  readonly listen: { readonly host: string; readonly port: number };
  /** The management token (from `token` or `tokenFile`); without it changes are refused. */
  readonly token: AdminToken | undefined;
  /** Absolute path of the state file, if any. */
  readonly stateFile: string | undefined;
  /** Path prefix of the status page and the API, e.g. `/cohort-status`. */
  readonly path: string;
}

/** True for addresses only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Resolves the `admin` section: reads `tokenFile` (its first line), makes file paths absolute
 * against `baseDir` (the configuration file's directory), checks it against `workers`.
 */
function resolveAdmin(
  config: ProxyConfig,
  baseDir: string,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): ResolvedAdmin | undefined {
  const a = config.admin;
  if (a === undefined) return undefined;
  let token = a.token;
  if (a.token !== undefined && a.tokenFile !== undefined)
    issues.push({ path: 'admin.tokenFile', message: 'give either token or tokenFile, not both' });
  else if (a.tokenFile !== undefined) {
    try {
      const line = readFileSync(resolve(baseDir, a.tokenFile), 'utf8').split(/\r?\n/)[0]!.trim();
      if (!/^[\x21-\x7e]{16,1024}$/.test(line))
        issues.push({
          path: 'admin.tokenFile',
          message:
            'the first line of the token file must be 16 to 1024 visible ASCII characters without spaces (e.g. `openssl rand -hex 16`)',
        });
      else token = line;
    } catch (e) {
      issues.push({
        path: 'admin.tokenFile',
        message: `cannot read the token file: ${(e as Error).message}`,
      });
    }
  }
  if (config.workers > 1)
    issues.push({
      path: 'admin',
      message:
        'the admin listener needs workers: 1 (each worker process has its own member states, counters and changes)',
    });
  if (config.listen.port !== 0 && a.listen.port === config.listen.port)
    issues.push({
      path: 'admin.listen',
      message: `port ${a.listen.port} is the proxy's own listen port`,
    });
  if (!isLoopback(a.listen.host))
    warnings.push({
      path: 'admin.listen',
      message: `${a.listen.host} is not a loopback address: the status page, its metrics${token === undefined ? '' : ' and the management API (with the token, sent in clear: there is no TLS)'} are reachable from the network`,
    });
  return {
    listen: a.listen,
    token: token === undefined ? undefined : new AdminToken(token),
    stateFile:
      a.stateFile === undefined
        ? undefined
        : isAbsolute(a.stateFile)
          ? a.stateFile
          : resolve(baseDir, a.stateFile),
    path: a.path,
  };
}

/** Warnings for one balancer: defaulted routes under affinity, AJP members without a secret. */
function balancerWarnings(b: BalancerConfig, at: string): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const unnamed = b.members.flatMap((m, mi) => (m.route === undefined ? [mi] : []));
  if (b.affinity.dialect !== 'none' && unnamed.length > 0) {
    const list = unnamed.map((mi) => `members[${mi}] is "m${mi + 1}"`).join(', ');
    warnings.push({
      path: `${at}.members`,
      message: `${unnamed.length === 1 ? 'a member has' : `${unnamed.length} members have`} no route, so the default is used (${list}); with affinity (dialect "${b.affinity.dialect}") a session sticks only when its id ends in the member's route: set each route to the server's jvmRoute (Tomcat) or to the route its session ids carry, or set affinity.dialect to "none"`,
    });
  }
  b.members.forEach((m, mi) => {
    if (m.url.protocol === 'ajp' && m.secret === undefined) {
      warnings.push({
        path: `${at}.members[${mi}].secret`,
        message: `ajp:// member without a secret: Tomcat 10 (and 9.0.31+, 8.5.51+) requires one by default (secretRequired="true") and answers 403 to every request from a proxy that sends none; set secret to the AJP connector's secret, unless that connector has secretRequired="false"`,
      });
    }
  });
  return warnings;
}

function crossCheck(
  config: ProxyConfig,
  baseDir: string,
): { issues: ConfigIssue[]; resolved: ResolvedConfig } {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const names = new Set<string>();
  const places = new Map<string, number>();
  const balancers = config.balancers.map((b, bi): ResolvedBalancer => {
    const at = `balancers[${bi}]`;
    if (names.has(b.name))
      issues.push({ path: `${at}.name`, message: `duplicate balancer name "${b.name}"` });
    names.add(b.name);
    const place = `${(b.hosts ?? ['*'])
      .map((h) => h.toLowerCase())
      .sort()
      .join(',')} ${b.path}`;
    const prev = places.get(place);
    if (prev !== undefined) {
      issues.push({
        path: `${at}.path`,
        message: `balancers[${prev}] already serves the same hosts and path "${b.path}"; this one would never be used`,
      });
    } else places.set(place, bi);

    const members = b.members.map((m, mi): ResolvedMember => ({
      ...m,
      route: m.route ?? `m${mi + 1}`,
    }));
    const routes = new Map<string, number>();
    members.forEach((m, mi) => {
      const p = routes.get(m.route);
      if (p !== undefined) {
        issues.push({
          path: `${at}.members[${mi}].route`,
          message: `route "${m.route}" is already used by members[${p}]`,
        });
      } else routes.set(m.route, mi);
    });
    members.forEach((m, mi) => {
      if (m.redirect === undefined) return;
      if (m.redirect === m.route) {
        issues.push({
          path: `${at}.members[${mi}].redirect`,
          message: 'a member cannot redirect to itself',
        });
      } else if (!routes.has(m.redirect)) {
        issues.push({
          path: `${at}.members[${mi}].redirect`,
          message: `no member of balancer "${b.name}" has route "${m.redirect}" (routes: ${[...routes.keys()].join(', ')})`,
        });
      }
    });
    members.forEach((m, mi) => {
      if (m.url.protocol === 'http' && m.secret !== undefined) {
        issues.push({
          path: `${at}.members[${mi}].secret`,
          message: 'secret is for ajp:// members only',
        });
      }
    });
    if (b.failback !== 'immediate' && b.repin === 'none') {
      issues.push({
        path: `${at}.failback`,
        message: `failback "${b.failback}" needs repin "cookie": without the routing cookie the proxy keeps no memory of where a session moved, so it always fails back immediately`,
      });
    }
    if (b.method === 'hash') {
      const src = b.hashKey?.source ?? 'client';
      if (src !== 'client' && b.hashKey?.name === undefined) {
        issues.push({
          path: `${at}.hashKey.name`,
          message: `hash on a ${src} needs the ${src} name`,
        });
      }
    } else if (b.hashKey !== undefined) {
      issues.push({
        path: `${at}.hashKey`,
        message: `hashKey is only used by method "hash" (method is "${b.method}")`,
      });
    }
    if (b.affinity.dialect === 'resin' && members.length > 64) {
      issues.push({
        path: `${at}.members`,
        message: 'the resin dialect addresses at most 64 members',
      });
    }
    warnings.push(...balancerWarnings(b, at));
    return { ...b, members, maxAttempts: b.maxAttempts ?? Math.max(1, members.length) };
  });
  const admin = resolveAdmin(config, baseDir, issues, warnings);
  return { issues, resolved: { ...config, balancers, warnings, admin } };
}

/**
 * Validates a parsed configuration object. Throws {@link ConfigError} (`ERR_CONFIG_INVALID`)
 * listing every bad key with its path and the reason; valid but doubtful settings are in the
 * result's `warnings`. Relative file paths (`admin.tokenFile`, `admin.stateFile`) are resolved
 * against `baseDir` (default: the working directory).
 */
export function validateConfig(
  input: unknown,
  source = 'config',
  baseDir = process.cwd(),
): ResolvedConfig {
  const r = configSchema.safeParse(input);
  if (!r.success) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
      source,
    );
  }
  const { issues, resolved } = crossCheck(r.data, baseDir);
  if (issues.length > 0) throw new ConfigError('ERR_CONFIG_INVALID', issues, source);
  return resolved;
}

/** The source line of `text` numbered `line` (1-based), trimmed and cut to 60 characters. */
function sourceLine(text: string, line: number): string {
  const l = (text.split(/\r\n|\r|\n/)[line - 1] ?? '').trim();
  return l.length > 60 ? `${l.slice(0, 57)}...` : l;
}

/** A YAML parser error or warning as an issue located by line and column (1-based). */
function syntaxIssue(e: YAMLError, text: string, lines: LineCounter): ConfigIssue {
  const { line, col } = lines.linePos(e.pos[0]);
  const shown = sourceLine(text, line);
  return {
    path: '',
    line,
    column: col,
    message: `${e.message}${shown === '' ? '' : ` (in ${JSON.stringify(shown)})`}`,
  };
}

/**
 * Parses YAML or JSON text (JSON is YAML) and validates it. A syntax error is a
 * {@link ConfigError} `ERR_CONFIG_SYNTAX` whose issues carry the line and column. Relative file
 * paths are resolved against `baseDir`.
 */
export function parseConfig(
  text: string,
  source = 'config',
  baseDir = process.cwd(),
): ResolvedConfig {
  let data: unknown;
  try {
    // Warnings (unknown tags, …) are refused like errors: a config file has no use for them.
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      prettyErrors: false,
      lineCounter: lines,
      uniqueKeys: true,
      logLevel: 'silent',
    });
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new ConfigError(
        'ERR_CONFIG_SYNTAX',
        problems.map((p) => syntaxIssue(p, text, lines)),
        source,
      );
    }
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(
      'ERR_CONFIG_SYNTAX',
      [{ path: '', message: (e as Error).message }],
      source,
    );
  }
  return validateConfig(data ?? {}, source, baseDir);
}

/**
 * Reads and validates a YAML or JSON configuration file; relative file paths in it are relative
 * to its directory.
 */
export function loadConfig(file: string): ResolvedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('ERR_CONFIG_READ', [{ path: '', message: (e as Error).message }], file);
  }
  return parseConfig(text, file, dirname(resolve(file)));
}
