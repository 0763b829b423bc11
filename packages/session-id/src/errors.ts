/** What was wrong with a value given to a session-id function that formats or generates. */
export type SessionIdErrorCode =
  | 'ERR_KEY_INVALID'
  | 'ERR_ROUTE_INVALID'
  | 'ERR_SEPARATOR_INVALID'
  | 'ERR_ENTROPY_TOO_LOW'
  | 'ERR_SECRET_MISSING'
  | 'ERR_OPTION_INVALID';

/**
 * Thrown by the functions that build ids (`generate…`, `format`, `withRoute`, `sign`) when the
 * caller passes something that cannot make a valid id. Functions on the request path
 * (`extract…`, `parse`, `unsign`) never throw; they return a reason instead.
 */
export class SessionIdError extends Error {
  /** A stable code for programs to branch on. */
  readonly code: SessionIdErrorCode;

  constructor(code: SessionIdErrorCode, message: string) {
    super(message);
    this.name = 'SessionIdError';
    this.code = code;
  }
}
