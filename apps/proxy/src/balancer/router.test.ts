import { describe, expect, it } from 'vitest';

import { createRouter, hostName } from './router.js';

describe('router', () => {
  const r = createRouter([
    { name: 'all', path: '/' },
    { name: 'app', path: '/app' },
    { name: 'shop', path: '/', hosts: ['shop.example.com', '*.shop.test'] },
    { name: 'shop-api', path: '/api/', hosts: ['shop.example.com'] },
  ]);
  const at = (host: string | undefined, target: string) => r(host, target)?.name;
  it('matches the longest path prefix on segment boundaries', () => {
    expect(at('x', '/app')).toBe('app');
    expect(at('x', '/app/cart?x=1')).toBe('app');
    expect(at('x', '/app;jsessionid=A.b')).toBe('app');
    expect(at('x', '/apple')).toBe('all');
  });
  it('prefers balancers with matching hosts, case-insensitively, ignoring the port', () => {
    expect(at('Shop.Example.com:8000', '/x')).toBe('shop');
    expect(at('shop.example.com', '/api/v1')).toBe('shop-api');
    expect(at('a.shop.test', '/')).toBe('shop');
    expect(at('shop.test', '/')).toBe('all');
    expect(at(undefined, '/')).toBe('all');
  });
  it('returns nothing when no balancer serves the host and path', () => {
    const only = createRouter([{ name: 'x', path: '/x', hosts: ['a'] }]);
    expect(only('b', '/x')).toBeUndefined();
    expect(only('a', '/y')).toBeUndefined();
  });
  it('reads host names from Host values', () => {
    expect(hostName('[::1]:8000')).toBe('[::1]');
    expect(hostName('A.B:1')).toBe('a.b');
    expect(hostName(undefined)).toBe('');
  });
});
