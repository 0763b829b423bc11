import { describe, expect, it } from 'vitest';
import { requestIdGenerator } from './request-id.js';

describe('requestIdGenerator', () => {
  it('gives distinct ids within and across generators', () => {
    const a = requestIdGenerator();
    const b = requestIdGenerator();
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) ids.add(a()).add(b());
    expect(ids.size).toBe(2000);
    expect(a()).toMatch(/^[A-Za-z0-9_-]{16}\.[0-9a-z]+$/);
  });
});
