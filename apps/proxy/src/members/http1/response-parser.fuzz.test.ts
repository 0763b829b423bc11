import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ResponseParseError } from './errors.js';
import { ResponseParser, type ResponseLimits } from './response-parser.js';

const LIMITS: ResponseLimits = {
  maxHeadSize: 1_024,
  maxStatusLine: 256,
  maxHeaders: 16,
  maxChunkExtension: 64,
  maxInterim: 4,
};

interface Run {
  status: number;
  body: Buffer;
  complete: boolean;
  error: ResponseParseError | undefined;
}

/**
 * Feeds `bytes` split at `cuts`, with a sink that pauses on the given calls, then ends the
 * connection. Fails the property on anything thrown that is not a ResponseParseError, on a
 * parse that stops making progress, and on a held buffer above the head limit.
 */
function drive(bytes: Uint8Array, cuts: number[], pauses: Set<number>, head = false): Run {
  const run: Run = { status: 0, body: Buffer.alloc(0), complete: false, error: undefined };
  const chunks: Buffer[] = [];
  let calls = 0;
  const p = new ResponseParser(
    {
      onHead(status) {
        run.status = status;
        return !pauses.has(calls++);
      },
      onBody(chunk) {
        expect(chunk.length).toBeGreaterThan(0);
        chunks.push(Buffer.from(chunk));
        return !pauses.has(calls++);
      },
      onComplete() {
        expect(run.complete).toBe(false);
        run.complete = true;
      },
    },
    LIMITS,
  );
  p.reset(head);
  const buf = Buffer.from(bytes);
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  try {
    for (const end of [...points, buf.length]) {
      let piece = buf.subarray(start, Math.max(start, end));
      start = Math.max(start, end);
      while (piece.length > 0 && !p.done) {
        const n = p.execute(piece);
        expect(n).toBeGreaterThanOrEqual(0);
        expect(n).toBeLessThanOrEqual(piece.length);
        expect(p.buffered).toBeLessThanOrEqual(LIMITS.maxHeadSize);
        if (n === 0) expect(p.done).toBe(true);
        piece = piece.subarray(n);
      }
      if (p.done) break;
    }
    p.finish();
  } catch (e) {
    if (!(e instanceof ResponseParseError)) throw e;
    expect(typeof e.code).toBe('string');
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(buf.length + LIMITS.maxHeadSize);
    run.error = e;
  }
  run.body = Buffer.concat(chunks);
  return run;
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const value = fc.stringMatching(/^[\x21-\x7e](?:[\x20-\x7e]{0,20}[\x21-\x7e])?$/);
const body = fc.uint8Array({ maxLength: 300 });

/** A valid response: its bytes, and what parsing them must give. */
const validResponse = fc
  .record({
    status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
    reason: fc.constantFrom('', 'OK', 'Not Found', 'Some Reason'),
    headers: fc.array(fc.tuple(token, value), { maxLength: 8 }),
    framing: fc.constantFrom('length', 'chunked', 'close'),
    body,
    chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 10 }),
    interim: fc.boolean(),
  })
  .map((r) => {
    const headers = r.headers.filter(
      ([n]) => !/^(content-length|transfer-encoding|connection|keep-alive)$/i.test(n),
    );
    let text = r.interim ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
    text += `HTTP/1.1 ${r.status}${r.reason === '' ? '' : ` ${r.reason}`}\r\n`;
    for (const [n, v] of headers) text += `${n}: ${v}\r\n`;
    const b = Buffer.from(r.body);
    let tail: Buffer;
    if (r.framing === 'length') {
      text += `Content-Length: ${b.length}\r\n\r\n`;
      tail = b;
    } else if (r.framing === 'chunked') {
      text += 'Transfer-Encoding: chunked\r\n\r\n';
      const parts: Buffer[] = [];
      let at = 0;
      let i = 0;
      while (at < b.length) {
        const n = Math.min(
          b.length - at,
          r.chunkSizes[i++ % Math.max(1, r.chunkSizes.length)] ?? 16,
        );
        parts.push(
          Buffer.from(`${n.toString(16)};e=1\r\n`),
          b.subarray(at, at + n),
          Buffer.from('\r\n'),
        );
        at += n;
      }
      parts.push(Buffer.from('0\r\nT: v\r\n\r\n'));
      tail = Buffer.concat(parts);
    } else {
      text += '\r\n';
      tail = b;
    }
    return { bytes: Buffer.concat([Buffer.from(text, 'latin1'), tail]), status: r.status, body: b };
  });

const cuts = fc.array(fc.nat(), { maxLength: 6 });
const pauses = fc.array(fc.nat({ max: 20 }), { maxLength: 4 }).map((a) => new Set(a));

describe('ResponseParser fuzz', () => {
  it('valid responses parse to their status and body, however they are split', () => {
    fc.assert(
      fc.property(validResponse, cuts, pauses, (r, c, ps) => {
        const run = drive(r.bytes, c, ps);
        expect(run.error).toBeUndefined();
        expect(run.status).toBe(r.status);
        expect(run.body.equals(r.body)).toBe(true);
        expect(run.complete).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes: a result or a ResponseParseError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1_500 }),
        cuts,
        pauses,
        fc.boolean(),
        (b, c, ps, h) => {
          drive(b, c, ps, h);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random bytes after a valid status line: same guarantee', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_500 }), cuts, pauses, (b, c, ps) => {
        drive(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.from(b)]), c, ps);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated valid responses (flipped, inserted, deleted, repeated bytes): same guarantee', () => {
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.constantFrom(
          '\r',
          '\n',
          '\r\n',
          ':',
          ' ',
          '\0',
          '0',
          'Content-Length: 1\r\n',
          'Transfer-Encoding: chunked\r\n',
          ';',
          'f',
        ),
      }),
      fc.record({
        kind: fc.constant('delete' as const),
        at: fc.nat(),
        n: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({
        kind: fc.constant('repeat' as const),
        at: fc.nat(),
        n: fc.integer({ min: 1, max: 40 }),
      }),
    );
    fc.assert(
      fc.property(
        validResponse,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        cuts,
        pauses,
        (r, ms, c, ps) => {
          let b = Buffer.from(r.bytes);
          for (const m of ms) {
            const at = b.length === 0 ? 0 : m.at % b.length;
            if (m.kind === 'flip') {
              if (b.length > 0) b[at] = m.byte;
            } else if (m.kind === 'insert') {
              b = Buffer.concat([
                b.subarray(0, at),
                Buffer.from(m.bytes, 'latin1'),
                b.subarray(at),
              ]);
            } else if (m.kind === 'delete') {
              b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
            } else {
              b = Buffer.concat([b.subarray(0, at + m.n), b.subarray(at)]);
            }
          }
          drive(b, c, ps);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('an endless head or endless trailers stop at the limit, with a bounded buffer', () => {
    const endlessHeaders = Buffer.from(`HTTP/1.1 200 OK\r\n${'X-A: b\r\n'.repeat(400)}`);
    expect(drive(endlessHeaders, [7, 100, 513], new Set()).error?.code).toMatch(
      /HEADERS_TOO_LARGE|TOO_MANY_HEADERS/,
    );
    const endlessTrailers = Buffer.from(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${'T: v\r\n'.repeat(400)}`,
    );
    expect(drive(endlessTrailers, [60, 61], new Set()).error?.code).toBe('TRAILERS_TOO_LARGE');
    const oneByteAtATime = Buffer.from(`HTTP/1.1 200 ${'r'.repeat(2_000)}`);
    const cutsEvery = Array.from({ length: oneByteAtATime.length }, (_, i) => i);
    expect(drive(oneByteAtATime, cutsEvery, new Set()).error?.code).toBe('STATUS_LINE_TOO_LONG');
  });
});
