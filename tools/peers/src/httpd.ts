import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { PeerError } from './errors.js';
import { writeFiles } from './files.js';
import { discardRunDir, makeRunDir } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { freePorts } from './ports.js';
import { checkPort, checkRelativePaths, checkRoute } from './validate.js';

/** Debian's Apache binary and module directory. */
export const APACHE_BIN = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';

/** One AJP13 server httpd forwards to (a Tomcat, or cohort's own AJP server). */
export interface AjpBackend {
  /** Host (default 127.0.0.1). */
  host?: string;
  /** AJP port. */
  port: number;
  /** Route: the BalancerMember `route=` / mod_jk worker name; must equal the backend's jvmRoute. */
  route: string;
  /** The AJP secret to send (omit for none). */
  secret?: string;
}

/** Options of {@link startHttpd}. */
export interface HttpdOptions {
  /** The AJP servers to forward to (at least one). */
  backends: AjpBackend[];
  /** `proxy_ajp`: mod_proxy_ajp (+ mod_proxy_balancer); `jk`: mod_jk. */
  mode: 'proxy_ajp' | 'jk';
  /**
   * Put the backends behind a sticky balancer (`balancer://` with `stickysession=JSESSIONID|jsessionid`,
   * or a mod_jk `lb` worker with `sticky_session=true`). Default: true when there is more than
   * one backend. With false and one backend, every request goes straight to it.
   */
  balancer?: boolean;
  /** The HTTP port httpd listens on (default: a free port). */
  port?: number;
  /** Apache `LogLevel` (default `warn`; mod_jk's `JkLogLevel` follows: `info` unless debug/trace). */
  logLevel?: string;
  /** More directives appended to the generated httpd.conf (inside no section). */
  extraConfig?: string;
  /**
   * mod_proxy_ajp only: more worker parameters for every `BalancerMember`/`ProxyPass`, e.g.
   * `{ ping: 1, timeout: 5 }` (after the defaults `retry=2` and `secret=…`, so they win).
   */
  proxyParams?: Record<string, string | number>;
  /**
   * mod_jk only: more properties for every ajp13 worker, e.g. `{ ping_mode: 'A', socket_timeout: 5 }`
   * becomes `worker.<route>.ping_mode=A` …
   */
  jkWorkerProperties?: Record<string, string | number>;
  /**
   * Also serve static files on a second port: these files (path relative to the web root →
   * content), written into the run directory's `www/`. httpd's workers run as www-data when
   * started as root; the run directory is placed where they can read it (see `runRoot`).
   */
  staticFiles?: Record<string, string | Uint8Array>;
  /** The static server's port (default: a free port; only with staticFiles). */
  staticPort?: number;
  /** How long to wait for the port to accept connections (default 10 s). */
  readyTimeoutMs?: number;
  /** How long a graceful stop may take before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

/** A running Apache httpd. */
export interface HttpdHandle extends PeerHandle {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Which AJP client module it uses. */
  readonly mode: 'proxy_ajp' | 'jk';
  /** Whether the backends sit behind a balancer. */
  readonly balancer: boolean;
  /** The generated httpd.conf. */
  readonly configFile: string;
  /** The static server's port, when staticFiles were given. */
  readonly staticPort: number | undefined;
  /** `http://127.0.0.1:<staticPort>`, when staticFiles were given. */
  readonly staticUrl: string | undefined;
  /** The directory served as static files (`<run dir>/www`), when staticFiles were given. */
  readonly staticRoot: string | undefined;
}

/** Turns Tomcat handles (or anything with route/ajpPort/ajpSecret) into AJP backends. */
export function ajpBackends(
  servers: readonly { route: string; ajpPort: number; ajpSecret?: string }[],
): AjpBackend[] {
  return servers.map((s) => ({
    host: '127.0.0.1',
    port: s.ajpPort,
    route: s.route,
    secret: s.ajpSecret,
  }));
}

const TOKEN = /^[A-Za-z0-9_.~+=@%:/-]{1,256}$/;

/** Extra parameters become `key=value` tokens in config files: keep them to safe characters. */
function checkParams(
  params: Record<string, string | number> | undefined,
  field: string,
  peer: string,
): void {
  for (const [k, v] of Object.entries(params ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]{0,63}$/.test(k) || !TOKEN.test(String(v))) {
      throw new PeerError(
        'BAD_OPTION',
        peer,
        `${field}.${k}=${String(v)}: keys are [A-Za-z_][A-Za-z0-9_.]*, values ${TOKEN.source}`,
      );
    }
  }
}

function checkBackends(backends: AjpBackend[], peer: string): void {
  if (backends.length === 0) throw new PeerError('BAD_OPTION', peer, 'backends must not be empty');
  const routes = new Set<string>();
  for (const [i, b] of backends.entries()) {
    checkRoute(b.route, peer);
    checkPort(b.port, `backends[${i}].port`, peer);
    if (routes.has(b.route))
      throw new PeerError('BAD_OPTION', peer, `backends[${i}].route '${b.route}' is used twice`);
    routes.add(b.route);
    if (b.host !== undefined && !/^[A-Za-z0-9.:[\]-]{1,253}$/.test(b.host)) {
      throw new PeerError(
        'BAD_OPTION',
        peer,
        `backends[${i}].host '${b.host}' is not a host name or address`,
      );
    }
    if (b.secret !== undefined && !TOKEN.test(b.secret)) {
      throw new PeerError(
        'BAD_OPTION',
        peer,
        `backends[${i}].secret must be 1-256 characters of [A-Za-z0-9_.~+=@%:/-] (it goes into config files unquoted)`,
      );
    }
  }
}

function proxyAjpConfig(
  port: number,
  backends: AjpBackend[],
  balancer: boolean,
  params: Record<string, string | number>,
): string {
  const extra = Object.entries(params)
    .map(([k, v]) => ` ${k}=${v}`)
    .join('');
  const secret = (b: AjpBackend): string => (b.secret !== undefined ? ` secret=${b.secret}` : '');
  const host = (b: AjpBackend): string => b.host ?? '127.0.0.1';
  if (!balancer) {
    const b = backends[0]!;
    return `<VirtualHost 127.0.0.1:${port}>
  ProxyPass "/" "ajp://${host(b)}:${b.port}/" retry=2${secret(b)}${extra}
</VirtualHost>
`;
  }
  const members = backends
    .map(
      (b) =>
        `    BalancerMember "ajp://${host(b)}:${b.port}" route=${b.route} retry=2${secret(b)}${extra}`,
    )
    .join('\n');
  return `<VirtualHost 127.0.0.1:${port}>
  <Proxy "balancer://cohort">
${members}
    ProxySet lbmethod=byrequests stickysession=JSESSIONID|jsessionid
  </Proxy>
  ProxyPass "/" "balancer://cohort/"
</VirtualHost>
`;
}

/** workers.properties for mod_jk (worker names = routes; recovery after 2 s, pitfall P16). */
export function workersProperties(
  backends: AjpBackend[],
  balancer: boolean,
  extra: Record<string, string | number> = {},
): string {
  const lines = [
    '# written by @cohort/peers',
    `worker.list=${balancer ? 'lb' : backends[0]!.route}`,
    'worker.maintain=2',
  ];
  for (const b of backends) {
    const w = `worker.${b.route}`;
    lines.push(`${w}.type=ajp13`, `${w}.host=${b.host ?? '127.0.0.1'}`, `${w}.port=${b.port}`);
    if (b.secret !== undefined) lines.push(`${w}.secret=${b.secret}`);
    for (const [k, v] of Object.entries(extra)) lines.push(`${w}.${k}=${v}`);
  }
  if (balancer) {
    lines.push(
      'worker.lb.type=lb',
      `worker.lb.balance_workers=${backends.map((b) => b.route).join(',')}`,
      'worker.lb.sticky_session=true',
      'worker.lb.recover_time=2',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A static file server on its own port: core httpd, `Require all granted` on `root` only. */
function staticVhost(port: number, root: string): string {
  return `Listen 127.0.0.1:${port}
<VirtualHost 127.0.0.1:${port}>
  DocumentRoot "${root}"
  <Directory "${root}">
    Require all granted
  </Directory>
</VirtualHost>
`;
}

/**
 * The standalone httpd.conf (pitfall P21: no /etc/apache2, no envvars); with `staticServer`, a
 * second virtual host serving that folder.
 */
export function httpdConf(
  dir: string,
  port: number,
  opts: HttpdOptions,
  balancer: boolean,
  staticServer?: { port: number; root: string },
): string {
  const logLevel = opts.logLevel ?? 'warn';
  const jkLevel = /^(debug|trace)/.test(logLevel) ? 'debug' : 'info';
  const mods =
    opts.mode === 'jk'
      ? ['jk']
      : [
          'proxy',
          'proxy_ajp',
          ...(balancer ? ['proxy_balancer', 'slotmem_shm', 'lbmethod_byrequests'] : []),
        ];
  const asRoot = process.getuid?.() === 0;
  const body =
    opts.mode === 'jk'
      ? `JkWorkersFile "${join(dir, 'workers.properties')}"
JkShmFile "${join(dir, 'jk.shm')}"
JkLogFile "${join(dir, 'mod_jk.log')}"
JkLogLevel ${jkLevel}
<VirtualHost 127.0.0.1:${port}>
  JkMount /* ${balancer ? 'lb' : opts.backends[0]!.route}
</VirtualHost>
`
      : proxyAjpConfig(port, opts.backends, balancer, opts.proxyParams ?? {});
  return `# written by @cohort/peers
ServerRoot "${dir}"
ServerName localhost
PidFile "${join(dir, 'httpd.pid')}"
ErrorLog /dev/stderr
LogLevel ${logLevel}
DefaultRuntimeDir "${dir}"
Mutex file:${dir} default
${asRoot ? 'User www-data\nGroup www-data\n' : ''}LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
${mods.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join('\n')}
StartServers 1
ServerLimit 4
ThreadsPerChild 32
MaxRequestWorkers 128
MinSpareThreads 16
MaxSpareThreads 96
Listen 127.0.0.1:${port}
${body}${staticServer ? staticVhost(staticServer.port, staticServer.root) : ''}${opts.extraConfig ?? ''}
`;
}

/**
 * Starts Apache httpd on 127.0.0.1 as a real AJP client of the given backends, through
 * mod_proxy_ajp (+ mod_proxy_balancer) or mod_jk, from a standalone config under `.run/peers/`.
 * The config is syntax-checked first (`apache2 -t`); a bad one is a BAD_OPTION error with
 * Apache's message. Started as root, its workers run as www-data (Apache refuses root workers).
 */
export async function startHttpd(opts: HttpdOptions): Promise<HttpdHandle> {
  return retryPortClash(opts.port === undefined && opts.staticPort === undefined, () =>
    startHttpdOnce(opts),
  );
}

async function startHttpdOnce(opts: HttpdOptions): Promise<HttpdHandle> {
  const peer = `httpd ${opts.mode}`;
  if (opts.mode !== 'proxy_ajp' && opts.mode !== 'jk') {
    throw new PeerError('BAD_OPTION', peer, `mode must be 'proxy_ajp' or 'jk'`);
  }
  checkBackends(opts.backends, peer);
  checkParams(opts.proxyParams, 'proxyParams', peer);
  checkParams(opts.jkWorkerProperties, 'jkWorkerProperties', peer);
  if (opts.staticFiles) checkRelativePaths(opts.staticFiles, 'staticFiles', peer);
  if (opts.staticPort !== undefined && !opts.staticFiles) {
    throw new PeerError('BAD_OPTION', peer, 'staticPort needs staticFiles');
  }
  if (!existsSync(APACHE_BIN)) {
    throw new PeerError(
      'MISSING_PACKAGE',
      peer,
      'Debian package apache2 is missing; install it with: sudo bash tools/peers/install.sh',
    );
  }
  if (opts.mode === 'jk' && !existsSync(`${MODULES}/mod_jk.so`)) {
    throw new PeerError(
      'MISSING_PACKAGE',
      peer,
      'Debian package libapache2-mod-jk is missing; install it with: sudo bash tools/peers/install.sh',
    );
  }
  const balancer = opts.balancer ?? opts.backends.length > 1;
  const [p1, p2] = await freePorts(2);
  const port = opts.port ?? p1!;
  checkPort(port, 'port', peer);
  const staticPort = opts.staticFiles ? (opts.staticPort ?? p2!) : undefined;
  if (staticPort !== undefined) checkPort(staticPort, 'staticPort', peer);
  const dir = makeRunDir('httpd', opts.mode);
  const staticRoot = opts.staticFiles ? join(dir, 'www') : undefined;
  if (opts.staticFiles && staticRoot) writeFiles(staticRoot, opts.staticFiles);
  const configFile = join(dir, 'httpd.conf');
  const staticServer =
    staticPort !== undefined && staticRoot !== undefined
      ? { port: staticPort, root: staticRoot }
      : undefined;
  writeFileSync(configFile, httpdConf(dir, port, opts, balancer, staticServer));
  if (opts.mode === 'jk')
    writeFileSync(
      join(dir, 'workers.properties'),
      workersProperties(opts.backends, balancer, opts.jkWorkerProperties),
    );
  const check = spawnSync(APACHE_BIN, ['-t', '-f', configFile], { encoding: 'utf8' });
  if (check.status !== 0) {
    discardRunDir(dir);
    throw new PeerError(
      'BAD_OPTION',
      peer,
      `apache2 -t rejected ${configFile}: ${(check.stderr || check.stdout).trim()}`,
    );
  }
  const handle = await launch({
    kind: 'httpd',
    label: opts.mode,
    dir,
    command: APACHE_BIN,
    args: ['-f', configFile, '-DFOREGROUND'],
    logFile: join(dir, 'httpd.log'),
    ports: staticPort === undefined ? [port] : [port, staticPort],
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
  return extendHandle(handle, {
    port,
    url: `http://127.0.0.1:${port}`,
    mode: opts.mode,
    balancer,
    configFile,
    staticPort,
    staticUrl: staticPort === undefined ? undefined : `http://127.0.0.1:${staticPort}`,
    staticRoot,
  });
}
