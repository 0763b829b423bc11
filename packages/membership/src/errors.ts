/** Machine-readable reason attached to every {@link MembershipError}. */
export type MembershipErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_WIRE_DECODE'
  | 'ERR_WIRE_VERSION'
  | 'ERR_WIRE_FIELD'
  | 'ERR_WIRE_CLUSTER'
  | 'ERR_PACKET_TOO_LARGE'
  | 'ERR_DECRYPT'
  | 'ERR_KEY'
  | 'ERR_STATE';

/**
 * The one error type thrown by this package. `code` says what kind of failure it is, `field`
 * names the option or wire field at fault, `expected` says what would have been accepted.
 */
export class MembershipError extends Error {
  /** Machine-readable reason. */
  readonly code: MembershipErrorCode;
  /** Config option or wire field at fault, when there is one. */
  readonly field: string | undefined;
  /** What would have been accepted, when known. */
  readonly expected: string | undefined;
  /** Byte offset in the input, for decode errors where the decoder reports one. */
  readonly offset: number | undefined;

  constructor(
    code: MembershipErrorCode,
    message: string,
    details: { field?: string; expected?: string; offset?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MembershipError';
    this.code = code;
    this.field = details.field;
    this.expected = details.expected;
    this.offset = details.offset;
  }
}
