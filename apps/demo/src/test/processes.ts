/**
 * Real processes for the cluster end-to-end test: cohort-session-node, this demo app and
 * cohort-proxy, each spawned from its built `dist/` on 127.0.0.1, with a YAML configuration in a
 * temporary folder where it has one.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const demoDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = join(demoDir, '..', '..');
const SESSION_NODE_CLI = join(root, 'apps', 'session-node', 'dist', 'cli.js');
const PROXY_CLI = join(root, 'apps', 'proxy', 'dist', 'cli.js');
const DEMO_MAIN = join(demoDir, 'dist', 'main.js');

/**
 * Builds the three programs as `npm start` would (`tsc -b`); retried, since a parallel nx build
 * may be writing the same files.
 */
export function buildPrograms(): void {
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  const projects = ['apps/proxy', 'apps/session-node', 'apps/demo'].map((p) => join(root, p));
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(tsc, ['-b', ...projects], { stdio: 'pipe' });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      execFileSync('sleep', ['2']);
    }
  }
}

/** A temporary folder for configuration files, removed by `remove()`. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'cohort-cluster-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A child process with its output lines kept. */
export class Child {
  readonly proc: ChildProcess;
  readonly spawnedAt = Date.now();
  readonly lines: string[] = [];
  readonly exited: Promise<number | string | null>;
  #waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];

  /** @param name - for messages; @param args - node arguments; @param env - extra variables */
  constructor(
    readonly name: string,
    args: readonly string[],
    env: Record<string, string> = {},
  ) {
    this.proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > 2000) this.lines.splice(0, 1000);
        for (const w of this.#waiters.filter((x) => x.test(line))) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(line);
        }
      });
    }
  }

  /** Resolves with the first output line (from now on, or already seen) that passes `test`. */
  async line(test: (l: string) => boolean, timeoutMs: number): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return seen;
    let timer: NodeJS.Timeout | undefined;
    const died = this.exited.then((how) => {
      throw new Error(`${this.name} exited (${how}): ${this.lines.slice(-5).join(' | ')}`);
    });
    died.catch(() => undefined); // the race below reports it; an exit after the line is no error
    try {
      return await Promise.race([
        new Promise<string>((resolve) => this.#waiters.push({ test, resolve })),
        died,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`${this.name}: no such line in ${timeoutMs} ms: ${this.lines.slice(-5)}`),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    await this.exited;
  }
}

/** A cohort-session-node process. */
export interface SessionNodeProcess {
  readonly child: Child;
  readonly name: string;
  /** `ws://127.0.0.1:port` */
  readonly url: string;
  /** `127.0.0.1:port` of its gossip. */
  readonly gossip: string;
  /** When it printed its listening line (Date.now()). */
  readonly listeningAt: number;
}

/**
 * Starts `cohort-session-node --config <dir>/<name>.yaml`. `listen` and `gossip` default to port
 * 0; a restart passes the addresses of the first start.
 */
export async function startSessionNode(o: {
  dir: string;
  name: string;
  token: string;
  seeds: readonly string[];
  listen?: string;
  gossip?: string;
}): Promise<SessionNodeProcess> {
  const file = join(o.dir, `${o.name}.yaml`);
  writeFileSync(
    file,
    [
      `# cohort-session-node ${o.name} of the cluster end-to-end test`,
      `name: ${o.name}`,
      `listen: ${o.listen ?? '127.0.0.1:0'}`,
      'gossip:',
      `  listen: ${o.gossip ?? '127.0.0.1:0'}`,
      '  preset: local',
      `seeds: [${o.seeds.map((s) => `'${s}'`).join(', ')}]`,
      'replicas: 3',
      'ack: quorum',
      'auth:',
      `  token: '${o.token}'`,
      'log:',
      '  level: warn',
      '',
    ].join('\n'),
  );
  const child = new Child(o.name, [SESSION_NODE_CLI, '--config', file]);
  const line = await child.line((l) => l.startsWith('{"listening"'), 60_000);
  const info = JSON.parse(line) as { listening: string; gossip: string };
  return { child, name: o.name, url: info.listening, gossip: info.gossip, listeningAt: Date.now() };
}

/** GETs `path` of a session node's HTTP side; the status (0 when it cannot be reached). */
export async function nodeHttp(node: SessionNodeProcess, path: string): Promise<number> {
  try {
    const r = await fetch(`${node.url.replace(/^ws/, 'http')}${path}`);
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

/** A session node's `/status.json` counts. */
export async function nodeCounts(
  node: SessionNodeProcess,
): Promise<{ owned: number; replica: number; claiming: number }> {
  const r = await fetch(`${node.url.replace(/^ws/, 'http')}/status.json`);
  return ((await r.json()) as { counts: { owned: number; replica: number; claiming: number } })
    .counts;
}

/** Polls `test` every `everyMs` until it is true; throws after `timeoutMs`. */
export async function until(
  what: string,
  test: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** A demo app process. */
export interface DemoProcess {
  readonly child: Child;
  readonly route: string;
  readonly url: string;
}

/** Starts `apps/demo/dist/main.js --route <route> --session-nodes …` on a free port. */
export async function startDemoProcess(o: {
  route: string;
  sessionNodes: readonly string[];
  token: string;
}): Promise<DemoProcess> {
  const child = new Child(
    o.route,
    [DEMO_MAIN, '--route', o.route, '--port', '0', '--session-nodes', o.sessionNodes.join(',')],
    { COHORT_SESSION_TOKEN: o.token },
  );
  const line = await child.line((l) => l.startsWith(`cohort-demo ${o.route} listening`), 60_000);
  const url = /listening on (http:\/\/\S+)/.exec(line)![1]!;
  return { child, route: o.route, url };
}

/** A cohort-proxy process. */
export interface ProxyProcess {
  readonly child: Child;
  readonly url: string;
}

/** Starts cohort-proxy on a free port in front of `members` (HTTP, with their routes). */
export async function startProxyProcess(o: {
  dir: string;
  members: readonly { url: string; route: string }[];
}): Promise<ProxyProcess> {
  const file = join(o.dir, 'proxy.yaml');
  writeFileSync(
    file,
    [
      '# cohort-proxy of the cluster end-to-end test',
      'listen: 127.0.0.1:0',
      'log: { level: info, access: false }',
      'balancers:',
      '  - name: demo',
      '    method: byrequests',
      '    affinity: { cookie: JSESSIONID }',
      '    repin: cookie',
      '    failback: never',
      '    retry: 2s',
      '    members:',
      ...o.members.map((m) => `      - { url: "${m.url}", route: ${m.route} }`),
      '',
    ].join('\n'),
  );
  const child = new Child('proxy', [PROXY_CLI, '--config', file]);
  const line = await child.line((l) => l.includes('"cohort-proxy listening"'), 60_000);
  const { port } = JSON.parse(line) as { port: number };
  return { child, url: `http://127.0.0.1:${port}` };
}
