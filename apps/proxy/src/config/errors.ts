/**
 * One problem (or, in a resolved configuration's `warnings`, one doubtful setting) in a
 * configuration: where (a key path such as `balancers[0].members[1].weight`, or for a YAML
 * syntax error the line and column) and why.
 */
export interface ConfigIssue {
  /** The key path, `` (empty) for the whole document and for YAML syntax errors. */
  readonly path: string;
  /** What is wrong and what was expected. */
  readonly message: string;
  /** For YAML syntax errors: the 1-based line where the error was found. */
  readonly line?: number;
  /** For YAML syntax errors: the 1-based column on that line. */
  readonly column?: number;
}

/** Where an issue is, as printed: its key path, `line L, column C`, or `(top level)`. */
export function issuePlace(issue: ConfigIssue): string {
  if (issue.path !== '') return issue.path;
  if (issue.line !== undefined) return `line ${issue.line}, column ${issue.column ?? 1}`;
  return '(top level)';
}

/** Codes of {@link ConfigError}. */
export type ConfigErrorCode = 'ERR_CONFIG_READ' | 'ERR_CONFIG_SYNTAX' | 'ERR_CONFIG_INVALID';

/** A configuration that could not be read, parsed or validated; `issues` name every bad key. */
export class ConfigError extends Error {
  /** What kind of failure. */
  readonly code: ConfigErrorCode;
  /** Every problem found, each with its key path. */
  readonly issues: readonly ConfigIssue[];

  /** Builds the error; the message lists every issue, one per line. */
  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], source = 'config') {
    super(
      `${source}: ${issues.length === 1 ? 'invalid' : `${issues.length} problems`}\n` +
        issues.map((i) => `  ${issuePlace(i)}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.code = code;
    this.issues = issues;
  }
}

/** Formats a zod-style path (`['balancers', 0, 'members']`) as `balancers[0].members`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}
