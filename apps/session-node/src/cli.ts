#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError } from './config/errors.js';
import { loadNodeConfig } from './config/load.js';
import type { NodeConfig } from './config/schema.js';
import { SessionNode } from './node.js';

const usage = `usage: cohort-session-node --config node.yaml [--check]

  --config FILE   the YAML (or JSON) configuration
  --check         validate the configuration, print a summary and exit (0 valid, 2 invalid)
`;

function main(): void {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`cohort-session-node: ${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(usage);
    return;
  }
  if (!args.config) {
    process.stderr.write(`cohort-session-node: --config is required\n${usage}`);
    process.exit(2);
  }
  let config: NodeConfig;
  try {
    config = loadNodeConfig(args.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cohort-session-node: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (args.check) {
    process.stdout.write(
      `configuration ok: node ${config.name}, listen ${config.listen}, gossip ${config.gossip.listen}, ` +
        `${config.seeds.length} seed(s), ${config.replicas} copies, ack ${config.ack}, ` +
        `max inactive ${config.maxInactive} s, client token ${config.auth.token ? 'set' : 'none'}, ` +
        `TLS ${config.tls ? 'on' : 'off'}\n`,
    );
    return;
  }
  const node = new SessionNode(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    node.log.info({ signal }, 'handing off and stopping');
    void node.shutdown().then(() => {
      node.log.flush();
      setTimeout(() => process.exit(0), 50);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  node.start().then(
    () => {
      // A machine-readable line for supervisors and tests (no secrets in it).
      process.stdout.write(
        `${JSON.stringify({ listening: node.url, gossip: node.gossipAddress, id: node.id })}\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`cohort-session-node: cannot start: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}

main();
