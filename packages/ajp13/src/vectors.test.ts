import { describe, expect, it } from 'vitest';
import { feedSplit, hex } from '../test/hex.js';
import {
  CPING_PACKET,
  CPONG_PACKET,
  EMPTY_BODY_PACKET,
  END_OF_BODY_PACKET,
  FLUSH_PACKET,
  RequestDecoder,
  ResponseDecoder,
  decodeForwardRequestPayload,
  encodeEndResponse,
  encodeForwardRequest,
  encodeGetBodyChunk,
  encodeRequestBody,
  encodeSendBodyChunk,
  encodeSendHeaders,
  reasonPhrase,
  type RequestEvent,
  type ResponseEvent,
} from './index.js';

// Reference §8.1: valid vectors V1–V23.

function decodeRequests(bytes: Buffer, packetSize?: number): RequestEvent[] {
  return new RequestDecoder(packetSize === undefined ? {} : { packetSize }).push(bytes);
}
function decodeResponses(bytes: Buffer, packetSize?: number): ResponseEvent[] {
  return new ResponseDecoder(packetSize === undefined ? {} : { packetSize }).push(bytes);
}
function forward(bytes: Buffer) {
  const ev = decodeRequests(bytes);
  expect(ev[0]?.type).toBe('forward-request');
  if (ev[0]?.type !== 'forward-request') throw new Error('unreachable');
  return ev[0].request;
}

const V2 = hex(`12 34 00 3F 02 02 00 08 48 54 54 50 2F 31 2E 31 00 00 01 2F 00
  00 09 31 32 37 2E 30 2E 30 2E 31 00 FF FF 00 01 68 00 00 50 00 00 02
  A0 0B 00 01 68 00 A0 08 00 01 30 00 0C 00 06 73 33 63 72 65 74 00 FF`);

const V3 = hex(`12 34 00 65 02 04 00 08 48 54 54 50 2F 31 2E 31 00 00 02 2F 70 00
  00 03 3A 3A 31 00 FF FF 00 01 68 00 1F 90 00 00 03
  A0 0B 00 01 68 00  A0 08 00 01 33 00  00 03 58 2D 41 00 00 01 62 00
  0C 00 06 73 33 63 72 65 74 00  05 00 03 61 3D 31 00
  0A 00 0F 41 4A 50 5F 52 45 4D 4F 54 45 5F 50 4F 52 54 00 00 04 35 30 30 30 00
  FF
  12 34 00 05 00 03 61 62 63`);

const V4_FORWARD = hex(`12 34 00 8F 02 02 00 08 "HTTP/1.1" 00 00 05 "/pa/v" 00 00 09 "127.0.0.1" 00
  FF FF 00 09 "127.0.0.1" 00 46 A0 00 00 01 A0 0B 00 0F "127.0.0.1:18080" 00
  0C 00 09 "xyzsecret" 00
  0A 00 0F "AJP_REMOTE_PORT" 00 00 05 "33648" 00
  0A 00 0E "AJP_LOCAL_ADDR" 00 00 09 "127.0.0.1" 00
  FF`);

const V5_FORWARD = hex(`12 34 00 AE 02 02 00 08 "HTTP/1.1" 00 00 05 "/jk/v" 00 00 09 "127.0.0.1" 00
  FF FF 00 09 "127.0.0.1" 00 46 A0 00 00 02 A0 0B 00 0F "127.0.0.1:18080" 00
  A0 08 00 01 30 00
  0C 00 08 "jksecret" 00
  0A 00 0F "AJP_REMOTE_PORT" 00 00 05 "33662" 00
  0A 00 0E "AJP_LOCAL_ADDR" 00 00 09 "127.0.0.1" 00
  0A 00 10 "JK_LB_ACTIVATION" 00 00 03 "ACT" 00
  FF`);

describe('V1 CPING / CPONG', () => {
  it('encodes and decodes both packets', () => {
    expect(CPING_PACKET).toEqual(hex('12 34 00 01 0A'));
    expect(CPONG_PACKET).toEqual(hex('41 42 00 01 09'));
    expect(decodeRequests(hex('12 34 00 01 0A'))).toEqual([{ type: 'cping' }]);
    expect(decodeResponses(hex('41 42 00 01 09'))).toEqual([{ type: 'cpong' }]);
  });
});

describe('V2 minimal GET with secret', () => {
  const req = {
    method: 'GET',
    protocol: 'HTTP/1.1',
    uri: '/',
    remoteAddr: '127.0.0.1',
    remoteHost: null,
    serverName: 'h',
    serverPort: 80,
    isSsl: false,
    headers: [
      ['host', 'h'],
      ['content-length', '0'],
    ] as [string, string][],
    attributes: { secret: 's3cret' },
  };
  it('is 67 bytes and decodes to the request', () => {
    expect(V2.length).toBe(67);
    expect(forward(V2)).toEqual({ ...req, contentLength: 0 });
  });
  it('encodes byte for byte', () => {
    expect(encodeForwardRequest(req)).toEqual(V2);
  });
});

describe('V3 POST with string header, query, req_attribute and body', () => {
  it('decodes the request and the unsolicited body packet', () => {
    const ev = decodeRequests(V3);
    expect(ev).toHaveLength(2);
    if (ev[0]?.type !== 'forward-request') throw new Error('expected forward-request');
    const r = ev[0].request;
    expect(r.method).toBe('POST');
    expect(r.uri).toBe('/p');
    expect(r.remoteAddr).toBe('::1');
    expect(r.serverPort).toBe(8080);
    expect(r.headers).toEqual([
      ['host', 'h'],
      ['content-length', '3'],
      ['X-A', 'b'],
    ]);
    expect(r.contentLength).toBe(3);
    expect(r.attributes).toEqual({
      secret: 's3cret',
      queryString: 'a=1',
      requestAttributes: [['AJP_REMOTE_PORT', '5000']],
    });
    expect(ev[1]).toEqual({ type: 'body', data: Buffer.from('abc'), last: true });
  });
  it('re-encodes byte for byte and answers a further GET_BODY_CHUNK with 12 34 00 00', () => {
    const d = new RequestDecoder();
    const [fr] = d.push(V3);
    if (fr?.type !== 'forward-request') throw new Error('expected forward-request');
    const { contentLength: _cl, ...plain } = fr.request;
    const body = encodeRequestBody(Buffer.from('abc'));
    expect(Buffer.concat([encodeForwardRequest(plain), body])).toEqual(V3);
    d.expectBodyPacket();
    expect(d.push(END_OF_BODY_PACKET)).toEqual([{ type: 'end-of-body' }]);
  });
});

describe('V4 mod_proxy_ajp GET capture', () => {
  it('decodes CPING then the request with null remote_host and no content-length', () => {
    const d = new RequestDecoder();
    expect(d.push(hex('12 34 00 01 0A'))).toEqual([{ type: 'cping' }]);
    const [ev] = d.push(V4_FORWARD);
    if (ev?.type !== 'forward-request') throw new Error('expected forward-request');
    expect(ev.request).toMatchObject({
      method: 'GET',
      uri: '/pa/v',
      remoteHost: null,
      serverName: '127.0.0.1',
      serverPort: 18080,
      headers: [['host', '127.0.0.1:18080']],
      contentLength: null,
      attributes: {
        secret: 'xyzsecret',
        requestAttributes: [
          ['AJP_REMOTE_PORT', '33648'],
          ['AJP_LOCAL_ADDR', '127.0.0.1'],
        ],
      },
    });
    const { contentLength: _cl, ...plain } = ev.request;
    expect(encodeForwardRequest(plain)).toEqual(V4_FORWARD);
    d.expectBodyPacket();
    expect(d.push(EMPTY_BODY_PACKET)).toEqual([{ type: 'end-of-body' }]);
  });
});

describe('V5 mod_jk GET capture', () => {
  it('decodes the request with content-length 0 and JK_LB_ACTIVATION', () => {
    const r = forward(V5_FORWARD);
    expect(r.contentLength).toBe(0);
    expect(r.attributes.secret).toBe('jksecret');
    expect(r.attributes.requestAttributes).toContainEqual(['JK_LB_ACTIVATION', 'ACT']);
    const { contentLength: _cl, ...plain } = r;
    expect(encodeForwardRequest(plain)).toEqual(V5_FORWARD);
  });
});

describe('V6 stored method', () => {
  it('PATCH travels as FF + attribute 0D', () => {
    const pkt = encodeForwardRequest({
      method: 'PATCH',
      protocol: 'HTTP/1.1',
      uri: '/x',
      remoteAddr: '1.2.3.4',
      remoteHost: null,
      serverName: 'h',
      serverPort: 80,
      isSsl: false,
      headers: [],
      attributes: {},
    });
    expect(pkt[5]).toBe(0xff);
    expect(pkt.includes(hex('0D 00 05 50 41 54 43 48 00'))).toBe(true);
    expect(forward(pkt).method).toBe('PATCH');
  });
});

describe('V7 end-of-body encodings', () => {
  it('both mean no more data', () => {
    for (const p of [hex('12 34 00 00'), hex('12 34 00 02 00 00')]) {
      const d = new RequestDecoder();
      d.expectBodyPacket();
      expect(d.push(p)).toEqual([{ type: 'end-of-body' }]);
      expect(d.pendingBodyPackets).toBe(0);
    }
    expect(END_OF_BODY_PACKET).toEqual(hex('12 34 00 00'));
    expect(EMPTY_BODY_PACKET).toEqual(hex('12 34 00 02 00 00'));
  });
});

describe('V8 chunked upload', () => {
  it('reads 19 bytes over three packets answering GET_BODY_CHUNK', () => {
    const fr = encodeForwardRequest({
      method: 'POST',
      protocol: 'HTTP/1.1',
      uri: '/up',
      remoteAddr: '127.0.0.1',
      remoteHost: null,
      serverName: 'h',
      serverPort: 80,
      isSsl: false,
      headers: [['Transfer-Encoding', 'chunked']],
      attributes: {},
    });
    expect(fr.includes(hex('00 11 "Transfer-Encoding" 00 00 07 "chunked" 00'))).toBe(true);
    const d = new RequestDecoder();
    const [ev] = d.push(fr);
    if (ev?.type !== 'forward-request') throw new Error('expected forward-request');
    expect(ev.request.contentLength).toBeNull();
    expect(d.pendingBodyPackets).toBe(0);
    const got: Buffer[] = [];
    for (const p of [
      '12 34 00 08 00 06 "hello "',
      '12 34 00 0A 00 08 "chunked "',
      '12 34 00 07 00 05 "world"',
    ]) {
      expect(encodeGetBodyChunk(8186)).toEqual(hex('41 42 00 03 06 1F FA'));
      d.expectBodyPacket();
      for (const e of d.push(hex(p))) if (e.type === 'body') got.push(e.data);
    }
    d.expectBodyPacket();
    expect(d.push(hex('12 34 00 00'))).toEqual([{ type: 'end-of-body' }]);
    expect(Buffer.concat(got).toString()).toBe('hello chunked world');
  });
});

describe('V9 GET_BODY_CHUNK', () => {
  it('P = 8192 and P = 16384', () => {
    expect(encodeGetBodyChunk(8186)).toEqual(hex('41 42 00 03 06 1F FA'));
    expect(encodeGetBodyChunk(16378)).toEqual(hex('41 42 00 03 06 3F FA'));
    expect(decodeResponses(hex('41 42 00 03 06 3F FA'))).toEqual([
      { type: 'get-body-chunk', requestedLength: 16378 },
    ]);
  });
});

const V10 = hex(`41 42 00 30 04 00 C8 00 03 32 30 30 00 00 02
  A0 01 00 18 "text/plain;charset=UTF-8" 00
  A0 03 00 03 "785" 00`);

describe('V10 SEND_HEADERS with coded headers', () => {
  it('decodes and re-encodes', () => {
    const msg = {
      status: 200,
      reason: '200',
      headers: [
        ['Content-Type', 'text/plain;charset=UTF-8'],
        ['Content-Length', '785'],
      ] as [string, string][],
    };
    expect(decodeResponses(V10)).toEqual([{ type: 'send-headers', response: msg }]);
    expect(encodeSendHeaders(msg)).toEqual(V10);
    expect(reasonPhrase(200, '200')).toBe('OK');
  });
});

describe('V11 SEND_HEADERS with string and coded names, 302', () => {
  it('keeps repeated headers and order', () => {
    const msg = {
      status: 302,
      reason: '302',
      headers: [
        ['X-Test', 'one'],
        ['X-Test', 'two'],
        ['Location', '/elsewhere'],
        ['Content-Type', 'text/html'],
        ['Content-Length', '0'],
      ] as [string, string][],
    };
    const bytes = encodeSendHeaders(msg);
    expect(bytes.subarray(5, 7)).toEqual(hex('01 2E'));
    expect(bytes.includes(hex('A0 06 00 0A "/elsewhere" 00'))).toBe(true);
    expect(decodeResponses(bytes)).toEqual([{ type: 'send-headers', response: msg }]);
    expect(reasonPhrase(302, '302')).toBe('Found');
  });
});

describe('V12 SEND_HEADERS with zero headers', () => {
  it('decodes', () => {
    const b = hex('41 42 00 0B 04 00 C8 00 03 32 30 30 00 00 00');
    expect(decodeResponses(b)).toEqual([
      { type: 'send-headers', response: { status: 200, reason: '200', headers: [] } },
    ]);
    expect(encodeSendHeaders({ status: 200, reason: '200', headers: [] })).toEqual(b);
  });
});

describe('V13 Set-Cookie with jvmRoute', () => {
  it('uses code A0 07', () => {
    const cookie = 'JSESSIONID=35BEF698BA0927471D168BA08EBCD6D4.node1; Path=/; HttpOnly';
    const b = encodeSendHeaders({ status: 200, reason: '200', headers: [['Set-Cookie', cookie]] });
    expect(b.subarray(15, 17)).toEqual(hex('A0 07'));
    const [ev] = decodeResponses(b);
    expect(ev).toEqual({
      type: 'send-headers',
      response: { status: 200, reason: '200', headers: [['Set-Cookie', cookie]] },
    });
  });
});

describe('V14 small body chunk', () => {
  it('decodes "xx"', () => {
    const b = hex('41 42 00 06 03 00 02 78 78 00');
    expect(encodeSendBodyChunk(Buffer.from('xx'))).toEqual(b);
    expect(decodeResponses(b)).toEqual([
      { type: 'body-chunk', data: Buffer.from('xx'), last: true },
    ]);
  });
});

describe('V15 full body chunk', () => {
  for (const [P, head] of [
    [8192, '41 42 1F FC 03 1F F8'],
    [16384, '41 42 3F FC 03 3F F8'],
  ] as const) {
    it(`P = ${P}`, () => {
      const data = Buffer.alloc(P - 8, 0x61);
      const b = encodeSendBodyChunk(data);
      expect(b.subarray(0, 7)).toEqual(hex(head));
      expect(b.length).toBe(P);
      const ev = decodeResponses(b, P);
      expect(ev).toHaveLength(1);
      if (ev[0]?.type !== 'body-chunk') throw new Error('expected body-chunk');
      expect(ev[0].data.equals(data)).toBe(true);
      expect(ev[0].data.buffer).toBe(b.buffer); // not copied
    });
  }
  it('a 20000-byte response arrives as 8184 + 8184 + 3632', () => {
    const stream = Buffer.concat(
      [8184, 8184, 3632].map((n) => encodeSendBodyChunk(Buffer.alloc(n))),
    );
    const sizes = decodeResponses(stream).map((e) =>
      e.type === 'body-chunk' ? e.data.length : -1,
    );
    expect(sizes).toEqual([8184, 8184, 3632]);
  });
});

describe('V16 flush', () => {
  it('is a zero-length SEND_BODY_CHUNK', () => {
    expect(FLUSH_PACKET).toEqual(hex('41 42 00 04 03 00 00 00'));
    expect(decodeResponses(FLUSH_PACKET)).toEqual([{ type: 'flush' }]);
    expect(decodeResponses(Buffer.concat([FLUSH_PACKET, FLUSH_PACKET]))).toEqual([
      { type: 'flush' },
      { type: 'flush' },
    ]);
  });
});

describe('V17 END_RESPONSE', () => {
  it('reuse and close', () => {
    expect(encodeEndResponse(true)).toEqual(hex('41 42 00 02 05 01'));
    expect(encodeEndResponse(false)).toEqual(hex('41 42 00 02 05 00'));
    expect(decodeResponses(hex('41 42 00 02 05 01'))).toEqual([
      { type: 'end-response', reuse: true },
    ]);
    expect(decodeResponses(hex('41 42 00 02 05 00'))).toEqual([
      { type: 'end-response', reuse: false },
    ]);
  });
});

describe('V18 304 / HEAD / 204', () => {
  it('SEND_HEADERS with Content-Length then END_RESPONSE, nothing between', () => {
    const b = Buffer.concat([
      encodeSendHeaders({ status: 304, reason: '304', headers: [['Content-Length', '544']] }),
      encodeEndResponse(true),
    ]);
    expect(decodeResponses(b).map((e) => e.type)).toEqual(['send-headers', 'end-response']);
  });
});

describe('V19 ssl_key_size is a bare u16', () => {
  it('encodes 0B 01 00 for 256 bits', () => {
    const b = encodeForwardRequest({
      method: 'GET',
      protocol: 'HTTP/1.1',
      uri: '/',
      remoteAddr: '1.1.1.1',
      remoteHost: null,
      serverName: 'h',
      serverPort: 443,
      isSsl: true,
      headers: [],
      attributes: { sslKeySize: 256 },
    });
    expect(b.subarray(b.length - 4)).toEqual(hex('0B 01 00 FF'));
    expect(forward(b).attributes.sslKeySize).toBe(256);
  });
});

describe('V20 TLS request', () => {
  it('carries is_ssl, port 443, cipher and AJP_SSL_PROTOCOL', () => {
    const req = {
      method: 'GET',
      protocol: 'HTTP/1.1',
      uri: '/echo',
      remoteAddr: '10.0.0.1',
      remoteHost: null,
      serverName: 'h',
      serverPort: 443,
      isSsl: true,
      headers: [] as [string, string][],
      attributes: {
        sslCipher: 'TLS_AES_128_GCM_SHA256',
        requestAttributes: [['AJP_SSL_PROTOCOL', 'TLSv1.3']] as [string, string][],
      },
    };
    const b = encodeForwardRequest(req);
    expect(b.includes(hex('08 00 16 "TLS_AES_128_GCM_SHA256" 00'))).toBe(true);
    expect(b.includes(hex('0A 00 10 "AJP_SSL_PROTOCOL" 00 00 07 "TLSv1.3" 00'))).toBe(true);
    expect(b.includes(hex('01 BB 01'))).toBe(true);
    expect(forward(b)).toEqual({ ...req, contentLength: null });
  });
});

describe('V21 absolute URI', () => {
  it('passes through unchanged', () => {
    const uri = 'http://other.example:8081/echo/abs';
    const b = encodeForwardRequest({
      method: 'GET',
      protocol: 'HTTP/1.1',
      uri,
      remoteAddr: '1.1.1.1',
      remoteHost: null,
      serverName: 'h',
      serverPort: 80,
      isSsl: false,
      headers: [],
      attributes: {},
    });
    expect(forward(b).uri).toBe(uri);
  });
});

describe('V22 Content-Length as a string name', () => {
  it('is recognised like A0 08 and makes a body packet due', () => {
    const base = decodeForwardRequestPayload(V2.subarray(4));
    const { contentLength: _cl, ...plain } = base;
    const b = encodeForwardRequest({ ...plain, headers: [['host', 'h']] });
    // splice a string-named content-length in by hand: the encoder would code it
    const withCl = Buffer.concat([
      b.subarray(0, b.indexOf(hex('A0 0B'))),
      hex('A0 0B 00 01 68 00 00 0E "content-length" 00 00 01 "5" 00'),
      b.subarray(b.indexOf(hex('A0 0B')) + 6),
    ]);
    withCl.writeUInt16BE(withCl.length - 4, 2);
    withCl[withCl.indexOf(hex('00 01 A0 0B')) + 1] = 2;
    const d = new RequestDecoder();
    const ev = d.push(Buffer.concat([withCl, encodeRequestBody(Buffer.from('hello'))]));
    if (ev[0]?.type !== 'forward-request') throw new Error('expected forward-request');
    expect(ev[0].request.contentLength).toBe(5);
    expect(ev[0].request.headers).toContainEqual(['content-length', '5']);
    expect(ev[1]).toEqual({ type: 'body', data: Buffer.from('hello'), last: true });
  });
});

describe('V23 packet boundaries', () => {
  const stream = Buffer.concat([
    V10,
    hex('41 42 00 06 03 00 02 78 78 00'),
    FLUSH_PACKET,
    hex('41 42 00 02 05 01'),
    V10,
    hex('41 42 00 02 05 01'),
    CPONG_PACKET,
  ]);
  const whole = decodeResponses(stream);
  it('decodes two responses and a CPONG in one read', () => {
    expect(whole.map((e) => e.type)).toEqual([
      'send-headers',
      'body-chunk',
      'flush',
      'end-response',
      'send-headers',
      'end-response',
      'cpong',
    ]);
  });
  it('a header split 1+3, 2+2, 3+1', () => {
    for (const cut of [1, 2, 3]) {
      const d = new ResponseDecoder();
      expect(feedSplit((b) => d.push(b), hex('41 42 00 02 05 01'), [cut])).toEqual([
        { type: 'end-response', reuse: true },
      ]);
    }
  });
  it('a split at every offset gives the same messages (body bytes joined)', () => {
    const norm = (ev: ResponseEvent[]) => {
      const out: unknown[] = [];
      let body: Buffer[] = [];
      for (const e of ev) {
        if (e.type === 'body-chunk') {
          body.push(e.data);
          if (e.last) {
            out.push(Buffer.concat(body).toString('hex'));
            body = [];
          }
        } else out.push(e);
      }
      return out;
    };
    const expected = norm(whole);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new ResponseDecoder();
      expect(norm(feedSplit((b) => d.push(b), stream, [cut]))).toEqual(expected);
    }
    const d = new ResponseDecoder();
    const oneByOne = feedSplit(
      (b) => d.push(b),
      stream,
      Array.from({ length: stream.length }, (_, i) => i),
    );
    expect(norm(oneByOne)).toEqual(expected);
  });
  it('a request stream split at every offset', () => {
    const s = Buffer.concat([CPING_PACKET, V3, V2]);
    const expected = new RequestDecoder().push(s);
    for (let cut = 0; cut <= s.length; cut++) {
      const d = new RequestDecoder();
      const ev = feedSplit((b) => d.push(b), s, [cut]).filter(
        (e) => !(e.type === 'body' && e.data.length === 0),
      );
      const bodies = ev
        .filter((e) => e.type === 'body')
        .map((e) => (e.type === 'body' ? e.data : Buffer.alloc(0)));
      expect(Buffer.concat(bodies).toString()).toBe('abc');
      expect(ev.filter((e) => e.type !== 'body')).toEqual(
        expected.filter((e) => e.type !== 'body'),
      );
    }
  });
  it('a 65536-byte packet size: length field FF FC', () => {
    const data = Buffer.alloc(65528, 7);
    const b = encodeSendBodyChunk(data);
    expect(b.subarray(2, 4)).toEqual(hex('FF FC'));
    const ev = decodeResponses(b, 65536);
    expect(ev[0]?.type === 'body-chunk' && ev[0].data.length).toBe(65528);
  });
});
