import { MAGIC_FROM_CONTAINER, MessageType, messageTypeName } from './constants.js';
import { decodeEndResponsePayload, decodeGetBodyChunkPayload } from './control-messages.js';
import type { DecodeOptions } from './forward-request.js';
import { FrameDecoder } from './frame-decoder.js';
import { decodeSendHeadersPayload, type SendHeaders } from './send-headers.js';

/** A message (or part of one) decoded from the container → web server stream. */
export type ResponseEvent =
  /** SEND_HEADERS. */
  | { type: 'send-headers'; response: SendHeaders }
  /** Bytes of a SEND_BODY_CHUNK, a subarray of the input; `last` ends the chunk's data. */
  | { type: 'body-chunk'; data: Buffer; last: boolean }
  /** A SEND_BODY_CHUNK of length 0: flush. */
  | { type: 'flush' }
  /** END_RESPONSE with its reuse flag. */
  | { type: 'end-response'; reuse: boolean }
  /** GET_BODY_CHUNK: the container wants up to `requestedLength` more request body bytes. */
  | { type: 'get-body-chunk'; requestedLength: number }
  /** CPONG_REPLY. */
  | { type: 'cpong' };

/**
 * Streaming decoder for what a container (Tomcat) sends: feed it socket data in any chunking with
 * {@link ResponseDecoder.push}; it returns the decoded events. It checks the `AB` magic and the
 * length limit before reading a payload, streams body bytes without copying, accepts a
 * SEND_BODY_CHUNK with or without its trailing 0x00 (strict mode rejects more than one trailing
 * byte, or a non-zero one), and rejects unknown types, zero-length messages and malformed fields.
 * It knows nothing about the order of messages; {@link ResponseDecoder} users (the client) check it.
 */
export class ResponseDecoder extends FrameDecoder<ResponseEvent> {
  private readonly decodeOptions: DecodeOptions;

  /** @param options - packet size (default 8192) and strictness (default true) */
  constructor(options: DecodeOptions = {}) {
    super(MAGIC_FROM_CONTAINER, options);
    this.decodeOptions = { strict: this.strict };
  }

  protected onEmpty(): void {
    this.fail('EMPTY_PACKET', 'payload length 0', 'packet header', 2, 'a message type byte');
  }

  protected classify(first: number, n: number): number {
    if (first !== MessageType.SEND_BODY_CHUNK) return 0;
    if (n < 3)
      this.fail(
        'TRUNCATED',
        `payload of ${n} bytes`,
        'SEND_BODY_CHUNK',
        4,
        'at least 3 bytes',
        'chunk_length',
      );
    return 3;
  }

  protected onPrefix(pre: Buffer, n: number): number {
    const len = (pre[1]! << 8) | pre[2]!;
    if (len > n - 3)
      this.fail(
        'BAD_BODY_LENGTH',
        `chunk length ${len} in a payload of ${n}`,
        'SEND_BODY_CHUNK',
        5,
        `at most ${n - 3}`,
        'chunk_length',
      );
    if (this.strict && n - 3 - len > 1)
      this.fail(
        'TRAILING_BYTES',
        `${n - 3 - len} bytes after the chunk data`,
        'SEND_BODY_CHUNK',
        7 + len,
        'one 0x00 byte',
      );
    if (len === 0) this.onFlush();
    return len;
  }

  protected onData(data: Buffer, last: boolean): void {
    this.events.push({ type: 'body-chunk', data, last });
  }

  protected onBodyPacketEnd(): void {}

  /** A SEND_HEADERS payload (`buf[start]` is its type byte). */
  protected onSendHeaders(buf: Buffer, start: number, end: number): void {
    this.events.push({
      type: 'send-headers',
      response: decodeSendHeadersPayload(buf, start, end, this.decodeOptions),
    });
  }

  /** A SEND_BODY_CHUNK of length 0. */
  protected onFlush(): void {
    this.events.push({ type: 'flush' });
  }

  /** END_RESPONSE. */
  protected onEndResponse(reuse: boolean): void {
    this.events.push({ type: 'end-response', reuse });
  }

  /** GET_BODY_CHUNK. */
  protected onGetBodyChunk(requestedLength: number): void {
    this.events.push({ type: 'get-body-chunk', requestedLength });
  }

  /** CPONG_REPLY. */
  protected onCpong(): void {
    this.events.push({ type: 'cpong' });
  }

  protected onPayload(buf: Buffer, start: number, end: number): void {
    const type = buf[start]!;
    const n = end - start;
    switch (type) {
      case MessageType.SEND_HEADERS:
        this.onSendHeaders(buf, start, end);
        return;
      case MessageType.END_RESPONSE: {
        // the well-formed case without a reader object; anything else gets the full check
        const b = buf[start + 1];
        this.onEndResponse(
          n === 2 && (b === 0 || b === 1)
            ? b === 1
            : decodeEndResponsePayload(buf, start, end, this.strict),
        );
        return;
      }
      case MessageType.GET_BODY_CHUNK:
        this.onGetBodyChunk(
          n === 3
            ? (buf[start + 1]! << 8) | buf[start + 2]!
            : decodeGetBodyChunkPayload(buf, start, end, this.strict),
        );
        return;
      case MessageType.CPONG_REPLY:
        if (end - start !== 1)
          this.fail(
            'TRAILING_BYTES',
            `CPONG payload of ${end - start} bytes`,
            'CPONG_REPLY',
            5,
            'exactly 1 byte',
          );
        this.onCpong();
        return;
      default:
        this.fail(
          'UNKNOWN_MESSAGE_TYPE',
          `type ${messageTypeName(type)}`,
          'packet',
          4,
          'SEND_HEADERS, SEND_BODY_CHUNK, END_RESPONSE, GET_BODY_CHUNK or CPONG_REPLY',
          'prefix_code',
        );
    }
  }
}
