import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  forwardRequest,
  normalizeRequest,
  normalizeSendHeaders,
  sendHeaders,
} from '../test/arbitraries.js';
import {
  CPING_PACKET,
  CPONG_PACKET,
  EMPTY_BODY_PACKET,
  END_OF_BODY_PACKET,
  FLUSH_PACKET,
  PING_PACKET,
  RequestDecoder,
  ResponseDecoder,
  SHUTDOWN_PACKET,
  encodeEndResponse,
  encodeForwardRequest,
  encodeGetBodyChunk,
  encodeRequestBody,
  encodeSendBodyChunk,
  encodeSendHeaders,
  type RequestEvent,
  type ResponseEvent,
} from './index.js';

/** Feeds `bytes` cut at the given (sorted, deduplicated) offsets. */
function split<E>(push: (b: Buffer) => E[], bytes: Buffer, cuts: number[]): E[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: E[] = [];
  let prev = 0;
  for (const c of [...points, bytes.length]) {
    out.push(...push(bytes.subarray(prev, c)));
    prev = c;
  }
  return out;
}

/** Joins body fragments per packet so events compare independently of chunking. */
function joinBodies(ev: (RequestEvent | ResponseEvent)[]): unknown[] {
  const out: unknown[] = [];
  let parts: Buffer[] = [];
  for (const e of ev) {
    if (e.type === 'body' || e.type === 'body-chunk') {
      parts.push(e.data);
      if (e.last) {
        out.push({ type: e.type, data: Buffer.concat(parts).toString('hex') });
        parts = [];
      }
    } else out.push(e);
  }
  return out;
}

const runs = { numRuns: 300 };

describe('round trips, one message type at a time', () => {
  it('FORWARD_REQUEST', () => {
    fc.assert(
      fc.property(forwardRequest, (req) => {
        const b = encodeForwardRequest(req, { packetSize: 65536 });
        const [ev, ...rest] = new RequestDecoder({ packetSize: 65536 }).push(b);
        expect(rest).toEqual([]);
        expect(ev).toEqual({ type: 'forward-request', request: normalizeRequest(req) });
      }),
      runs,
    );
  });
  it('FORWARD_REQUEST: either fits in 8192 and round-trips, or is refused with MESSAGE_TOO_LARGE', () => {
    fc.assert(
      fc.property(forwardRequest, fc.integer({ min: 0, max: 9000 }), (req, pad) => {
        const big = {
          ...req,
          headers: [...req.headers, ['x-pad', 'p'.repeat(pad)] as [string, string]],
        };
        let b: Buffer;
        try {
          b = encodeForwardRequest(big);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('MESSAGE_TOO_LARGE');
          expect(encodeForwardRequest(big, { packetSize: 65536 }).length).toBeGreaterThan(8192);
          return;
        }
        expect(b.length).toBeLessThanOrEqual(8192);
        expect(new RequestDecoder().push(b)[0]).toEqual({
          type: 'forward-request',
          request: normalizeRequest(big),
        });
      }),
      runs,
    );
  });
  it('UTF-8 strings travel as bytes and come back as latin1 of those bytes', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[\0\r\n]/.test(s)),
        (s) => {
          const b = encodeForwardRequest({
            method: 'GET',
            protocol: 'HTTP/1.1',
            uri: '/',
            remoteAddr: 'a',
            remoteHost: null,
            serverName: 'h',
            serverPort: 1,
            isSsl: false,
            headers: [['x-u', s]],
            attributes: {},
          });
          const [ev] = new RequestDecoder().push(b);
          if (ev?.type !== 'forward-request') throw new Error('expected forward-request');
          const v = ev.request.headers[0]![1];
          const asBytes = Buffer.from(v, 'latin1');
          expect(/[^\x00-\xff]/.test(s) ? asBytes.toString('utf8') : v).toBe(s);
        },
      ),
      runs,
    );
  });
  it('SEND_HEADERS', () => {
    fc.assert(
      fc.property(sendHeaders, (m) => {
        const b = encodeSendHeaders(m, { packetSize: 65536 });
        expect(new ResponseDecoder({ packetSize: 65536 }).push(b)).toEqual([
          { type: 'send-headers', response: normalizeSendHeaders(m) },
        ]);
      }),
      runs,
    );
  });
  it('SEND_BODY_CHUNK (any length up to P − 8; 0 is a flush)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65528 }), fc.integer(), (n, seed) => {
        const data = Buffer.alloc(n, seed & 0xff);
        const ev = new ResponseDecoder({ packetSize: 65536 }).push(encodeSendBodyChunk(data));
        if (n === 0) expect(ev).toEqual([{ type: 'flush' }]);
        else {
          expect(ev).toHaveLength(1);
          const [e] = ev;
          expect(e?.type === 'body-chunk' && e.last && e.data.equals(data)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
    expect(new ResponseDecoder().push(FLUSH_PACKET)).toEqual([{ type: 'flush' }]);
  });
  it('request body packets (any length up to P − 6; both end-of-body encodings)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65530 }), (n) => {
        const d = new RequestDecoder({ packetSize: 65536 });
        d.expectBodyPacket();
        const data = Buffer.alloc(n, 0x5a);
        const ev = d.push(encodeRequestBody(data));
        expect(ev).toHaveLength(1);
        expect(ev[0]?.type === 'body' && ev[0].last && ev[0].data.equals(data)).toBe(true);
        d.expectBodyPacket();
        d.expectBodyPacket();
        expect(d.push(Buffer.concat([END_OF_BODY_PACKET, EMPTY_BODY_PACKET]))).toEqual([
          { type: 'end-of-body' },
          { type: 'end-of-body' },
        ]);
      }),
      { numRuns: 100 },
    );
  });
  it('END_RESPONSE, GET_BODY_CHUNK, CPING, CPONG, SHUTDOWN, PING', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 0, max: 65535 }), (reuse, n) => {
        expect(new ResponseDecoder().push(encodeEndResponse(reuse))).toEqual([
          { type: 'end-response', reuse },
        ]);
        expect(new ResponseDecoder().push(encodeGetBodyChunk(n))).toEqual([
          { type: 'get-body-chunk', requestedLength: n },
        ]);
      }),
      runs,
    );
    expect(new ResponseDecoder().push(CPONG_PACKET)).toEqual([{ type: 'cpong' }]);
    expect(
      new RequestDecoder().push(Buffer.concat([CPING_PACKET, SHUTDOWN_PACKET, PING_PACKET])),
    ).toEqual([{ type: 'cping' }, { type: 'shutdown' }, { type: 'ping' }]);
  });
});

const responseMessage = fc.oneof(
  sendHeaders.map((m) => encodeSendHeaders(m)),
  fc.uint8Array({ maxLength: 300 }).map((d) => encodeSendBodyChunk(d)),
  fc.boolean().map(encodeEndResponse),
  fc.integer({ min: 0, max: 65535 }).map(encodeGetBodyChunk),
  fc.constant(CPONG_PACKET),
);

describe('streams in any chunking decode to the same messages', () => {
  it('container → web server', () => {
    fc.assert(
      fc.property(
        fc.array(responseMessage, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (msgs, cuts) => {
          const stream = Buffer.concat(msgs);
          const whole = joinBodies(new ResponseDecoder().push(stream));
          const d = new ResponseDecoder();
          expect(joinBodies(split((b) => d.push(b), stream, cuts))).toEqual(whole);
          expect(d.idle).toBe(true);
        },
      ),
      runs,
    );
  });
  it('web server → container, with body packets after each Forward Request', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(forwardRequest, fc.uint8Array({ minLength: 1, maxLength: 200 })), {
          maxLength: 5,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (reqs, cuts) => {
          const parts: Buffer[] = [];
          for (const [r, body] of reqs) {
            parts.push(
              encodeForwardRequest(
                { ...r, headers: [...r.headers, ['Content-Length', String(body.length)]] },
                { packetSize: 65536 },
              ),
              encodeRequestBody(body),
              CPING_PACKET,
            );
          }
          const stream = Buffer.concat(parts);
          const whole = joinBodies(new RequestDecoder({ packetSize: 65536 }).push(stream));
          expect(whole).toHaveLength(reqs.length * 3);
          const d = new RequestDecoder({ packetSize: 65536 });
          expect(joinBodies(split((b) => d.push(b), stream, cuts))).toEqual(whole);
        },
      ),
      runs,
    );
  });
});
