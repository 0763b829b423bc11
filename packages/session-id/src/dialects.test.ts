import { describe, expect, it } from 'vitest';
import { msmDialect } from './msm.js';
import { resinDialect, resinOwnerIndex } from './resin.js';
import { tomcatDialect } from './tomcat.js';
import { SessionIdError } from './errors.js';
import { withRoute } from './with-route.js';

describe('tomcat dialect', () => {
  const t = tomcatDialect();

  it('formats and parses <key>.<route>', () => {
    expect(t.format({ key: '539DF5750E45A74AA7988AC84004C70A', route: 'tc1' })).toBe(
      '539DF5750E45A74AA7988AC84004C70A.tc1',
    );
    expect(t.parse('539DF5750E45A74AA7988AC84004C70A.tc1')).toEqual({
      ok: true,
      key: '539DF5750E45A74AA7988AC84004C70A',
      route: 'tc1',
    });
  });

  it('takes the route as everything after the first separator, as mod_jk does', () => {
    expect(t.parse('ABC.node.rack1')).toEqual({ ok: true, key: 'ABC', route: 'node.rack1' });
  });

  it('parses an id without a route', () => {
    expect(t.parse('ABC')).toEqual({ ok: true, key: 'ABC', route: undefined });
    expect(t.format({ key: 'ABC', route: undefined })).toBe('ABC');
  });

  it('refuses empty parts and bad characters with a reason', () => {
    expect(t.parse('')).toEqual({ ok: false, reason: 'empty' });
    expect(t.parse('.tc1')).toEqual({ ok: false, reason: 'empty-key' });
    expect(t.parse('ABC.')).toEqual({ ok: false, reason: 'empty-route' });
    expect(t.parse('AB%2EC.tc1')).toEqual({ ok: false, reason: 'bad-character' });
    expect(t.parse('ABC.tc\n1')).toEqual({ ok: false, reason: 'bad-character' });
    expect(t.parse('AB C')).toEqual({ ok: false, reason: 'bad-character' });
    expect(t.parse('ABC.t\u0101')).toEqual({ ok: false, reason: 'bad-character' });
  });

  it('reads WebLogic ids with the ! separator', () => {
    const w = tomcatDialect({ separator: '!' });
    expect(w.parse('ABC!server1')).toEqual({ ok: true, key: 'ABC', route: 'server1' });
    expect(w.parse('ABC.x!server1')).toEqual({ ok: false, reason: 'bad-character' });
    expect(w.format({ key: 'ABC', route: 's.1' })).toBe('ABC!s.1');
  });

  it('refuses separators that can occur in a key', () => {
    for (const sep of ['a', '-', '_', '', '..', ' ']) {
      expect(() => tomcatDialect({ separator: sep })).toThrow(SessionIdError);
    }
  });

  it('refuses to format an invalid key or route', () => {
    expect(() => t.format({ key: '', route: 'tc1' })).toThrow(/key/);
    expect(() => t.format({ key: 'A;B', route: 'tc1' })).toThrow(/key/);
    expect(() => t.format({ key: 'AB', route: '' })).toThrow(/route/);
    expect(() => t.format({ key: 'AB', route: 'a b' })).toThrow(/route/);
  });

  it('rewrites the route and keeps the key', () => {
    expect(withRoute('ABC.tc1', 'tc2')).toBe('ABC.tc2');
    expect(withRoute('ABC', 'tc2')).toBe('ABC.tc2');
    expect(withRoute('ABC.a.b', 'tc2')).toBe('ABC.tc2');
    expect(() => withRoute('ABC.tc1', 'bad route')).toThrow(SessionIdError);
  });
});

describe('msm dialect', () => {
  const m = msmDialect();

  it('formats and parses <key>-<storeNode>.<route>', () => {
    const id = '602F7397FBE4D9932E59A9D0E52FE178-n1.tomcat1';
    expect(m.parse(id)).toEqual({
      ok: true,
      key: '602F7397FBE4D9932E59A9D0E52FE178',
      storeNode: 'n1',
      route: 'tomcat1',
    });
    expect(
      m.format({ key: '602F7397FBE4D9932E59A9D0E52FE178', storeNode: 'n1', route: 'tomcat1' }),
    ).toBe(id);
  });

  it('parses ids without a store node or route', () => {
    expect(m.parse('ABC.tc1')).toEqual({ ok: true, key: 'ABC', route: 'tc1' });
    expect(m.parse('ABC-n2')).toEqual({ ok: true, key: 'ABC', storeNode: 'n2', route: undefined });
  });

  it('refuses malformed ids', () => {
    expect(m.parse('-n1.tc1')).toEqual({ ok: false, reason: 'empty-key' });
    expect(m.parse('ABC-.tc1')).toEqual({ ok: false, reason: 'bad-format' });
    expect(m.parse('ABC-n1.')).toEqual({ ok: false, reason: 'empty-route' });
  });

  it('rewrites the route and keeps key and store node', () => {
    expect(m.withRoute('ABC-n1.tc1', 'tc2')).toBe('ABC-n1.tc2');
    expect(() => m.withRoute('bad id', 'tc2')).toThrow(SessionIdError);
  });

  it('refuses keys containing the store-node separator', () => {
    expect(() => m.format({ key: 'A-B', route: 'tc1' })).toThrow(/must not contain/);
  });
});

describe('resin dialect', () => {
  it('decodes the owner character as mod_caucho does, modulo the cluster size', () => {
    const cases: [string, number][] = [
      ['a', 0],
      ['b', 1],
      ['z', 25],
      ['A', 26],
      ['Z', 51],
      ['0', 52],
      ['9', 61],
      ['_', 62],
      ['-', 63],
    ];
    for (const [ch, index] of cases) expect(resinOwnerIndex(ch + 'xyz', 64)).toBe(index);
    expect(resinOwnerIndex('cxyz', 2)).toBe(0);
    expect(resinOwnerIndex('dxyz', 3)).toBe(0);
    expect(resinOwnerIndex('Axyz', 5)).toBe(1);
    expect(resinOwnerIndex('.xyz', 3)).toBe(-1);
    expect(resinOwnerIndex('', 3)).toBe(-1);
  });

  it('maps the owner to the server name as the route', () => {
    const r = resinDialect({ servers: ['app-a', 'app-b', 'app-c'] });
    expect(r.parse('bQmT3xk')).toEqual({ ok: true, key: 'QmT3xk', route: 'app-b' });
    expect(r.parse('eQmT3xk')).toEqual({ ok: true, key: 'QmT3xk', route: 'app-b' });
    expect(r.format({ key: 'QmT3xk', route: 'app-c' })).toBe('cQmT3xk');
    expect(r.withRoute('bQmT3xk', 'app-a')).toBe('aQmT3xk');
  });

  it('refuses bad ids and unknown routes', () => {
    const r = resinDialect({ servers: ['s1', 's2'] });
    expect(r.parse('')).toEqual({ ok: false, reason: 'empty' });
    expect(r.parse('a')).toEqual({ ok: false, reason: 'empty-key' });
    expect(r.parse('.abc')).toEqual({ ok: false, reason: 'bad-character' });
    expect(r.parse('ab.c')).toEqual({ ok: false, reason: 'bad-character' });
    expect(() => r.format({ key: 'abc', route: 's3' })).toThrow(/servers/);
    expect(() => r.format({ key: 'abc', route: undefined })).toThrow(SessionIdError);
    expect(() => resinDialect({ servers: [] })).toThrow(/1 to 64/);
    expect(() => resinDialect({ servers: ['a', 'a'] })).toThrow(/distinct/);
  });
});
