import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MembershipError } from './errors.js';
import type { Frame, WireMessage, WireRecord } from './wire.js';
import {
  decodeEnvelope,
  decodeFrame,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeFrame,
  encodeMessage,
} from './wire.js';

const name = fc.string({ minLength: 1, maxLength: 40 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 300 });
const status = fc.constantFrom(
  'alive' as const,
  'suspect' as const,
  'dead' as const,
  'left' as const,
);

const message: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: u32, target: name, checksum: u32 }),
  fc.record({ type: fc.constant('ping-req' as const), seq: u32, target: name, targetAddr: name }),
  fc.record({ type: fc.constant('ack' as const), seq: u32, checksum: u32 }),
  fc.record({ type: fc.constant('nack' as const), seq: u32 }),
  fc.record({
    type: fc.constant('alive' as const),
    name,
    incarnation: u32,
    addr: name,
    meta: bytes,
    metaHash: u32,
    metaSize: u32,
  }),
  fc.record({ type: fc.constant('suspect' as const), name, incarnation: u32, from: name }),
  fc.record({
    type: fc.constant('dead' as const),
    name,
    incarnation: u32,
    from: name,
    left: fc.boolean(),
  }),
  fc.record({ type: fc.constant('user' as const), origin: name, id: u32, payload: bytes }),
);

const record: fc.Arbitrary<WireRecord> = fc.record({
  name,
  addr: name,
  incarnation: u32,
  status,
  meta: bytes,
  metaHash: u32,
  metaSize: u32,
});

const frame: fc.Arbitrary<Frame> = fc.record({
  version: fc.constant(1),
  cluster: fc.string({ maxLength: 20 }),
  from: name,
  fromAddr: name,
  body: fc.oneof(
    fc.record({
      type: fc.constant('sync-request' as const),
      join: fc.boolean(),
      self: fc.option(record, { nil: undefined }),
      digest: fc.array(fc.record({ name, incarnation: u32, status }), { maxLength: 5 }),
    }),
    fc.record({
      type: fc.constant('sync-response' as const),
      self: fc.option(record, { nil: undefined }),
      records: fc.array(record, { maxLength: 4 }),
      want: fc.array(name, { maxLength: 4 }),
    }),
    fc.record({
      type: fc.constant('sync-push' as const),
      records: fc.array(record, { maxLength: 4 }),
    }),
    fc.record({ type: fc.constant('ping' as const), seq: u32, target: name, checksum: u32 }),
    fc.record({ type: fc.constant('ack' as const), seq: u32, checksum: u32 }),
    fc.record({ type: fc.constant('meta-pull' as const), name, metaHash: u32 }),
    fc.record({
      type: fc.constant('meta-push' as const),
      name,
      incarnation: u32,
      meta: bytes,
      metaHash: u32,
    }),
  ),
});

function typedOrValid(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    return err instanceof MembershipError;
  }
}

describe('wire format', () => {
  it('round-trips every datagram message inside a compound envelope', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        name,
        fc.array(message, { maxLength: 8 }),
        (cluster, from, msgs) => {
          const bytes = encodeEnvelope(
            encodeEnvelopeHeader(cluster, from),
            msgs.map(encodeMessage),
          );
          const env = decodeEnvelope(bytes);
          expect(env).toEqual({ version: 1, cluster, from, messages: msgs });
        },
      ),
    );
  });

  it('round-trips every stream frame', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(decodeFrame(encodeFrame(f))).toEqual(f);
      }),
    );
  });

  it('fuzz: random bytes give a typed error or a valid result, never another throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (b) => {
        expect(typedOrValid(() => decodeEnvelope(b))).toBe(true);
        expect(typedOrValid(() => decodeFrame(b))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: mutated valid datagrams and frames give a typed error or a valid result', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 4 }),
        frame,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(),
        (msgs, f, flips, cut) => {
          for (const base of [
            encodeEnvelope(encodeEnvelopeHeader('c', 'x'), msgs.map(encodeMessage)),
            encodeFrame(f),
          ]) {
            const b = base.slice();
            for (const [i, v] of flips) b[i % b.length] = v;
            const truncated = b.subarray(0, cut % (b.length + 1));
            expect(typedOrValid(() => decodeEnvelope(b))).toBe(true);
            expect(typedOrValid(() => decodeFrame(b))).toBe(true);
            expect(typedOrValid(() => decodeEnvelope(truncated))).toBe(true);
            expect(typedOrValid(() => decodeFrame(truncated))).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('names the field and the expectation in errors', () => {
    const noVersion = encodeEnvelope(new Uint8Array([0x12, 0x01, 0x63]), []);
    expect(() => decodeEnvelope(noVersion)).toThrow(
      expect.objectContaining({
        code: 'ERR_WIRE_VERSION',
        field: 'Envelope.version',
        expected: '1',
      }),
    );
    const noFrom = encodeEnvelope(encodeEnvelopeHeader('c', ''), []);
    expect(() => decodeEnvelope(noFrom)).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_FIELD', field: 'Envelope.from' }),
    );
    expect(() => decodeEnvelope(new Uint8Array([0x0a]))).toThrow(
      expect.objectContaining({ code: 'ERR_WIRE_DECODE' }),
    );
  });
});
