#!/usr/bin/env node
import cluster from 'node:cluster';

import { Command } from 'commander';
import type { Logger } from 'pino';

import { ConfigError, issuePlace } from './config/errors.js';
import { loadConfig, type ResolvedConfig, type ResolvedMember } from './config/load.js';
import { createLogger } from './log.js';
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

/** The `--check` summary: one line per balancer, then the warnings, if any. */
function summary(c: ResolvedConfig): string {
  const lines = c.balancers.map(
    (b) =>
      `  balancer ${b.name} (${b.hosts?.join(',') ?? '*'} ${b.path}, ${b.method}): ${b.members.map((m) => `${m.route}=${memberAddress(m)}[${m.state}]`).join(' ')}`,
  );
  if (c.warnings.length > 0) {
    lines.push(`${c.warnings.length} warning${c.warnings.length === 1 ? '' : 's'}:`);
    for (const w of c.warnings) lines.push(`  ${issuePlace(w)}: ${w.message}`);
  }
  return lines.join('\n');
}

/** Logs each warning of a configuration (at start and after a reload). */
function logWarnings(log: Logger, c: ResolvedConfig): void {
  for (const w of c.warnings) log.warn({ path: w.path }, `configuration: ${w.message}`);
}

/** One serving process: builds the proxy, listens, reloads on SIGHUP (or the primary's message), drains on SIGTERM. */
async function serve(file: string, config: ResolvedConfig): Promise<void> {
  const proxy = new CohortProxy(config);
  const log = proxy.log;
  // With workers, the primary logs the warnings once.
  if (cluster.isPrimary) logWarnings(log, config);
  const addr = await proxy.listen();
  log.info(
    { host: addr.address, port: addr.port, worker: cluster.isWorker ? cluster.worker?.id : 0 },
    'cohort-proxy listening',
  );
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
    void proxy.close().then(() => {
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
