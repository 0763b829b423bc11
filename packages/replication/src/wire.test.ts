import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDelta, createSession, defaultValueCodec } from '@cohort/session-codec';
import { ReplicationError } from './errors.js';
import type { Frame, Message } from './messages.js';
import { decodeFrame, encodeFrame, WIRE_VERSION } from './wire.js';
import { cohort } from '../gen/replication.js';

const key = 'Qm9vdHN0cmFwS2V5MTIzNA';
const v = (epoch: number, seq: number) => ({ epoch, seq });
const session = createSession({
  key,
  now: 1_700_000_000_000,
  maxInactiveSeconds: 1800,
  attributes: { cart: ['a', 'b'], n: 7 },
  version: v(3, 9),
});
const delta = createDelta(key, v(3, 9), [
  { op: 'set', name: 'n', value: defaultValueCodec.encode(8, 'n') },
  { op: 'touch', at: 1_700_000_000_500 },
]);

const every: Message[] = [
  { t: 'prepare', key, epoch: 4, version: v(3, 9) },
  {
    t: 'promise',
    key,
    epoch: 4,
    accepted: { epoch: 3, owner: 'n1#1', set: ['n1#1', 'n2#1', 'n3#1'] },
    version: v(3, 9),
    state: { version: v(3, 9), session, lease: { holder: 'req', token: v(3, 2), durationMs: 500 } },
  },
  { t: 'promise', key, epoch: 4, accepted: null, version: v(0, 0), state: null },
  { t: 'reject', key, epoch: 4, promised: 6 },
  { t: 'accept', key, epoch: 4, set: ['n2#1', 'n3#1', 'n4#1'], version: v(3, 9) },
  {
    t: 'replicate',
    key,
    epoch: 4,
    entries: [
      { delta, version: v(4, 1), create: { createdAt: 1_700_000_000_000, maxInactiveSeconds: -1 } },
      { delta: createDelta(key, v(4, 1), []), version: v(4, 2), lease: null },
      {
        delta: createDelta(key, v(4, 2), []),
        version: v(4, 3),
        lease: { holder: 'h', token: v(4, 3), durationMs: 1000 },
      },
    ],
  },
  { t: 'snapshot', key, epoch: 4, state: { version: v(4, 3), session: null, lease: null } },
  { t: 'ack', key, epoch: 4, version: v(4, 3), gap: true },
  { t: 'nudge', key, epoch: 4 },
];

describe('frame wire format', () => {
  it('round-trips every message kind', () => {
    const frame: Frame = { from: 'n1#1', to: 'n2#1', messages: every };
    const back = decodeFrame(encodeFrame(frame));
    expect(back).toEqual(frame);
  });

  it('leaves the addresses out for a connection-bound frame and checks them when present', () => {
    const frame: Frame = { from: 'n1#1', to: 'n2#1', messages: every };
    const short = encodeFrame(frame, { omitAddresses: true });
    expect(short.length).toBe(encodeFrame(frame).length - 12);
    expect(decodeFrame(short, { from: 'n1#1', to: 'n2#1' })).toEqual(frame);
    expect(() => decodeFrame(short)).toThrow(expect.objectContaining({ field: 'from' }));
    expect(() => decodeFrame(encodeFrame(frame), { to: 'n2#2' })).toThrow(
      /this connection is n2#2/,
    );
  });

  it('refuses another wire version with UNSUPPORTED_VERSION', () => {
    const bytes = cohort.replication.v1.Frame.encode({
      version: WIRE_VERSION + 1,
      from: 'a',
      to: 'b',
    }).finish();
    expect(() => decodeFrame(bytes)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_VERSION', field: 'version' }),
    );
  });

  it('names a missing field', () => {
    const bytes = cohort.replication.v1.Frame.encode({
      version: WIRE_VERSION,
      from: 'a',
      to: 'b',
      messages: [{ ack: { epoch: 1 } }],
    }).finish();
    expect(() => decodeFrame(bytes)).toThrow(
      expect.objectContaining({ code: 'MALFORMED', field: 'ack.key' }),
    );
  });

  it('refuses entries of two sessions in one replicate', () => {
    const other = createDelta('other', v(1, 2), []);
    const frame: Frame = {
      from: 'a',
      to: 'b',
      messages: [
        {
          t: 'replicate',
          key,
          epoch: 1,
          entries: [
            { delta: createDelta(key, v(1, 1), []), version: v(1, 2) },
            { delta: other, version: v(1, 3) },
          ],
        },
      ],
    };
    expect(() => decodeFrame(encodeFrame(frame))).toThrow(/another session/);
  });

  it('reports truncated bytes as MALFORMED with an offset', () => {
    const bytes = encodeFrame({ from: 'n1#1', to: 'n2#1', messages: every });
    let err: unknown;
    try {
      decodeFrame(bytes.subarray(0, bytes.length - 5));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReplicationError);
    expect((err as ReplicationError).code).toBe('MALFORMED');
  });

  it('enforces the frame size limit', () => {
    const bytes = encodeFrame({ from: 'n1#1', to: 'n2#1', messages: every });
    expect(() => decodeFrame(bytes, { maxFrameBytes: 10 })).toThrow(/larger than 10 bytes/);
  });

  it('fuzz: random and mutated bytes give a frame or a ReplicationError, never another throw', () => {
    const valid = encodeFrame({ from: 'n1#1', to: 'n2#1', messages: every });
    const check = (bytes: Uint8Array): void => {
      try {
        const f = decodeFrame(bytes);
        expect(typeof f.from).toBe('string');
      } catch (e) {
        if (!(e instanceof ReplicationError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => check(bytes)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(valid.length),
        (flips, cut) => {
          const bytes = valid.slice(0, Math.max(1, cut));
          for (const [at, b] of flips) if (at < bytes.length) bytes[at] = b;
          check(bytes);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
