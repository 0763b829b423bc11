import fc from 'fast-check';
import { createSession } from '@cohort/session-codec';
import { describe, expect, it } from 'vitest';
import { SessionBackendError } from './errors.js';
import { decodeSessionHash, encodePrincipal } from './redis-hash.js';

const b = (s: string | Uint8Array): Buffer =>
  typeof s === 'string' ? Buffer.from(s) : Buffer.from(s);

/** The HGETALL reply the scripts leave for a session. */
function replyOf(): Buffer[] {
  const s = createSession({
    key: 'k',
    now: 1_700_000_000_000,
    maxInactiveSeconds: 1800,
    principal: { name: 'ann', authType: 'FORM' },
    attributes: { user: 'ann', cart: { items: [1, 2] } },
  });
  const out: Buffer[] = [
    b('v'),
    b('3'),
    b('c'),
    b(String(s.createdAt)),
    b('a'),
    b(String(s.lastAccessedAt)),
    b('t'),
    b('1800'),
    b('n'),
    b('1'),
    b('p'),
    b(encodePrincipal(s.principal!)),
    b('q'),
    b('rid 3'),
  ];
  for (const [name, bytes] of s.attributes) out.push(b(`@${name}`), b(bytes));
  return out;
}

function outcome(reply: unknown): 'ok' | 'null' | string {
  try {
    return decodeSessionHash('k', reply) === null ? 'null' : 'ok';
  } catch (err) {
    if (err instanceof SessionBackendError && err.code === 'CORRUPT') return 'corrupt';
    throw err;
  }
}

describe('decodeSessionHash', () => {
  it('reads the fields the scripts write', () => {
    const s = decodeSessionHash('k', replyOf())!;
    expect(s.version).toEqual({ epoch: 0, seq: 3 });
    expect(s.maxInactiveSeconds).toBe(1800);
    expect(s.isNew).toBe(true);
    expect(s.principal).toEqual({ name: 'ann', authType: 'FORM' });
    expect([...s.attributes.keys()].sort()).toEqual(['cart', 'user']);
    expect(decodeSessionHash('k', [])).toBeNull();
  });

  it.each([
    ['a missing field', (r: Buffer[]) => r.slice(2)],
    ['an odd reply', (r: Buffer[]) => r.slice(1)],
    ['a repeated field', (r: Buffer[]) => [...r, b('v'), b('4')]],
    ['an unknown field', (r: Buffer[]) => [...r, b('zz'), b('1')]],
    ['a non-decimal version', (r: Buffer[]) => [b('v'), b('0x3'), ...r.slice(2)]],
    ['a leading zero', (r: Buffer[]) => [b('v'), b('03'), ...r.slice(2)]],
    [
      'an int32 overflow of t',
      (r: Buffer[]) => [...r.slice(0, 6), b('t'), b('2147483648'), ...r.slice(8)],
    ],
    ['a bad isNew', (r: Buffer[]) => [...r.slice(0, 8), b('n'), b('yes'), ...r.slice(10)]],
    [
      'a principal that is not JSON',
      (r: Buffer[]) => [...r.slice(0, 10), b('p'), b('{'), ...r.slice(12)],
    ],
    [
      'a principal with an empty name',
      (r: Buffer[]) => [...r.slice(0, 10), b('p'), b('["",""]'), ...r.slice(12)],
    ],
    [
      'an attribute name that is not UTF-8',
      (r: Buffer[]) => [...r, Buffer.from([0x40, 0xff]), b('x')],
    ],
    ['an empty attribute name', (r: Buffer[]) => [...r, b('@'), b('x')]],
    ['a repeated attribute', (r: Buffer[]) => [...r, b('@user'), b('x')]],
    ['a string item', (r: Buffer[]) => [...r.slice(0, 1), '3', ...r.slice(2)]],
  ])('refuses %s with CORRUPT', (_name, mutate) => {
    expect(outcome(mutate(replyOf()))).toBe('corrupt');
  });

  it('refuses a non-array reply', () => {
    for (const r of [null, undefined, 1, 'x', {}, Buffer.from('x')])
      expect(outcome(r)).toBe('corrupt');
  });

  it('fuzz: random replies give a session, null or CORRUPT — never another error', () => {
    const item = fc.oneof(
      fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u)),
      fc
        .constantFrom('v', 'c', 'a', 't', 'n', 'p', 'q', '@x', '@', '0', '1', '-1', '["a",""]')
        .map(b),
      fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 24 }), (r) => {
        expect(['ok', 'null', 'corrupt']).toContain(outcome(r));
      }),
      { numRuns: 5000 },
    );
  });

  it('fuzz: mutated real replies (bytes flipped, items dropped, swapped, duplicated)', () => {
    const real = replyOf();
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('flip' as const),
              i: fc.nat(),
              at: fc.nat(),
              v: fc.integer({ min: 0, max: 255 }),
            }),
            fc.record({ kind: fc.constant('drop' as const), i: fc.nat() }),
            fc.record({ kind: fc.constant('dup' as const), i: fc.nat() }),
            fc.record({ kind: fc.constant('swap' as const), i: fc.nat(), j: fc.nat() }),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (muts) => {
          const r = real.map((x) => Buffer.from(x));
          for (const m of muts) {
            if (r.length === 0) break;
            const i = m.i % r.length;
            if (m.kind === 'flip' && r[i]!.length > 0) r[i]![m.at % r[i]!.length] = m.v;
            else if (m.kind === 'drop') r.splice(i, 1);
            else if (m.kind === 'dup') r.splice(i, 0, Buffer.from(r[i]!));
            else if (m.kind === 'swap') {
              const j = m.j % r.length;
              [r[i], r[j]] = [r[j]!, r[i]!];
            }
          }
          expect(['ok', 'null', 'corrupt']).toContain(outcome(r));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
