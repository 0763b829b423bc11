// The runner's options, read from the environment: BENCH_QUICK and BENCH_ONLY.

/** Codes of {@link BenchOptionError}. */
export const OPTION_ERROR_CODES = /** @type {const} */ (['UNKNOWN_BENCH']);

/** A BENCH_ONLY or BENCH_QUICK value the runner cannot use; `code` names what was wrong. */
export class BenchOptionError extends Error {
  /**
   * @param {(typeof OPTION_ERROR_CODES)[number]} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'BenchOptionError';
    this.code = code;
  }
}

/**
 * Whether `token` (one BENCH_ONLY entry) selects `bench`: its exact name, its group, or a prefix
 * of its name ending before a dash (`proxy` selects `proxy-http`, `proxy-ajp`, `proxy-attacks`).
 *
 * @param {string} token
 * @param {{ name: string, group: string }} bench
 */
export function matches(token, bench) {
  return token === bench.name || token === bench.group || bench.name.startsWith(`${token}-`);
}

/**
 * The benches to run, in registry order. `only` is BENCH_ONLY (comma-separated names, groups or
 * name prefixes; empty or unset: all). A token that selects nothing is an error, so a typo does
 * not silently run nothing.
 *
 * @template {{ name: string, group: string }} B
 * @param {readonly B[]} benches
 * @param {string | undefined} only
 * @returns {B[]}
 */
export function selectBenches(benches, only) {
  const tokens = (only ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) return [...benches];
  const unknown = tokens.filter((t) => !benches.some((b) => matches(t, b)));
  if (unknown.length > 0) {
    throw new BenchOptionError(
      'UNKNOWN_BENCH',
      `BENCH_ONLY names no bench: ${unknown.join(', ')} (known: ${benches.map((b) => b.name).join(', ')})`,
    );
  }
  return benches.filter((b) => tokens.some((t) => matches(t, b)));
}

/**
 * Whether BENCH_QUICK asks for the short run: `1`, `true` or `yes` (any case).
 *
 * @param {string | undefined} value
 */
export function isQuick(value) {
  return /^(1|true|yes)$/i.test((value ?? '').trim());
}

/** Variables with a meaning to the runner that must not reach a bench unchanged (some benches read
 * BENCH_ONLY and BENCH_QUICK with meanings of their own). */
export const RUNNER_VARIABLES = ['BENCH_ONLY', 'BENCH_QUICK'];

/**
 * The environment of one bench: the caller's, without the runner's own variables, plus the
 * mode's `env` (which wins).
 *
 * @param {NodeJS.ProcessEnv} base
 * @param {Record<string, string> | undefined} extra
 * @returns {NodeJS.ProcessEnv}
 */
export function benchEnv(base, extra) {
  const env = { ...base };
  for (const k of RUNNER_VARIABLES) delete env[k];
  return { ...env, ...extra };
}
