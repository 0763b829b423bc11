import { STATUS_CODES } from 'node:http';
import {
  DEFAULT_PACKET_SIZE,
  MAGIC_FROM_CONTAINER,
  MessageType,
  RESPONSE_HEADER_CODES,
  RESPONSE_HEADERS,
} from './constants.js';
import { AjpProtocolError } from './errors.js';
import type { AjpHeader, DecodeOptions, EncodeOptions } from './forward-request.js';
import { PacketWriter } from './packet-writer.js';
import { PayloadReader } from './payload-reader.js';

/** A SEND_HEADERS (0x04), container → web server: the response status line and headers. */
export interface SendHeaders {
  /** HTTP status code. */
  status: number;
  /** Reason phrase as sent (Tomcat sends the status digits); null when 0xFFFF. */
  reason: string | null;
  /** Response headers; coded names are decoded in canonical case (`Content-Type`). */
  headers: AjpHeader[];
}

const NAME = 'SEND_HEADERS';
const TOKEN = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Encodes SEND_HEADERS (magic `AB`). Names in the AJP response table (compared
 * case-insensitively) are sent as codes. Refuses NUL/CR/LF in the reason and in any header, and a
 * header block that does not fit in one packet (`MESSAGE_TOO_LARGE`).
 */
export function encodeSendHeaders(msg: SendHeaders, options: EncodeOptions = {}): Buffer {
  const w = new PacketWriter(MAGIC_FROM_CONTAINER, options.packetSize ?? DEFAULT_PACKET_SIZE, NAME);
  w.u8(MessageType.SEND_HEADERS, 'prefix_code');
  w.u16(msg.status, 'http_status_code');
  w.string(msg.reason, 'http_status_msg');
  w.u16(msg.headers.length, 'num_headers');
  for (let i = 0; i < msg.headers.length; i++) {
    w.index = i;
    const [name, value] = msg.headers[i]!;
    const code = RESPONSE_HEADER_CODES.get(name) ?? RESPONSE_HEADER_CODES.get(name.toLowerCase());
    if (code !== undefined) w.u16(code, 'header_name');
    else {
      if (name.length === 0 || TOKEN.test(name))
        throw new AjpProtocolError('INVALID_VALUE', `header ${i} name is not an HTTP token`, {
          messageType: NAME,
          field: `header[${i}].name`,
          expected: 'an HTTP token',
        });
      w.string(name, 'header[].name');
    }
    w.string(value, 'header[].value');
  }
  return w.finish();
}

/**
 * Decodes a SEND_HEADERS payload (`buf[start]` is the 0x04 type byte). Rejects unknown header codes
 * (0xA000, 0xA00C…0xA0FF), null or empty names, null values, reads past the payload and (strict)
 * trailing bytes. A null reason is accepted.
 */
export function decodeSendHeadersPayload(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: DecodeOptions = {},
): SendHeaders {
  const flat = decodeSendHeadersFlat(buf, start, end, options.strict ?? true);
  const headers: AjpHeader[] = new Array<AjpHeader>(flat.headers.length / 2);
  for (let i = 0; i < headers.length; i++)
    headers[i] = [flat.headers[2 * i]!, flat.headers[2 * i + 1]!];
  return { status: flat.status, reason: flat.reason, headers };
}

/**
 * The reason phrase a client should see: the container's message unless it is null, empty or just
 * the status digits (what Tomcat sends), in which case the standard phrase for the status.
 */
export function reasonPhrase(status: number, reason: string | null): string {
  if (reason === null || reason.length === 0 || isStatusDigits(reason, status))
    return STATUS_CODES[status] ?? '';
  return reason;
}

/** `reason === String(status)` without building the string. */
function isStatusDigits(reason: string, status: number): boolean {
  const n = reason.length;
  if (n > 5 || (n > 1 && reason.charCodeAt(0) === 48)) return false;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = reason.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v === status;
}

/** SEND_HEADERS with its headers as one flat `[name, value, …]` list. @internal */
export interface FlatSendHeaders {
  status: number;
  reason: string | null;
  /** `[name, value, name, value, …]`, names as in {@link SendHeaders}. */
  headers: string[];
}

/**
 * Decodes a SEND_HEADERS payload with the checks of {@link decodeSendHeadersPayload}, giving the
 * headers as one flat list (no pair per header): the client's hot path, and the decoder behind
 * the pair-list form.
 * @internal
 */
export function decodeSendHeadersFlat(
  buf: Buffer,
  start: number,
  end: number,
  strict: boolean,
): FlatSendHeaders {
  const r: PayloadReader = new PayloadReader(buf, start, end, NAME, strict);
  r.u8('prefix_code');
  const status = r.u16('http_status_code');
  const reason = r.string('http_status_msg');
  const n = r.u16('num_headers');
  const headers: string[] = [];
  for (let i = 0; i < n; i++) {
    r.index = i;
    const npos = r.pos;
    const peek = r.peekU16('header_name');
    let name: string;
    if (peek >>> 8 === 0xa0) {
      r.pos += 2;
      const idx = (peek & 0xff) - 1;
      if (idx < 0 || idx >= RESPONSE_HEADERS.length)
        r.fail(
          'UNKNOWN_HEADER_CODE',
          `code 0x${peek.toString(16)}`,
          `header[${i}].name`,
          'a code 0xA001…0xA00B',
          npos,
        );
      name = RESPONSE_HEADERS[idx]!;
    } else {
      name = r.requiredString('header[].name');
      if (name.length === 0)
        r.fail('EMPTY_NOT_ALLOWED', 'empty header name', 'header[].name', 'a name', npos);
    }
    headers.push(name, r.requiredString('header[].value'));
  }
  r.finish();
  return { status, reason, headers };
}
