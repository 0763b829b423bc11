/** What went wrong with a peer, as a stable code a test can branch on. */
export type PeerErrorCode =
  | 'BAD_OPTION'
  | 'MISSING_PACKAGE'
  | 'SPAWN_FAILED'
  | 'PORT_IN_USE'
  | 'EXITED_EARLY'
  | 'NOT_READY'
  | 'BAD_OUTPUT';

/**
 * The one error type of `@cohort/peers`. `peer` names the server (for example `tomcat tc1`),
 * `detail` says what was expected, and `logTail` holds the last lines of the peer's own log when
 * the failure happened after the process was started.
 */
export class PeerError extends Error {
  /** Stable machine-readable code. */
  readonly code: PeerErrorCode;
  /** The peer this is about, e.g. `tomcat tc1` or `httpd`. */
  readonly peer: string;
  /** The last lines of the peer's log file, or an empty string. */
  readonly logTail: string;

  /** Builds the error; the message is `<peer>: <detail>` followed by the log tail, if any. */
  constructor(code: PeerErrorCode, peer: string, detail: string, logTail = '') {
    super(`${peer}: ${detail}${logTail ? `\n--- last log lines ---\n${logTail}` : ''}`);
    this.name = 'PeerError';
    this.code = code;
    this.peer = peer;
    this.logTail = logTail;
  }
}
