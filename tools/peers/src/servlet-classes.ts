import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';

import { PeerError } from './errors.js';
import { packageRoot, runRoot } from './paths.js';

/** The Java sources of the test webapp's servlets (`webapp/java`). */
export const SERVLET_SOURCES: string = join(packageRoot, 'webapp', 'java');

/** Eclipse's compiler, which Tomcat's Jasper needs anyway (libtomcat10-java depends on it). */
const ECJ_JAR = '/usr/share/java/eclipse-jdt-core.jar';
const SERVLET_API = '/usr/share/java/tomcat10-servlet-api.jar';

function javaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.java'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new PeerError(
            'SPAWN_FAILED',
            'tomcat webapp',
            `compiling the servlets failed: ${stderr || stdout || err.message}`,
          ),
        );
      else resolve();
    });
  });
}

let pending: Promise<string> | undefined;

/**
 * Compiles `webapp/java` once per machine and source version (with Eclipse's compiler, as Jasper
 * does, or javac if that is missing) into a cache under the run root, and resolves the directory
 * to copy into `WEB-INF/classes`. Parallel processes may race; each compiles into its own
 * temporary directory and the first rename wins.
 */
export function servletClasses(): Promise<string> {
  pending ??= (async () => {
    const sources = javaFiles(SERVLET_SOURCES);
    const hash = createHash('sha256');
    for (const f of sources) hash.update(f.slice(SERVLET_SOURCES.length)).update(readFileSync(f));
    for (const jar of [ECJ_JAR, SERVLET_API]) if (existsSync(jar)) hash.update(realpathSync(jar));
    const cacheRoot = join(runRoot(), '.cache');
    const target = join(cacheRoot, `classes-${hash.digest('hex').slice(0, 16)}`);
    if (existsSync(target)) return target;
    mkdirSync(cacheRoot, { recursive: true });
    const tmp = join(cacheRoot, `tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const common = ['-d', tmp, '-cp', SERVLET_API, ...sources];
    try {
      if (existsSync(ECJ_JAR)) {
        await run('java', [
          '-cp',
          ECJ_JAR,
          'org.eclipse.jdt.internal.compiler.batch.Main',
          '-17',
          '-proc:none',
          '-nowarn',
          ...common,
        ]);
      } else if (existsSync('/usr/bin/javac')) {
        await run('/usr/bin/javac', ['--release', '17', '-nowarn', ...common]);
      } else {
        throw new PeerError(
          'MISSING_PACKAGE',
          'tomcat webapp',
          `no Java compiler: ${ECJ_JAR} (Debian package libeclipse-jdt-core-java, a tomcat10 dependency) is missing`,
        );
      }
      try {
        renameSync(tmp, target);
      } catch {
        // Another process finished first: its classes are the same.
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return target;
  })();
  pending.catch(() => {
    pending = undefined;
  });
  return pending;
}
