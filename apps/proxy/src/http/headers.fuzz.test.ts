import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createRouteReader } from '../balancer/affinity.js';
import { requestHeaders } from './headers.js';
import { responseHeaders } from './rewrite.js';

const rw = {
  location: true,
  memberOrigins: ['http://127.0.0.1:8080'],
  cookiePath: { '/a': '/' },
  cookieDomain: { x: 'y' },
};
const ctx = {
  clientIp: '10.0.0.1',
  proto: 'http',
  host: 'h',
  localPort: 80,
  memberHost: 'm:1',
  requestId: 'r',
  requestIdHeader: 'X-Request-Id',
  preserveHost: false,
  xForwarded: true,
  forwarded: true,
  via: true,
};
const headerList = fc
  .array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 60 })))
  .map((pairs) => pairs.flat());

describe('header rules and route reading on hostile input', () => {
  it('request and response header rewriting never throw and keep name/value pairs', () => {
    fc.assert(
      fc.property(headerList, (raw) => {
        expect(requestHeaders(raw, ctx).length % 2).toBe(0);
        expect(responseHeaders(raw, rw, 'http://front').length % 2).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });
  it('the route reader never throws on hostile targets and cookies', () => {
    const read = createRouteReader(
      {
        dialect: 'tomcat',
        separator: '.',
        cookie: 'JSESSIONID',
        pathParameter: 'jsessionid',
        routeCookie: 'ROUTEID',
        routeCookiePath: '/',
      },
      ['tc1', 'tc2'],
    );
    const cookieish = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            'JSESSIONID=',
            'ROUTEID=',
            '; ',
            '.tc1',
            '.tc2',
            ';jsessionid=',
            '%',
            '\u0000',
          ),
          fc.string({ maxLength: 8 }),
        ),
        { maxLength: 12 },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(cookieish, cookieish, (target, cookie) => {
        const r = read(target, cookie);
        if (r.owner !== undefined) expect(typeof r.owner).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });
});
