import { AjpProtocolError } from './errors.js';
import { MAX_PACKET_SIZE } from './constants.js';

const scratch = Buffer.allocUnsafe(MAX_PACKET_SIZE);
/** Anything that needs the careful per-char path: NUL, CR, LF or a char above 0xFF. */
const SUSPECT = /[\0\r\n\u0100-\uffff]/;
const SUSPECT_NL_OK = /[\0\u0100-\uffff]/;

/**
 * Writes one packet into a shared scratch buffer, refusing to go past the packet size, then copies
 * the exact bytes out with {@link PacketWriter.finish}. Synchronous use only (the scratch buffer is
 * shared).
 * @internal
 */
export class PacketWriter {
  pos = 4;
  /** Replaces `[]` in field names of errors (set per header, so no name is built unless needed). */
  index = 0;
  private readonly buf = scratch;

  /**
   * @param magic - 0x1234 (to the container) or 0x4142 (from the container)
   * @param packetSize - limit for header + payload
   * @param messageType - name used in error messages
   */
  constructor(
    private readonly magic: number,
    private readonly packetSize: number,
    private readonly messageType: string,
  ) {}

  private room(n: number, field: string): void {
    if (this.pos + n > this.packetSize)
      throw new AjpProtocolError(
        'MESSAGE_TOO_LARGE',
        `message does not fit in a packet of ${this.packetSize} bytes`,
        {
          messageType: this.messageType,
          field: this.name(field),
          offset: this.pos,
          expected: `at most ${this.packetSize - 4} payload bytes`,
        },
      );
  }

  /** Writes one byte. */
  u8(v: number, field: string): void {
    this.room(1, field);
    this.buf[this.pos++] = v;
  }

  /** Writes a big-endian u16. */
  u16(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff)
      throw new AjpProtocolError('INVALID_VALUE', `${String(v)} is not a 16-bit unsigned integer`, {
        messageType: this.messageType,
        field: this.name(field),
        expected: 'an integer in 0…65535',
      });
    this.room(2, field);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  /**
   * Writes an AJP string: null as 0xFFFF, else u16 length, bytes, 0x00. A string whose chars are all
   * ≤ 0xFF is written as latin1 (one byte per char), any other as UTF-8; a Buffer verbatim. NUL is
   * always refused; CR and LF unless `allowNewlines`.
   */
  string(v: string | Buffer | null, field: string, allowNewlines = false): void {
    if (v === null) {
      this.u16(0xffff, field);
      return;
    }
    const start = this.pos;
    this.room(3, field);
    const buf = this.buf;
    let p = start + 2;
    if (typeof v === 'string') {
      const n = v.length;
      let wide = false;
      this.room(n + 3, field);
      if (n > 16 && !(allowNewlines ? SUSPECT_NL_OK : SUSPECT).test(v)) {
        // the common case: plain latin1 text, checked by one regex scan and written natively
        (buf as unknown as { latin1Write(s: string, at: number, n: number): number }).latin1Write(
          v,
          p,
          n,
        );
        p += n;
        buf[start] = n >>> 8;
        buf[start + 1] = n & 0xff;
        buf[p] = 0;
        this.pos = p + 1;
        return;
      }
      for (let i = 0; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c === 0 || ((c === 10 || c === 13) && !allowNewlines)) this.badChar(c, field, i);
        if (c > 0xff) {
          wide = true;
          break;
        }
        buf[p + i] = c;
      }
      if (wide) {
        const len = Buffer.byteLength(v, 'utf8');
        this.room(len + 3, field);
        for (let i = 0; i < n; i++) {
          const c = v.charCodeAt(i);
          if (c === 0 || ((c === 10 || c === 13) && !allowNewlines)) this.badChar(c, field, i);
        }
        buf.write(v, p, 'utf8');
        p += len;
      } else p += n;
    } else {
      this.room(v.length + 3, field);
      for (let i = 0; i < v.length; i++) {
        const c = v[i]!;
        if (c === 0 || ((c === 10 || c === 13) && !allowNewlines)) this.badChar(c, field, i);
      }
      v.copy(buf, p);
      p += v.length;
    }
    const len = p - start - 2;
    if (len >= 0xffff)
      throw new AjpProtocolError('MESSAGE_TOO_LARGE', `string of ${len} bytes`, {
        messageType: this.messageType,
        field: this.name(field),
        expected: 'at most 65534 bytes',
      });
    buf[start] = len >>> 8;
    buf[start + 1] = len & 0xff;
    buf[p] = 0;
    this.pos = p + 1;
  }

  private name(field: string): string {
    return field.replace('[]', `[${this.index}]`);
  }

  private badChar(c: number, field: string, index: number): never {
    const name = c === 0 ? 'NUL' : c === 10 ? 'LF' : 'CR';
    throw new AjpProtocolError('INVALID_VALUE', `${name} character at index ${index}`, {
      messageType: this.messageType,
      field: this.name(field),
      expected: 'no NUL, CR or LF',
    });
  }

  /** Writes raw bytes. */
  bytes(b: Uint8Array, field: string): void {
    this.room(b.length, field);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Overwrites a big-endian u16 written earlier at `at` (a count known only later). */
  patchU16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }

  /** Fills in the header and returns a copy of the whole packet. */
  finish(): Buffer {
    const n = this.pos - 4;
    const buf = this.buf;
    buf[0] = this.magic >>> 8;
    buf[1] = this.magic & 0xff;
    buf[2] = n >>> 8;
    buf[3] = n & 0xff;
    const out = Buffer.allocUnsafe(this.pos);
    buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

/** Validates a packet size option (8192…65536). */
export function checkPacketSize(packetSize: number): number {
  if (!Number.isInteger(packetSize) || packetSize < 8192 || packetSize > MAX_PACKET_SIZE)
    throw new AjpProtocolError('INVALID_VALUE', `packet size ${String(packetSize)}`, {
      field: 'packetSize',
      expected: 'an integer in 8192…65536',
    });
  return packetSize;
}
