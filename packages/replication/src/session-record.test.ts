import { describe, expect, it } from 'vitest';
import type { Claim, Queued } from './session-record.js';
import { INITIAL_VERSION } from '@cohort/session-codec';
import { append, NONE, SessionRecord, small, stored, StoredVersion } from './session-record.js';

const claim = {} as Claim;
const queued: Queued = { op: { id: 1, kind: 'read', key: 'k' }, deadline: 5 };

describe('SessionRecord', () => {
  it('starts settled, with every busy field at its initial value', () => {
    const r = new SessionRecord('k', 12.5);
    expect(r.settled).toBe(true);
    expect([r.log, r.pending, r.queued]).toEqual([[], [], []]);
    expect([r.claim, r.lease, r.leaseUntil, r.retryAt, r.knownHigh, r.nudged]).toEqual([
      null,
      null,
      0,
      0,
      0,
      false,
    ]);
    expect([r.touchAt, r.ownerGoneAt, r.deadAt, r.heardAt]).toEqual([
      undefined,
      undefined,
      12.5,
      undefined,
    ]);
  });

  it('keeps busy fields while any is in use and drops the part when all are back', () => {
    const r = new SessionRecord('k', 0);
    r.queued = [queued];
    r.claim = claim;
    r.retryAt = 7.5;
    expect(r.settled).toBe(false);
    expect(r.queued).toEqual([queued]);
    expect(r.claim).toBe(claim);
    r.queued = NONE;
    r.claim = null;
    expect(r.settled).toBe(false);
    expect(r.retryAt).toBe(7.5);
    r.retryAt = 0;
    expect(r.settled).toBe(true);
    expect(r.queued).toEqual([]);
  });

  it('does not allocate for initial values, and treats each field on its own', () => {
    const r = new SessionRecord('k', 0);
    r.pending = [];
    r.claim = null;
    r.lease = null;
    r.leaseUntil = 0;
    r.knownHigh = 0;
    r.nudged = false;
    r.touchAt = undefined;
    r.ownerGoneAt = undefined;
    r.log = NONE;
    expect(r.settled).toBe(true);
    r.touchAt = 3;
    r.nudged = true;
    r.touchAt = undefined;
    expect(r.settled).toBe(false);
    expect(r.nudged).toBe(true);
    r.nudged = false;
    expect(r.settled).toBe(true);
  });

  it('append makes a new list from an empty one and grows others in place', () => {
    const one = append(NONE as readonly number[], 1);
    expect(one).toEqual([1]);
    expect(append(one, 2)).toBe(one);
    expect(one).toEqual([1, 2]);
    expect(() => (NONE as unknown as number[]).push(1)).toThrow(TypeError);
    expect(NONE).toEqual([]);
  });
});

describe('stored versions', () => {
  it('keep the value, share what is already kept, and leave large integers as they are', () => {
    const v = stored({ epoch: 3, seq: 2 ** 40 });
    expect(v).toBeInstanceOf(StoredVersion);
    expect({ epoch: v.epoch, seq: v.seq }).toEqual({ epoch: 3, seq: 2 ** 40 });
    expect(stored(v)).toBe(v);
    expect(stored(INITIAL_VERSION)).toBe(INITIAL_VERSION);
    expect([small(7), small(2 ** 31), small(2 ** 53 - 1), small(-5)]).toEqual([
      7,
      2 ** 31,
      2 ** 53 - 1,
      -5,
    ]);
  });
});
