/** What went wrong in a scenario run (the `code` of a {@link ScenarioError}). */
export type ScenarioErrorCode =
  /** `ss` printed something that is not a socket list with TCP info. */
  | 'BAD_SS_OUTPUT'
  /** `ss` could not be run. */
  | 'SS_FAILED'
  /** A server answered something that is not the study page's line. */
  | 'BAD_RESPONSE'
  /** Tomcat's control page answered something that is not its JSON. */
  | 'BAD_CONTROL_RESPONSE'
  /** A cohort-session-node process did not start or did not become ready. */
  | 'NODE_START_FAILED'
  /** An option of the study is out of range. */
  | 'BAD_OPTION';

/** A typed error of `@cohort/scenarios`; `code` names what was wrong. */
export class ScenarioError extends Error {
  /** What was wrong. */
  readonly code: ScenarioErrorCode;

  /**
   * @param code - what was wrong
   * @param message - details (never session ids or values)
   */
  constructor(code: ScenarioErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ScenarioError';
    this.code = code;
  }
}
