import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MembershipError } from './errors.js';
import { ENCRYPTION_OVERHEAD, Keyring } from './keyring.js';

describe('Keyring', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('round-trips with a fixed overhead', () => {
    const r = new Keyring([k1], 'prod');
    const plain = new TextEncoder().encode('hello');
    const sealed = r.encrypt(plain);
    expect(sealed.length).toBe(plain.length + ENCRYPTION_OVERHEAD);
    expect(Buffer.from(r.decrypt(sealed)).toString()).toBe('hello');
  });

  it('rotates: the first key encrypts, every key decrypts', () => {
    const old = new Keyring([k1], 'prod');
    const both = new Keyring([k2, k1.toString('base64')], 'prod');
    expect(Buffer.from(both.decrypt(old.encrypt(Buffer.from('x')))).toString()).toBe('x');
    expect(() => old.decrypt(both.encrypt(Buffer.from('x')))).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
    old.install(k2);
    expect(Buffer.from(old.decrypt(both.encrypt(Buffer.from('y')))).toString()).toBe('y');
    old.use(k2);
    old.remove(k1);
    expect(old.size).toBe(1);
    expect(() => old.remove(k2)).toThrow(expect.objectContaining({ code: 'ERR_KEY' }));
  });

  it('authenticates the cluster label', () => {
    const a = new Keyring([k1], 'prod');
    const b = new Keyring([k1], 'staging');
    expect(() => b.decrypt(a.encrypt(Buffer.from('x')))).toThrow(
      expect.objectContaining({ code: 'ERR_DECRYPT' }),
    );
  });

  it('rejects keys of the wrong size, naming the key', () => {
    expect(() => new Keyring([randomBytes(16)], 'c')).toThrow(
      expect.objectContaining({ code: 'ERR_KEY', field: 'keys[0]' }),
    );
    expect(() => new Keyring([], 'c')).toThrow(
      expect.objectContaining({ code: 'ERR_KEY', field: 'keys' }),
    );
  });

  it('fuzz: random and mutated input gives ERR_DECRYPT, never another throw', () => {
    const r = new Keyring([k1], 'c');
    const good = r.encrypt(Buffer.from('payload'));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (rand, i, x) => {
          const m = Uint8Array.from(good);
          m[i % m.length] = (m[i % m.length] as number) ^ x;
          for (const input of [rand, m]) {
            try {
              r.decrypt(input);
              throw new Error('decrypted garbage');
            } catch (err) {
              expect(err).toBeInstanceOf(MembershipError);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
