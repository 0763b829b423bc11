import { describe, expect, it } from 'vitest';
import { hex } from '../test/hex.js';
import {
  AjpProtocolError,
  RequestDecoder,
  ResponseDecoder,
  encodeForwardRequest,
  encodeRequestBody,
  type AjpErrorCode,
  type ForwardRequest,
} from './index.js';

// Reference §8.2: malformed inputs M1–M26 (to the container) and R1–R20 (from it), at the codec
// level. Reactions that belong to the server adapter (403 for secrets and attributes, 400 status
// choices) and to the client (sequence rules, timeouts) are tested there.

const base: ForwardRequest = {
  method: 'GET',
  protocol: 'HTTP/1.1',
  uri: '/',
  remoteAddr: '127.0.0.1',
  remoteHost: null,
  serverName: 'h',
  serverPort: 80,
  isSsl: false,
  headers: [['host', 'h']],
  attributes: { secret: 's3cret' },
};

function err(fn: () => unknown): AjpProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AjpProtocolError);
    return e as AjpProtocolError;
  }
  throw new Error('expected an AjpProtocolError');
}

function reqError(
  bytes: Buffer,
  code: AjpErrorCode,
  opts: { strict?: boolean; expectBody?: boolean } = {},
) {
  const d = new RequestDecoder({ strict: opts.strict ?? true });
  if (opts.expectBody) d.expectBodyPacket();
  const e = err(() => d.push(bytes));
  expect(e.code).toBe(code);
  expect(e.offset).toBeTypeOf('number');
  expect(e.expected).toBeTypeOf('string');
  // the decoder stays failed
  expect(err(() => d.push(hex('12 34 00 01 0A'))).code).toBe(code);
  return e;
}

function respError(bytes: Buffer, code: AjpErrorCode, strict = true) {
  const e = err(() => new ResponseDecoder({ strict }).push(bytes));
  expect(e.code).toBe(code);
  return e;
}

/** Rewrites the length field of a packet after the payload was edited. */
function fix(b: Buffer): Buffer {
  b.writeUInt16BE(b.length - 4, 2);
  return b;
}

/** Replaces the first occurrence of `from` by `to` in a packet and fixes the length. */
function patch(b: Buffer, from: Buffer, to: Buffer): Buffer {
  const i = b.indexOf(from);
  if (i < 0) throw new Error('pattern not found');
  return fix(Buffer.concat([b.subarray(0, i), to, b.subarray(i + from.length)]));
}

const good = () => encodeForwardRequest(base);

describe('M1–M26: web server → container', () => {
  it('M1 magic 41 42 is refused', () => {
    const e = reqError(hex('41 42 00 01 0A'), 'BAD_MAGIC');
    expect(e.offset).toBe(0);
  });
  it('M2 a first packet 12 34 00 00', () => {
    reqError(hex('12 34 00 00'), 'EMPTY_PACKET');
  });
  it('M3 types 07 and 08 are decoded (the container closes), 63 is refused', () => {
    expect(new RequestDecoder().push(hex('12 34 00 01 07'))).toEqual([{ type: 'shutdown' }]);
    expect(new RequestDecoder().push(hex('12 34 00 01 08'))).toEqual([{ type: 'ping' }]);
    reqError(hex('12 34 00 01 63'), 'UNKNOWN_MESSAGE_TYPE');
  });
  it('M4 length 8200 is refused from the header alone, before any payload', () => {
    const e = reqError(hex('12 34 20 08'), 'PACKET_TOO_LARGE');
    expect(e.offset).toBe(2);
    // 8188 is the largest accepted length; the decoder waits for its payload
    expect(new RequestDecoder().push(hex('12 34 1F FC 02'))).toEqual([]);
  });
  it('M5 a Forward Request over 8188 payload bytes is refused on encode', () => {
    const e = err(() => encodeForwardRequest({ ...base, headers: [['x-big', 'a'.repeat(8200)]] }));
    expect(e.code).toBe('MESSAGE_TOO_LARGE');
    expect(e.field).toBe('header[0].value');
    // the same request fits in 16384
    expect(
      encodeForwardRequest(
        { ...base, headers: [['x-big', 'a'.repeat(8200)]] },
        { packetSize: 16384 },
      ).length,
    ).toBeGreaterThan(8192);
  });
  it('M6 body packet with L = 8188 (payload 8190)', () => {
    reqError(hex('12 34 1F FE 1F FC'), 'PACKET_TOO_LARGE', { expectBody: true });
    // and a body length larger than its payload
    reqError(hex('12 34 00 04 00 05 61 62'), 'BAD_BODY_LENGTH', { expectBody: true });
    reqError(hex('12 34 00 01 00'), 'TRUNCATED', { expectBody: true });
  });
  it('M7 method 00 / 1C', () => {
    for (const m of ['00', '1C']) {
      const b = good();
      b[5] = parseInt(m, 16);
      const e = reqError(b, 'UNKNOWN_METHOD');
      expect(e.offset).toBe(5);
    }
  });
  it('M8 method FF without attribute 0D', () => {
    const b = good();
    b[5] = 0xff;
    reqError(b, 'BAD_STORED_METHOD');
  });
  it('M9 request header code A0 0F (and A0 00)', () => {
    reqError(patch(good(), hex('A0 0B'), hex('A0 0F')), 'UNKNOWN_HEADER_CODE');
    reqError(patch(good(), hex('A0 0B'), hex('A0 00')), 'UNKNOWN_HEADER_CODE');
  });
  it('M10 num_headers 5 with one header present', () => {
    reqError(patch(good(), hex('00 01 A0 0B'), hex('00 05 A0 0B')), 'TRUNCATED');
  });
  it('M11 unknown attribute code 20', () => {
    const e = reqError(patch(good(), hex('0C 00 06'), hex('20 00 06')), 'UNKNOWN_ATTRIBUTE');
    expect(e.field).toBe('attribute');
  });
  it('M12 no FF terminator', () => {
    const b = good();
    reqError(fix(Buffer.from(b.subarray(0, b.length - 1))), 'MISSING_TERMINATOR');
  });
  it('M13 duplicate content-length (A0 08 + string)', () => {
    const b = encodeForwardRequest({ ...base, headers: [['content-length', '3']] });
    const two = patch(
      b,
      hex('00 01 A0 08 00 01 33 00'),
      hex('00 02 A0 08 00 01 33 00 00 0E "Content-Length" 00 00 01 33 00'),
    );
    reqError(two, 'DUPLICATE_CONTENT_LENGTH');
  });
  it('M14 content-length abc / -5', () => {
    for (const v of ['abc', '-5', '', '1e3', ' 5']) {
      const b = encodeForwardRequest({ ...base, headers: [['content-length', v]] });
      reqError(b, 'INVALID_CONTENT_LENGTH');
    }
  });
  it('M15–M17 secrets and attributes decode (policy is the server adapter’s); two different secrets are refused', () => {
    const [ev] = new RequestDecoder().push(
      encodeForwardRequest({
        ...base,
        attributes: {
          requestAttributes: [
            ['javax.servlet.include.request_uri', '/'],
            ['javax.servlet.include.path_info', 'WEB-INF/web.xml'],
            ['javax.servlet.include.servlet_path', '/'],
          ],
        },
      }),
    );
    expect(ev?.type === 'forward-request' && ev.request.attributes.requestAttributes).toHaveLength(
      3,
    );
    const b = good();
    const withTwo = fix(
      Buffer.concat([b.subarray(0, b.length - 1), hex('0C 00 05 "wrong" 00 FF')]),
    );
    reqError(withTwo, 'DUPLICATE_SECRET');
  });
  it('M18 101 request headers (limit 100, configurable)', () => {
    const headers = Array.from({ length: 101 }, (_, i): [string, string] => [`x-h${i}`, 'v']);
    const b = encodeForwardRequest({ ...base, headers });
    reqError(b, 'TOO_MANY_HEADERS');
    const ok = encodeForwardRequest({ ...base, headers: headers.slice(0, 100) });
    expect(new RequestDecoder().push(ok)[0]?.type).toBe('forward-request');
    expect(new RequestDecoder({ maxHeaders: 200 }).push(b)[0]?.type).toBe('forward-request');
  });
  it('M19 a CPING while the container awaits body is read as a body packet and refused', () => {
    reqError(hex('12 34 00 01 0A'), 'TRUNCATED', { expectBody: true });
  });
  it('M20 empty req_uri', () => {
    reqError(patch(good(), hex('00 01 2F 00'), hex('00 00 00')), 'EMPTY_NOT_ALLOWED');
    expect(err(() => encodeForwardRequest({ ...base, uri: '' })).code).toBe('INVALID_VALUE');
  });
  it('M21 req_uri null', () => {
    const e = reqError(patch(good(), hex('00 01 2F 00'), hex('FF FF')), 'NULL_NOT_ALLOWED');
    expect(e.field).toBe('req_uri');
  });
  it('M22 protocol null / remote_addr null refused; remote_host null allowed', () => {
    reqError(patch(good(), hex('00 08 "HTTP/1.1" 00'), hex('FF FF')), 'NULL_NOT_ALLOWED');
    reqError(patch(good(), hex('00 09 "127.0.0.1" 00'), hex('FF FF')), 'NULL_NOT_ALLOWED');
    reqError(patch(good(), hex('00 08 "HTTP/1.1" 00'), hex('00 00 00')), 'EMPTY_NOT_ALLOWED');
  });
  it('M23 %2F in req_uri passes through', () => {
    const [ev] = new RequestDecoder().push(encodeForwardRequest({ ...base, uri: '/a%2Fb' }));
    expect(ev?.type === 'forward-request' && ev.request.uri).toBe('/a%2Fb');
  });
  it('M24 a string length running past the payload end', () => {
    const e = reqError(patch(good(), hex('00 01 2F 00'), hex('00 F0 2F 00')), 'TRUNCATED');
    expect(e.field).toBe('req_uri');
    expect(e.offset).toBe(17);
  });
  it('M25 a string terminator that is not 00: strict rejects, lenient accepts', () => {
    const b = patch(good(), hex('00 01 2F 00'), hex('00 01 2F 41'));
    reqError(b, 'BAD_STRING_TERMINATOR');
    const [ev] = new RequestDecoder({ strict: false }).push(b);
    expect(ev?.type === 'forward-request' && ev.request.uri).toBe('/');
  });
  it('M26 FF FF header value / empty header name', () => {
    reqError(patch(good(), hex('A0 0B 00 01 68 00'), hex('A0 0B FF FF')), 'NULL_NOT_ALLOWED');
    reqError(
      patch(good(), hex('A0 0B 00 01 68 00'), hex('00 00 00 00 01 68 00')),
      'EMPTY_NOT_ALLOWED',
    );
  });
  it('trailing bytes after FF are refused in strict mode', () => {
    const b = fix(Buffer.concat([good(), hex('00')]));
    reqError(b, 'TRAILING_BYTES');
    expect(new RequestDecoder({ strict: false }).push(b)[0]?.type).toBe('forward-request');
  });
  it('an unsolicited body packet (no Content-Length, no GET_BODY_CHUNK) is not taken as body', () => {
    reqError(
      Buffer.concat([encodeForwardRequest(base), encodeRequestBody(Buffer.from('abc'))]),
      'UNKNOWN_MESSAGE_TYPE',
    );
  });
});

describe('encode refuses what would smuggle (reference §7.28)', () => {
  for (const [field, req] of [
    ['header value', { ...base, headers: [['x-a', 'a\r\nX-Evil: 1']] }],
    ['header name', { ...base, headers: [['x-a\n', 'a']] }],
    ['uri', { ...base, uri: '/a\r\nb' }],
    ['NUL in query', { ...base, attributes: { queryString: 'a=\u0000' } }],
    ['method', { ...base, method: 'GE T' }],
  ] as [string, ForwardRequest][]) {
    it(field, () => {
      expect(err(() => encodeForwardRequest(req)).code).toBe('INVALID_VALUE');
    });
  }
  it('newlines are allowed only in the PEM certificate', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const [ev] = new RequestDecoder().push(
      encodeForwardRequest({ ...base, attributes: { sslCert: pem } }),
    );
    expect(ev?.type === 'forward-request' && ev.request.attributes.sslCert).toBe(pem);
  });
});

const headers200 = hex('41 42 00 0B 04 00 C8 00 03 32 30 30 00 00 00');

describe('R1–R20: container → web server (codec level)', () => {
  it('R1 SEND_BODY_CHUNK without trailing 00 is accepted', () => {
    expect(new ResponseDecoder().push(hex('41 42 00 05 03 00 02 78 78'))).toEqual([
      { type: 'body-chunk', data: Buffer.from('xx'), last: true },
    ]);
  });
  it('R2 SEND_BODY_CHUNK with 3 extra trailing bytes: strict rejects, lenient accepts', () => {
    const b = hex('41 42 00 08 03 00 02 78 78 00 00 00');
    respError(b, 'TRAILING_BYTES');
    expect(new ResponseDecoder({ strict: false }).push(b)).toHaveLength(1);
    respError(hex('41 42 00 06 03 00 02 78 78 01'), 'TRAILING_BYTES');
  });
  it('R3 chunk length > payload − 3', () => {
    const e = respError(hex('41 42 00 06 03 00 04 78 78 00'), 'BAD_BODY_LENGTH');
    expect(e.offset).toBe(5);
    respError(hex('41 42 00 02 03 00'), 'TRUNCATED');
  });
  it('R4 status message FF FF is accepted', () => {
    expect(new ResponseDecoder().push(fix(hex('41 42 00 00 04 01 94 FF FF 00 00')))).toEqual([
      { type: 'send-headers', response: { status: 404, reason: null, headers: [] } },
    ]);
  });
  it('R5 response header code A0 0C (and A0 00)', () => {
    respError(
      fix(hex('41 42 00 00 04 00 C8 00 03 32 30 30 00 00 01 A0 0C 00 00 00')),
      'UNKNOWN_HEADER_CODE',
    );
    respError(
      fix(hex('41 42 00 00 04 00 C8 00 03 32 30 30 00 00 01 A0 00 00 00 00')),
      'UNKNOWN_HEADER_CODE',
    );
  });
  it('R9 container using magic 12 34', () => {
    respError(hex('12 34 00 02 05 01'), 'BAD_MAGIC');
  });
  it('R12 END_RESPONSE with no reuse byte', () => {
    respError(hex('41 42 00 01 05'), 'TRUNCATED');
  });
  it('END_RESPONSE reuse byte other than 0/1: strict rejects, lenient reads true', () => {
    respError(hex('41 42 00 02 05 02'), 'BAD_BOOLEAN');
    expect(new ResponseDecoder({ strict: false }).push(hex('41 42 00 02 05 02'))).toEqual([
      { type: 'end-response', reuse: true },
    ]);
  });
  it('R13 SEND_HEADERS count missing / larger than the data', () => {
    respError(hex('41 42 00 09 04 00 C8 00 03 32 30 30 00'), 'TRUNCATED');
    respError(Buffer.from(headers200).fill(0x05, 14, 15), 'TRUNCATED');
  });
  it('R14 unknown type byte 0B', () => {
    respError(hex('41 42 00 01 0B'), 'UNKNOWN_MESSAGE_TYPE');
  });
  it('R16 GET_BODY_CHUNK with requested 0 decodes (the client decides)', () => {
    expect(new ResponseDecoder().push(hex('41 42 00 03 06 00 00'))).toEqual([
      { type: 'get-body-chunk', requestedLength: 0 },
    ]);
  });
  it('R19 length field 00 00', () => {
    respError(hex('41 42 00 00'), 'EMPTY_PACKET');
  });
  it('R20 payload length > P − 4, rejected before reading', () => {
    respError(hex('41 42 1F FD'), 'PACKET_TOO_LARGE');
    expect(new ResponseDecoder({ packetSize: 16384 }).push(hex('41 42 1F FD'))).toEqual([]);
    respError(hex('41 42 FF FF'), 'PACKET_TOO_LARGE');
  });
  it('CPONG with extra bytes', () => {
    respError(hex('41 42 00 02 09 00'), 'TRAILING_BYTES');
  });
  it('header null name / null value', () => {
    respError(
      fix(hex('41 42 00 00 04 00 C8 00 03 32 30 30 00 00 01 FF FF 00 00 00')),
      'NULL_NOT_ALLOWED',
    );
    respError(
      fix(hex('41 42 00 00 04 00 C8 00 03 32 30 30 00 00 01 A0 01 FF FF')),
      'NULL_NOT_ALLOWED',
    );
  });
});
