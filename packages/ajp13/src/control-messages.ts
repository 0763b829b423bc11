import { MessageType } from './constants.js';
import { AjpProtocolError } from './errors.js';
import { PayloadReader } from './payload-reader.js';

/** CPING (`12 34 00 01 0A`), web server → container: "are you alive?" while the connection is idle. */
export const CPING_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x01, MessageType.CPING]);
/** CPONG (`41 42 00 01 09`), container → web server: the answer to CPING. */
export const CPONG_PACKET: Buffer = Buffer.from([0x41, 0x42, 0x00, 0x01, MessageType.CPONG_REPLY]);
/** SHUTDOWN (`12 34 00 01 07`); containers ignore it. Encodable for completeness, never send it. */
export const SHUTDOWN_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x01, MessageType.SHUTDOWN]);
/** PING (`12 34 00 01 08`, an AJP14 leftover). Encodable for completeness, never send it. */
export const PING_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x01, MessageType.PING]);
/** End of request body as mod_jk sends it: a zero-length payload (`12 34 00 00`). */
export const END_OF_BODY_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x00]);
/** End of request body as mod_proxy_ajp sends it: a payload holding length 0 (`12 34 00 02 00 00`). */
export const EMPTY_BODY_PACKET: Buffer = Buffer.from([0x12, 0x34, 0x00, 0x02, 0x00, 0x00]);
/** SEND_BODY_CHUNK of length 0 (`41 42 00 04 03 00 00 00`): "flush what you have to the client". */
export const FLUSH_PACKET: Buffer = Buffer.from([0x41, 0x42, 0x00, 0x04, 0x03, 0x00, 0x00, 0x00]);

/** Encodes END_RESPONSE (`41 42 00 02 05 rr`) with the reuse flag. */
export function encodeEndResponse(reuse: boolean): Buffer {
  return Buffer.from([0x41, 0x42, 0x00, 0x02, MessageType.END_RESPONSE, reuse ? 1 : 0]);
}

/** Decodes an END_RESPONSE payload (exactly 2 bytes: type, reuse flag) into the reuse flag. */
export function decodeEndResponsePayload(
  buf: Buffer,
  start = 0,
  end = buf.length,
  strict = true,
): boolean {
  const r: PayloadReader = new PayloadReader(buf, start, end, 'END_RESPONSE', strict);
  r.u8('prefix_code');
  const reuse = r.bool('reuse');
  r.finish();
  return reuse;
}

/** Encodes GET_BODY_CHUNK (`41 42 00 03 06 nn nn`) asking for up to `requestedLength` body bytes. */
export function encodeGetBodyChunk(requestedLength: number): Buffer {
  if (!Number.isInteger(requestedLength) || requestedLength < 0 || requestedLength > 0xffff)
    throw new AjpProtocolError('INVALID_VALUE', `requested length ${String(requestedLength)}`, {
      messageType: 'GET_BODY_CHUNK',
      field: 'requested_length',
      expected: 'an integer in 0…65535',
    });
  return Buffer.from([
    0x41,
    0x42,
    0x00,
    0x03,
    MessageType.GET_BODY_CHUNK,
    requestedLength >>> 8,
    requestedLength & 0xff,
  ]);
}

/** Decodes a GET_BODY_CHUNK payload into the requested length. */
export function decodeGetBodyChunkPayload(
  buf: Buffer,
  start = 0,
  end = buf.length,
  strict = true,
): number {
  const r: PayloadReader = new PayloadReader(buf, start, end, 'GET_BODY_CHUNK', strict);
  r.u8('prefix_code');
  const n = r.u16('requested_length');
  r.finish();
  return n;
}

/**
 * The 6-byte header of a request body packet carrying `length` bytes (`12 34 | length+2 | length`).
 * Write it followed by the data itself (no copy of the data is made).
 */
export function requestBodyHeader(length: number): Buffer {
  const n = length + 2;
  return Buffer.from([0x12, 0x34, n >>> 8, n & 0xff, length >>> 8, length & 0xff]);
}

/** Encodes one request body packet holding `data` (a copy; see {@link requestBodyHeader}). */
export function encodeRequestBody(data: Uint8Array): Buffer {
  return Buffer.concat([requestBodyHeader(data.length), data]);
}

/**
 * The 7-byte header of a SEND_BODY_CHUNK carrying `length` bytes (`41 42 | length+4 | 03 | length`);
 * the data and then {@link SEND_BODY_CHUNK_TRAILER} follow.
 */
export function sendBodyChunkHeader(length: number): Buffer {
  const n = length + 4;
  return Buffer.from([
    0x41,
    0x42,
    n >>> 8,
    n & 0xff,
    MessageType.SEND_BODY_CHUNK,
    length >>> 8,
    length & 0xff,
  ]);
}

/** The single 0x00 byte that ends every SEND_BODY_CHUNK (mod_proxy_ajp requires it). */
export const SEND_BODY_CHUNK_TRAILER: Buffer = Buffer.from([0]);

/** Encodes one SEND_BODY_CHUNK holding `data` (a copy; see {@link sendBodyChunkHeader}). */
export function encodeSendBodyChunk(data: Uint8Array): Buffer {
  return Buffer.concat([sendBodyChunkHeader(data.length), data, SEND_BODY_CHUNK_TRAILER]);
}

/** Maximum body bytes in one request body packet: packet size − 6. */
export function maxRequestBodyChunk(packetSize: number): number {
  return packetSize - 6;
}

/** Maximum body bytes in one SEND_BODY_CHUNK: packet size − 8. */
export function maxResponseBodyChunk(packetSize: number): number {
  return packetSize - 8;
}
