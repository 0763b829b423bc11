import { DEFAULT_PACKET_SIZE } from './constants.js';
import { AjpProtocolError } from './errors.js';
import { checkPacketSize } from './packet-writer.js';

const HEADER = 0;
const FIRST = 1;
const PREFIX = 2;
const DATA = 3;
const TRAILER = 4;
const PAYLOAD = 5;

/**
 * The shared streaming core of both decoders: splits a byte stream fed in arbitrary chunks into
 * packets, checks the magic and the length limit as soon as the 4-byte header is complete (before
 * any payload is read), and either hands a whole payload to {@link FrameDecoder.onPayload} (a
 * subarray of the input when it arrived in one piece) or, for body packets, hands the body bytes
 * to {@link FrameDecoder.onData} as subarrays of the input, never copied.
 * @internal
 */
export abstract class FrameDecoder<E> {
  /** Packet size limit (header + payload). */
  readonly packetSize: number;
  /** Strict mode. */
  readonly strict: boolean;
  protected events: E[] = [];
  private state = HEADER;
  private readonly hdr = Buffer.alloc(4);
  private hdrFill = 0;
  private n = 0;
  private pre = Buffer.alloc(4);
  private preNeed = 0;
  private preFill = 0;
  private dataLeft = 0;
  private trailerLeft = 0;
  private trailerPos = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;
  private failed: AjpProtocolError | null = null;
  private received = 0;
  /** Set by {@link FrameDecoder.halt}: the rest of the current chunk is not decoded. */
  private halted = false;
  /** Bytes of the current chunk after the payload being handed to `onPayload`. */
  protected tail = 0;

  constructor(
    private readonly magic: number,
    options: { packetSize?: number; strict?: boolean },
  ) {
    this.packetSize = checkPacketSize(options.packetSize ?? DEFAULT_PACKET_SIZE);
    this.strict = options.strict ?? true;
  }

  /** Called for a packet with an empty payload. */
  protected abstract onEmpty(): void;
  /** Given the first payload byte and the payload length, returns the prefix length to stream a body packet, or 0 to buffer the payload. */
  protected abstract classify(first: number, n: number): number;
  /** Given the collected prefix and payload length, returns the body data length (validated). */
  protected abstract onPrefix(pre: Buffer, n: number): number;
  /** Body bytes of the current packet (`last`: the packet's data is complete). */
  protected abstract onData(data: Buffer, last: boolean): void;
  /** End of a streamed body packet (after its trailer). */
  protected abstract onBodyPacketEnd(): void;
  /** A whole payload. */
  protected abstract onPayload(buf: Buffer, start: number, end: number): void;

  /** True when no partial packet is buffered (the stream is at a packet boundary). */
  get idle(): boolean {
    return this.state === HEADER && this.hdrFill === 0;
  }

  /** Total bytes fed so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Throws an error located in the current packet. */
  protected fail(
    code: AjpProtocolError['code'],
    what: string,
    messageType: string,
    offset: number,
    expected: string,
    field?: string,
  ): never {
    throw new AjpProtocolError(code, what, {
      messageType,
      offset,
      expected,
      ...(field === undefined ? {} : { field }),
    });
  }

  /**
   * Feeds bytes; returns the messages completed by them. After a thrown {@link AjpProtocolError}
   * the decoder stays failed and rethrows it: the connection must be closed.
   */
  push(chunk: Buffer): E[] {
    this.events = [];
    this.consume(chunk);
    return this.events;
  }

  /**
   * Decodes a chunk through the hooks only (no event array): the core of {@link FrameDecoder.push}
   * for subclasses that deliver messages themselves.
   */
  protected consume(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    this.received += chunk.length;
    this.halted = false;
    try {
      this.run(chunk);
    } catch (e) {
      if (e instanceof AjpProtocolError) this.failed = e;
      throw e;
    }
  }

  /**
   * Stops decoding the chunk being decoded after the current message (called from a hook). The
   * decoder is left mid-stream: only for a stream that is abandoned or whose rest is not wanted.
   */
  protected halt(): void {
    this.halted = true;
  }

  private run(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.halted) return;
      switch (this.state) {
        case HEADER: {
          let h: Buffer;
          let o: number;
          if (this.hdrFill === 0 && len - pos >= 4) {
            h = chunk;
            o = pos;
            pos += 4;
          } else {
            while (this.hdrFill < 4 && pos < len) this.hdr[this.hdrFill++] = chunk[pos++]!;
            if (this.hdrFill < 4) return;
            this.hdrFill = 0;
            h = this.hdr;
            o = 0;
          }
          const magic = (h[o]! << 8) | h[o + 1]!;
          if (magic !== this.magic)
            this.fail(
              'BAD_MAGIC',
              `magic 0x${magic.toString(16).padStart(4, '0')}`,
              'packet header',
              0,
              `0x${this.magic.toString(16)}`,
            );
          const n = (h[o + 2]! << 8) | h[o + 3]!;
          if (n > this.packetSize - 4)
            this.fail(
              'PACKET_TOO_LARGE',
              `payload length ${n}`,
              'packet header',
              2,
              `at most ${this.packetSize - 4}`,
            );
          this.n = n;
          if (n === 0) this.onEmpty();
          else this.state = FIRST;
          break;
        }
        case FIRST: {
          const k = this.classify(chunk[pos]!, this.n);
          if (k > 0) {
            this.preNeed = k;
            this.preFill = 0;
            this.state = PREFIX;
          } else if (len - pos >= this.n) {
            const end = pos + this.n;
            this.state = HEADER;
            this.tail = len - end;
            this.onPayload(chunk, pos, end);
            pos = end;
          } else {
            this.payload = Buffer.allocUnsafe(this.n);
            this.payloadFill = 0;
            this.state = PAYLOAD;
          }
          break;
        }
        case PREFIX: {
          while (this.preFill < this.preNeed && pos < len) this.pre[this.preFill++] = chunk[pos++]!;
          if (this.preFill < this.preNeed) return;
          const dataLen = this.onPrefix(this.pre, this.n);
          this.dataLeft = dataLen;
          this.trailerLeft = this.n - this.preNeed - dataLen;
          this.trailerPos = 4 + this.preNeed + dataLen;
          this.state = dataLen > 0 ? DATA : TRAILER;
          if (this.state === TRAILER && this.trailerLeft === 0) this.endBody();
          break;
        }
        case DATA: {
          const take = Math.min(this.dataLeft, len - pos);
          this.dataLeft -= take;
          const last = this.dataLeft === 0;
          this.onData(chunk.subarray(pos, pos + take), last);
          pos += take;
          if (last) {
            this.state = TRAILER;
            if (this.trailerLeft === 0) this.endBody();
          }
          break;
        }
        case TRAILER: {
          const take = Math.min(this.trailerLeft, len - pos);
          if (this.strict)
            for (let i = 0; i < take; i++)
              if (chunk[pos + i] !== 0)
                this.fail(
                  'TRAILING_BYTES',
                  `byte 0x${chunk[pos + i]!.toString(16)} after the body data`,
                  'body packet',
                  this.trailerPos + i,
                  '0x00',
                );
          this.trailerPos += take;
          this.trailerLeft -= take;
          pos += take;
          if (this.trailerLeft === 0) this.endBody();
          break;
        }
        case PAYLOAD: {
          const p = this.payload!;
          const take = Math.min(this.n - this.payloadFill, len - pos);
          chunk.copy(p, this.payloadFill, pos, pos + take);
          this.payloadFill += take;
          pos += take;
          if (this.payloadFill === this.n) {
            this.payload = null;
            this.state = HEADER;
            this.tail = len - pos;
            this.onPayload(p, 0, p.length);
          }
          break;
        }
      }
    }
  }

  private endBody(): void {
    this.state = HEADER;
    this.onBodyPacketEnd();
  }
}
