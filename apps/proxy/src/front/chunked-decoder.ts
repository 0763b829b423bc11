import { FrontRequestError } from './errors.js';

const enum State {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLine,
  TrailerLf,
  Done,
}

/** hex digit value, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

function badChunk(message: string): never {
  throw new FrontRequestError('BAD_CHUNK', 400, message);
}

/** Most hex digits of one chunk size (2^52 bytes: more than any body limit). */
const MAX_SIZE_DIGITS = 13;

/**
 * An incremental decoder of a chunked request body (RFC 9112 §7.1), strict where a lenient
 * reading lets a request hide behind another: hex sizes only, CRLF after every line and chunk
 * (a bare LF is an error), extensions and trailer fields without control characters, bounded
 * line lengths. Trailer fields are read and dropped.
 */
export class ChunkedDecoder {
  private state = State.Size;
  private digits = 0;
  private remaining = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private lineEmpty = true;

  /** `maxLineBytes` bounds a size line with its extensions and the trailer section. */
  constructor(private readonly maxLineBytes: number) {}

  /** Whether the last chunk and the trailer section were read. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes `buf[start…]`, handing body bytes to `onData` (views into `buf`, no copy). Returns
   * the offset just after the body when it ended in this buffer, -1 when it needs more.
   * @throws FrontRequestError (`BAD_CHUNK`, 400) on malformed framing.
   */
  push(buf: Buffer, start: number, onData: (chunk: Buffer) => void): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case State.Size: {
          const c = buf[i]!;
          const v = hexValue(c);
          if (v !== -1) {
            if (++this.digits > MAX_SIZE_DIGITS) badChunk('chunk size too large');
            this.remaining = this.remaining * 16 + v;
            i++;
            break;
          }
          if (this.digits === 0) badChunk('chunk size is not a hex number');
          if (c === 0x0d) this.state = State.SizeLf;
          else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.state = State.Ext;
          else badChunk('chunk size is not a hex number');
          this.lineBytes = this.digits + 1;
          i++;
          break;
        }
        case State.Ext: {
          const c = buf[i]!;
          if (c === 0x0d) this.state = State.SizeLf;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f)
            badChunk('a chunk extension holds a control character');
          else if (++this.lineBytes > this.maxLineBytes) badChunk('chunk extension too long');
          i++;
          break;
        }
        case State.SizeLf:
          if (buf[i] !== 0x0a) badChunk('a chunk size line does not end with CRLF');
          i++;
          this.digits = 0;
          if (this.remaining === 0) {
            this.state = State.TrailerLine;
            this.lineEmpty = true;
            this.lineBytes = 0;
          } else this.state = State.Data;
          break;
        case State.Data: {
          const take = Math.min(this.remaining, n - i);
          onData(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== 0x0d) badChunk('chunk data is not followed by CRLF');
          this.state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (buf[i] !== 0x0a) badChunk('chunk data is not followed by CRLF');
          this.state = State.Size;
          i++;
          break;
        case State.TrailerLine: {
          const c = buf[i]!;
          i++;
          if (c === 0x0d) {
            this.state = State.TrailerLf;
            break;
          }
          if ((c < 0x20 && c !== 0x09) || c === 0x7f)
            badChunk('a trailer field holds a control character');
          if (this.lineEmpty && (c === 0x20 || c === 0x09)) badChunk('obsolete line folding');
          this.lineEmpty = false;
          if (++this.trailerBytes > this.maxLineBytes) badChunk('trailer section too large');
          break;
        }
        case State.TrailerLf:
          if (buf[i] !== 0x0a) badChunk('a trailer line does not end with CRLF');
          i++;
          if (this.lineEmpty) {
            this.state = State.Done;
            return i;
          }
          this.lineEmpty = true;
          this.state = State.TrailerLine;
          break;
        case State.Done:
          return i;
      }
    }
    return this.state === State.Done ? i : -1;
  }
}
