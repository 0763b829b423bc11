import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forwardRequest, sendHeaders } from '../test/arbitraries.js';
import {
  AjpProtocolError,
  CPING_PACKET,
  CPONG_PACKET,
  END_OF_BODY_PACKET,
  EMPTY_BODY_PACKET,
  RequestDecoder,
  ResponseDecoder,
  encodeEndResponse,
  encodeForwardRequest,
  encodeGetBodyChunk,
  encodeRequestBody,
  encodeSendBodyChunk,
  encodeSendHeaders,
  type RequestEvent,
  type ResponseEvent,
} from './index.js';

// Fuzzing both streaming decoders: random bytes and mutated valid streams, fed in random chunks.
// Every outcome must be either valid events or an AjpProtocolError; nothing else may be thrown,
// and the decoder never holds more than one packet. 2 × 25 000 random streams plus
// 2 × 5 000 valid streams × 5 mutations each = 100 000 cases.

const RUNS = 25_000;
const MUTATED_RUNS = 5_000;
const MUTANTS = 5;
const TIMEOUT = 120_000;

function ok(cond: boolean, what: string): void {
  if (!cond) throw new Error(`fuzz check failed: ${what}`);
}

function checkRequestEvent(e: RequestEvent, packetSize: number): void {
  switch (e.type) {
    case 'forward-request': {
      const r = e.request;
      ok(typeof r.method === 'string', 'typeof r.method');
      ok(r.method.length > 0, 'r.method.length');
      ok(r.uri.length > 0, 'r.uri.length');
      ok(r.headers.length <= 100, 'r.headers.length');
      ok(
        r.contentLength === null || Number.isSafeInteger(r.contentLength) === true,
        'r.contentLength === null || Number.isSafeInteger(r.contentLength)',
      );
      // what was decoded can be encoded again, unless it holds a CR/LF the encoder refuses
      try {
        encodeForwardRequest(r, { packetSize: 65536 });
      } catch (err) {
        ok(err instanceof AjpProtocolError && err.code === 'INVALID_VALUE', 're-encode error');
      }
      return;
    }
    case 'body':
      ok(Buffer.isBuffer(e.data) === true, 'Buffer.isBuffer(e.data)');
      ok(e.data.length <= packetSize - 6, 'e.data.length');
      return;
    case 'end-of-body':
    case 'cping':
    case 'shutdown':
    case 'ping':
      return;
  }
}

function checkResponseEvent(e: ResponseEvent, packetSize: number): void {
  switch (e.type) {
    case 'send-headers':
      ok(e.response.status >= 0, 'e.response.status');
      ok(e.response.status <= 65535, 'e.response.status');
      for (const [n, v] of e.response.headers) {
        ok(n.length > 0, 'n.length');
        ok(typeof v === 'string', 'typeof v');
      }
      return;
    case 'body-chunk':
      ok(e.data.length <= packetSize - 8, 'e.data.length');
      return;
    case 'get-body-chunk':
      ok(e.requestedLength <= 65535, 'e.requestedLength');
      return;
    case 'end-response':
      ok(typeof e.reuse === 'boolean', 'typeof e.reuse');
      return;
    case 'flush':
    case 'cpong':
      return;
  }
}

/** Feeds `bytes` in pieces; returns normally or with an AjpProtocolError, never anything else. */
function feed<E>(
  push: (b: Buffer) => E[],
  check: (e: E) => void,
  bytes: Buffer,
  cuts: number[],
): void {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  try {
    for (const c of [...points, bytes.length]) {
      for (const e of push(bytes.subarray(prev, c))) check(e);
      prev = c;
    }
  } catch (err) {
    if (!(err instanceof AjpProtocolError)) throw err;
    ok(/^[A-Z_]+$/.test(err.code), 'error code');
  }
}

type Mutation = { at: number; kind: 'flip' | 'set' | 'insert' | 'delete'; value: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'set', 'insert', 'delete'),
  value: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (b.length === 0 || m.kind === 'insert')
      b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
    else if (m.kind === 'flip') b[at] = b[at]! ^ (1 << (m.value & 7));
    else if (m.kind === 'set') b[at] = m.value;
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
  return b;
}

const mutants = fc.array(fc.array(mutation, { minLength: 1, maxLength: 4 }), {
  minLength: MUTANTS,
  maxLength: MUTANTS,
});
const packetSize = fc.constantFrom(8192, 16384, 65536);
const strict = fc.boolean();
const cuts = fc.array(fc.nat(), { maxLength: 6 });

/** Random bytes, biased to start like a packet so that the decoders get past the magic. */
const randomStream = (magic: number[]) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
    fc
      .tuple(fc.integer({ min: 0, max: 0x300 }), fc.uint8Array({ maxLength: 400 }))
      .map(([len, b]) => Buffer.concat([Buffer.from([...magic, len >> 8, len & 0xff]), b])),
  );

const validRequestStream = fc
  .array(
    fc.oneof(
      forwardRequest.map((r) => encodeForwardRequest(r, { packetSize: 65536 })),
      fc
        .tuple(forwardRequest, fc.uint8Array({ minLength: 1, maxLength: 100 }))
        .map(([r, body]) =>
          Buffer.concat([
            encodeForwardRequest(
              { ...r, headers: [['content-length', String(body.length)]] },
              { packetSize: 65536 },
            ),
            encodeRequestBody(body),
          ]),
        ),
      fc.constant(CPING_PACKET),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((parts) => Buffer.concat(parts));

const validResponseStream = fc
  .array(
    fc.oneof(
      sendHeaders.map((m) => encodeSendHeaders(m, { packetSize: 65536 })),
      fc.uint8Array({ maxLength: 200 }).map((d) => encodeSendBodyChunk(d)),
      fc.boolean().map(encodeEndResponse),
      fc.integer({ min: 0, max: 65535 }).map(encodeGetBodyChunk),
      fc.constant(CPONG_PACKET),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((parts) => Buffer.concat(parts));

describe('fuzz: RequestDecoder (container side)', () => {
  it(
    'random bytes',
    () => {
      fc.assert(
        fc.property(
          randomStream([0x12, 0x34]),
          packetSize,
          strict,
          fc.nat({ max: 3 }),
          cuts,
          (bytes, P, s, pending, c) => {
            const d = new RequestDecoder({ packetSize: P, strict: s });
            for (let i = 0; i < pending; i++) d.expectBodyPacket();
            feed(
              (b) => d.push(b),
              (e) => checkRequestEvent(e, P),
              bytes,
              c,
            );
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
  it(
    'mutated valid packets',
    () => {
      fc.assert(
        fc.property(validRequestStream, mutants, strict, cuts, (bytes, mss, s, c) => {
          for (const ms of mss) {
            const d = new RequestDecoder({ packetSize: 65536, strict: s });
            feed(
              (b) => d.push(b),
              (e) => checkRequestEvent(e, 65536),
              mutate(bytes, ms),
              c,
            );
            // a body phase after the mutated stream: both end-of-body encodings stay typed
            d.expectBodyPacket();
            feed(
              (b) => d.push(b),
              (e) => checkRequestEvent(e, 65536),
              Buffer.concat([EMPTY_BODY_PACKET, END_OF_BODY_PACKET]),
              [],
            );
          }
        }),
        { numRuns: MUTATED_RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: ResponseDecoder (web server side)', () => {
  it(
    'random bytes',
    () => {
      fc.assert(
        fc.property(randomStream([0x41, 0x42]), packetSize, strict, cuts, (bytes, P, s, c) => {
          const d = new ResponseDecoder({ packetSize: P, strict: s });
          feed(
            (b) => d.push(b),
            (e) => checkResponseEvent(e, P),
            bytes,
            c,
          );
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
  it(
    'mutated valid packets',
    () => {
      fc.assert(
        fc.property(validResponseStream, mutants, strict, cuts, (bytes, mss, s, c) => {
          for (const ms of mss) {
            const d = new ResponseDecoder({ packetSize: 65536, strict: s });
            feed(
              (b) => d.push(b),
              (e) => checkResponseEvent(e, 65536),
              mutate(bytes, ms),
              c,
            );
          }
        }),
        { numRuns: MUTATED_RUNS },
      );
    },
    TIMEOUT,
  );
});

describe('bounded memory', () => {
  it('a declared 65532-byte payload fed one byte at a time is buffered once, not grown', () => {
    const d = new ResponseDecoder({ packetSize: 65536 });
    const hdr = Buffer.from([0x41, 0x42, 0xff, 0xfc, 0x04]);
    for (const b of hdr) expect(d.push(Buffer.from([b]))).toEqual([]);
    expect(d.idle).toBe(false);
    expect(() => new ResponseDecoder({ packetSize: 8192 }).push(hdr)).toThrow(AjpProtocolError);
  });
});
