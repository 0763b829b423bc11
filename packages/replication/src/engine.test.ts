import { describe, expect, it } from 'vitest';
import { defaultValueCodec, readAttribute, type Op } from '@cohort/session-codec';
import type { EngineConfig } from './config.js';
import { ReplicationEngine, type EngineEvent, type EngineOutput } from './engine.js';
import { ReplicationError } from './errors.js';
import type { Frame } from './messages.js';
import type { ClientOp, OpResult } from './ops.js';
import { placementOf } from './placement.js';
import { seededRandom } from './prng.js';
import { decodeFrame, encodeFrame } from './wire.js';

/**
 * A small deterministic cluster for transition tests: frames are queued and delivered (through
 * the protobuf wire format) only when the test says so, so each step can be observed.
 */
class Cluster {
  readonly engines = new Map<string, ReplicationEngine>();
  readonly clock = new Map<string, number>();
  frames: Frame[] = [];
  results = new Map<number, OpResult>();
  events: { node: string; event: EngineEvent }[] = [];
  view: string[];
  #id = 1;

  constructor(
    ids: string[],
    config: Partial<EngineConfig> = {},
    skew: Record<string, number> = {},
  ) {
    this.view = [...ids];
    for (const id of ids) this.add(id, config, skew[id] ?? 0);
  }

  add(id: string, config: Partial<EngineConfig> = {}, skew = 0): void {
    this.engines.set(
      id,
      new ReplicationEngine({ self: id, random: seededRandom(id.length), config }),
    );
    this.clock.set(id, 1_000_000 + skew);
  }

  now(id: string): number {
    return this.clock.get(id)!;
  }

  collect(id: string, out: EngineOutput): void {
    for (const f of out.frames) this.frames.push(decodeFrame(encodeFrame(f)));
    for (const r of out.results) this.results.set(r.id, r);
    for (const e of out.events) this.events.push({ node: id, event: e });
  }

  setView(members: string[], on: string[] = [...this.engines.keys()]): void {
    this.view = members;
    for (const id of on) this.collect(id, this.engines.get(id)!.setView(this.now(id), members));
  }

  submit(node: string, op: Omit<ClientOp, 'id'>): number {
    const id = this.#id++;
    this.collect(node, this.engines.get(node)!.submit(this.now(node), { ...op, id } as ClientOp));
    return id;
  }

  /** Delivers queued frames (repeatedly, until none are left) except those `drop` refuses. */
  deliver(drop: (f: Frame) => boolean = () => false, rounds = 50): number {
    let n = 0;
    for (let i = 0; i < rounds && this.frames.length > 0; i++) {
      const batch = this.frames;
      this.frames = [];
      for (const f of batch) {
        const e = this.engines.get(f.to);
        if (!e || drop(f)) continue;
        n++;
        this.collect(f.to, e.receive(this.now(f.to), f));
      }
    }
    return n;
  }

  /** Advances every clock by `ms` in steps of `step`, ticking every engine and delivering. */
  advance(ms: number, step = 50, drop?: (f: Frame) => boolean): void {
    for (let t = 0; t < ms; t += step) {
      for (const [id, e] of this.engines) {
        this.clock.set(id, this.now(id) + step);
        this.collect(id, e.tick(this.now(id)));
      }
      this.deliver(drop);
    }
  }

  kill(id: string): void {
    this.engines.delete(id);
  }
}

const enc = (v: unknown, name = 'x'): Uint8Array => defaultValueCodec.encode(v, name);
const set = (name: string, v: unknown): Op => ({ op: 'set', name, value: enc(v, name) });
const create = { createdAt: 1_700_000_000_000, maxInactiveSeconds: 60 };

/** A key whose placement over a,b,c,d is owner `a` with backups b and c. */
function keyFor(owner: string, members: string[], backups?: string[]): string {
  for (let i = 0; ; i++) {
    const k = `key-${i}`;
    const p = placementOf(k, members, 3);
    if (p[0] === owner && (!backups || backups.every((b) => p.includes(b)))) return k;
  }
}

function ok(c: Cluster, id: number): Extract<OpResult, { ok: true }> {
  const r = c.results.get(id);
  if (!r || !r.ok) throw new Error(`op ${id} did not succeed: ${JSON.stringify(r)}`);
  return r;
}

function valueAt(c: Cluster, node: string, key: string, attr: string): unknown {
  const s = c.engines.get(node)!.inspect(key)?.session;
  return s ? readAttribute(s, attr) : undefined;
}

const ABC = ['a', 'b', 'c'];

describe('ReplicationEngine: ownership and the write path', () => {
  it('creates a session at the first member in placement and acknowledges a quorum write only after a backup holds it', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    const id = c.submit('a', { kind: 'write', key, ops: [set('cart', 1)], create });
    expect(c.results.has(id)).toBe(false); // claiming: prepares sent, nothing acknowledged
    c.deliver();
    const r = ok(c, id);
    expect(r.version.seq).toBe(1);
    for (const n of ABC) expect(valueAt(c, n, key, 'cart')).toBe(1);
    expect(c.engines.get('a')!.inspect(key)!.role).toBe('owner');
    expect(c.engines.get('b')!.inspect(key)!.role).toBe('replica');
  });

  it('acknowledges owner-level writes at once, quorum after one backup, all after every backup', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    const first = c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    ok(c, first);
    const o = c.submit('a', { kind: 'write', key, ops: [set('n', 1)], level: 'owner' });
    expect(ok(c, o).version.seq).toBe(2);
    const q = c.submit('a', { kind: 'write', key, ops: [set('n', 2)], level: 'quorum' });
    const all = c.submit('a', { kind: 'write', key, ops: [set('n', 3)], level: 'all' });
    expect(c.results.has(q)).toBe(false);
    // Only b's frames get through: quorum is met, all is not.
    c.deliver((f) => f.to === 'c' || f.from === 'c');
    expect(ok(c, q).version.seq).toBe(3);
    expect(c.results.has(all)).toBe(false);
    c.advance(400);
    expect(ok(c, all).version.seq).toBe(4);
  });

  it('takes the routable set from a membership routable-change event', () => {
    const e = new ReplicationEngine({ self: 'a', random: seededRandom(1) });
    e.routableChanged(5, { added: ['b', 'c'], removed: [], routable: ['c', 'a', 'b'] });
    expect(e.view).toEqual(['a', 'b', 'c']);
  });

  it('answers NOT_OWNER with the owner from a member that is not first in placement', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    const id = c.submit('b', { kind: 'read', key });
    const r = c.results.get(id)!;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('NOT_OWNER');
    expect(!r.ok && r.owner).toBe('a');
  });

  it('keeps concurrent writes to different attributes (no lost update)', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    const first = c.submit('a', { kind: 'write', key, ops: [set('x', 0)], create });
    c.deliver();
    ok(c, first);
    // Two requests read version 1:1 and each change one attribute.
    const w1 = c.submit('a', { kind: 'write', key, ops: [set('cart', 'A')] });
    const w2 = c.submit('a', { kind: 'write', key, ops: [set('theme', 'dark')] });
    c.deliver();
    ok(c, w1);
    ok(c, w2);
    for (const n of ABC) {
      expect(valueAt(c, n, key, 'cart')).toBe('A');
      expect(valueAt(c, n, key, 'theme')).toBe('dark');
    }
  });

  it('refuses a compare-and-set on a stale version', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    const first = c.submit('a', { kind: 'write', key, ops: [set('x', 0)], create });
    c.deliver();
    const v1 = ok(c, first).version;
    const second = c.submit('a', { kind: 'write', key, ops: [set('x', 1)], expected: v1 });
    c.deliver();
    ok(c, second);
    const stale = c.submit('a', { kind: 'write', key, ops: [set('x', 2)], expected: v1 });
    const r = c.results.get(stale)!;
    expect(!r.ok && r.code).toBe('CAS_FAILED');
    expect(!r.ok && r.current).toEqual({ epoch: v1.epoch, seq: 2 });
  });

  it('serializes writers with a lease and fences a stale token', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', { kind: 'write', key, ops: [set('x', 0)], create });
    c.deliver();
    const acq = c.submit('a', { kind: 'acquire', key, holder: 'req-1', durationMs: 5000 });
    c.deliver();
    const token = ok(c, acq).token!;
    const other = c.submit('a', { kind: 'acquire', key, holder: 'req-2', durationMs: 5000 });
    expect((c.results.get(other) as { code?: string }).code).toBe('LEASE_HELD');
    const bare = c.submit('a', { kind: 'write', key, ops: [set('x', 1)] });
    expect((c.results.get(bare) as { code?: string }).code).toBe('LEASE_HELD');
    const fenced = c.submit('a', { kind: 'write', key, ops: [set('x', 1)], fence: token });
    c.deliver();
    ok(c, fenced);
    expect(c.engines.get('b')!.inspect(key)!.lease?.token).toEqual(token);
    const rel = c.submit('a', { kind: 'release', key, token });
    c.deliver();
    ok(c, rel);
    const late = c.submit('a', { kind: 'write', key, ops: [set('x', 2)], fence: token });
    expect((c.results.get(late) as { code?: string }).code).toBe('FENCED');
    const free = c.submit('a', { kind: 'write', key, ops: [set('x', 3)] });
    c.deliver();
    ok(c, free);
  });

  it('lets a lease lapse on the owner monotonic clock', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', { kind: 'write', key, ops: [set('x', 0)], create });
    c.deliver();
    c.submit('a', { kind: 'acquire', key, holder: 'h', durationMs: 1000 });
    c.deliver();
    c.advance(1100);
    const w = c.submit('a', { kind: 'write', key, ops: [set('x', 1)] });
    c.deliver();
    ok(c, w);
  });

  it('refuses a read from a copy older than the client has seen', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', { kind: 'write', key, ops: [set('x', 0)], create });
    c.deliver();
    const r = c.submit('a', { kind: 'read', key, minVersion: { epoch: 9, seq: 1 } });
    expect((c.results.get(r) as { code?: string }).code).toBe('STALE');
  });

  it('reports an invalid op as INVALID_OP and NOT_FOUND without create', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const empty = c.submit('a', { kind: 'read', key: '' });
    expect((c.results.get(empty) as { message?: string }).message).toMatch(/key must be/);
    const odd = c.submit('a', { kind: 'scan', key: 'k' } as unknown as Omit<ClientOp, 'id'>);
    expect((c.results.get(odd) as { code?: string }).code).toBe('INVALID_OP');
    const key = keyFor('a', ABC);
    const nf = c.submit('a', { kind: 'write', key, ops: [set('x', 0)] });
    c.deliver();
    expect((c.results.get(nf) as { code?: string }).code).toBe('NOT_FOUND');
    const bad = c.submit('a', {
      kind: 'write',
      key,
      ops: [{ op: 'set', name: 'x', value: new Uint8Array() }],
      create,
    });
    c.deliver();
    expect((c.results.get(bad) as { code?: string }).code).toBe('INVALID_OP');
  });
});

describe('ReplicationEngine: ordering, gaps and catch-up', () => {
  it('detects a gap at a backup and catches up from the log', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    // The replicate of n=1 to b is lost; n=2 reaches b out of order (gap) and b asks for more.
    c.submit('a', { kind: 'write', key, ops: [set('n', 1)] });
    c.deliver((f) => f.to === 'b');
    c.submit('a', { kind: 'write', key, ops: [set('n', 2)] });
    expect(c.engines.get('b')!.inspect(key)!.version.seq).toBe(1);
    c.deliver();
    expect(c.engines.get('b')!.inspect(key)!.version.seq).toBe(3);
    expect(valueAt(c, 'b', key, 'n')).toBe(2);
  });

  it('sends a snapshot when the log no longer holds what a replica misses', () => {
    const c = new Cluster(ABC, { logEntries: 4 });
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    for (let i = 1; i <= 10; i++) {
      c.submit('a', { kind: 'write', key, ops: [set('n', i)] });
      c.deliver((f) => f.to === 'c');
    }
    expect(c.engines.get('c')!.inspect(key)!.version.seq).toBe(1);
    let snapshots = 0;
    c.advance(300, 50, (f) => {
      snapshots += f.messages.filter((m) => m.t === 'snapshot').length;
      return false;
    });
    expect(snapshots).toBeGreaterThan(0);
    expect(c.engines.get('c')!.inspect(key)!.version).toEqual(
      c.engines.get('a')!.inspect(key)!.version,
    );
    expect(valueAt(c, 'c', key, 'n')).toBe(10);
  });

  it('batches consecutive changes of a session for one member into one message', () => {
    const c = new Cluster(ABC);
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    const out = c.engines.get('a')!.submitAll(c.now('a'), [
      { id: 100, kind: 'write', key, ops: [set('n', 1)] },
      { id: 101, kind: 'write', key, ops: [set('m', 1)] },
      { id: 102, kind: 'write', key, ops: [set('n', 2)] },
    ]);
    expect(out.frames).toHaveLength(2);
    for (const f of out.frames) {
      expect(f.messages).toHaveLength(1);
      const m = f.messages[0]!;
      expect(m.t === 'replicate' && m.entries.length).toBe(3);
    }
  });
});

describe('ReplicationEngine: epochs, failover and rejoin', () => {
  it('fails over to a surviving replica with every quorum-acknowledged write, then restores three copies', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const c = new Cluster(ids);
    c.setView(ids);
    const key = keyFor('a', ids);
    const before = placementOf(key, ids, 3);
    c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    const acked: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const id = c.submit('a', { kind: 'write', key, ops: [set('n', i)] });
      // Only the first backup receives these: the other backup falls behind.
      c.deliver((f) => f.to === before[2] || f.from === before[2]);
      acked.push(ok(c, id).version.seq);
    }
    c.kill('a');
    const rest = ['b', 'c', 'd'];
    c.setView(rest, rest);
    c.advance(1000);
    const after = placementOf(key, rest, 3);
    const owner = c.engines.get(after[0]!)!.inspect(key)!;
    expect(owner.role).toBe('owner');
    expect(owner.accepted!.epoch).toBeGreaterThan(1);
    for (const n of after) {
      expect(valueAt(c, n, key, 'n')).toBe(5);
      expect(c.engines.get(n)!.inspect(key)!.version).toEqual(owner.version);
    }
    const w = c.submit(after[0]!, { kind: 'write', key, ops: [set('n', 6)], level: 'all' });
    c.deliver();
    expect(ok(c, w).version.epoch).toBe(owner.accepted!.epoch);
  });

  it('fences a partitioned former owner: its writes are refused and it steps down', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const c = new Cluster(ids);
    c.setView(ids);
    const key = keyFor('a', ids);
    c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    // b, c, d lose sight of a and elect a new owner; a still believes it owns the session.
    const cut = (f: Frame): boolean => f.from === 'a' || f.to === 'a';
    c.setView(['b', 'c', 'd'], ['b', 'c', 'd']);
    c.advance(1000, 50, cut);
    const p = placementOf(key, ['b', 'c', 'd'], 3);
    expect(c.engines.get(p[0]!)!.inspect(key)!.role).toBe('owner');
    expect(c.engines.get('a')!.inspect(key)!.role).toBe('owner');
    const zombie = c.submit('a', { kind: 'write', key, ops: [set('n', 99)] });
    c.deliver();
    const r = c.results.get(zombie)!;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe('OWNERSHIP_LOST');
    expect(c.engines.get('a')!.inspect(key)!.role).not.toBe('owner');
    expect(c.events.some((e) => e.node === 'a' && e.event.type === 'stepped-down')).toBe(true);
    for (const n of p) expect(valueAt(c, n, key, 'n')).toBe(0);
  });

  it('a rejoining member takes ownership only after it holds the state, at a bounded claim rate', () => {
    const ids = ['a', 'b', 'c'];
    const c = new Cluster(ids);
    c.setView(ids);
    const keys: string[] = [];
    for (let i = 0; keys.length < 40; i++) {
      const k = `s-${i}`;
      if (placementOf(k, [...ids, 'z'], 3)[0] === 'z') keys.push(k);
    }
    for (const k of keys) {
      const owner = placementOf(k, ids, 3)[0]!;
      c.submit(owner, { kind: 'write', key: k, ops: [set('v', k)], create });
    }
    c.deliver();
    c.add('z', { maxConcurrentClaims: 4, claimsPerSecond: 40 });
    const all = [...ids, 'z'];
    c.setView(all);
    c.deliver();
    // After 100 ms only a few of the 40 sessions have moved; the old owners serve the rest.
    c.advance(100);
    const owned = (): number =>
      keys.filter((k) => c.engines.get('z')!.inspect(k)?.role === 'owner').length;
    expect(owned()).toBeGreaterThan(0);
    expect(owned()).toBeLessThanOrEqual(12);
    c.advance(3000);
    expect(owned()).toBe(40);
    for (const k of keys) expect(valueAt(c, 'z', k, 'v')).toBe(k);
  });

  it('keeps no more than one owner when two members claim the same session', () => {
    const ids = ['a', 'b', 'c'];
    const c = new Cluster(ids);
    c.setView(ids);
    const key = keyFor('a', ids);
    c.submit('a', { kind: 'write', key, ops: [set('n', 0)], create });
    c.deliver();
    // b wrongly believes a is gone and claims; a keeps its view.
    c.setView(['b', 'c'], ['b']);
    // b sees only two members, too few to form a replica set of three: it does not claim.
    c.advance(500);
    expect(c.engines.get('b')!.inspect(key)!.role).not.toBe('owner');
    expect(c.engines.get('a')!.inspect(key)!.role).toBe('owner');
  });
});

describe('ReplicationEngine: expiry', () => {
  it('expires at the owner after the idle timeout on its monotonic clock, never before, whatever the skew', () => {
    const c = new Cluster(ABC, { expiryResolutionMs: 100 }, { a: -5000, b: 5000, c: 1234 });
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', {
      kind: 'write',
      key,
      ops: [set('n', 0)],
      create: { ...create, maxInactiveSeconds: 10 },
    });
    c.deliver();
    c.advance(9_500, 100);
    expect(c.events.filter((e) => e.event.type === 'expired')).toHaveLength(0);
    c.advance(1_000, 100);
    const expired = c.events.filter((e) => e.event.type === 'expired');
    expect(expired.map((e) => `${e.node}:${(e.event as { by: string }).by}`)).toEqual(['a:owner']);
    for (const n of ABC) expect(c.engines.get(n)!.inspect(key)!.session).toBeNull();
  });

  it('batches touches: reads do not replicate until the touch interval passed', () => {
    const c = new Cluster(ABC, { minTouchIntervalMs: 2000 });
    c.setView(ABC);
    const key = keyFor('a', ABC);
    // TTL 4 s: touches reach the replicas at most every max(TTL/4, 2 s) = 2 s.
    c.submit('a', {
      kind: 'write',
      key,
      ops: [set('n', 0)],
      create: { ...create, maxInactiveSeconds: 4 },
    });
    c.deliver();
    let replicated = 0;
    const count = (f: Frame): boolean => {
      replicated += f.messages.filter((m) => m.t === 'replicate').length;
      return false;
    };
    for (let i = 0; i < 15; i++) {
      c.submit('a', { kind: 'read', key, touch: 1_700_000_000_000 + i * 100 });
      c.advance(100, 50, count);
    }
    expect(replicated).toBe(0);
    c.advance(1000, 50, count);
    expect(replicated).toBe(2); // one touch, to each backup
    expect(c.engines.get('b')!.inspect(key)!.session!.lastAccessedAt).toBe(1_700_000_001_400);
  });

  it('a backup expires its copy only after the owner has been gone for the grace period', () => {
    const c = new Cluster(ABC, { backupGraceMs: 3000, expiryResolutionMs: 100 });
    c.setView(ABC);
    const key = keyFor('a', ABC);
    c.submit('a', {
      kind: 'write',
      key,
      ops: [set('n', 0)],
      create: { ...create, maxInactiveSeconds: 1 },
    });
    c.deliver();
    c.kill('a');
    // b and c cannot form a set of three, so nobody takes over; they wait out the grace.
    c.setView(['b', 'c'], ['b', 'c']);
    c.advance(2500, 100);
    expect(c.events.filter((e) => e.event.type === 'expired')).toHaveLength(0);
    c.advance(2000, 100);
    const by = c.events
      .filter((e) => e.event.type === 'expired')
      .map((e) => e.node)
      .sort();
    expect(by).toEqual(['b', 'c']);
  });
});

describe('ReplicationEngine: forgetting', () => {
  it('forgets records of sessions that never existed or ended, after tombstoneMs', () => {
    const c = new Cluster(ABC, { tombstoneMs: 5000, expiryResolutionMs: 100 });
    c.setView(ABC);
    const ghost = keyFor('a', ABC);
    const r = c.submit('a', { kind: 'read', key: ghost });
    c.deliver();
    expect(ok(c, r).session).toBeNull();
    const ended = keyFor('b', ABC);
    c.submit('b', { kind: 'write', key: ended, ops: [set('n', 1)], create });
    c.deliver();
    c.submit('b', { kind: 'write', key: ended, ops: [{ op: 'invalidate' }] });
    c.deliver();
    for (const n of ABC) {
      expect(c.engines.get(n)!.keys().sort()).toEqual([ghost, ended].sort());
    }
    c.advance(5500, 100);
    for (const n of ABC) expect(c.engines.get(n)!.keys()).toEqual([]);
  });
});

describe('resolveConfig', () => {
  it('names a bad option', () => {
    expect(
      () => new ReplicationEngine({ self: 'a', random: Math.random, config: { replicas: 0 } }),
    ).toThrow(ReplicationError);
    expect(
      () =>
        new ReplicationEngine({
          self: 'a',
          random: Math.random,
          config: { replicas: 2, minReplicas: 3 },
        }),
    ).toThrow(/minReplicas/);
  });
});
