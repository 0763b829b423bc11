import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

import { PeerError } from './errors.js';
import { makeRunDir, packageRoot } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { answersHttp } from './http.js';
import { freePorts, sleep } from './ports.js';
import {
  CONTEXT_XML,
  LOGGING_PROPERTIES,
  serverXml,
  type TomcatClusterOptions,
} from './tomcat-config.js';
import { servletClasses } from './servlet-classes.js';
import { checkAjpSecret, checkRelativePaths, checkRoute } from './validate.js';

export type { TomcatClusterOptions } from './tomcat-config.js';

/** Where Debian's tomcat10 package puts Tomcat. */
export const CATALINA_HOME = '/usr/share/tomcat10';
/**
 * The package's pristine, world-readable copies of the conf templates (/etc/tomcat10 holds the
 * same files, readable only by root and the tomcat group).
 */
const CONF_TEMPLATES = existsSync('/usr/share/tomcat10/etc/web.xml')
  ? '/usr/share/tomcat10/etc'
  : '/etc/tomcat10';

/** JVM options for tests: small heap, serial GC, C1 JIT only (fast start, slower peak). */
export const TOMCAT_TEST_JAVA_OPTS: readonly string[] = [
  '-Xmx256m',
  '-XX:+UseSerialGC',
  '-Xss512k',
  '-XX:TieredStopAtLevel=1',
];

/** JVM options for benchmarks: the full tiered JIT, a larger heap. */
export const TOMCAT_BENCH_JAVA_OPTS: readonly string[] = ['-Xmx512m', '-XX:+UseParallelGC'];

/** Options of {@link startTomcat}. */
export interface TomcatOptions {
  /** The `jvmRoute`: session ids end in `.<route>`; also the `node=` that index.jsp prints. */
  route: string;
  /** HTTP/1.1 connector port (default: a free port). */
  httpPort?: number;
  /** AJP/1.3 connector port (default: a free port). */
  ajpPort?: number;
  /** The AJP secret the connector requires (default: 32 random hex characters, returned). */
  ajpSecret?: string;
  /**
   * The AJP connector's `allowedRequestAttributesPattern`: request attributes an AJP client may
   * send. Default `.*` (accept all, so interop tests can send any); `null` keeps Tomcat's own
   * default, under which unknown attributes get a 403.
   */
  allowedRequestAttributesPattern?: string | null;
  /** Turn on `SimpleTcpCluster` + `DeltaManager` with static membership (see startTomcats). */
  cluster?: boolean | TomcatClusterOptions;
  /**
   * Extra files for the ROOT webapp, by path relative to it (e.g. `{ 'x.jsp': '<%= 1 %>' }`).
   * They are added to (or replace) the default files.
   */
  webapp?: Record<string, string | Uint8Array>;
  /**
   * JVM options (default {@link TOMCAT_TEST_JAVA_OPTS}: C1 only, for a 2–3× faster start and
   * first JSP on a busy 2-core machine; benchmarks should pass {@link TOMCAT_BENCH_JAVA_OPTS}).
   */
  javaOpts?: string[];
  /** How long to wait for HTTP 200 on /ping.txt (default 60 s). */
  readyTimeoutMs?: number;
  /** How long a graceful stop may take before SIGKILL (default 15 s). */
  stopTimeoutMs?: number;
}

/** A running Tomcat. */
export interface TomcatHandle extends PeerHandle {
  /** Its `jvmRoute`. */
  readonly route: string;
  /** HTTP connector port on 127.0.0.1. */
  readonly httpPort: number;
  /** AJP connector port on 127.0.0.1. */
  readonly ajpPort: number;
  /** The AJP secret the connector requires. */
  readonly ajpSecret: string;
  /** `http://127.0.0.1:<httpPort>` (no trailing slash). */
  readonly url: string;
  /** The Tribes receiver port when the cluster is on. */
  readonly receiverPort: number | undefined;
  /** How many lines of logs/catalina.out match `pattern` right now. */
  countLog(pattern: RegExp): number;
}

/**
 * The default ROOT webapp, under `webapp/ROOT` in this package:
 * - `index.jsp`: counts requests in the session, prints `session=<id> n=<n> node=<route>`
 * - `read.jsp`: the same line without writing (and without creating a session)
 * - `invalidate.jsp`: ends the session
 * - `ping.txt`: static `pong` (readiness probe; creates no session)
 * - `echo.jsp`: the request as JSON (method, URI, query, headers in order, attributes incl.
 *   the TLS ones; `?attr=<name>` looks up more attributes by name)
 * - `body.jsp`: echoes the request body (`?stream=1` streams it back chunked)
 * - `bodysize.jsp`: `{"bytes":N,"sha256":"…",…}` of the request body
 * - `status.jsp?code=N&header=Name:Value&body=text`: any status (204/304 without a body)
 * - `big.jsp?bytes=N&chunk=K&length=1`: N bytes of `ALPHABET[i % 64]`, flushed every K bytes
 * - `sleep.jsp?ms=N`: answers after N ms
 * - `/any/<anything>`: a servlet that takes every method (PUT, DELETE, OPTIONS, PROPFIND, …) and
 *   answers JSON like echo.jsp plus `bodyBytes` and `bodySha256`; `?status=N` sets the status
 */
export const DEFAULT_WEBAPP_DIR: string = join(packageRoot, 'webapp', 'ROOT');

/** The pattern of byte i of a `big.jsp` response: `BIG_ALPHABET[i % 64]`. */
export const BIG_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function writeWebapp(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = join(root, normalize(rel));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** Resolved cluster settings for one node. */
type NodeCluster = Required<Omit<TomcatClusterOptions, 'memberPorts'>> & { memberPorts: number[] };

async function resolveCluster(c: TomcatOptions['cluster']): Promise<NodeCluster | undefined> {
  if (c === undefined || c === false) return undefined;
  const o = c === true ? {} : c;
  const receiverPort = o.receiverPort ?? (await freePorts(1))[0]!;
  return {
    sync: o.sync ?? true,
    binderValve: o.binderValve ?? true,
    heartbeatMs: o.heartbeatMs ?? 1000,
    receiverPort,
    memberPorts: o.memberPorts ?? [receiverPort],
  };
}

/**
 * Starts one Tomcat 10 in its own CATALINA_BASE under `.run/peers/`, bound to 127.0.0.1, and
 * resolves once `/ping.txt` answers 200 and the AJP port accepts connections (about 1.7 s).
 */
export async function startTomcat(opts: TomcatOptions): Promise<TomcatHandle> {
  return retryPortClash(
    opts.httpPort === undefined &&
      opts.ajpPort === undefined &&
      (typeof opts.cluster !== 'object' || opts.cluster.receiverPort === undefined),
    () => startTomcatOnce(opts),
  );
}

async function startTomcatOnce(opts: TomcatOptions): Promise<TomcatHandle> {
  const peer = `tomcat ${opts.route}`;
  checkRoute(opts.route, peer);
  if (opts.webapp) checkRelativePaths(opts.webapp, 'webapp', peer);
  if (opts.ajpSecret !== undefined) checkAjpSecret(opts.ajpSecret, 'ajpSecret', peer);
  const catalina = join(CATALINA_HOME, 'bin', 'catalina.sh');
  if (!existsSync(catalina)) {
    throw new PeerError(
      'MISSING_PACKAGE',
      peer,
      `${catalina} not found: Debian package tomcat10 is missing; install it with: sudo bash tools/peers/install.sh`,
    );
  }
  const [pickedHttp, pickedAjp] = await freePorts(2);
  const httpPort = opts.httpPort ?? pickedHttp!;
  const ajpPort = opts.ajpPort ?? pickedAjp!;
  const ajpSecret = opts.ajpSecret ?? randomBytes(16).toString('hex');
  const cluster = await resolveCluster(opts.cluster);

  const classes = await servletClasses();
  const base = makeRunDir('tomcat', opts.route);
  for (const d of ['conf', 'logs', 'temp', 'work', 'webapps']) mkdirSync(join(base, d));
  copyFileSync(join(CONF_TEMPLATES, 'web.xml'), join(base, 'conf', 'web.xml'));
  copyFileSync(
    join(CONF_TEMPLATES, 'catalina.properties'),
    join(base, 'conf', 'catalina.properties'),
  );
  writeFileSync(join(base, 'conf', 'context.xml'), CONTEXT_XML);
  writeFileSync(join(base, 'conf', 'logging.properties'), LOGGING_PROPERTIES);
  writeFileSync(
    join(base, 'conf', 'server.xml'),
    serverXml({
      route: opts.route,
      httpPort,
      ajpPort,
      ajpSecret,
      allowedRequestAttributesPattern:
        opts.allowedRequestAttributesPattern === null
          ? undefined
          : (opts.allowedRequestAttributesPattern ?? '.*'),
      cluster,
    }),
  );
  const root = join(base, 'webapps', 'ROOT');
  cpSync(DEFAULT_WEBAPP_DIR, root, { recursive: true });
  cpSync(classes, join(root, 'WEB-INF', 'classes'), { recursive: true });
  if (opts.webapp) writeWebapp(root, opts.webapp);

  const logFile = join(base, 'logs', 'catalina.out');
  const url = `http://127.0.0.1:${httpPort}`;
  const handle = await launch({
    kind: 'tomcat',
    label: opts.route,
    dir: base,
    command: catalina,
    args: ['run'],
    env: {
      CATALINA_HOME,
      CATALINA_BASE: base,
      CATALINA_TMPDIR: join(base, 'temp'),
      CATALINA_PID: undefined,
      CATALINA_OUT: undefined,
      CATALINA_OPTS: `-Dcohort.node=${opts.route}`,
      JAVA_OPTS: (opts.javaOpts ?? TOMCAT_TEST_JAVA_OPTS).join(' '),
    },
    logFile,
    ports: [httpPort, ajpPort, ...(cluster ? [cluster.receiverPort] : [])],
    ready: () => answersHttp(`${url}/ping.txt`),
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 15_000,
  });
  return extendHandle(handle, {
    route: opts.route,
    httpPort,
    ajpPort,
    ajpSecret,
    url,
    receiverPort: cluster?.receiverPort,
    countLog(pattern: RegExp): number {
      let text: string;
      try {
        text = readFileSync(logFile, 'utf8');
      } catch {
        return 0;
      }
      const re = new RegExp(
        pattern.source,
        pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`,
      );
      return text.match(re)?.length ?? 0;
    },
  });
}

/** Options of {@link startTomcats}: those of startTomcat except the per-node route and ports. */
export interface TomcatsOptions extends Omit<
  TomcatOptions,
  'route' | 'httpPort' | 'ajpPort' | 'cluster'
> {
  /**
   * Make the instances one replicated cluster (SimpleTcpCluster + DeltaManager, static
   * membership, sync replication and the binder valve by default, as tomcat-cluster.md §4.1).
   */
  cluster?: boolean | Omit<TomcatClusterOptions, 'receiverPort' | 'memberPorts'>;
  /** With the cluster on: how long to wait until every node has logged every peer joining (default 20 s). */
  clusterJoinTimeoutMs?: number;
}

/**
 * Waits until `node` has logged `SimpleTcpCluster.memberAdded` at least `count` times, i.e.
 * until it replicates to that many peers. Rejects with NOT_READY after `timeoutMs`.
 */
export async function waitForClusterMembers(
  node: TomcatHandle,
  count: number,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (node.countLog(/SimpleTcpCluster\.memberAdded/) < count) {
    if (Date.now() >= end) {
      throw new PeerError(
        'NOT_READY',
        `tomcat ${node.route}`,
        `fewer than ${count} cluster members joined within ${timeoutMs} ms`,
      );
    }
    await sleep(50);
  }
}

/**
 * Starts one Tomcat per route, one after another (parallel JVM starts only fight over the CPU),
 * all with the same AJP secret. With `cluster`, they form one DeltaManager cluster and this
 * resolves only after every node has seen every other join. If one fails, the ones already
 * started are stopped and the error is rethrown.
 */
export async function startTomcats(
  routes: string[],
  opts: TomcatsOptions = {},
): Promise<TomcatHandle[]> {
  const ajpSecret = opts.ajpSecret ?? randomBytes(16).toString('hex');
  const { cluster: clusterOpt, clusterJoinTimeoutMs, ...rest } = opts;
  const receivers = clusterOpt ? await freePorts(routes.length) : [];
  const started: TomcatHandle[] = [];
  try {
    for (const [i, route] of routes.entries()) {
      started.push(
        await startTomcat({
          ...rest,
          route,
          ajpSecret,
          cluster: clusterOpt
            ? {
                ...(clusterOpt === true ? {} : clusterOpt),
                receiverPort: receivers[i]!,
                memberPorts: receivers,
              }
            : undefined,
        }),
      );
    }
    if (clusterOpt) {
      await Promise.all(
        started.map((t) => waitForClusterMembers(t, routes.length - 1, clusterJoinTimeoutMs)),
      );
    }
    return started;
  } catch (e) {
    await Promise.allSettled(started.map((t) => t.stop()));
    throw e;
  }
}
