import { describe, expect, it } from 'vitest';

import { FrontRequestError, type FrontErrorCode } from './errors.js';
import { parseRequestHead, type HeadLimits, type RequestHead } from './request-head.js';

const limits: HeadLimits = { maxHeaderBytes: 1024, maxHeaders: 10, maxRequestLineBytes: 100 };

/** Parses head lines joined with CRLF (no blank line at the end, as the connection hands it). */
function parse(lines: string[], l: HeadLimits = limits): RequestHead {
  return parseRequestHead(lines.join('\r\n'), l);
}

/** The FrontRequestError thrown for `head`, or a failure when it parses. */
function refusal(head: string, l: HeadLimits = limits): FrontRequestError {
  try {
    parseRequestHead(head, l);
  } catch (e) {
    expect(e).toBeInstanceOf(FrontRequestError);
    return e as FrontRequestError;
  }
  throw new Error(`parsed: ${JSON.stringify(head)}`);
}

describe('parseRequestHead: valid heads', () => {
  it('reads method, target, version, Host and raw headers of an HTTP/1.1 request', () => {
    const h = parse(['GET /a/b?c=d&e HTTP/1.1', 'Host: example.com', 'X-Thing: 1']);
    expect(h).toEqual({
      method: 'GET',
      target: '/a/b?c=d&e',
      versionMinor: 1,
      rawHeaders: ['Host', 'example.com', 'X-Thing', '1'],
      host: 'example.com',
      cookie: undefined,
      contentLength: -1,
      chunked: false,
      keepAlive: true,
      upgrade: false,
      upgradeProtocol: undefined,
      expectContinue: false,
    });
  });

  it('accepts any token as a method', () => {
    expect(parse(['M-SEARCH / HTTP/1.1', 'Host: x']).method).toBe('M-SEARCH');
    expect(parse(["PRO~PF!ND#$%&'*+.^_`| / HTTP/1.1", 'Host: x']).method).toBe(
      "PRO~PF!ND#$%&'*+.^_`|",
    );
  });

  it('accepts obs-text and visible punctuation in the target', () => {
    const target = '/p%20a;x=1/\x80\xff?q=[a]&r={b}|"';
    expect(parse([`GET ${target} HTTP/1.1`, 'Host: x']).target).toBe(target);
  });

  it('HTTP/1.1 keeps the connection alive by default; Connection: close ends it', () => {
    expect(parse(['GET / HTTP/1.1', 'Host: x']).keepAlive).toBe(true);
    expect(parse(['GET / HTTP/1.1', 'Host: x', 'Connection: close']).keepAlive).toBe(false);
    expect(parse(['GET / HTTP/1.1', 'Host: x', 'connection: Keep-Alive, CLOSE']).keepAlive).toBe(
      false,
    );
    expect(parse(['GET / HTTP/1.1', 'Host: x', 'Connection: closed']).keepAlive).toBe(true);
  });

  it('HTTP/1.0 closes by default; Connection: keep-alive keeps it', () => {
    const h = parse(['GET / HTTP/1.0']);
    expect(h.versionMinor).toBe(0);
    expect(h.keepAlive).toBe(false);
    expect(parse(['GET / HTTP/1.0', 'Connection: keep-alive']).keepAlive).toBe(true);
    expect(parse(['GET / HTTP/1.0', 'Connection: foo,  Keep-Alive ']).keepAlive).toBe(true);
  });

  it('treats HTTP/1.x later than 1.1 as 1.1', () => {
    expect(parse(['GET / HTTP/1.9', 'Host: x']).versionMinor).toBe(1);
  });

  it('joins Connection fields before looking for tokens', () => {
    expect(
      parse(['GET / HTTP/1.1', 'Host: x', 'Connection: foo', 'Connection: close']).keepAlive,
    ).toBe(false);
  });

  it('allows a missing Host on HTTP/1.0', () => {
    expect(parse(['GET / HTTP/1.0']).host).toBeUndefined();
  });

  it('joins every Cookie field with "; "', () => {
    const h = parse([
      'GET / HTTP/1.1',
      'Host: x',
      'Cookie: a=1',
      'X: y',
      'cookie:  b=2 ',
      'COOKIE: c=3',
    ]);
    expect(h.cookie).toBe('a=1; b=2; c=3');
    expect(parse(['GET / HTTP/1.1', 'Host: x', 'Cookie: a=1']).cookie).toBe('a=1');
  });

  it('accepts an absolute-form target: origin form for the member, its authority as Host', () => {
    const h = parse(['GET http://example.org:8080/a/b?q=1 HTTP/1.1', 'Host: other', 'X: y']);
    expect(h.target).toBe('/a/b?q=1');
    expect(h.host).toBe('example.org:8080');
    expect(h.rawHeaders).toEqual(['Host', 'example.org:8080', 'X', 'y']);
    const noHost = parse(['GET https://example.org HTTP/1.1']);
    expect([noHost.target, noHost.host]).toEqual(['/', 'example.org']);
    expect(noHost.rawHeaders).toEqual(['Host', 'example.org']);
    expect(parse(['GET http://x?a=1 HTTP/1.1', 'Host: x']).target).toBe('/?a=1');
  });

  it('accepts OPTIONS *', () => {
    const h = parse(['OPTIONS * HTTP/1.1', 'Host: x']);
    expect([h.method, h.target]).toEqual(['OPTIONS', '*']);
  });

  it('reads repeated equal Content-Length values as one (HAProxy does), passed on once', () => {
    const list = parse(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 5, 5']);
    expect(list.contentLength).toBe(5);
    expect(list.rawHeaders).toEqual(['Host', 'x', 'Content-Length', '5']);
    const twice = parse([
      'POST / HTTP/1.1',
      'Host: x',
      'Content-Length: 5',
      'A: b',
      'Content-Length: 5',
    ]);
    expect(twice.contentLength).toBe(5);
    expect(twice.rawHeaders).toEqual(['Host', 'x', 'Content-Length', '5', 'A', 'b']);
  });

  it('sees only websocket as an upgrade: h2c (curl --http2) and others are served as HTTP/1.1', () => {
    const h2c = parse([
      'GET / HTTP/1.1',
      'Host: x',
      'Connection: Upgrade, HTTP2-Settings',
      'Upgrade: h2c',
      'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA',
    ]);
    expect(h2c.upgrade).toBe(false);
    expect(h2c.upgradeProtocol).toBe('h2c');
  });

  it('sees an upgrade only with both Upgrade and Connection: upgrade', () => {
    const both = parse([
      'GET /ws HTTP/1.1',
      'Host: x',
      'Upgrade: websocket',
      'Connection: Upgrade',
    ]);
    expect(both.upgrade).toBe(true);
    expect(both.upgradeProtocol).toBe('websocket');
    const list = parse([
      'GET /ws HTTP/1.1',
      'Host: x',
      'Connection: keep-alive, upgrade',
      'Upgrade: websocket',
    ]);
    expect(list.upgrade).toBe(true);
    const noConnection = parse(['GET /ws HTTP/1.1', 'Host: x', 'Upgrade: websocket']);
    expect(noConnection.upgrade).toBe(false);
    expect(noConnection.upgradeProtocol).toBe('websocket');
    const noUpgrade = parse(['GET /ws HTTP/1.1', 'Host: x', 'Connection: upgrade']);
    expect(noUpgrade.upgrade).toBe(false);
    expect(noUpgrade.upgradeProtocol).toBeUndefined();
  });

  it('Expect: 100-continue sets expectContinue (case-insensitive), only on HTTP/1.1', () => {
    expect(parse(['POST / HTTP/1.1', 'Host: x', 'Expect: 100-continue']).expectContinue).toBe(true);
    expect(parse(['POST / HTTP/1.1', 'Host: x', 'Expect: 100-Continue']).expectContinue).toBe(true);
    expect(parse(['POST / HTTP/1.1', 'Host: x']).expectContinue).toBe(false);
    expect(parse(['POST / HTTP/1.0', 'Expect: 100-continue']).expectContinue).toBe(false);
  });

  it('trims optional whitespace around values and keeps the raw case of names', () => {
    const h = parse([
      'GET / HTTP/1.1',
      'hOsT: \t x.example \t',
      'X-MiXeD-CaSe:value',
      'X-Empty:',
      'X-In:  a  b ',
    ]);
    expect(h.rawHeaders).toEqual([
      'hOsT',
      'x.example',
      'X-MiXeD-CaSe',
      'value',
      'X-Empty',
      '',
      'X-In',
      'a  b',
    ]);
    expect(h.host).toBe('x.example');
  });

  it('keeps tabs and obs-text inside a value', () => {
    expect(parse(['GET / HTTP/1.1', 'Host: x', 'X: a\tb\xe9']).rawHeaders[3]).toBe('a\tb\xe9');
  });

  it('reads Content-Length (OWS trimmed, leading zeros, 15 digits) and chunked', () => {
    expect(parse(['POST / HTTP/1.1', 'Host: x', 'Content-Length:  42 ']).contentLength).toBe(42);
    expect(parse(['POST / HTTP/1.1', 'Host: x', 'content-length: 007']).contentLength).toBe(7);
    expect(parse(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 0']).contentLength).toBe(0);
    expect(
      parse(['POST / HTTP/1.1', 'Host: x', 'Content-Length: 999999999999999']).contentLength,
    ).toBe(999_999_999_999_999);
    const c = parse(['POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: Chunked']);
    expect(c.chunked).toBe(true);
    expect(c.contentLength).toBe(-1);
  });

  it('accepts a head with exactly the limits', () => {
    const l: HeadLimits = { maxHeaderBytes: 200, maxHeaders: 3, maxRequestLineBytes: 20 };
    const line = 'GET /' + 'a'.repeat(20 - 'GET / HTTP/1.1'.length) + ' HTTP/1.1';
    expect(line.length).toBe(20);
    const three = parse([line, 'Host: x', 'A: 1', 'B: 2'], l);
    expect(three.rawHeaders.length).toBe(6);
    const head = [line, 'Host: x', 'A: ' + 'v'.repeat(200 - line.length - 2 - 7 - 2 - 3)].join(
      '\r\n',
    );
    expect(head.length).toBe(200);
    expect(parseRequestHead(head, l).host).toBe('x');
  });
});

const refusals: [string, string, FrontErrorCode, number][] = [
  ['an empty head', '', 'BAD_REQUEST_LINE', 400],
  ['a request line of one word', 'GET', 'BAD_REQUEST_LINE', 400],
  ['a request line of two words', 'GET /', 'BAD_REQUEST_LINE', 400],
  ['a request line without a version', 'GET / \r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a leading space', ' GET / HTTP/1.1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['two spaces after the method', 'GET  / HTTP/1.1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['an empty target', 'GET  HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['two spaces before the version', 'GET /  HTTP/1.1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['four words', 'GET / x HTTP/1.1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a trailing space', 'GET / HTTP/1.1 \r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a lower-case version', 'GET / http/1.1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a version without minor', 'GET / HTTP/1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a two-digit version', 'GET / HTTP/1.10\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['spaces only after the request line', 'GET\r\nHost: a b c', 'BAD_REQUEST_LINE', 400],
  ['a tab as separator', 'GET\t/ HTTP/1.1\r\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a bare LF after the request line', 'GET / HTTP/1.1\nHost: x', 'BAD_REQUEST_LINE', 400],
  ['a method with a slash', 'GE/T / HTTP/1.1\r\nHost: x', 'BAD_METHOD', 400],
  ['a method with a colon', 'GET: / HTTP/1.1\r\nHost: x', 'BAD_METHOD', 400],
  ['a method with a NUL', 'G\0T / HTTP/1.1\r\nHost: x', 'BAD_METHOD', 400],
  ['a method with obs-text', 'G\xe9T / HTTP/1.1\r\nHost: x', 'BAD_METHOD', 400],
  ['a NUL in the target', 'GET /a\0b HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['a tab in the target', 'GET /a\tb HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['DEL in the target', 'GET /a\x7fb HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['a CR in the target', 'GET /a\rb HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['an asterisk-form target other than OPTIONS', 'GET * HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  [
    'an absolute-form target without authority',
    'GET http:///x HTTP/1.1\r\nHost: x',
    'BAD_TARGET',
    400,
  ],
  [
    'an absolute-form target with userinfo',
    'GET http://u@x/ HTTP/1.1\r\nHost: x',
    'BAD_TARGET',
    400,
  ],
  ['a relative target', 'GET x/y HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['an authority-form target', 'CONNECT x:443 HTTP/1.1\r\nHost: x', 'BAD_TARGET', 400],
  ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x', 'BAD_VERSION', 505],
  ['HTTP/0.9', 'GET / HTTP/0.9\r\nHost: x', 'BAD_VERSION', 505],
  ['HTTP/3.0', 'GET / HTTP/3.0\r\nHost: x', 'BAD_VERSION', 505],
  ['a header without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nX-No-Colon', 'BAD_HEADER', 400],
  [
    'a header whose colon is on the next line',
    'GET / HTTP/1.1\r\nHost: x\r\nX-No-Colon\r\nY: z',
    'BAD_HEADER',
    400,
  ],
  ['an empty header name', 'GET / HTTP/1.1\r\nHost: x\r\n: v', 'BAD_HEADER', 400],
  ['a space before the colon', 'GET / HTTP/1.1\r\nHost : x', 'BAD_HEADER', 400],
  ['a tab before the colon', 'GET / HTTP/1.1\r\nHost\t: x', 'BAD_HEADER', 400],
  [
    'a space before the colon of Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked',
    'BAD_HEADER',
    400,
  ],
  ['a header name with a slash', 'GET / HTTP/1.1\r\nHost: x\r\nX/Y: 1', 'BAD_HEADER', 400],
  ['obs-fold with a space', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b', 'OBS_FOLD', 400],
  ['obs-fold with a tab', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb', 'OBS_FOLD', 400],
  ['a space before the first field', 'GET / HTTP/1.1\r\n Host: x', 'OBS_FOLD', 400],
  ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\0b', 'BAD_HEADER', 400],
  ['a control character in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b', 'BAD_HEADER', 400],
  ['an ESC in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x1bb', 'BAD_HEADER', 400],
  ['DEL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb', 'BAD_HEADER', 400],
  ['a bare CR in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb', 'BAD_HEADER', 400],
  ['a bare LF in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\nY: b', 'BAD_HEADER', 400],
  ['a bare CR at the end', 'GET / HTTP/1.1\r\nHost: x\r', 'BAD_HEADER', 400],
  ['two Host fields', 'GET / HTTP/1.1\r\nHost: x\r\nhost: x', 'DUPLICATE_HOST', 400],
  ['two Host fields on HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a\r\nHOST: b', 'DUPLICATE_HOST', 400],
  ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\nX: y', 'MISSING_HOST', 400],
  ['no header at all on HTTP/1.1', 'GET / HTTP/1.1', 'MISSING_HOST', 400],
  [
    'a Content-Length with a letter',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1a',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a negative Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a Content-Length with a sign',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'an empty Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a Content-Length list of different values',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5',
    'DUPLICATE_CONTENT_LENGTH',
    400,
  ],
  [
    'a Content-Length list with an empty element',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4,,4',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a Content-Length with an inner space',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a hex Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a 16-digit Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'a 16-digit Content-Length of zeros',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0000000000000000',
    'BAD_CONTENT_LENGTH',
    400,
  ],
  [
    'two different Content-Lengths',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5',
    'DUPLICATE_CONTENT_LENGTH',
    400,
  ],
  [
    'two different Content-Lengths',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\ncontent-length: 5',
    'DUPLICATE_CONTENT_LENGTH',
    400,
  ],
  [
    'Content-Length then Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked',
    'LENGTH_AND_CHUNKED',
    400,
  ],
  [
    'Transfer-Encoding then Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4',
    'LENGTH_AND_CHUNKED',
    400,
  ],
  [
    'Content-Length with an unknown Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: gzip',
    'LENGTH_AND_CHUNKED',
    400,
  ],
  [
    'Transfer-Encoding: gzip',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip',
    'UNSUPPORTED_TRANSFER_CODING',
    501,
  ],
  [
    'Transfer-Encoding: gzip, chunked',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked',
    'UNSUPPORTED_TRANSFER_CODING',
    501,
  ],
  [
    'Transfer-Encoding: chunked, chunked',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked',
    'UNSUPPORTED_TRANSFER_CODING',
    501,
  ],
  [
    'an empty Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ',
    'UNSUPPORTED_TRANSFER_CODING',
    501,
  ],
  [
    'Transfer-Encoding: xchunked',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked',
    'UNSUPPORTED_TRANSFER_CODING',
    501,
  ],
  [
    'two Transfer-Encoding fields',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked',
    'UNSUPPORTED_TRANSFER_CODING',
    400,
  ],
  [
    'Transfer-Encoding on HTTP/1.0',
    'POST / HTTP/1.0\r\nTransfer-Encoding: chunked',
    'UNSUPPORTED_TRANSFER_CODING',
    400,
  ],
  [
    'Expect: something else',
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok',
    'EXPECTATION_FAILED',
    417,
  ],
  [
    'Expect: 100-continue with a parameter',
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue; x=1',
    'EXPECTATION_FAILED',
    417,
  ],
];

describe('parseRequestHead: refusals', () => {
  for (const [name, head, code, status] of refusals) {
    it(`${name} → ${code} ${status}`, () => {
      const e = refusal(head);
      expect(e.code).toBe(code);
      expect(e.status).toBe(status);
      expect(e.name).toBe('FrontRequestError');
      expect(e.message.length).toBeGreaterThan(0);
    });
  }

  it('a head over maxHeaderBytes → 431 HEADER_TOO_LARGE', () => {
    const l: HeadLimits = { maxHeaderBytes: 100, maxHeaders: 50, maxRequestLineBytes: 100 };
    const ok = 'GET / HTTP/1.1\r\nHost: x\r\nX: ' + 'a'.repeat(100 - 28);
    expect(ok.length).toBe(100);
    expect(parseRequestHead(ok, l).rawHeaders[3]).toHaveLength(72);
    const e = refusal(ok + 'a', l);
    expect([e.code, e.status]).toEqual(['HEADER_TOO_LARGE', 431]);
  });

  it('a value of many small fields still counts against maxHeaderBytes', () => {
    const l: HeadLimits = { maxHeaderBytes: 64, maxHeaders: 50, maxRequestLineBytes: 100 };
    const head = ['GET / HTTP/1.1', 'Host: x', ...Array.from({ length: 8 }, (_, i) => `X${i}: 1`)];
    const e = refusal(head.join('\r\n'), l);
    expect([e.code, e.status]).toEqual(['HEADER_TOO_LARGE', 431]);
  });

  it('more than maxHeaders fields → 431 TOO_MANY_HEADERS', () => {
    const l: HeadLimits = { maxHeaderBytes: 4096, maxHeaders: 4, maxRequestLineBytes: 100 };
    const fields = ['Host: x', 'A: 1', 'B: 2', 'C: 3'];
    expect(parse(['GET / HTTP/1.1', ...fields], l).rawHeaders).toHaveLength(8);
    const e = refusal(['GET / HTTP/1.1', ...fields, 'D: 4'].join('\r\n'), l);
    expect([e.code, e.status]).toEqual(['TOO_MANY_HEADERS', 431]);
  });

  it('a request line over maxRequestLineBytes → 414 TARGET_TOO_LONG', () => {
    const l: HeadLimits = { maxHeaderBytes: 4096, maxHeaders: 10, maxRequestLineBytes: 30 };
    const at = 'GET /' + 'a'.repeat(30 - 14) + ' HTTP/1.1';
    expect(at.length).toBe(30);
    expect(parseRequestHead(at + '\r\nHost: x', l).target).toHaveLength(17);
    const e = refusal('GET /' + 'a'.repeat(17) + ' HTTP/1.1\r\nHost: x', l);
    expect([e.code, e.status]).toEqual(['TARGET_TOO_LONG', 414]);
    const noCrlf = refusal('GET /' + 'a'.repeat(40), l);
    expect([noCrlf.code, noCrlf.status]).toEqual(['TARGET_TOO_LONG', 414]);
  });

  it('never echoes a header value in its message', () => {
    const secret = 'sekrit-value-123';
    for (const head of [
      `GET / HTTP/1.1\r\nHost: x\r\nX: ${secret}\x01`,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${secret}`,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${secret}`,
      `POST / HTTP/1.1\r\nHost: x\r\nExpect: ${secret}`,
    ])
      expect(refusal(head).message).not.toContain(secret);
  });
});
