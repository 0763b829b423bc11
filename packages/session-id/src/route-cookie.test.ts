import { describe, expect, it } from 'vitest';
import { formatRouteCookie, parseRouteCookie } from './route-cookie.js';

describe('routing cookie', () => {
  it('writes .<route> as httpd and mod_jk do, and reads it back', () => {
    expect(formatRouteCookie('tc1')).toBe('.tc1');
    expect(parseRouteCookie('.tc1')).toBe('tc1');
  });

  it('accepts a bare route and takes the text after the first dot', () => {
    expect(parseRouteCookie('tc1')).toBe('tc1');
    expect(parseRouteCookie('x.tc1.rack')).toBe('tc1.rack');
  });

  it('gives undefined for empty or hostile values', () => {
    for (const v of ['', '.', 'x.', '.tc 1', '.tc%31', '.t\u0000c']) {
      expect(parseRouteCookie(v)).toBeUndefined();
    }
    expect(() => formatRouteCookie('bad route')).toThrow(/route/);
  });
});
