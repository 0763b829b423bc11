#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { startDemo } from './server.js';

const { values } = parseArgs({
  options: {
    route: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    cookie: { type: 'string', default: 'JSESSIONID' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || !values.route) {
  process.stdout.write(
    'usage: cohort-demo --route <name> [--port N] [--host 127.0.0.1] [--cookie JSESSIONID]\n',
  );
  process.exit(values.help ? 0 : 2);
}

const demo = await startDemo({
  route: values.route,
  port: Number(values.port),
  host: values.host,
  cookieName: values.cookie,
});
process.stdout.write(`cohort-demo ${demo.route} listening on ${demo.url} (pid ${process.pid})\n`);
const stop = () => void demo.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
