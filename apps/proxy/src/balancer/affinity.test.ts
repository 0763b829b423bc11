import { describe, expect, it } from 'vitest';

import { clearPinCookie, createRouteReader, pinCookie, type AffinityOptions } from './affinity.js';

const base: AffinityOptions = {
  dialect: 'tomcat',
  separator: '.',
  cookie: 'JSESSIONID',
  pathParameter: 'jsessionid',
  routeCookie: 'ROUTEID',
  routeCookiePath: '/',
};
const routes = ['tc1', 'tc2', 'tc3'];

describe('route reader, per dialect', () => {
  it('tomcat: path parameter first, then the cookie', () => {
    const read = createRouteReader(base, routes);
    expect(read('/', 'JSESSIONID=ABC.tc1')).toEqual({ owner: 'tc1', pin: undefined });
    expect(read('/x;jsessionid=ABC.tc2?q', 'JSESSIONID=ABC.tc1')).toEqual({
      owner: 'tc2',
      pin: undefined,
    });
    expect(read('/', undefined)).toEqual({ owner: undefined, pin: undefined });
  });
  it('tomcat: of duplicate cookies, the first naming a member wins (mod_jk)', () => {
    const read = createRouteReader(base, routes);
    expect(read('/', 'JSESSIONID=A.gone; JSESSIONID=B.tc3').owner).toBe('tc3');
    expect(read('/', ['JSESSIONID=A.gone', 'JSESSIONID=B.tc2']).owner).toBe('tc2');
  });
  it('tomcat with the WebLogic separator', () => {
    const read = createRouteReader({ ...base, separator: '!' }, routes);
    expect(read('/', 'JSESSIONID=ABC!tc2').owner).toBe('tc2');
    expect(read('/', 'JSESSIONID=ABC.tc2').owner).toBeUndefined();
  });
  it('msm: <key>-<node>.<route>', () => {
    const read = createRouteReader({ ...base, dialect: 'msm' }, routes);
    expect(read('/', 'JSESSIONID=ABC-n1.tc3').owner).toBe('tc3');
  });
  it('resin: the first character is the owner index into the members', () => {
    const read = createRouteReader({ ...base, dialect: 'resin' }, routes);
    expect(read('/', 'JSESSIONID=bXYZabc').owner).toBe('tc2');
    expect(read('/', 'JSESSIONID=aXYZabc').owner).toBe('tc1');
    expect(read('/', 'JSESSIONID=dXYZabc').owner).toBe('tc1'); // 3 mod 3
  });
  it('express: connect.sid with a route suffix, no path parameter', () => {
    const read = createRouteReader(
      { ...base, cookie: ['connect.sid'], pathParameter: null },
      routes,
    );
    expect(read('/;jsessionid=A.tc1', 'connect.sid=KEY.tc2').owner).toBe('tc2');
  });
  it('none: only the routing cookie routes', () => {
    const read = createRouteReader({ ...base, dialect: 'none' }, routes);
    expect(read('/', 'JSESSIONID=A.tc1; ROUTEID=.tc2')).toEqual({ owner: undefined, pin: 'tc2' });
  });
  it('reads the routing cookie separately from the id', () => {
    const read = createRouteReader(base, routes);
    expect(read('/', 'JSESSIONID=A.tc1; ROUTEID=.tc2')).toEqual({ owner: 'tc1', pin: 'tc2' });
  });
  it('hostile values give no route, never an exception', () => {
    const read = createRouteReader(base, routes);
    expect(read('/;jsessionid=%2e%2e', 'JSESSIONID=' + 'x'.repeat(100_000)).owner).toBeUndefined();
    expect(read('/', 'JSESSIONID=A.tc1\u0000; ROUTEID=.t c').pin).toBeUndefined();
  });
});

describe('pin cookie', () => {
  it('formats like mod_jk set_session_cookie, with Max-Age for when-idle', () => {
    expect(pinCookie(base, 'tc2')).toBe('ROUTEID=.tc2; Path=/; HttpOnly; SameSite=Lax');
    expect(pinCookie(base, 'tc2', 300_000)).toBe(
      'ROUTEID=.tc2; Path=/; Max-Age=300; HttpOnly; SameSite=Lax',
    );
    expect(clearPinCookie(base)).toContain('Max-Age=0');
  });
});
