#!/usr/bin/env node
import cluster from 'node:cluster';

import { Command } from 'commander';

import { ConfigError } from './config/errors.js';
import { loadConfig, type ResolvedConfig } from './config/load.js';
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

function summary(c: ResolvedConfig): string {
  return c.balancers
    .map(
      (b) =>
        `  balancer ${b.name} (${b.hosts?.join(',') ?? '*'} ${b.path}, ${b.method}): ${b.members.map((m) => `${m.route}=${m.url.origin}[${m.state}]`).join(' ')}`,
    )
    .join('\n');
}

/** One serving process: builds the proxy, listens, reloads on SIGHUP (or the primary's message), drains on SIGTERM. */
async function serve(file: string, config: ResolvedConfig): Promise<void> {
  const proxy = new CohortProxy(config);
  const log = proxy.log;
  const addr = await proxy.listen();
  log.info(
    { host: addr.address, port: addr.port, worker: cluster.isWorker ? cluster.worker?.id : 0 },
    'cohort-proxy listening',
  );
  const reload = () => {
    try {
      proxy.reload(loadConfig(file));
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
      loadConfig(file);
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
