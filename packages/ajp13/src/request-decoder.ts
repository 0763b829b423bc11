import { MAGIC_TO_CONTAINER, MessageType, messageTypeName } from './constants.js';
import {
  decodeForwardRequestPayload,
  type DecodeOptions,
  type DecodedForwardRequest,
} from './forward-request.js';
import { FrameDecoder } from './frame-decoder.js';

/** A message (or part of one) decoded from the web server → container stream. */
export type RequestEvent =
  /** FORWARD_REQUEST. */
  | { type: 'forward-request'; request: DecodedForwardRequest }
  /** Bytes of a request body packet, a subarray of the input; `last` ends the packet's data. */
  | { type: 'body'; data: Buffer; last: boolean }
  /** An empty body packet (either encoding): no more request body. */
  | { type: 'end-of-body' }
  /** CPING. */
  | { type: 'cping' }
  /** SHUTDOWN (0x07): a container closes the connection. */
  | { type: 'shutdown' }
  /** PING (0x08, AJP14): a container closes the connection. */
  | { type: 'ping' };

const CPING_EVENT: RequestEvent = Object.freeze({ type: 'cping' });
const SHUTDOWN_EVENT: RequestEvent = Object.freeze({ type: 'shutdown' });
const PING_EVENT: RequestEvent = Object.freeze({ type: 'ping' });

/**
 * Streaming decoder for what a web server (httpd, mod_jk, a proxy) sends to a container. Body
 * packets carry no type byte, so the decoder tracks when one is due: right after a Forward Request
 * with Content-Length > 0 (the unsolicited first packet), and once for each
 * {@link RequestDecoder.expectBodyPacket} call (made when the container sends GET_BODY_CHUNK).
 * Anything else must be a typed message: FORWARD_REQUEST, CPING, SHUTDOWN or PING.
 */
export class RequestDecoder extends FrameDecoder<RequestEvent> {
  private pendingBody = 0;
  private readonly decodeOptions: DecodeOptions;

  /** @param options - packet size (default 8192), strictness (default true), header limit (100) */
  constructor(options: DecodeOptions = {}) {
    super(MAGIC_TO_CONTAINER, options);
    this.decodeOptions = { strict: this.strict, maxHeaders: options.maxHeaders ?? 100 };
  }

  /** Body packets the decoder will read before the next typed message. */
  get pendingBodyPackets(): number {
    return this.pendingBody;
  }

  /** Declares that one more body packet is due (call it when sending GET_BODY_CHUNK). */
  expectBodyPacket(): void {
    this.pendingBody++;
  }

  protected onEmpty(): void {
    if (this.pendingBody > 0) {
      this.pendingBody--;
      this.events.push({ type: 'end-of-body' });
      return;
    }
    this.fail(
      'EMPTY_PACKET',
      'payload length 0 where a message was due',
      'packet header',
      2,
      'a message type byte',
    );
  }

  protected classify(_first: number, n: number): number {
    if (this.pendingBody === 0) return 0;
    if (n < 2)
      this.fail(
        'TRUNCATED',
        `body packet payload of ${n} byte`,
        'body packet',
        4,
        'a 2-byte length',
        'length',
      );
    return 2;
  }

  protected onPrefix(pre: Buffer, n: number): number {
    const len = (pre[0]! << 8) | pre[1]!;
    if (len > n - 2)
      this.fail(
        'BAD_BODY_LENGTH',
        `body length ${len} in a payload of ${n}`,
        'body packet',
        4,
        `at most ${n - 2}`,
        'length',
      );
    if (this.strict && n - 2 - len > 1)
      this.fail(
        'TRAILING_BYTES',
        `${n - 2 - len} bytes after the body data`,
        'body packet',
        6 + len,
        'at most one 0x00 byte',
      );
    if (len === 0) this.events.push({ type: 'end-of-body' });
    return len;
  }

  protected onData(data: Buffer, last: boolean): void {
    this.events.push({ type: 'body', data, last });
  }

  protected onBodyPacketEnd(): void {
    this.pendingBody--;
  }

  protected onPayload(buf: Buffer, start: number, end: number): void {
    const type = buf[start]!;
    switch (type) {
      case MessageType.FORWARD_REQUEST: {
        const request = decodeForwardRequestPayload(buf, start, end, this.decodeOptions);
        if (request.contentLength !== null && request.contentLength > 0) this.pendingBody = 1;
        this.events.push({ type: 'forward-request', request });
        return;
      }
      case MessageType.CPING:
      case MessageType.SHUTDOWN:
      case MessageType.PING:
        if (end - start !== 1)
          this.fail(
            'TRAILING_BYTES',
            `payload of ${end - start} bytes`,
            messageTypeName(type),
            5,
            'exactly 1 byte',
          );
        // one shared object each: a CPING flood makes no garbage per packet
        this.events.push(
          type === MessageType.CPING
            ? CPING_EVENT
            : type === MessageType.SHUTDOWN
              ? SHUTDOWN_EVENT
              : PING_EVENT,
        );
        return;
      default:
        this.fail(
          'UNKNOWN_MESSAGE_TYPE',
          `type ${messageTypeName(type)}`,
          'packet',
          4,
          'FORWARD_REQUEST or CPING',
          'prefix_code',
        );
    }
  }
}
