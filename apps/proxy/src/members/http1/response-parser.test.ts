import { describe, expect, it } from 'vitest';

import { ResponseParseError } from './errors.js';
import { ResponseParser, type ResponseLimits } from './response-parser.js';

interface Parsed {
  status: number;
  reason: string;
  headers: string[];
  body: string;
  complete: boolean;
  heads: number;
}

function parser(limits?: Partial<ResponseLimits>, pauseOn?: 'head' | 'body') {
  const out: Parsed = { status: 0, reason: '', headers: [], body: '', complete: false, heads: 0 };
  const p = new ResponseParser(
    {
      onHead(status, reason, headers) {
        out.status = status;
        out.reason = reason;
        out.headers = headers;
        out.heads++;
        return pauseOn !== 'head';
      },
      onBody(chunk) {
        expect(chunk.length).toBeGreaterThan(0);
        out.body += chunk.toString('latin1');
        return pauseOn !== 'body';
      },
      onComplete() {
        out.complete = true;
      },
    },
    limits,
  );
  return { p, out };
}

/** Parses `text` fed in pieces of `step` bytes; returns what the sink saw and bytes left over. */
function parse(
  text: string,
  opts: { step?: number; head?: boolean; limits?: Partial<ResponseLimits> } = {},
) {
  const { p, out } = parser(opts.limits);
  p.reset(opts.head === true);
  const buf = Buffer.from(text, 'latin1');
  const step = opts.step ?? buf.length;
  let left = 0;
  for (let i = 0; i < buf.length; i += step) {
    const piece = buf.subarray(i, Math.min(buf.length, i + step));
    const n = p.execute(piece);
    if (n < piece.length) {
      left = buf.length - i - n;
      break;
    }
  }
  return { p, out, left };
}

function parseError(text: string, opts: { step?: number; limits?: Partial<ResponseLimits> } = {}) {
  try {
    parse(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ResponseParseError);
    return e as ResponseParseError;
  }
  throw new Error('expected a ResponseParseError');
}

const STEPS = [undefined, 1, 3, 7];

describe('ResponseParser framing', () => {
  for (const step of STEPS) {
    const tag = step === undefined ? 'whole' : `${step}-byte pieces`;

    it(`Content-Length (${tag})`, () => {
      const { out, p, left } = parse(
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
        { step },
      );
      expect(out).toMatchObject({ status: 200, reason: 'OK', body: 'hello', complete: true });
      expect(out.headers).toEqual(['Content-Type', 'text/plain', 'Content-Length', '5']);
      expect(p.keepAlive).toBe(true);
      expect(p.done).toBe(true);
      expect(left).toBe(0);
    });

    it(`chunked with extensions and trailers (${tag})`, () => {
      const { out, p } = parse(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n',
        { step },
      );
      expect(out).toMatchObject({ status: 200, body: 'hello 0123456789', complete: true });
      expect(p.keepAlive).toBe(true);
    });

    it(`close-delimited (${tag})`, () => {
      const { out, p } = parse('HTTP/1.1 200 OK\r\nServer: x\r\n\r\nall of it', { step });
      expect(out.body).toBe('all of it');
      expect(out.complete).toBe(false);
      expect(p.closeDelimited).toBe(true);
      expect(p.keepAlive).toBe(false);
      p.finish();
      expect(out.complete).toBe(true);
    });

    it(`skips interim responses (${tag})`, () => {
      const { out } = parse(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' +
          'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
        { step },
      );
      expect(out).toMatchObject({ status: 201, heads: 1, body: 'ok', complete: true });
    });
  }

  it('no body for HEAD, 204 and 304, whatever the framing headers say', () => {
    const head = parse('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', { head: true });
    expect(head.out).toMatchObject({ status: 200, body: '', complete: true });
    expect(head.p.keepAlive).toBe(true);
    for (const status of ['204 No Content', '304 Not Modified']) {
      const r = parse(`HTTP/1.1 ${status}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      expect(r.out.complete).toBe(true);
      expect(r.out.body).toBe('');
    }
    const zero = parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(zero.out.complete).toBe(true);
  });

  it('101 stops at the head: what follows belongs to the new protocol', () => {
    const { out, p, left } = parse(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00',
    );
    expect(out.status).toBe(101);
    expect(out.complete).toBe(false);
    expect(p.upgraded).toBe(true);
    expect(left).toBe(2);
  });

  it('reports bytes after a complete response as not consumed', () => {
    const { left, out } = parse('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA');
    expect(out.body).toBe('a');
    expect(left).toBe(5);
  });

  it('keep-alive: Connection close, HTTP/1.0, Keep-Alive timeout', () => {
    expect(
      parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').p.keepAlive,
    ).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').p.keepAlive).toBe(false);
    const ka = parse(
      'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n',
    ).p;
    expect(ka.keepAlive).toBe(true);
    expect(ka.keepAliveTimeout).toBe(5000);
  });

  it('accepts a Content-Length list of equal values, empty reason, OWS around values', () => {
    const { out } = parse('HTTP/1.1 404\r\nContent-Length: 2, 2\r\nX:  a b \t\r\n\r\nno');
    expect(out).toMatchObject({ status: 404, reason: '', body: 'no' });
    expect(out.headers).toEqual(['Content-Length', '2', 'X', 'a b']);
  });

  it('a Content-Length sent twice with the same value is passed on once', () => {
    const { out } = parse(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: y\r\nContent-Length: 2\r\n\r\nok',
    );
    expect(out.headers).toEqual(['Content-Length', '2', 'X', 'y']);
    expect(out.body).toBe('ok');
  });

  it('a head with bare LF line ends is refused as soon as the LF arrives, not at a timeout', () => {
    for (const step of STEPS) {
      // No CRLFCRLF ever comes: the parser must not wait for one.
      expect(parseError('HTTP/1.1 200 OK\nContent-Length: 2\n\nok', { step }).code).toBe(
        'INVALID_STATUS_LINE',
      );
      expect(parseError('HTTP/1.1 200 OK\r\nContent-Length: 2\n\nok', { step }).code).toBe(
        'INVALID_HEADER_VALUE',
      );
      expect(parseError('HTTP/1.1 200 OK\r\nX\n\nok', { step }).code).toBe('INVALID_HEADER_LINE');
    }
  });

  it('latin1 values pass through byte for byte', () => {
    const { out } = parse('HTTP/1.1 200 \xe9t\xe9\r\nX-L: caf\xe9\r\nContent-Length: 0\r\n\r\n');
    expect(out.reason).toBe('\xe9t\xe9');
    expect(out.headers[1]).toBe('caf\xe9');
  });

  it('a paused sink stops the parse; the rest is parsed when given again', () => {
    const { p, out } = parser(undefined, 'body');
    p.reset(false);
    const buf = Buffer.from(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n',
    );
    let rest = buf;
    let rounds = 0;
    while (rest.length > 0 && rounds++ < 10) rest = rest.subarray(p.execute(rest));
    expect(out.body).toBe('abcd');
    expect(out.complete).toBe(true);
    expect(rounds).toBe(3);
  });

  it('is reusable for the next response on the connection', () => {
    const { p, out } = parser();
    for (const body of ['one', 'two']) {
      p.reset(false);
      out.body = '';
      p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n${body}`));
      expect(out.body).toBe(body);
      expect(p.done).toBe(true);
    }
  });
});

describe('ResponseParser errors', () => {
  const cases: [string, string, string][] = [
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', 'INVALID_STATUS_LINE'],
    ['HTTP/2', 'HTTP/2.0 200 OK\r\n\r\n', 'UNSUPPORTED_VERSION'],
    ['HTTP/1.2', 'HTTP/1.2 200 OK\r\n\r\n', 'UNSUPPORTED_VERSION'],
    ['a 2-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'INVALID_STATUS_LINE'],
    ['a status below 100', 'HTTP/1.1 099 OK\r\n\r\n', 'INVALID_STATUS_LINE'],
    ['no space after the status', 'HTTP/1.1 200OK\r\n\r\n', 'INVALID_STATUS_LINE'],
    ['a control in the reason', 'HTTP/1.1 200 O\x01K\r\n\r\n', 'INVALID_STATUS_LINE'],
    ['a bare LF in the reason', 'HTTP/1.1 200 O\nK: v\r\n\r\n', 'INVALID_STATUS_LINE'],
    ['obsolete line folding', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'OBSOLETE_LINE_FOLDING'],
    ['a line without a colon', 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', 'INVALID_HEADER_LINE'],
    ['space before the colon', 'HTTP/1.1 200 OK\r\nX : a\r\n\r\n', 'INVALID_HEADER_NAME'],
    ['an empty name', 'HTTP/1.1 200 OK\r\n: a\r\n\r\n', 'INVALID_HEADER_NAME'],
    ['a non-token name', 'HTTP/1.1 200 OK\r\nX(y): a\r\n\r\n', 'INVALID_HEADER_NAME'],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n', 'INVALID_HEADER_VALUE'],
    ['a bare CR in a value', 'HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n', 'INVALID_HEADER_VALUE'],
    ['a bare LF in a value', 'HTTP/1.1 200 OK\r\nX: a\nb\r\n\r\n', 'INVALID_HEADER_VALUE'],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nX: a\x7fb\r\n\r\n', 'INVALID_HEADER_VALUE'],
    [
      'a negative length',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'INVALID_CONTENT_LENGTH',
    ],
    [
      'a non-numeric length',
      'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n',
      'INVALID_CONTENT_LENGTH',
    ],
    ['an empty length', 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', 'INVALID_CONTENT_LENGTH'],
    [
      'a huge length',
      `HTTP/1.1 200 OK\r\nContent-Length: ${'9'.repeat(16)}\r\n\r\n`,
      'INVALID_CONTENT_LENGTH',
    ],
    [
      'conflicting lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'CONFLICTING_CONTENT_LENGTH',
    ],
    [
      'a length list with different values',
      'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n',
      'INVALID_CONTENT_LENGTH',
    ],
    [
      'CL and TE',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
    ],
    [
      'TE and CL',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
      'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
    ],
    [
      'gzip coding',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
      'UNSUPPORTED_TRANSFER_ENCODING',
    ],
    [
      'chunked twice',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n',
      'UNSUPPORTED_TRANSFER_ENCODING',
    ],
    [
      'an empty coding',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n',
      'UNSUPPORTED_TRANSFER_ENCODING',
    ],
    [
      'a bad chunk size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'INVALID_CHUNK_SIZE',
    ],
    [
      'an empty chunk size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n',
      'INVALID_CHUNK_SIZE',
    ],
    [
      'a chunk size with space',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n',
      'INVALID_CHUNK_SIZE',
    ],
    [
      'a chunk size over 2^52',
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'f'.repeat(14)}\r\n`,
      'INVALID_CHUNK_SIZE',
    ],
    [
      'a bare LF after the size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc',
      'INVALID_CHUNK_SIZE',
    ],
    [
      'an extension with bare LF',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\nabc',
      'INVALID_CHUNK_SIZE',
    ],
    [
      'a CR without LF',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\rabc',
      'INVALID_CHUNK_FRAMING',
    ],
    [
      'data longer than its size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n',
      'INVALID_CHUNK_FRAMING',
    ],
    [
      'a trailer without colon',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad\r\n\r\n',
      'INVALID_TRAILER',
    ],
    [
      'a folded trailer',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n x: y\r\n\r\n',
      'INVALID_TRAILER',
    ],
    [
      'a control in a trailer',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nx: \x01\r\n\r\n',
      'INVALID_TRAILER',
    ],
  ];
  for (const [name, text, code] of cases) {
    it(`${name} → ${code}`, () => {
      for (const step of [undefined, 1]) {
        const e = parseError(text, { step });
        expect(e.code).toBe(code);
        expect(e.message).toContain(code);
        expect(e.offset).toBeGreaterThanOrEqual(0);
        expect(e.offset).toBeLessThanOrEqual(text.length);
      }
    });
  }

  it('names the offset of the fault', () => {
    const text = 'HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n';
    expect(parseError(text).offset).toBe(text.indexOf('\x00'));
  });

  it('limits: head size, status line, header count, chunk extensions, trailers, interims', () => {
    const limits = {
      maxHeadSize: 256,
      maxStatusLine: 64,
      maxHeaders: 4,
      maxChunkExtension: 8,
      maxInterim: 2,
    };
    const big = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(300)}\r\n\r\n`;
    expect(parseError(big, { limits }).code).toBe('HEADERS_TOO_LARGE');
    // Incomplete heads are refused as soon as they pass the limit, without waiting for more.
    expect(parseError(big.slice(0, 280), { limits, step: 16 }).code).toBe('HEADERS_TOO_LARGE');
    expect(parseError(`HTTP/1.1 200 ${'r'.repeat(80)}\r\n\r\n`, { limits }).code).toBe(
      'STATUS_LINE_TOO_LONG',
    );
    expect(parseError(`HTTP/1.1 200 ${'r'.repeat(80)}`, { limits, step: 10 }).code).toBe(
      'STATUS_LINE_TOO_LONG',
    );
    const many = `HTTP/1.1 200 OK\r\n${'A: 1\r\n'.repeat(5)}\r\n`;
    expect(parseError(many, { limits }).code).toBe('TOO_MANY_HEADERS');
    expect(
      parse(`HTTP/1.1 200 OK\r\n${'A: 1\r\n'.repeat(4)}Content-Length: 0\r\n\r\n`, {
        limits: { ...limits, maxHeaders: 5 },
      }).out.complete,
    ).toBe(true);
    const ext = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaaaa\r\nx\r\n';
    expect(parseError(ext, { limits }).code).toBe('CHUNK_EXTENSION_TOO_LARGE');
    const trailers = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ${'t'.repeat(300)}\r\n\r\n`;
    expect(parseError(trailers, { limits }).code).toBe('TRAILERS_TOO_LARGE');
    const interims = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(3) + 'HTTP/1.1 200 OK\r\n\r\n';
    expect(parseError(interims, { limits }).code).toBe('TOO_MANY_INTERIM_RESPONSES');
  });

  it('an incomplete response at the end of the connection → INCOMPLETE_RESPONSE', () => {
    for (const text of [
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab',
      'HTTP/1.1 200 OK\r\nConte',
    ]) {
      const { p } = parse(text);
      expect(() => p.finish()).toThrow(ResponseParseError);
      try {
        p.finish();
      } catch (e) {
        expect((e as ResponseParseError).code).toBe('INCOMPLETE_RESPONSE');
      }
    }
  });

  it('rejects garbage at the first bytes without waiting for a whole head', () => {
    expect(parseError('XTTP', { step: 1 }).code).toBe('INVALID_STATUS_LINE');
  });
});
