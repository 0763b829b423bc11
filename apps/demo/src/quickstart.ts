#!/usr/bin/env node
/**
 * The quick start: cohort-proxy on 127.0.0.1:8000 in front of three demo instances (routes app1,
 * app2, app3 on ports 8001-8003), each its own process so any one can be stopped. Prints the
 * URLs and the PIDs; Ctrl-C stops everything. Run it with `npm start` at the repository root.
 * With `--replicated` it also starts three cohort-session-node processes (ports 8701-8703) and
 * the demo instances keep their sessions there, so a stopped instance loses none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    'first-app-port': { type: 'string', default: '8001' },
    instances: { type: 'string', default: '3' },
    replicated: { type: 'boolean', default: false },
    'first-node-port': { type: 'string', default: '8701' },
  },
});
const proxyPort = Number(values.port);
const firstAppPort = Number(values['first-app-port']);
const count = Number(values.instances);
const firstNodePort = Number(values['first-node-port']);

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
// The configurations (with --replicated, the nodes' token) go when the quick start does.
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const configFile = join(dir, 'proxy.yaml');
writeFileSync(
  configFile,
  `# cohort-proxy configuration written by the quick start
listen: 127.0.0.1:${proxyPort}
log: { level: warn, access: false }
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

// With --replicated: three session nodes (3 copies of each session, quorum writes), gossip on
// the WebSocket port + 100, a random client token for this run.
const nodes = values.replicated
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
        `[${name}] stopped (${signal ?? `exit ${code}`}); the proxy sends its sessions elsewhere\n`,
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
    nodes.length > 0 ? { COHORT_SESSION_TOKEN: token } : {},
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
  for (const c of children.values()) c.kill('SIGTERM');
} else {
  const lines = [
    '',
    'cohort quick start is running',
    `  proxy   http://127.0.0.1:${proxyPort}/     pid ${proxy.pid}   config ${configFile}`,
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
          'Stop that instance (kill <pid> above) and reload: another instance serves you and the',
          'counter goes on, the sessions are in the session nodes (kill -9 one of them too).',
        ]
      : [
          'Stop that instance (kill <pid> above) and reload: another instance serves you (sessions',
          'are in memory, so the counter starts again; --replicated keeps them in session nodes).',
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
