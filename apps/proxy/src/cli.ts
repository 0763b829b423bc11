#!/usr/bin/env node
import cluster from 'node:cluster';
import { renameSync } from 'node:fs';

import { Command } from 'commander';
import type { Logger } from 'pino';

import { AdminServer } from './admin/server.js';
import { readStateFile, StatePersistence, type StateFileRead } from './admin/state-file.js';
import { ConfigError, issuePlace, type ConfigIssue } from './config/errors.js';
import { loadConfig, type ResolvedConfig, type ResolvedMember } from './config/load.js';
import { createLogger } from './log.js';
import type { Overrides } from './overrides.js';
import { CohortProxy } from './proxy.js';

interface Options {
  config: string;
  check?: boolean;
}

function load(file: string): ResolvedConfig {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`cohort-proxy: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** A member's address with its port always shown, and said to be the default when it is. */
function memberAddress(m: ResolvedMember): string {
  const { protocol, host, port, origin } = m.url;
  const shown = `${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return /:\d+$/.test(origin) ? shown : `${shown} (default ${protocol} port)`;
}

/** How many changes a state file holds (member settings, added and removed members). */
function changeCount(o: Overrides): number {
  let n = 0;
  for (const per of Object.values(o.members)) n += Object.keys(per).length;
  for (const list of Object.values(o.added)) n += list.length;
  for (const list of Object.values(o.removed)) n += list.length;
  return n;
}

/** The warning for a state file that cannot be used, if it cannot. */
function stateWarning(file: string, read: StateFileRead): ConfigIssue | undefined {
  return read.problem === undefined
    ? undefined
    : {
        path: 'admin.stateFile',
        message: `${file} is ignored (the proxy starts without the management changes it held): ${read.problem}`,
      };
}

/** The `--check` summary: one line per balancer, the admin listener, then the warnings, if any. */
function summary(c: ResolvedConfig): string {
  const lines = c.balancers.map(
    (b) =>
      `  balancer ${b.name} (${b.hosts?.join(',') ?? '*'} ${b.path}, ${b.method}): ${b.members.map((m) => `${m.route}=${memberAddress(m)}[${m.state}]`).join(' ')}`,
  );
  const warnings = [...c.warnings];
  const a = c.admin;
  if (a !== undefined) {
    const host = a.listen.host.includes(':') ? `[${a.listen.host}]` : a.listen.host;
    lines.push(
      `  admin http://${host}:${a.listen.port}${a.path} (${a.token === undefined ? 'read-only: no token' : 'changes with the token'})`,
    );
    if (a.stateFile !== undefined) {
      const read = readStateFile(a.stateFile);
      const w = stateWarning(a.stateFile, read);
      if (w !== undefined) warnings.push(w);
      lines.push(
        `  state file ${a.stateFile}: ${read.overrides !== undefined ? `${changeCount(read.overrides)} change(s)` : w !== undefined ? 'ignored' : 'none yet'}`,
      );
    }
  }
  if (warnings.length > 0) {
    lines.push(`${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`);
    for (const w of warnings) lines.push(`  ${issuePlace(w)}: ${w.message}`);
  }
  return lines.join('\n');
}

/**
 * Reads the state file at start. A file that cannot be used is logged, moved aside to
 * `<file>.corrupt` (so that the next change does not overwrite the evidence) and ignored.
 */
function loadState(log: Logger, file: string): Overrides | undefined {
  const read = readStateFile(file);
  const w = stateWarning(file, read);
  if (w !== undefined) {
    let movedTo: string | undefined = `${file}.corrupt`;
    try {
      renameSync(file, movedTo);
    } catch {
      movedTo = undefined;
    }
    log.warn({ path: w.path, stateFile: file, movedTo }, `state file ignored: ${read.problem}`);
  } else if (read.overrides !== undefined)
    log.info(
      { stateFile: file, changes: changeCount(read.overrides) },
      'management changes restored from the state file',
    );
  return read.overrides;
}

/** Logs each warning of a configuration (at start and after a reload). */
function logWarnings(log: Logger, c: ResolvedConfig): void {
  for (const w of c.warnings) log.warn({ path: w.path }, `configuration: ${w.message}`);
}

/** One serving process: builds the proxy, listens, reloads on SIGHUP (or the primary's message), drains on SIGTERM. */
async function serve(file: string, config: ResolvedConfig): Promise<void> {
  const log = createLogger(config.log.level);
  const stateFile = config.admin?.stateFile;
  const overrides = stateFile === undefined ? undefined : loadState(log, stateFile);
  const proxy = new CohortProxy(config, { logger: log, overrides });
  // With workers, the primary logs the warnings once.
  if (cluster.isPrimary) logWarnings(log, config);
  const addr = await proxy.listen();
  log.info(
    { host: addr.address, port: addr.port, worker: cluster.isWorker ? cluster.worker?.id : 0 },
    'cohort-proxy listening',
  );
  const persistence =
    stateFile === undefined ? undefined : new StatePersistence(proxy, stateFile, log, overrides);
  let admin: AdminServer | undefined;
  if (config.admin !== undefined) {
    admin = new AdminServer(proxy);
    const a = await admin.listen();
    const host = a.address.includes(':') ? `[${a.address}]` : a.address;
    log.info(
      {
        statusPage: `http://${host}:${a.port}${config.admin.path}`,
        changes: config.admin.token === undefined ? 'refused (no token)' : 'with the token',
        stateFile,
      },
      'admin listening',
    );
  }
  const reload = () => {
    try {
      const next = loadConfig(file);
      proxy.reload(next);
      if (cluster.isPrimary) logWarnings(log, next);
    } catch (e) {
      log.error(
        { err: (e as Error).message },
        'reload refused: the configuration is invalid; keeping the current one',
      );
    }
  };
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    persistence?.stop();
    void Promise.all([proxy.close(), admin?.close()]).then(() => {
      log.info('stopped');
      log.flush();
      setTimeout(() => process.exit(0), 50);
    });
  };
  process.on('SIGHUP', reload);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('message', (msg: unknown) => {
    if (msg === 'cohort:reload') reload();
    else if (msg === 'cohort:stop') stop('primary');
  });
}

/** The primary of `workers: N`: forks the workers, relays SIGHUP and SIGTERM, replaces crashed workers. */
function supervise(file: string, config: ResolvedConfig): void {
  const log = createLogger(config.log.level);
  logWarnings(log, config);
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('all workers stopped');
        log.flush();
        setTimeout(() => process.exit(0), 50);
      }
      return;
    }
    log.warn({ worker: w.id, code, signal }, 'worker exited; starting another');
    fork();
  });
  process.on('SIGHUP', () => {
    try {
      logWarnings(log, loadConfig(file));
    } catch (e) {
      log.error({ err: (e as Error).message }, 'reload refused: the configuration is invalid');
      return;
    }
    for (const w of Object.values(cluster.workers ?? {})) w?.send('cohort:reload');
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.send('cohort:stop');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const program = new Command()
  .name('cohort-proxy')
  .description(
    'A balancing reverse proxy for HTTP and AJP members with session affinity, failover, re-pinning and safe retries.\n' +
      'Signals: SIGHUP reloads the configuration (requests in flight finish), SIGTERM drains and exits.',
  )
  .requiredOption('-c, --config <file>', 'configuration file (YAML or JSON)')
  .option('--check', 'validate the configuration, print a summary and exit (status 2 when invalid)')
  .version('0.1.0')
  .action(async (opts: Options) => {
    const config = load(opts.config);
    if (opts.check) {
      process.stdout.write(`${opts.config}: OK\n${summary(config)}\n`);
      return;
    }
    if (cluster.isPrimary && config.workers > 1) supervise(opts.config, config);
    else await serve(opts.config, config);
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`cohort-proxy: ${e.message}\n`);
  process.exit(1);
});
