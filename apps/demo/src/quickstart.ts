#!/usr/bin/env node
/**
 * The quick start: cohort-proxy on 127.0.0.1:8000 in front of three demo instances (routes app1,
 * app2, app3 on ports 8001-8003), each its own process so any one can be stopped. Prints the
 * URLs and the PIDs; Ctrl-C stops everything. Run it with `npm start` at the repository root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    'first-app-port': { type: 'string', default: '8001' },
    instances: { type: 'string', default: '3' },
  },
});
const proxyPort = Number(values.port);
const firstAppPort = Number(values['first-app-port']);
const count = Number(values.instances);

const here = dirname(fileURLToPath(import.meta.url));
const demoMain = join(here, 'main.js');
// The proxy's bin, built next to this app by `tsc -b apps/demo` (its tsconfig references apps/proxy).
const proxyCli = join(here, '..', '..', 'proxy', 'dist', 'cli.js');

const apps = Array.from({ length: count }, (_, i) => ({
  route: `app${i + 1}`,
  port: firstAppPort + i,
}));
const dir = mkdtempSync(join(tmpdir(), 'cohort-quickstart-'));
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

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

for (const a of apps) run(a.route, [demoMain, '--route', a.route, '--port', String(a.port)]);
const proxy = run('proxy', [proxyCli, '--config', configFile]);

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

const ok = await Promise.all([
  ...apps.map((a) => ready(`http://127.0.0.1:${a.port}/healthz`)),
  ready(`http://127.0.0.1:${proxyPort}/healthz`),
]);
if (ok.includes(false)) {
  process.stdout.write(
    'the quick start could not start everything (is a port in use?); stopping\n',
  );
  stopping = true;
  for (const c of children.values()) c.kill('SIGTERM');
} else {
  process.stdout.write(`
cohort quick start is running
  proxy   http://127.0.0.1:${proxyPort}/     pid ${proxy.pid}   config ${configFile}
${apps.map((a) => `  ${a.route}    http://127.0.0.1:${a.port}/     pid ${children.get(a.route)?.pid}   stop it: kill ${children.get(a.route)?.pid}`).join('\n')}

Open http://127.0.0.1:${proxyPort}/ and reload: the counter grows on one instance.
Stop that instance (kill <pid> above) and reload: another instance serves you.
  curl -s -c /tmp/cohort.jar -b /tmp/cohort.jar http://127.0.0.1:${proxyPort}/api/session
Ctrl-C stops everything.
`);
}

const stopAll = () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping…\n');
  for (const c of children.values()) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 5000).unref();
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
