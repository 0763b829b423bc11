import { describe, expect, it } from 'vitest';
import cookieSignature from 'cookie-signature';
import { createExtractor } from './extract.js';
import { msmDialect } from './msm.js';
import { resinDialect } from './resin.js';
import { tomcatDialect } from './tomcat.js';

const ID = '539DF5750E45A74AA7988AC84004C70A';

describe('createExtractor: Tomcat defaults', () => {
  const extract = createExtractor();

  it('finds JSESSIONID in a cookie header', () => {
    expect(extract('/app', `a=1; JSESSIONID=${ID}.tc1; b=2`)).toEqual({
      found: true,
      id: `${ID}.tc1`,
      key: ID,
      route: 'tc1',
      source: 'cookie',
      name: 'JSESSIONID',
    });
  });

  it('reads the ;jsessionid= path parameter before any cookie', () => {
    const r = extract(`/app/page;jsessionid=${ID}.tc2?x=1`, `JSESSIONID=${ID}.tc1`);
    expect(r).toMatchObject({
      found: true,
      route: 'tc2',
      source: 'path-parameter',
      name: 'jsessionid',
    });
  });

  it('ends the path parameter at ; ? # and /', () => {
    for (const end of [';x=1', '?q', '#frag', '/more']) {
      expect(extract(`/a;jsessionid=K.tc3${end}`, undefined)).toMatchObject({
        found: true,
        id: 'K.tc3',
      });
    }
  });

  it('ignores the path parameter inside the query string', () => {
    expect(extract('/a?x=;jsessionid=K.tc3', undefined)).toEqual({
      found: false,
      reason: 'absent',
      route: undefined,
    });
  });

  it('matches cookie names exactly, at the start of a pair only', () => {
    expect(extract('/', 'XJSESSIONID=K.tc1')).toMatchObject({ found: false, reason: 'absent' });
    expect(extract('/', 'a=JSESSIONID=K.tc1')).toMatchObject({ found: false, reason: 'absent' });
    expect(extract('/', 'jsessionid=K.tc1')).toMatchObject({ found: false, reason: 'absent' });
    expect(extract('/', 'JSESSIONID=K.tc1')).toMatchObject({ found: true, route: 'tc1' });
    expect(extract('/', 'a=1;JSESSIONID=K.tc1')).toMatchObject({ found: true, route: 'tc1' });
    expect(extract('/', 'a=1;  \tJSESSIONID=K.tc1')).toMatchObject({ found: true, route: 'tc1' });
  });

  it('trims blanks and strips quotes around a value', () => {
    expect(extract('/', 'JSESSIONID= K.tc1 ; a=1')).toMatchObject({ found: true, id: 'K.tc1' });
    expect(extract('/', 'JSESSIONID="K.tc1"')).toMatchObject({ found: true, id: 'K.tc1' });
  });

  it('tries every cookie of the name in order, skipping invalid ones', () => {
    expect(extract('/', 'JSESSIONID=; JSESSIONID=bad%20; JSESSIONID=K.tc2')).toMatchObject({
      found: true,
      route: 'tc2',
    });
  });

  it('reads several Cookie header lines', () => {
    expect(extract('/', ['a=1', `JSESSIONID=${ID}.tc1`])).toMatchObject({
      found: true,
      route: 'tc1',
    });
  });

  it('works on Buffer slices of the raw request', () => {
    const raw = Buffer.from(
      `GET /x;jsessionid=K.tc9 HTTP/1.1\r\nCookie: JSESSIONID=${ID}.tc1\r\n\r\n`,
    );
    const target = raw.subarray(4, 23);
    const cookie = raw.subarray(raw.indexOf('Cookie: ') + 8, raw.indexOf('\r\n\r\n'));
    expect(extract(target, cookie)).toMatchObject({
      found: true,
      id: 'K.tc9',
      source: 'path-parameter',
    });
    expect(extract(undefined, cookie)).toMatchObject({
      found: true,
      id: `${ID}.tc1`,
      source: 'cookie',
    });
    expect(extract(undefined, Buffer.from('JSESSIONID=K\u00e9.tc1', 'latin1'))).toMatchObject({
      found: false,
      reason: 'bad-character',
    });
  });

  it('returns the reason of the first refused candidate', () => {
    const cases: [string, string][] = [
      ['JSESSIONID=', 'empty'],
      ['JSESSIONID=K.', 'empty-route'],
      ['JSESSIONID=.tc1', 'empty-key'],
      ['JSESSIONID=K%2Etc1', 'bad-character'],
      ['JSESSIONID=K\u0001.tc1', 'bad-character'],
      [`JSESSIONID=${'A'.repeat(257)}`, 'too-long'],
      ['a=b', 'absent'],
    ];
    for (const [header, reason] of cases) {
      expect(extract('/', header)).toEqual({ found: false, reason, route: undefined });
    }
  });

  it('refuses to scan a Cookie header over the limit', () => {
    const e = createExtractor({ maxHeaderLength: 100 });
    expect(e('/', 'x=' + 'y'.repeat(200) + `; JSESSIONID=K.tc1`)).toEqual({
      found: false,
      reason: 'header-too-long',
      route: undefined,
    });
    expect(e('/;jsessionid=K.tc1', 'x=' + 'y'.repeat(200))).toMatchObject({ found: true });
  });
});

describe('createExtractor: options', () => {
  it('uses the configured cookie names in order', () => {
    const e = createExtractor({ cookieNames: ['SID', 'JSESSIONID'], pathParameter: null });
    expect(e('/', 'JSESSIONID=A.tc1; SID=B.tc2')).toMatchObject({ id: 'B.tc2', name: 'SID' });
    expect(e('/;jsessionid=C.tc3', 'JSESSIONID=A.tc1')).toMatchObject({ id: 'A.tc1' });
  });

  it('prefers the first id whose route is known, like mod_jk', () => {
    const e = createExtractor({ isKnownRoute: (r) => r === 'tc2' || r === 'tc3' });
    expect(e('/', 'JSESSIONID=A.old; JSESSIONID=B.tc2')).toMatchObject({ id: 'B.tc2' });
    expect(e('/', 'JSESSIONID=A.old; JSESSIONID=B.gone')).toMatchObject({
      found: true,
      id: 'A.old',
    });
  });

  it('takes the route from a routing cookie when configured', () => {
    const e = createExtractor({ routeCookie: 'ROUTEID' });
    expect(e('/', 'JSESSIONID=A.tc1; ROUTEID=.tc2')).toMatchObject({
      found: true,
      key: 'A',
      route: 'tc2',
    });
    expect(e('/', 'ROUTEID=.tc2')).toEqual({ found: false, reason: 'absent', route: 'tc2' });
    expect(e('/', 'ROUTEID=.t c2; JSESSIONID=A.tc1')).toMatchObject({ route: 'tc1' });
  });

  it('reads express-session signed cookies, verified or not', () => {
    const value = encodeURIComponent('s:' + cookieSignature.sign('Xk2-_9.app1', 'keyboard cat'));
    const verified = createExtractor({
      cookieNames: ['connect.sid'],
      signed: { secrets: ['keyboard cat'] },
    });
    expect(verified('/', `connect.sid=${value}`)).toMatchObject({
      found: true,
      id: 'Xk2-_9.app1',
      route: 'app1',
    });
    const wrong = createExtractor({ cookieNames: ['connect.sid'], signed: { secrets: ['other'] } });
    expect(wrong('/', `connect.sid=${value}`)).toMatchObject({
      found: false,
      reason: 'bad-signature',
    });
    const unverified = createExtractor({ cookieNames: ['connect.sid'], signed: {} });
    expect(unverified('/', `connect.sid=${value}`)).toMatchObject({ found: true, route: 'app1' });
    expect(unverified('/', 'connect.sid=s%3Abroken%ZZ.sig')).toMatchObject({
      reason: 'not-signed',
    });
    expect(unverified('/', 'connect.sid=plain.app1')).toMatchObject({ reason: 'not-signed' });
  });

  it('reads the other dialects', () => {
    const msm = createExtractor({ dialect: msmDialect() });
    expect(msm('/', `JSESSIONID=${ID}-n1.tomcat1`)).toMatchObject({
      key: ID,
      storeNode: 'n1',
      route: 'tomcat1',
    });
    const resin = createExtractor({ dialect: resinDialect({ servers: ['a', 'b'] }) });
    expect(resin('/', 'JSESSIONID=bXyZ')).toMatchObject({ key: 'XyZ', route: 'b' });
    const weblogic = createExtractor({ dialect: tomcatDialect({ separator: '!' }) });
    expect(weblogic('/', 'JSESSIONID=K!srv1')).toMatchObject({ key: 'K', route: 'srv1' });
  });

  it('refuses invalid option values', () => {
    expect(() => createExtractor({ cookieNames: ['bad name'] })).toThrow(/cookie name/);
    expect(() => createExtractor({ pathParameter: 'a;b' })).toThrow(/path parameter/);
    expect(() => createExtractor({ maxIdLength: 0 })).toThrow(/maxIdLength/);
  });
});
