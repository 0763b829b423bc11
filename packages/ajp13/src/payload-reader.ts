import { AjpProtocolError, type AjpErrorCode } from './errors.js';

/**
 * A bounds-checked cursor over one packet payload. Every read is limited by the payload length that
 * was received (never by a buffer's capacity), and every failure is an {@link AjpProtocolError}
 * whose offset counts from the start of the packet header.
 * @internal
 */
export class PayloadReader {
  /** Current read position (index into `buf`). */
  pos: number;
  /**
   * The whole payload decoded once as latin1 (char i = byte start + i): strings are cut out of it
   * with `slice`, which costs far less than one native decode call per string.
   */
  private readonly text: string;
  /** Replaces `[]` in field names of errors (set per header, so no name is built unless needed). */
  index = 0;

  /**
   * @param buf - buffer holding the payload
   * @param start - index of the first payload byte in `buf`
   * @param end - index one past the last payload byte
   * @param messageType - name used in error messages
   * @param strict - verify string terminators
   */
  constructor(
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number,
    public messageType: string,
    readonly strict: boolean,
  ) {
    this.pos = start;
    this.text = (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(
      start,
      end,
    );
  }

  /** Offset of `pos` counted from the packet header's first byte. */
  offset(pos = this.pos): number {
    return pos - this.start + 4;
  }

  /** Bytes left in the payload. */
  remaining(): number {
    return this.end - this.pos;
  }

  /** Builds an error located at `pos`. */
  fail(code: AjpErrorCode, what: string, field: string, expected: string, pos = this.pos): never {
    throw new AjpProtocolError(code, what, {
      messageType: this.messageType,
      field: field.replace('[]', `[${this.index}]`),
      offset: this.offset(pos),
      expected,
    });
  }

  /** Reads one byte. */
  u8(field: string): number {
    if (this.pos >= this.end) this.fail('TRUNCATED', 'payload ends', field, '1 more byte');
    return this.buf[this.pos++]!;
  }

  /** Reads a big-endian u16. */
  u16(field: string): number {
    const p = this.pos;
    if (p + 2 > this.end) this.fail('TRUNCATED', 'payload ends', field, '2 more bytes');
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  /** Peeks a big-endian u16 without moving. */
  peekU16(field: string): number {
    const p = this.pos;
    if (p + 2 > this.end) this.fail('TRUNCATED', 'payload ends', field, '2 more bytes');
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  /** Reads a boolean byte (0/1; strict mode rejects other values). */
  bool(field: string): boolean {
    const p = this.pos;
    const v = this.u8(field);
    if (v > 1 && this.strict)
      this.fail('BAD_BOOLEAN', `byte 0x${v.toString(16)}`, field, '0 or 1', p);
    return v !== 0;
  }

  /**
   * Reads an AJP string (u16 length, bytes, 0x00) as latin1 (one char per byte, lossless);
   * 0xFFFF gives null.
   */
  string(field: string): string | null {
    const p = this.pos;
    const buf = this.buf;
    // fast path kept small so that it inlines: length in range, terminator present
    if (p + 2 <= this.end) {
      const len = (buf[p]! << 8) | buf[p + 1]!;
      const e = p + 2 + len;
      if (len !== 0xffff && e < this.end && (buf[e] === 0 || !this.strict)) {
        this.pos = e + 1;
        return len === 0 ? '' : this.text.slice(p + 2 - this.start, e - this.start);
      }
    }
    return this.stringSlow(field);
  }

  /** Null strings and every failure of {@link PayloadReader.string}. */
  private stringSlow(field: string): string | null {
    const p = this.pos;
    if (p + 2 > this.end) this.fail('TRUNCATED', 'payload ends', field, 'a 2-byte string length');
    const buf = this.buf;
    const len = (buf[p]! << 8) | buf[p + 1]!;
    if (len === 0xffff) {
      this.pos = p + 2;
      return null;
    }
    const e = p + 2 + len;
    if (e + 1 > this.end)
      this.fail(
        'TRUNCATED',
        `string of ${len} bytes runs past the payload`,
        field,
        `${len + 1} bytes`,
        p,
      );
    this.fail(
      'BAD_STRING_TERMINATOR',
      `byte 0x${buf[e]!.toString(16)}`,
      field,
      'a 0x00 terminator',
      e,
    );
  }

  /** Reads a string that must be present (not null). */
  requiredString(field: string): string {
    const p = this.pos;
    const v = this.string(field);
    if (v === null) this.fail('NULL_NOT_ALLOWED', 'null string', field, 'a string', p);
    return v;
  }

  /** In strict mode, fails unless the whole payload was consumed. */
  finish(): void {
    if (this.strict && this.pos !== this.end)
      this.fail(
        'TRAILING_BYTES',
        `${this.end - this.pos} bytes after the message`,
        'end',
        'end of payload',
      );
  }
}
