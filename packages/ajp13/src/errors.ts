/**
 * Machine-readable codes of {@link AjpProtocolError}. Each names one way an AJP13 byte stream, a
 * message, or a value to be encoded can be wrong.
 */
export type AjpErrorCode =
  /** The packet header does not start with the magic of the expected direction. */
  | 'BAD_MAGIC'
  /** The payload length field exceeds the configured packet size minus 4. */
  | 'PACKET_TOO_LARGE'
  /** A packet has a zero-length payload where a message (with a type byte) was required. */
  | 'EMPTY_PACKET'
  /** The message type byte is not one the receiving side understands. */
  | 'UNKNOWN_MESSAGE_TYPE'
  /** A field runs past the end of the payload. */
  | 'TRUNCATED'
  /** Bytes remain after the last field of a message (strict mode). */
  | 'TRAILING_BYTES'
  /** An AJP string is not followed by its 0x00 terminator (strict mode). */
  | 'BAD_STRING_TERMINATOR'
  /** A null string (0xFFFF) where the field must have a value. */
  | 'NULL_NOT_ALLOWED'
  /** An empty string where the field must not be empty. */
  | 'EMPTY_NOT_ALLOWED'
  /** A method code outside 1…27 and not 0xFF. */
  | 'UNKNOWN_METHOD'
  /** Method byte 0xFF without the stored-method attribute 0x0D, or 0x0D with a coded method. */
  | 'BAD_STORED_METHOD'
  /** A 0xA0xx header code outside the table of its direction. */
  | 'UNKNOWN_HEADER_CODE'
  /** An attribute code outside the AJP13 table; its value cannot be skipped. */
  | 'UNKNOWN_ATTRIBUTE'
  /** The Forward Request ends without the 0xFF attribute terminator. */
  | 'MISSING_TERMINATOR'
  /** More headers than the configured limit. */
  | 'TOO_MANY_HEADERS'
  /** A Content-Length header that is not a non-negative decimal integer. */
  | 'INVALID_CONTENT_LENGTH'
  /** Two or more Content-Length headers. */
  | 'DUPLICATE_CONTENT_LENGTH'
  /** Two secret attributes with different values. */
  | 'DUPLICATE_SECRET'
  /** A body length field larger than the bytes its packet holds. */
  | 'BAD_BODY_LENGTH'
  /** A boolean byte other than 0 or 1 (strict mode). */
  | 'BAD_BOOLEAN'
  /** A value to encode contains NUL, CR or LF, or is otherwise not representable. */
  | 'INVALID_VALUE'
  /** The encoded message would not fit in one packet of the configured size. */
  | 'MESSAGE_TOO_LARGE'
  /** A message that is valid on its own arrived where the protocol does not allow it. */
  | 'UNEXPECTED_MESSAGE';

/** Options describing where an error was found. */
export interface AjpErrorDetails {
  /** The message type being read or written when the error happened (e.g. `SEND_HEADERS`). */
  messageType?: string;
  /** Byte offset inside the packet (header included) where the problem was detected. */
  offset?: number;
  /** What the codec expected to find there, in words. */
  expected?: string;
  /** The field being read or written (e.g. `req_uri`, `header[3].value`). */
  field?: string;
}

/**
 * The one error type of the AJP13 codec, the client and the server adapter for protocol problems.
 * `code` is stable and meant for programs; `message` is for people and never contains a secret or a
 * header value.
 */
export class AjpProtocolError extends Error {
  /** Stable machine-readable code. */
  readonly code: AjpErrorCode;
  /** The message type being processed, when known. */
  readonly messageType: string | undefined;
  /** Byte offset inside the packet (header included), when known. */
  readonly offset: number | undefined;
  /** What was expected, in words. */
  readonly expected: string | undefined;
  /** The field concerned, when known. */
  readonly field: string | undefined;

  /** Creates an error; `what` describes what was found. */
  constructor(code: AjpErrorCode, what: string, details: AjpErrorDetails = {}) {
    const parts = [`${code}: ${what}`];
    if (details.messageType !== undefined) parts.push(`in ${details.messageType}`);
    if (details.field !== undefined) parts.push(`field ${details.field}`);
    if (details.offset !== undefined) parts.push(`at byte ${details.offset}`);
    if (details.expected !== undefined) parts.push(`(expected ${details.expected})`);
    super(parts.join(' '));
    this.name = 'AjpProtocolError';
    this.code = code;
    this.messageType = details.messageType;
    this.offset = details.offset;
    this.expected = details.expected;
    this.field = details.field;
  }
}
