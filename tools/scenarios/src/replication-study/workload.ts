import { ScenarioError } from '../errors.js';

/** Session shapes of the study: 100 attributes of 1 KB, or 1 attribute of 100 KB. */
export type AttributeSize = 'small' | 'large';

/**
 * How a request writes the session. `delta`: the first request sets every attribute, each later
 * one changes one attribute (in turn). `full`: every request rewrites every attribute, which is
 * what a manager that ships the whole session (Tomcat 5's SimpleTcpReplicationManager) sends.
 */
export type WriteMode = 'delta' | 'full';

/** The number and size of the attributes of one session shape. */
export interface AttributeShape {
  /** Attributes per session. */
  readonly count: number;
  /** Characters (ASCII, so bytes) per attribute value. */
  readonly bytes: number;
}

/** The two session shapes of the study. */
export const SHAPES: Readonly<Record<AttributeSize, AttributeShape>> = {
  small: { count: 100, bytes: 1024 },
  large: { count: 1, bytes: 100 * 1024 },
};

/**
 * The value of attribute `index` written by request `seq`: exactly `bytes` ASCII characters,
 * starting with the request and attribute numbers so that every write changes the value (a store
 * that skips unchanged values must still ship it). The Tomcat page builds the same string.
 */
export function attributeValue(seq: number, index: number, bytes: number): string {
  const head = `${seq}:${index}:`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

/** Which attributes request `seq` writes (every one for a new session or in `full` mode). */
export function attributesToWrite(
  shape: AttributeShape,
  mode: WriteMode,
  seq: number,
  fresh: boolean,
): number[] {
  if (fresh || mode === 'full') return Array.from({ length: shape.count }, (_, i) => i);
  return [seq % shape.count];
}

/** The client side of the study: the SessionReplicationClient's parameters. */
export interface LoadShape {
  /** Concurrent client loops ("threads"), each one session. */
  readonly threads: number;
  /** Measured requests per thread. */
  readonly requests: number;
  /** Pause after each response before the next request, ms. */
  readonly delayMs: number;
  /** Unmeasured requests per thread before the measured ones (JIT, JSP compile, caches). */
  readonly warmup: number;
}

/** The study's own load: 2 threads, 1000 requests each, 1 s apart. */
export const FULL_LOAD: LoadShape = { threads: 2, requests: 1000, delayMs: 1000, warmup: 20 };

/** The scaled-down load of the CI test. */
export const CI_LOAD: LoadShape = { threads: 2, requests: 40, delayMs: 20, warmup: 5 };

/**
 * The load from the environment: `STUDY_FULL=1` gives {@link FULL_LOAD}; `STUDY_REQUESTS`,
 * `STUDY_DELAY_MS`, `STUDY_THREADS` and `STUDY_WARMUP` override single values.
 */
export function loadFromEnv(env: NodeJS.ProcessEnv = process.env): LoadShape {
  const base = env.STUDY_FULL === '1' ? FULL_LOAD : CI_LOAD;
  const num = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      throw new ScenarioError('BAD_OPTION', `${name} must be an integer >= ${min}, got "${raw}"`);
    }
    return n;
  };
  return {
    threads: num('STUDY_THREADS', base.threads, 1),
    requests: num('STUDY_REQUESTS', base.requests, 1),
    delayMs: num('STUDY_DELAY_MS', base.delayMs, 0),
    warmup: num('STUDY_WARMUP', base.warmup, 0),
  };
}
