#!/usr/bin/env node
/**
 * The quick start (`npm start` at the repository root): three cohort-session-node processes
 * (ports 8701-8703), three demo instances (routes app1, app2, app3 on ports 8001-8003) keeping
 * their sessions in those nodes through the cohort middleware, and cohort-proxy on 127.0.0.1:8000
 * in front of them with its status page (admin listener on 127.0.0.1:8090, a token generated for
 * this run and printed). Each is its own process; the page's buttons stop one through this
 * process's control endpoint (loopback, a random token the demo instances forward with). Prints
 * the URLs and the PIDs; Ctrl-C stops everything. With `--memory` there are no session nodes and
 * the instances keep sessions in their memory (a stopped instance loses its sessions).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startControlServer } from './control-server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    'first-app-port': { type: 'string', default: '8001' },
    instances: { type: 'string', default: '3' },
    memory: { type: 'boolean', default: false },
    // The default since the full demo; still accepted.
    replicated: { type: 'boolean', default: false },
    'first-node-port': { type: 'string', default: '8701' },
    'admin-port': { type: 'string', default: '8090' },
  },
});
const proxyPort = Number(values.port);
const firstAppPort = Number(values['first-app-port']);
const count = Number(values.instances);
const firstNodePort = Number(values['first-node-port']);
const adminPort = Number(values['admin-port']);
const replicated = !values.memory;

const here = dirname(fileURLToPath(import.meta.url));
const demoMain = join(here, 'main.js');
// The proxy's bin, built next to this app by `tsc -b apps/demo` (its tsconfig references apps/proxy).
const proxyCli = join(here, '..', '..', 'proxy', 'dist', 'cli.js');
// The session node's bin, built the same way (the tsconfig references apps/session-node too).
const sessionNodeCli = join(here, '..', '..', 'session-node', 'dist', 'cli.js');

const apps = Array.from({ length: count }, (_, i) => ({
  route: `app${i + 1}`,
  port: firstAppPort + i,
}));
const dir = mkdtempSync(join(tmpdir(), 'cohort-quickstart-'));
// The configurations (and in them the tokens) go when the quick start does.
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const configFile = join(dir, 'proxy.yaml');
// The status page's token (changes need it; reading does not), new for every run.
const adminToken = randomBytes(18).toString('base64url');
writeFileSync(
  configFile,
  `# cohort-proxy configuration written by the quick start
listen: 127.0.0.1:${proxyPort}
log: { level: warn, access: false }
admin: { listen: 127.0.0.1:${adminPort}, token: '${adminToken}' }
balancers:
  - name: demo
    method: byrequests
    affinity: { cookie: JSESSIONID }
    repin: cookie
    failback: never
    retry: 2s
    members:
${apps.map((a) => `      - { url: "http://127.0.0.1:${a.port}", route: ${a.route} }`).join('\n')}
`,
);

// Unless --memory: three session nodes (3 copies of each session, quorum writes), gossip on
// the WebSocket port + 100, a random client token for this run.
const nodes = replicated
  ? Array.from({ length: 3 }, (_, i) => ({
      name: `sn${i + 1}`,
      port: firstNodePort + i,
      gossip: firstNodePort + 100 + i,
    }))
  : [];
const token = randomBytes(18).toString('base64url');
for (const n of nodes) {
  writeFileSync(
    join(dir, `${n.name}.yaml`),
    `# cohort-session-node configuration written by the quick start
name: ${n.name}
listen: 127.0.0.1:${n.port}
gossip: { listen: 127.0.0.1:${n.gossip}, preset: local }
seeds: [${nodes
      .filter((o) => o !== n)
      .map((o) => `'127.0.0.1:${o.gossip}'`)
      .join(', ')}]
replicas: 3
ack: quorum
auth: { token: '${token}' }
log: { level: warn }
`,
  );
}

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.set(name, child);
  const relay = (d: Buffer) => {
    for (const line of d.toString().split('\n'))
      if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
  };
  child.stdout!.on('data', relay);
  child.stderr!.on('data', relay);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping)
      process.stdout.write(
        `[${name}] stopped (${signal ?? `exit ${code}`}); ${
          name.startsWith('sn')
            ? 'the other session nodes keep its sessions'
            : 'the proxy sends its sessions elsewhere'
        }\n`,
      );
    if (stopping && children.size === 0) process.exit(0);
  });
  return child;
}

async function ready(url: string): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// The control endpoint the page's buttons reach through the demo instances: loopback only, a
// random token that only the instances know.
const controlToken = randomBytes(24).toString('base64url');
const control = await startControlServer({
  token: controlToken,
  running: () => [...children.keys()],
  kill: (name) => children.get(name)?.kill('SIGKILL') ?? false,
});
const controlEnv = {
  COHORT_DEMO_CONTROL_URL: control.url,
  COHORT_DEMO_CONTROL_TOKEN: controlToken,
};

for (const n of nodes) run(n.name, [sessionNodeCli, '--config', join(dir, `${n.name}.yaml`)]);
const nodesOk = await Promise.all(nodes.map((n) => ready(`http://127.0.0.1:${n.port}/readyz`)));
const sessionNodes = nodes.map((n) => `ws://127.0.0.1:${n.port}`).join(',');
for (const a of apps) {
  run(
    a.route,
    [
      demoMain,
      '--route',
      a.route,
      '--port',
      String(a.port),
      ...(nodes.length > 0 ? ['--session-nodes', sessionNodes] : []),
    ],
    nodes.length > 0 ? { ...controlEnv, COHORT_SESSION_TOKEN: token } : controlEnv,
  );
}
// The proxy once its members answer (its first requests would find them refused otherwise).
const appsOk = await Promise.all(apps.map((a) => ready(`http://127.0.0.1:${a.port}/healthz`)));
const proxy = run('proxy', [proxyCli, '--config', configFile]);
const ok = [...nodesOk, ...appsOk, await ready(`http://127.0.0.1:${proxyPort}/healthz`)];
if (ok.includes(false)) {
  process.stdout.write(
    'the quick start could not start everything (is a port in use?); stopping\n',
  );
  stopping = true;
  void control.close();
  for (const c of children.values()) c.kill('SIGTERM');
} else {
  const lines = [
    '',
    'cohort quick start is running',
    `  proxy   http://127.0.0.1:${proxyPort}/     pid ${proxy.pid}   config ${configFile}`,
    `  status  http://127.0.0.1:${adminPort}/cohort-status   admin token ${adminToken}`,
    `  control ${control.url}/ (loopback; the page's buttons, through the demo instances)`,
    ...apps.map(
      (a) =>
        `  ${a.route}    http://127.0.0.1:${a.port}/     pid ${children.get(a.route)?.pid}   stop it: kill ${children.get(a.route)?.pid}`,
    ),
    ...nodes.map(
      (n) =>
        `  ${n.name}     ws://127.0.0.1:${n.port}      pid ${children.get(n.name)?.pid}   status http://127.0.0.1:${n.port}/`,
    ),
    '',
    `Open http://127.0.0.1:${proxyPort}/ and reload: the counter grows on one instance.`,
    ...(nodes.length > 0
      ? [
          'The page shows the session owner and backups; press "Kill this instance" or "Kill the',
          'owner session node" (or kill <pid> above): another instance or node takes over and the',
          'counter goes on, the sessions are kept by the session nodes.',
        ]
      : [
          'Stop that instance (kill <pid> above) and reload: another instance serves you (sessions',
          'are in memory, so the counter starts again; without --memory they are in session nodes).',
        ]),
    `  curl -s -c /tmp/cohort.jar -b /tmp/cohort.jar http://127.0.0.1:${proxyPort}/api/session`,
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

const stopAll = () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping…\n');
  void control.close();
  for (const c of children.values()) c.kill('SIGTERM');
  // Session nodes hand their sessions off before they exit (at most their drainMs, 10 s); what is
  // still running after that is killed, never left behind.
  setTimeout(() => {
    for (const c of children.values()) c.kill('SIGKILL');
    process.exit(0);
  }, 12_000).unref();
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
