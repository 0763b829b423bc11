/**
 * Why bytes on the client connection of a session node were refused:
 *
 * - `MALFORMED`: not a valid message of proto/client.proto (with the byte offset or the field);
 * - `UNSUPPORTED_VERSION`: a message of a client wire version this code does not read;
 * - `UNKNOWN_OP`: a request whose operation this code does not know (a newer client);
 * - `TOO_LARGE`: a message over the size limit.
 */
export type ClientWireErrorCode = 'MALFORMED' | 'UNSUPPORTED_VERSION' | 'UNKNOWN_OP' | 'TOO_LARGE';

/** Details attached to a {@link ClientWireError}. */
export interface ClientWireErrorDetails {
  /** The request id, when it could be read (the node can then answer that request). */
  readonly requestId?: number;
  /** The field that was wrong, when one was. */
  readonly field?: string;
  /** The byte offset where decoding failed. */
  readonly offset?: number;
  /** What was expected instead, in words. */
  readonly expected?: string;
  /** The error that caused this one. */
  readonly cause?: unknown;
}

/** The error the client wire decoders throw, and the only one, for any input. */
export class ClientWireError extends Error {
  /** Stable code, see {@link ClientWireErrorCode}. */
  readonly code: ClientWireErrorCode;
  /** The request id, when it could be read. */
  readonly requestId: number | undefined;
  /** The field that was wrong, if any. */
  readonly field: string | undefined;
  /** Byte offset where decoding failed, if known. */
  readonly offset: number | undefined;
  /** What was expected, in words. */
  readonly expected: string | undefined;

  /**
   * @param code - the stable code
   * @param message - what went wrong, for a person
   * @param details - request id, field, offset, expectation and cause
   */
  constructor(code: ClientWireErrorCode, message: string, details: ClientWireErrorDetails = {}) {
    const where = details.offset !== undefined ? ` at byte ${details.offset}` : '';
    const exp = details.expected !== undefined ? ` (expected ${details.expected})` : '';
    super(`${code}: ${message}${where}${exp}`, { cause: details.cause });
    this.name = 'ClientWireError';
    this.code = code;
    this.requestId = details.requestId;
    this.field = details.field;
    this.offset = details.offset;
    this.expected = details.expected;
  }
}
