import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { hostPort, resolveHttpBackends, type HttpBackend } from './backends.js';
import { PeerError } from './errors.js';
import { writeFiles } from './files.js';
import { needBinary } from './missing.js';
import { discardRunDir, makeRunDir } from './paths.js';
import { extendHandle, launch, retryPortClash, type PeerHandle } from './peer-process.js';
import { freePorts } from './ports.js';
import { checkPort, checkRelativePaths } from './validate.js';

/** Debian's nginx binary. */
export const NGINX_BIN = '/usr/sbin/nginx';

/** Options of {@link startNginx}: a reverse proxy, a static file server, or both. */
export interface NginxOptions {
  /** HTTP servers to balance over (round robin, with a shared `zone`, pitfall P18). */
  backends?: HttpBackend[];
  /** Proxy port (default: a free port; only with backends). */
  port?: number;
  /** Idle keep-alive connections per worker to the backends (default 0: a new one per request). */
  upstreamKeepalive?: number;
  /** Serve this existing directory as static files. */
  staticDir?: string;
  /** Or write these files (path relative to the web root → content) and serve them. */
  staticFiles?: Record<string, string | Uint8Array>;
  /** Static server port (default: a free port; only with staticDir/staticFiles). */
  staticPort?: number;
  /** `worker_processes` (default 2). */
  workerProcesses?: number;
  /** Ready timeout (default 10 s). */
  readyTimeoutMs?: number;
  /** Stop timeout before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
}

/** A running nginx. */
export interface NginxHandle extends PeerHandle {
  /** The proxy port, when backends were given. */
  readonly port: number | undefined;
  /** `http://127.0.0.1:<port>` of the proxy, when backends were given. */
  readonly url: string | undefined;
  /** The static server port, when static files are served. */
  readonly staticPort: number | undefined;
  /** `http://127.0.0.1:<staticPort>`, when static files are served. */
  readonly staticUrl: string | undefined;
  /** The directory served as static files. */
  readonly staticRoot: string | undefined;
}

/**
 * Starts nginx (master in the foreground, `daemon off`) on 127.0.0.1 with its pid, logs and temp
 * paths inside the run directory (P18). Its workers run as the user who started it (as root:
 * `user root root;`, not nginx's default `nobody` or Debian's www-data), so it serves a
 * `staticDir` or run directory that only that user can reach, such as a checkout under `/root`
 * or in a `mktemp -d` folder.
 */
export async function startNginx(opts: NginxOptions): Promise<NginxHandle> {
  return retryPortClash(opts.port === undefined && opts.staticPort === undefined, () =>
    startNginxOnce(opts),
  );
}

async function startNginxOnce(opts: NginxOptions): Promise<NginxHandle> {
  const peer = 'nginx';
  needBinary(NGINX_BIN, 'nginx', peer);
  const backends = opts.backends ? resolveHttpBackends(opts.backends, peer) : undefined;
  const serveStatic = opts.staticDir !== undefined || opts.staticFiles !== undefined;
  if (!backends && !serveStatic) {
    throw new PeerError(
      'BAD_OPTION',
      peer,
      'give backends (proxy), staticDir/staticFiles (static server), or both',
    );
  }
  if (opts.staticFiles) checkRelativePaths(opts.staticFiles, 'staticFiles', peer);
  const [p1, p2] = await freePorts(2);
  const port = backends ? (opts.port ?? p1!) : undefined;
  const staticPort = serveStatic ? (opts.staticPort ?? p2!) : undefined;
  if (port !== undefined) checkPort(port, 'port', peer);
  if (staticPort !== undefined) checkPort(staticPort, 'staticPort', peer);
  const workers = opts.workerProcesses ?? 2;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new PeerError('BAD_OPTION', peer, `workerProcesses ${workers} must be an integer 1..64`);
  }
  const dir = makeRunDir('nginx', String(port ?? staticPort));
  for (const d of ['logs', 'tmp']) mkdirSync(join(dir, d));
  let staticRoot = opts.staticDir;
  if (staticRoot === undefined && opts.staticFiles) {
    staticRoot = join(dir, 'www');
    writeFiles(staticRoot, opts.staticFiles);
  }
  const keepalive = opts.upstreamKeepalive ?? 0;
  const servers: string[] = [];
  if (backends && port !== undefined) {
    servers.push(`  upstream backends {
    zone backends 64k;
${backends.map((b) => `    server ${hostPort(b)};`).join('\n')}${keepalive > 0 ? `\n    keepalive ${keepalive};` : ''}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;${keepalive > 0 ? '\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";' : ''}
    }
  }`);
  }
  if (staticRoot !== undefined && staticPort !== undefined) {
    servers.push(`  server {
    listen 127.0.0.1:${staticPort};
    root "${staticRoot}";
  }`);
  }
  const t = join(dir, 'tmp');
  const conf = `# written by @cohort/peers
${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes ${workers};
pid "${join(dir, 'nginx.pid')}";
error_log "${join(dir, 'logs', 'error.log')}" warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path "${t}/body";
  proxy_temp_path "${t}/proxy";
  fastcgi_temp_path "${t}/fastcgi";
  uwsgi_temp_path "${t}/uwsgi";
  scgi_temp_path "${t}/scgi";
${servers.join('\n')}
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const base = ['-p', dir, '-c', file, '-e', join(dir, 'logs', 'error.log')];
  const check = spawnSync(NGINX_BIN, [...base, '-t', '-q'], { encoding: 'utf8' });
  if (check.status !== 0) {
    discardRunDir(dir);
    throw new PeerError(
      'BAD_OPTION',
      peer,
      `nginx -t rejected ${file}: ${(check.stderr || check.stdout).trim()}`,
    );
  }
  const handle = await launch({
    kind: 'nginx',
    label: String(port ?? staticPort),
    dir,
    command: NGINX_BIN,
    args: [...base, '-g', 'daemon off;'],
    logFile: join(dir, 'logs', 'error.log'),
    ports: [port, staticPort].filter((p): p is number => p !== undefined),
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
  return extendHandle(handle, {
    port,
    url: port === undefined ? undefined : `http://127.0.0.1:${port}`,
    staticPort,
    staticUrl: staticPort === undefined ? undefined : `http://127.0.0.1:${staticPort}`,
    staticRoot,
  });
}
