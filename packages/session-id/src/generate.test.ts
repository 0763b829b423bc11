import { describe, expect, it } from 'vitest';
import { generateKey, generateSessionId } from './generate.js';
import { msmDialect } from './msm.js';
import { tomcatDialect } from './tomcat.js';

describe('generate', () => {
  it('makes 128-bit base64url keys by default', () => {
    const key = generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('makes hex and uppercase hex keys of the requested size', () => {
    expect(generateKey({ encoding: 'hex' })).toMatch(/^[0-9a-f]{32}$/);
    expect(generateKey({ encoding: 'HEX', bytes: 32 })).toMatch(/^[0-9A-F]{64}$/);
  });

  it('refuses fewer than 128 bits', () => {
    expect(() => generateKey({ bytes: 15 })).toThrow(/at least|from 16/);
    expect(() => generateKey({ bytes: 16.5 })).toThrow(/integer/);
  });

  it('uses the injected random source', () => {
    const zeros = (n: number) => new Uint8Array(n);
    expect(generateKey({ random: zeros, encoding: 'hex' })).toBe('0'.repeat(32));
    expect(() => generateKey({ random: () => new Uint8Array(4) })).toThrow(/returned 4 bytes/);
  });

  it('does not repeat over many draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(generateKey());
    expect(seen.size).toBe(10_000);
  });

  it('formats a whole id with a route in the chosen dialect', () => {
    const id = generateSessionId({ route: 'tc1' });
    expect(tomcatDialect().parse(id)).toMatchObject({ ok: true, route: 'tc1' });
    const msm = generateSessionId({ route: 'tomcat1', encoding: 'HEX', dialect: msmDialect() });
    expect(msm).toMatch(/^[0-9A-F]{32}\.tomcat1$/);
  });
});
