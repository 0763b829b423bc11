/**
 * The behaviour every {@link SessionBackend} must show, as a vitest suite: run it against each
 * backend (memory, Redis, Redis Cluster, session nodes) with a factory for a fresh backend.
 */
import { randomBytes } from 'node:crypto';
import {
  createDelta,
  createSession,
  readAttribute,
  type Op,
  type Session,
} from '@cohort/session-codec';
import { describe, expect, it } from 'vitest';
import type { SessionBackend } from './backend.js';
import { SessionBackendError } from './errors.js';

/** What the suite needs from the backend under test. */
export interface ConformanceTarget {
  /** A new backend on an empty namespace. */
  make(): Promise<SessionBackend>;
  /** The backend's idle grace (ms), for the expiry check; omit to skip expiry checks. */
  readonly expiry?: { advance(ms: number): Promise<void>; graceMs: number };
}

/** A fresh random session key. */
export function newKey(): string {
  return randomBytes(16).toString('base64url');
}

/** A request id as the middleware makes them. */
export function newRequestId(): string {
  return randomBytes(12).toString('base64url');
}

/** A session with the given attributes. */
export function sessionWith(
  key: string,
  attributes: Record<string, unknown>,
  maxInactiveSeconds = 1800,
): Session {
  return createSession({ key, now: Date.now(), maxInactiveSeconds, attributes });
}

/** Builds a delta for `key` from ops written as values. */
export function deltaOf(
  key: string,
  changes: Record<string, unknown>,
  extra: Op[] = [],
): ReturnType<typeof createDelta> {
  const s = createSession({ key, now: 0, maxInactiveSeconds: 1, attributes: changes });
  const ops: Op[] = [];
  for (const [name, value] of s.attributes) ops.push({ op: 'set', name, value });
  for (const [name, v] of Object.entries(changes)) {
    if (v === undefined) ops.push({ op: 'remove', name });
  }
  return createDelta(key, { epoch: 0, seq: 0 }, [...ops, ...extra]);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SessionBackendError);
  expect((err as SessionBackendError).code).toBe(code);
}

/** Registers the conformance tests for one backend. */
export function describeBackend(name: string, target: ConformanceTarget): void {
  describe(`${name}: SessionBackend conformance`, () => {
    const withBackend = async (fn: (b: SessionBackend) => Promise<void>): Promise<void> => {
      const b = await target.make();
      try {
        await fn(b);
      } finally {
        await b.close();
      }
    };

    it('creates, loads and destroys a session, keeping every field and byte', () =>
      withBackend(async (b) => {
        const key = newKey();
        const s = createSession({
          key,
          now: 1_700_000_000_123,
          maxInactiveSeconds: 600,
          principal: { name: 'ann', authType: 'FORM' },
          attributes: {
            user: 'ann',
            cart: { items: [1, 2, 3] },
            bin: Buffer.from([0, 255, 13, 10]),
          },
        });
        const v = await b.create(s, { requestId: newRequestId() });
        expect(v.seq).toBeGreaterThan(0);
        const got = await b.load(key);
        expect(got).not.toBeNull();
        expect(got!.key).toBe(key);
        expect(got!.createdAt).toBe(s.createdAt);
        expect(got!.lastAccessedAt).toBe(s.lastAccessedAt);
        expect(got!.maxInactiveSeconds).toBe(600);
        expect(got!.isNew).toBe(true);
        expect(got!.principal).toEqual({ name: 'ann', authType: 'FORM' });
        expect(got!.version).toEqual(v);
        expect([...got!.attributes.keys()].sort()).toEqual(['bin', 'cart', 'user']);
        for (const [n, bytes] of s.attributes) {
          expect(Buffer.from(got!.attributes.get(n)!).equals(Buffer.from(bytes))).toBe(true);
        }
        expect(readAttribute(got!, 'bin')).toEqual(Buffer.from([0, 255, 13, 10]));
        await b.destroy(key);
        expect(await b.load(key)).toBeNull();
        await b.destroy(key); // absent: not an error
      }));

    it('refuses a second create of one key with EXISTS, but accepts a retry of the same write', () =>
      withBackend(async (b) => {
        const key = newKey();
        const rid = newRequestId();
        const v = await b.create(sessionWith(key, { a: 1 }), { requestId: rid });
        expect(await b.create(sessionWith(key, { a: 1 }), { requestId: rid })).toEqual(v);
        await rejectsWith(
          b.create(sessionWith(key, { a: 2 }), { requestId: newRequestId() }),
          'EXISTS',
        );
        expect(readAttribute((await b.load(key))!, 'a')).toBe(1);
      }));

    it('applies per-attribute ops to the current state: concurrent writers of different attributes both survive', () =>
      withBackend(async (b) => {
        const key = newKey();
        const v1 = await b.create(sessionWith(key, { a: 1, b: 1, c: 1 }), {
          requestId: newRequestId(),
        });
        // Two requests read v1; each changes one attribute.
        const [x, y] = await Promise.all([
          b.apply(key, deltaOf(key, { a: 2 }), { requestId: newRequestId() }),
          b.apply(key, deltaOf(key, { b: 2, c: undefined }), { requestId: newRequestId() }),
        ]);
        expect(new Set([x.seq, y.seq])).toEqual(new Set([v1.seq + 1, v1.seq + 2]));
        const s = (await b.load(key))!;
        expect(readAttribute(s, 'a')).toBe(2);
        expect(readAttribute(s, 'b')).toBe(2);
        expect(s.attributes.has('c')).toBe(false);
        expect(s.version.seq).toBe(v1.seq + 2);
      }));

    it('applies a retried write (same request id) once', () =>
      withBackend(async (b) => {
        const key = newKey();
        await b.create(sessionWith(key, { n: 1 }), { requestId: newRequestId() });
        const rid = newRequestId();
        const d = deltaOf(key, { n: 2 });
        const v = await b.apply(key, d, { requestId: rid });
        expect(await b.apply(key, d, { requestId: rid })).toEqual(v);
        expect((await b.load(key))!.version).toEqual(v);
      }));

    it('compare-and-set: applies at the expected version, refuses another with CAS_FAILED', () =>
      withBackend(async (b) => {
        const key = newKey();
        const v1 = await b.create(sessionWith(key, { n: 1 }), { requestId: newRequestId() });
        const v2 = await b.apply(key, deltaOf(key, { n: 2 }), {
          requestId: newRequestId(),
          expected: v1,
        });
        await rejectsWith(
          b.apply(key, deltaOf(key, { n: 3 }), { requestId: newRequestId(), expected: v1 }),
          'CAS_FAILED',
        );
        const s = (await b.load(key))!;
        expect(readAttribute(s, 'n')).toBe(2);
        expect(s.version).toEqual(v2);
      }));

    it('apply on an absent session is NOT_FOUND; invalidate destroys', () =>
      withBackend(async (b) => {
        const key = newKey();
        await rejectsWith(
          b.apply(key, deltaOf(key, { a: 1 }), { requestId: newRequestId() }),
          'NOT_FOUND',
        );
        await b.create(sessionWith(key, { a: 1 }), { requestId: newRequestId() });
        await b.apply(key, createDelta(key, { epoch: 0, seq: 0 }, [{ op: 'invalidate' }]), {
          requestId: newRequestId(),
        });
        expect(await b.load(key)).toBeNull();
      }));

    it('records maxInactive, principal and touches; load can touch in the same call', () =>
      withBackend(async (b) => {
        const key = newKey();
        const s = sessionWith(key, { a: 1 });
        await b.create(s, { requestId: newRequestId() });
        await b.apply(
          key,
          createDelta(key, s.version, [
            { op: 'setMaxInactive', seconds: -1 },
            { op: 'setPrincipal', principal: { name: 'bob', authType: '' } },
          ]),
          { requestId: newRequestId() },
        );
        let got = (await b.load(key))!;
        expect(got.maxInactiveSeconds).toBe(-1);
        expect(got.principal).toEqual({ name: 'bob', authType: '' });
        expect(got.isNew).toBe(true);
        await b.touch([
          { key, at: s.lastAccessedAt + 5000 },
          { key: newKey(), at: 1 }, // absent: skipped
        ]);
        got = (await b.load(key))!;
        expect(got.lastAccessedAt).toBe(s.lastAccessedAt + 5000);
        expect(got.isNew).toBe(false);
        got = (await b.load(key, { touchAt: s.lastAccessedAt + 9000 }))!;
        expect(got.lastAccessedAt).toBe(s.lastAccessedAt + 9000);
        expect(await b.load(newKey(), { touchAt: 5 })).toBeNull();
        await b.apply(key, createDelta(key, s.version, [{ op: 'setPrincipal', principal: null }]), {
          requestId: newRequestId(),
        });
        expect((await b.load(key))!.principal).toBeNull();
      }));

    it('all, length and clear see the sessions of this backend', () =>
      withBackend(async (b) => {
        if (!b.all || !b.length || !b.clear) return;
        await b.clear();
        const keys = [newKey(), newKey(), newKey()];
        for (const k of keys) await b.create(sessionWith(k, { k }), { requestId: newRequestId() });
        expect(await b.length()).toBe(3);
        expect((await b.all()).map((s) => s.key).sort()).toEqual([...keys].sort());
        await b.clear();
        expect(await b.length()).toBe(0);
      }));

    if (target.expiry) {
      const { advance, graceMs } = target.expiry;
      it('expires a session after maxInactive + grace of idleness, and a touch restarts the timer', () =>
        withBackend(async (b) => {
          const key = newKey();
          const s = sessionWith(key, { a: 1 }, 1);
          await b.create(s, { requestId: newRequestId() });
          await advance(700 + graceMs);
          await b.touch([{ key, at: Date.now() }]);
          await advance(700 + graceMs);
          expect(await b.load(key)).not.toBeNull();
          await advance(1400 + graceMs);
          expect(await b.load(key)).toBeNull();
        }));
    }

    it('rejects calls after close with CLOSED', async () => {
      const b = await target.make();
      await b.close();
      await rejectsWith(b.load(newKey()), 'CLOSED');
    });
  });
}
