import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ChunkedDecoder } from './chunked-decoder.js';
import { FrontRequestError } from './errors.js';
import type { FrontRequest } from './request.js';
import { parseRequestHead, type HeadLimits } from './request-head.js';
import type { FrontResponse } from './response.js';
import { FrontServer } from './server.js';

// ---------------------------------------------------------------- inputs

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const specialChar = fc.constantFrom(
  '\r',
  '\n',
  '\r\n',
  '\0',
  ' ',
  '\t',
  ':',
  ';',
  ',',
  '0',
  'f',
  'a',
  '/',
  '\x7f',
  '\xff',
);

type Mutation = { op: 'insert' | 'delete' | 'replace'; at: number; text: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace'),
  at: fc.nat(),
  text: fc.oneof(specialChar, latin1Char),
});

/** `s` with `ms` applied in order (positions taken modulo the length). */
function mutate(s: string, ms: Mutation[]): string {
  for (const m of ms) {
    if (m.op === 'insert') {
      const at = m.at % (s.length + 1);
      s = s.slice(0, at) + m.text + s.slice(at);
    } else if (s.length > 0) {
      const at = m.at % s.length;
      s = s.slice(0, at) + (m.op === 'replace' ? m.text : '') + s.slice(at + 1);
    }
  }
  return s;
}

/** Strings of protocol-looking fragments, so random input reaches the deeper checks. */
const fragments = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'GET',
        'POST',
        'HEAD',
        ' ',
        '/',
        '/a?b=c',
        'HTTP/1.1',
        'HTTP/1.0',
        'HTTP/2.0',
        '\r\n',
        '\r\n\r\n',
        '\n',
        '\r',
        ': ',
        ':',
        'Host',
        'Content-Length',
        'Transfer-Encoding',
        'chunked',
        'Connection',
        'close',
        'keep-alive',
        'upgrade',
        'Upgrade',
        'Expect',
        '100-continue',
        'Cookie',
        '5',
        '00',
        '-1',
        '\0',
        '\t',
        ',',
      ),
      fc.string({ unit: latin1Char, maxLength: 6 }),
    ),
    { maxLength: 40 },
  )
  .map((a) => a.join(''));

const headerLine = fc.constantFrom(
  'Accept: */*',
  'User-Agent: fuzz/1.0',
  'Cookie: a=1',
  'Cookie: b=2',
  'Connection: close',
  'Connection: keep-alive',
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Content-Length: 5',
  'Content-Length: 0',
  'Transfer-Encoding: chunked',
  'Expect: 100-continue',
  'X-Empty:',
  'X-Tabs:\tv\t',
);

/** Request heads that parse (most of the time) before they are mutated. */
const validHead = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'M-SEARCH'),
    target: fc.constantFrom('/', '/a/b', '/q?x=1&y=%20', '/;jsessionid=abc.tc1', '/\xe9'),
    minor: fc.constantFrom(0, 1),
    headers: fc.array(headerLine, { maxLength: 6 }),
  })
  .map(({ method, target, minor, headers }) =>
    [
      `${method} ${target} HTTP/1.${minor}`,
      ...(minor === 1 ? ['Host: example'] : []),
      ...headers,
    ].join('\r\n'),
  );

// ---------------------------------------------------------------- (a) the head parser

const LIMITS: HeadLimits = { maxHeaderBytes: 512, maxHeaders: 8, maxRequestLineBytes: 64 };
const HEAD_STATUSES = new Set([400, 414, 417, 431, 501, 505]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Parses `head`: either a head that keeps every promise, or a FrontRequestError with a head status. */
function checkHead(head: string): void {
  let h;
  try {
    h = parseRequestHead(head, LIMITS);
  } catch (e) {
    if (!(e instanceof FrontRequestError)) throw e;
    expect(HEAD_STATUSES.has(e.status), `${e.code} ${e.status}`).toBe(true);
    return;
  }
  expect(head.length).toBeLessThanOrEqual(LIMITS.maxHeaderBytes);
  expect(h.method).toMatch(TOKEN);
  expect(h.target).toMatch(/^\/[\x21-\x7e\x80-\xff]*$/);
  expect([0, 1]).toContain(h.versionMinor);
  expect(h.rawHeaders.length % 2).toBe(0);
  expect(h.rawHeaders.length / 2).toBeLessThanOrEqual(LIMITS.maxHeaders);
  for (let i = 0; i < h.rawHeaders.length; i += 2) {
    expect(h.rawHeaders[i]).toMatch(TOKEN);
    const v = h.rawHeaders[i + 1]!;
    expect(v).not.toMatch(/[\0-\x08\x0a-\x1f\x7f]/);
    expect(v).not.toMatch(/^[ \t]|[ \t]$/);
  }
  if (h.versionMinor === 1) expect(h.host).toBeDefined();
  expect(Number.isSafeInteger(h.contentLength) && h.contentLength >= -1).toBe(true);
  if (h.chunked) expect(h.contentLength).toBe(-1);
  if (h.chunked) expect(h.versionMinor).toBe(1);
  if (h.upgrade) expect(h.upgradeProtocol).toBeDefined();
}

describe('parseRequestHead on hostile input', () => {
  it('random latin1 strings: a head or a FrontRequestError with a head status', () => {
    fc.assert(
      fc.property(fc.string({ unit: latin1Char, maxLength: 300 }), (s) => checkHead(s)),
      { numRuns: 2000 },
    );
  });

  it('strings of protocol fragments', () => {
    fc.assert(
      fc.property(fragments, (s) => checkHead(s)),
      { numRuns: 3000 },
    );
  });

  it('mutated valid heads (inserted, deleted, replaced bytes)', () => {
    let parsed = 0;
    fc.assert(
      fc.property(validHead, fc.array(mutation, { minLength: 1, maxLength: 4 }), (head, ms) => {
        checkHead(mutate(head, ms));
      }),
      { numRuns: 3000 },
    );
    // the unmutated heads parse, or are refused only for a reason the generator can produce
    fc.assert(
      fc.property(validHead, (head) => {
        try {
          parseRequestHead(head, LIMITS);
          parsed++;
        } catch (e) {
          expect(e).toBeInstanceOf(FrontRequestError);
          expect([
            'DUPLICATE_CONTENT_LENGTH',
            'LENGTH_AND_CHUNKED',
            'UNSUPPORTED_TRANSFER_CODING',
            'HEADER_TOO_LARGE',
            'TOO_MANY_HEADERS',
            'TARGET_TOO_LONG',
          ]).toContain((e as FrontRequestError).code);
        }
      }),
      { numRuns: 500 },
    );
    expect(parsed).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------- (b) the chunked decoder

interface Outcome {
  body: string;
  end: number;
  error: string | undefined;
}

/** Decodes `input` fed in pieces cut at `cuts`. */
function decode(input: Buffer, cuts: number[], maxLineBytes = 64): Outcome {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const d = new ChunkedDecoder(maxLineBytes);
  const out: Buffer[] = [];
  let delivered = 0;
  let from = 0;
  try {
    for (const to of [...points, input.length]) {
      if (to < from) continue;
      const piece = input.subarray(from, to);
      const r = d.push(piece, 0, (c) => {
        delivered += c.length;
        out.push(Buffer.from(c));
      });
      expect(delivered).toBeLessThanOrEqual(to);
      if (r !== -1) {
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThanOrEqual(piece.length);
        return { body: Buffer.concat(out).toString('latin1'), end: from + r, error: undefined };
      }
      from = to;
    }
  } catch (e) {
    if (!(e instanceof FrontRequestError)) throw e;
    expect([e.code, e.status]).toEqual(['BAD_CHUNK', 400]);
    return { body: Buffer.concat(out).toString('latin1'), end: -1, error: e.message };
  }
  return { body: Buffer.concat(out).toString('latin1'), end: -1, error: undefined };
}

const chunkedBody = fc
  .record({
    chunks: fc.array(
      fc.record({
        data: fc.string({ unit: latin1Char, minLength: 1, maxLength: 40 }),
        upper: fc.boolean(),
        ext: fc.constantFrom('', ';a', ';a=b', ';a="x y"', ' ;k=v'),
      }),
      { maxLength: 5 },
    ),
    trailers: fc.array(fc.constantFrom('X-T: 1', 'Y:2', 'Z: a b'), { maxLength: 2 }),
    after: fc.constantFrom('', 'GET / HTTP/1.1\r\n\r\n', '\0\0'),
  })
  .map(({ chunks, trailers, after }) => {
    let s = '';
    for (const c of chunks) {
      const size = c.data.length.toString(16);
      s += `${c.upper ? size.toUpperCase() : size}${c.ext}\r\n${c.data}\r\n`;
    }
    s += '0\r\n' + trailers.map((t) => t + '\r\n').join('') + '\r\n';
    return { encoded: s, body: chunks.map((c) => c.data).join(''), after };
  });

describe('ChunkedDecoder on hostile input', () => {
  it('decodes valid bodies whole at any split, leaving what follows', () => {
    fc.assert(
      fc.property(chunkedBody, fc.array(fc.nat(), { maxLength: 8 }), (v, cuts) => {
        const input = Buffer.from(v.encoded + v.after, 'latin1');
        expect(decode(input, cuts)).toEqual({
          body: v.body,
          end: v.encoded.length,
          error: undefined,
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes: only BAD_CHUNK, never more body than input, the same at any split', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.oneof(latin1Char, specialChar), maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (s, cuts) => {
          const input = Buffer.from(s, 'latin1');
          const split = decode(input, cuts);
          expect(split.body.length).toBeLessThanOrEqual(input.length);
          expect(split).toEqual(decode(input, []));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mutated valid bodies: only BAD_CHUNK, never more body than input, the same at any split', () => {
    fc.assert(
      fc.property(
        chunkedBody,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (v, ms, cuts) => {
          const input = Buffer.from(mutate(v.encoded + v.after, ms), 'latin1');
          const split = decode(input, cuts);
          expect(split.body.length).toBeLessThanOrEqual(input.length);
          if (split.end !== -1) expect(split.end).toBeLessThanOrEqual(input.length);
          expect(split).toEqual(decode(input, []));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------- (c) a server on a socket

const handlerErrors: unknown[] = [];

/** Echoes method, url and body; answers a broken body with its status and closes. */
function echo(req: FrontRequest, res: FrontResponse): void {
  try {
    if (req.expectContinue) res.writeContinue();
    const answer = (body: string) => {
      const b = Buffer.from(
        JSON.stringify({ method: req.method, url: req.url, body: body.length }),
        'latin1',
      );
      res.writeHead(200, undefined, [
        'Content-Length',
        String(b.length),
        ...(req.method === 'HEAD' ? ['X-Head', '1'] : []),
      ]);
      res.end(b);
    };
    if (!req.hasBody) {
      answer('');
      return;
    }
    const chunks: Buffer[] = [];
    req.setSink({
      onData: (c) => chunks.push(Buffer.from(c)),
      onEnd: () => answer(Buffer.concat(chunks).toString('latin1')),
      onError: (err) => {
        // a body too slow is answered (408) by the connection itself
        if (err instanceof FrontRequestError && err.code === 'REQUEST_TIMEOUT') return;
        if (err instanceof FrontRequestError && !res.headersSent) {
          res.closeConnection();
          res.writeHead(err.status, undefined, ['Content-Length', '0']);
          res.end();
        } else res.destroy();
      },
    });
    req.resume();
  } catch (e) {
    handlerErrors.push(e);
    throw e;
  }
}

/**
 * Checks that `text` is a sequence of complete, well-formed HTTP/1.1 responses; returns their
 * statuses. Responses to HEAD carry `X-Head: 1` (their Content-Length announces no body).
 */
function responses(text: string): { status: number; close: boolean }[] {
  const out: { status: number; close: boolean }[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf('\r\n\r\n', pos);
    if (end === -1) throw new Error(`an incomplete head: ${JSON.stringify(text.slice(pos))}`);
    const lines = text.slice(pos, end).split('\r\n');
    const m = /^HTTP\/1\.1 ([1-5]\d\d) [\x20-\x7e]*$/.exec(lines[0]!);
    if (m === null) throw new Error(`a bad status line: ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const h = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ([\t\x20-\x7e]*)$/.exec(l);
      if (h === null) throw new Error(`a bad header line: ${JSON.stringify(l)}`);
      const name = h[1]!.toLowerCase();
      if (headers.has(name)) throw new Error(`a repeated ${name}`);
      headers.set(name, h[2]!);
    }
    pos = end + 4;
    expect(headers.has('transfer-encoding')).toBe(false);
    if (status >= 200 && status !== 204 && status !== 304 && !headers.has('x-head')) {
      const cl = headers.get('content-length');
      if (cl === undefined || !/^\d+$/.test(cl)) throw new Error('a response without length');
      pos += Number(cl);
      if (pos > text.length) throw new Error('a truncated body');
    }
    out.push({ status, close: headers.get('connection') === 'close' });
  }
  return out;
}

/** Sends `data` on a fresh connection; resolves with all that came back once the server closed. */
function exchange(port: number, data: Buffer, pieces: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(`the server did not close; sent ${JSON.stringify(data.toString('latin1'))}`),
      );
    }, 5000);
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on('connect', () => {
      const size = Math.ceil(data.length / pieces) || 1;
      let i = 0;
      const next = () => {
        if (i >= data.length || sock.destroyed) return;
        sock.write(data.subarray(i, i + size));
        i += size;
        setImmediate(next);
      };
      next();
    });
  });
}

const validRequest = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'DELETE').map((m) => `${m} /r HTTP/1.1\r\nHost: x\r\n\r\n`),
  fc
    .string({ unit: latin1Char, maxLength: 30 })
    .map((b) => `POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\n\r\n${b}`),
  fc
    .array(fc.string({ unit: latin1Char, minLength: 1, maxLength: 10 }), { maxLength: 3 })
    .map(
      (cs) =>
        'POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        cs.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') +
        '0\r\n\r\n',
    ),
  fc.constant('POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok'),
  fc.constant('GET /u HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'),
  fc.constant('GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'),
  fc.constant('GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
);

const wireInput = fc.record({
  data: fc.oneof(
    fc.string({ unit: latin1Char, maxLength: 300 }),
    fragments,
    fc
      .tuple(
        fc.array(validRequest, { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { maxLength: 4 }),
      )
      .map(([reqs, ms]) => mutate(reqs.join(''), ms)),
  ),
  pieces: fc.integer({ min: 1, max: 3 }),
});

const REFUSAL_STATUSES = new Set([400, 408, 414, 417, 426, 431, 501, 505]);

describe('FrontServer on hostile bytes', () => {
  let front: FrontServer;
  let port: number;
  const refused: FrontRequestError[] = [];

  beforeAll(async () => {
    front = new FrontServer(
      {
        limits: { maxHeaderBytes: 2048, maxHeaders: 20, maxRequestLineBytes: 256 },
        timeouts: { headers: 150, idle: 150, request: 300 },
      },
      {
        onRequest: echo,
        onUpgrade: (_req, socket) => {
          socket.on('error', () => {});
          socket.end(
            'HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
          );
        },
        onRefused: (err, socket) => {
          refused.push(err);
          if (!socket.writable) socket.destroy();
          else
            socket.end(
              `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
            );
        },
      },
    );
    port = (await front.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => {
    front.closeAllConnections();
    await front.close();
  });

  it('answers well-formed or closes, never throws, and still serves afterwards', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    let connections = 0;
    const statuses = new Set<number>();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(wireInput, { minLength: 20, maxLength: 20 }), async (batch) => {
          const got = await Promise.all(
            batch.map((b) => exchange(port, Buffer.from(b.data, 'latin1'), b.pieces)),
          );
          connections += batch.length;
          for (const text of got) {
            const rs = responses(text);
            for (const [i, r] of rs.entries()) {
              statuses.add(r.status);
              if (r.status >= 400) {
                expect(REFUSAL_STATUSES.has(r.status), `status ${r.status}`).toBe(true);
                // a refusal ends the connection: it is the last answer, and says so
                expect(i).toBe(rs.length - 1);
                expect(r.close).toBe(true);
              }
            }
          }
        }),
        { numRuns: 15 },
      );
      expect(connections).toBeGreaterThanOrEqual(300);
      // the inputs reach both the handler and the refusals
      expect(statuses.has(200) && statuses.has(400)).toBe(true);
      expect(handlerErrors).toEqual([]);
      expect(uncaught).toEqual([]);
      expect(refused.length).toBeGreaterThan(0);
      for (const e of refused) expect(REFUSAL_STATUSES.has(e.status)).toBe(true);

      const ok = await exchange(
        port,
        Buffer.from('GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        1,
      );
      expect(responses(ok).map((r) => r.status)).toEqual([200]);
      const start = Date.now();
      while (front.connectionCount !== 0 && Date.now() - start < 5000)
        await new Promise((r) => setTimeout(r, 20));
      expect(front.connectionCount).toBe(0);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  }, 60_000);

  it('answers every valid request of a pipelined batch in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(validRequest, { minLength: 1, maxLength: 4 }), async (reqs) => {
        const text = await exchange(port, Buffer.from(reqs.join(''), 'latin1'), 1);
        const rs = responses(text).filter((r) => r.status !== 100);
        // answers up to (and including) the first that ends the connection
        let expected = 0;
        for (const r of reqs) {
          expected++;
          if (r.includes('Connection: close') || r.includes('Upgrade')) break;
        }
        expect(rs.map((r) => r.status)).toEqual(
          reqs.slice(0, expected).map((r) => (r.includes('Upgrade') ? 426 : 200)),
        );
      }),
      { numRuns: 25 },
    );
  });
});
