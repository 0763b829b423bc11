import { describe, expect, it } from 'vitest';

import { requestHeaders, type RequestHeaderContext } from './headers.js';
import {
  responseHeaders,
  rewriteLocation,
  rewriteSetCookie,
  type ResponseRewrite,
} from './rewrite.js';

const ctx: RequestHeaderContext = {
  clientIp: '10.1.2.3',
  proto: 'http',
  host: 'www.example.com',
  localPort: 8000,
  memberHost: '127.0.0.1:8080',
  requestId: 'rid-1',
  requestIdHeader: 'X-Request-Id',
  preserveHost: false,
  xForwarded: true,
  forwarded: true,
  via: true,
};

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

describe('request headers', () => {
  const raw = [
    'Host',
    'www.example.com',
    'Connection',
    'keep-alive, X-Secret-Hop',
    'X-Secret-Hop',
    'x',
    'Keep-Alive',
    'timeout=5',
    'TE',
    'trailers',
    'Transfer-Encoding',
    'chunked',
    'Proxy-Authorization',
    'Basic x',
    'Upgrade',
    'h2c',
    'Expect',
    '100-continue',
    'X-Forwarded-For',
    '192.0.2.1',
    'X-Forwarded-Proto',
    'https',
    'Forwarded',
    'for=192.0.2.1',
    'Via',
    '1.0 edge',
    'X-Request-Id',
    'spoofed',
    'Cookie',
    'JSESSIONID=a.tc1',
  ];
  it('drops hop-by-hop headers (and those Connection names), sets Host to the member', () => {
    const out = pairs(requestHeaders(raw, ctx));
    const names = out.map(([n]) => n.toLowerCase());
    for (const h of [
      'connection',
      'x-secret-hop',
      'keep-alive',
      'te',
      'transfer-encoding',
      'proxy-authorization',
      'upgrade',
      'expect',
    ]) {
      expect(names).not.toContain(h);
    }
    expect(out.filter(([n]) => n.toLowerCase() === 'host')).toEqual([['Host', '127.0.0.1:8080']]);
    expect(out).toContainEqual(['Cookie', 'JSESSIONID=a.tc1']);
  });
  it('appends X-Forwarded-For, Forwarded and Via; replaces XF-Proto/Host/Port and the request id', () => {
    const h = Object.fromEntries(
      pairs(requestHeaders(raw, ctx)).map(([n, v]) => [n.toLowerCase(), v]),
    );
    expect(h['x-forwarded-for']).toBe('192.0.2.1, 10.1.2.3');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('www.example.com');
    expect(h['x-forwarded-port']).toBe('8000');
    expect(h['forwarded']).toBe('for=192.0.2.1, for=10.1.2.3;proto=http;host=www.example.com');
    expect(h['via']).toBe('1.0 edge, 1.1 cohort-proxy');
    expect(h['x-request-id']).toBe('rid-1');
  });
  it('preserves the Host when asked (ProxyPreserveHost On), quotes IPv6 in Forwarded', () => {
    const out = pairs(
      requestHeaders(['Host', 'www.example.com'], { ...ctx, preserveHost: true, clientIp: '::1' }),
    );
    expect(out.filter(([n]) => n.toLowerCase() === 'host')).toEqual([['Host', 'www.example.com']]);
    expect(out.find(([n]) => n === 'Forwarded')![1]).toBe(
      'for="[::1]";proto=http;host=www.example.com',
    );
  });
  it('adds nothing it was told not to', () => {
    const out = requestHeaders(['Host', 'h', 'Via', 'x'], {
      ...ctx,
      xForwarded: false,
      forwarded: false,
      via: false,
    });
    expect(pairs(out)).toEqual([
      ['Via', 'x'],
      ['Host', '127.0.0.1:8080'],
      ['X-Request-Id', 'rid-1'],
    ]);
  });
  it('drops names with an underscore when asked (the default), keeps them otherwise', () => {
    const raw = ['X_Forwarded_For', '6.6.6.6', 'X-A', '1', 'x_b', '2'];
    const dropped = requestHeaders(raw, { ...ctx, dropUnderscores: true });
    expect(dropped.filter((_, i) => i % 2 === 0)).not.toContain('X_Forwarded_For');
    expect(dropped.filter((_, i) => i % 2 === 0)).not.toContain('x_b');
    const kept = requestHeaders(raw, { ...ctx, dropUnderscores: false });
    expect(kept).toContain('X_Forwarded_For');
  });

  it('keeps Upgrade for WebSocket handshakes', () => {
    const out = pairs(
      requestHeaders(['Upgrade', 'websocket', 'Connection', 'Upgrade'], {
        ...ctx,
        keepUpgrade: true,
      }),
    );
    expect(out).toContainEqual(['Upgrade', 'websocket']);
    expect(out.map(([n]) => n)).not.toContain('Connection');
  });
});

describe('response rewriting (ProxyPassReverse*)', () => {
  const rw: ResponseRewrite = {
    location: true,
    memberOrigins: ['http://127.0.0.1:8080'],
    cookiePath: { '/app': '/' },
    cookieDomain: { 'internal.local': 'example.com' },
  };
  it('rewrites Location that points at a member, and only those', () => {
    expect(rewriteLocation('http://127.0.0.1:8080/login?x', rw, 'http://www.example.com')).toBe(
      'http://www.example.com/login?x',
    );
    expect(rewriteLocation('HTTP://127.0.0.1:8080', rw, 'http://w')).toBe('http://w');
    expect(rewriteLocation('http://127.0.0.1:80801/x', rw, 'http://w')).toBe(
      'http://127.0.0.1:80801/x',
    );
    expect(rewriteLocation('https://elsewhere/x', rw, 'http://w')).toBe('https://elsewhere/x');
  });
  it('rewrites Set-Cookie path and domain, keeping everything else', () => {
    expect(rewriteSetCookie('JSESSIONID=A.tc1; Path=/app/x; HttpOnly', rw)).toBe(
      'JSESSIONID=A.tc1; Path=//x; HttpOnly',
    );
    expect(rewriteSetCookie('a=b; Domain=.Internal.local; Path=/other', rw)).toBe(
      'a=b; Domain=example.com; Path=/other',
    );
  });
  it('drops hop-by-hop response headers', () => {
    const out = responseHeaders(
      [
        'Connection',
        'close, X-Hop',
        'X-Hop',
        '1',
        'Transfer-Encoding',
        'chunked',
        'Keep-Alive',
        'timeout=5',
        'Location',
        'http://127.0.0.1:8080/a',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
      ],
      rw,
      'http://front',
    );
    expect(pairs(out)).toEqual([
      ['Location', 'http://front/a'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
    ]);
  });
});
