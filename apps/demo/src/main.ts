#!/usr/bin/env node
import { parseArgs } from 'node:util';

import type { AckLevel } from '@cohort/session-client';

import { startDemo } from './server.js';

const { values } = parseArgs({
  options: {
    route: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cookie: { type: 'string', default: 'JSESSIONID' },
    'session-nodes': { type: 'string', default: process.env['COHORT_SESSION_NODES'] ?? '' },
    ack: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const usage = `usage: cohort-demo --route <name> [--port N] [--host 127.0.0.1] [--cookie JSESSIONID]
                   [--session-nodes ws://host:port,ws://host:port] [--ack owner|quorum|all]
  --session-nodes   keep sessions in these cohort session nodes (cohortSession() + NodeBackend)
                    instead of this process's memory; also COHORT_SESSION_NODES. The nodes'
                    client token is read from COHORT_SESSION_TOKEN.
  --ack             acknowledgement level of session writes (default: the nodes')
`;
const acks: readonly string[] = ['owner', 'quorum', 'all'];
if (values.help || !values.route || (values.ack !== undefined && !acks.includes(values.ack))) {
  process.stdout.write(usage);
  process.exit(values.help ? 0 : 2);
}
const sessionNodes = values['session-nodes']
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);
const bad = sessionNodes.find((u) => !/^wss?:\/\/[^/\s]+/.test(u));
if (bad !== undefined) {
  process.stderr.write(`--session-nodes: ${JSON.stringify(bad)} is not a ws:// or wss:// URL\n`);
  process.exit(2);
}

const token = process.env['COHORT_SESSION_TOKEN'];
// The quick start's control endpoint (loopback) and its token: the page's kill buttons.
const controlUrl = process.env['COHORT_DEMO_CONTROL_URL'];
const controlToken = process.env['COHORT_DEMO_CONTROL_TOKEN'];
const demo = await startDemo({
  route: values.route,
  port: Number(values.port),
  host: values.host,
  cookieName: values.cookie,
  ...(sessionNodes.length > 0 ? { sessionNodes } : {}),
  ...(token !== undefined && token !== '' ? { sessionToken: token } : {}),
  ...(values.ack !== undefined ? { ack: values.ack as AckLevel } : {}),
  ...(controlUrl !== undefined && controlToken !== undefined
    ? { control: { url: controlUrl, token: controlToken } }
    : {}),
});
const where =
  sessionNodes.length > 0
    ? `sessions in ${sessionNodes.length} session node(s)`
    : 'sessions in memory';
process.stdout.write(
  `cohort-demo ${demo.route} listening on ${demo.url} (pid ${process.pid}, ${where})\n`,
);
const stop = () => void demo.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
