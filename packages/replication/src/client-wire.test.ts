import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientWireError } from './client-errors.js';
import {
  CLIENT_WIRE_VERSION,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type ClientRequest,
  type ClientResponse,
} from './client-wire.js';
import { cohort } from '../gen/client.js';

const key = 'Qm9vdHN0cmFwS2V5MTIzNA';
const v = (epoch: number, seq: number) => ({ epoch, seq });
// Bytes decode as Buffer views (protobufjs in Node), so the expectations use Buffers too.
const delta = Buffer.from([8, 1, 18, 3, 107, 101, 121]);
const map = {
  replicas: 3,
  nodes: [
    { id: 'n1#a', url: 'ws://127.0.0.1:1/v1/client' },
    { id: 'n2#b', url: 'ws://127.0.0.1:2/v1/client' },
  ],
};

const requests: ClientRequest[] = [
  { op: 'get', id: 1, key },
  { op: 'get', id: 2, key, minVersion: v(2, 9), touchAt: 1_700_000_000_000 },
  { op: 'get', id: 12, key, known: v(2, 9) },
  { op: 'create', id: 3, key, createdAt: 1_700_000_000_000 },
  {
    op: 'create',
    id: 4,
    key,
    createdAt: 1_700_000_000_000,
    maxInactiveSeconds: -1,
    delta,
    ack: 'all',
    seq: 7,
  },
  { op: 'apply', id: 5, key, delta },
  {
    op: 'apply',
    id: 2 ** 53 - 1,
    key,
    delta,
    ack: 'owner',
    expected: v(3, 4),
    fence: v(3, 1),
    seq: 12,
    create: { createdAt: 5, maxInactiveSeconds: 1800 },
  },
  { op: 'touch', id: 6, key, at: 1_700_000_000_001 },
  { op: 'destroy', id: 7, key, ack: 'quorum', expected: v(1, 1), fence: v(1, 0) },
  { op: 'lock', id: 8, key, holder: 'app-1', durationMs: 5000, ack: 'quorum' },
  { op: 'unlock', id: 9, key, token: v(1, 4) },
  { op: 'subscribe', id: 10 },
  { op: 'ping', id: 11 },
];

const responses: ClientResponse[] = [
  { kind: 'ok', id: 1, version: v(1, 2) },
  { kind: 'ok', id: 2, version: v(1, 2), found: true, session: Buffer.from([1, 2, 3]) },
  { kind: 'ok', id: 3, version: v(4, 0), token: v(4, 0), deduped: true },
  { kind: 'ok', id: 6, version: v(4, 1), found: true, unchanged: true },
  {
    kind: 'error',
    id: 4,
    code: 'NOT_OWNER',
    message: 'this node does not own the session',
    owner: 'n2#b',
    map,
  },
  { kind: 'error', id: 5, code: 'CAS_FAILED', message: 'x', current: v(2, 2), field: 'apply' },
  { kind: 'map', id: 0, map },
  { kind: 'hello', id: 0, node: 'n1#a', map, maxFrameBytes: 1 << 20 },
];

function expectWireError(f: () => unknown): ClientWireError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ClientWireError);
    return err as ClientWireError;
  }
  return undefined as unknown as ClientWireError;
}

describe('client wire format', () => {
  it('round-trips every request', () => {
    for (const r of requests) expect(decodeRequest(encodeRequest(r))).toEqual(r);
  });

  it('round-trips every response', () => {
    for (const r of responses) expect(decodeResponse(encodeResponse(r))).toEqual(r);
  });

  it('refuses an operation it does not know, naming the request id', () => {
    // A newer client's op: field 99 of Request, which this decoder skips as unknown.
    const w = cohort.client.v1.Request.encode({ version: 1, id: 42 });
    w.uint32((99 << 3) | 2).bytes(new Uint8Array([1, 2]));
    const err = expectWireError(() => decodeRequest(w.finish()));
    expect(err.code).toBe('UNKNOWN_OP');
    expect(err.requestId).toBe(42);
  });

  it('refuses another wire version, naming the request id', () => {
    const bytes = cohort.client.v1.Request.encode({ version: 2, id: 9, ping: {} }).finish();
    const err = expectWireError(() => decodeRequest(bytes));
    expect(err.code).toBe('UNSUPPORTED_VERSION');
    expect(err.requestId).toBe(9);
    expect(CLIENT_WIRE_VERSION).toBe(1);
  });

  it('refuses request id 0, a missing key and a frame over the limit', () => {
    const zero = cohort.client.v1.Request.encode({ version: 1, id: 0, ping: {} }).finish();
    expect(expectWireError(() => decodeRequest(zero)).code).toBe('MALFORMED');
    const nokey = cohort.client.v1.Request.encode({ version: 1, id: 3, get: {} }).finish();
    const e = expectWireError(() => decodeRequest(nokey));
    expect([e.code, e.field, e.requestId]).toEqual(['MALFORMED', 'get.key', 3]);
    const big = encodeRequest({ op: 'apply', id: 1, key, delta: new Uint8Array(2000) });
    expect(expectWireError(() => decodeRequest(big, { maxFrameBytes: 1000 })).code).toBe(
      'TOO_LARGE',
    );
  });

  it('fuzz: random bytes give a request or a ClientWireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of [decodeRequest, decodeResponse]) {
          try {
            decode(bytes);
          } catch (err) {
            if (!(err instanceof ClientWireError)) throw err;
          }
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('fuzz: mutated valid messages give a valid message or a ClientWireError', () => {
    const valid = [...requests.map(encodeRequest), ...responses.map(encodeResponse)];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(),
        (which, edits, cut) => {
          const b = new Uint8Array(valid[which]!);
          for (const [at, value] of edits) b[at % b.length] = value;
          const bytes = cut % 3 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
          for (const decode of [decodeRequest, decodeResponse]) {
            try {
              decode(bytes);
            } catch (err) {
              if (!(err instanceof ClientWireError)) throw err;
            }
          }
        },
      ),
      { numRuns: 10000 },
    );
  });
});
