import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { Logger } from 'pino';
import { z } from 'zod';

import { formatPath } from '../config/errors.js';
import { MEMBER_STATES } from '../config/schema.js';
import { resolveAddedMember, type AddedMember, type Overrides } from '../overrides.js';
import type { CohortProxy } from '../proxy.js';

/** The state file's format version. */
export const STATE_FILE_VERSION = 1;

const ROUTE = /^[A-Za-z0-9_.-]+$/;

const stateFileSchema = z.strictObject({
  version: z.literal(STATE_FILE_VERSION),
  savedAt: z.string(),
  overrides: z.strictObject({
    members: z.record(
      z.string(),
      z.record(
        z.string(),
        z.strictObject({
          state: z.enum(MEMBER_STATES).optional(),
          weight: z.number().gt(0).max(1000).optional(),
        }),
      ),
    ),
    added: z.record(
      z.string(),
      z.array(
        z.looseObject({
          url: z.string(),
          route: z.string().regex(ROUTE),
          source: z.enum(['api', 'discovery']).optional(),
        }),
      ),
    ),
    removed: z.record(z.string(), z.array(z.string().regex(ROUTE))),
  }),
});

/** What {@link readStateFile} found. */
export interface StateFileRead {
  /** The changes to start with; undefined when there is no file or it was refused. */
  readonly overrides: Overrides | undefined;
  /** Why the file was refused (unreadable, not JSON, not a state file); undefined when fine. */
  readonly problem: string | undefined;
}

/**
 * Reads a state file written by {@link writeStateFile}. A missing file is no problem (nothing
 * was changed yet); a file that cannot be read or does not validate is refused with the reason
 * in `problem` — the caller reports it and starts without the changes, never fails.
 */
export function readStateFile(path: string): StateFileRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { overrides: undefined, problem: undefined };
    return { overrides: undefined, problem: `cannot read it: ${(e as Error).message}` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { overrides: undefined, problem: `not JSON: ${(e as Error).message}` };
  }
  const r = stateFileSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return {
      overrides: undefined,
      problem: `not a cohort-proxy state file: ${formatPath(i.path) || '(top level)'}: ${i.message}`,
    };
  }
  const o = r.data.overrides;
  for (const [b, list] of Object.entries(o.added)) {
    for (const [i, m] of list.entries()) {
      try {
        resolveAddedMember(m as unknown as AddedMember);
      } catch (e) {
        const issue = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0];
        return {
          overrides: undefined,
          problem: `overrides.added.${b}[${i}]${issue ? `.${formatPath(issue.path)}: ${issue.message}` : `: ${(e as Error).message}`}`,
        };
      }
    }
  }
  return { overrides: o as unknown as Overrides, problem: undefined };
}

/** The file's text for `overrides` (with the time of writing). */
function stateText(overrides: Overrides, at: Date): string {
  return (
    JSON.stringify(
      { version: STATE_FILE_VERSION, savedAt: at.toISOString(), overrides },
      undefined,
      2,
    ) + '\n'
  );
}

/**
 * Writes the state file atomically: a temporary file in the same directory, synced, then
 * renamed over the old one, so a crash leaves the old file or the new one, never half of one.
 * Mode 0600: members added through the API may carry an AJP `secret`.
 * @throws the file system's error (the caller logs it).
 */
export function writeStateFile(path: string, overrides: Overrides, at = new Date()): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, stateText(overrides, at));
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Keeps a proxy's management changes in a state file: writes it on every `change` event whose
 * changes differ from what the file holds (HAProxy `server-state-file`, httpd
 * `BalancerPersist On`). A failed write is logged, and tried again at the next change.
 */
export class StatePersistence {
  private written: string;
  private readonly onChange = (): void => {
    this.save();
  };

  /**
   * @param proxy - the proxy whose `managementOverrides` are kept
   * @param path - the state file
   * @param log - where failed writes are reported
   * @param loaded - the changes the file holds now (what the proxy started with)
   */
  constructor(
    private readonly proxy: CohortProxy,
    readonly path: string,
    private readonly log: Logger,
    loaded: Overrides | undefined,
  ) {
    this.written = JSON.stringify(loaded ?? proxy.managementOverrides);
    proxy.events.on('change', this.onChange);
  }

  /** Writes the file now if the changes differ from what it holds; true when it did. */
  save(): boolean {
    const o = this.proxy.managementOverrides;
    const json = JSON.stringify(o);
    if (json === this.written) return false;
    try {
      writeStateFile(this.path, o);
      this.written = json;
      return true;
    } catch (e) {
      this.log.error(
        { stateFile: this.path, err: (e as Error).message },
        'state file not written: management changes will not survive a restart',
      );
      return false;
    }
  }

  /** Stops following the proxy's changes. */
  stop(): void {
    this.proxy.events.off('change', this.onChange);
  }
}
