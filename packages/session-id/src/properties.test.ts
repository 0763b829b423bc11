import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createExtractor } from './extract.js';
import { msmDialect } from './msm.js';
import { resinDialect } from './resin.js';
import { tomcatDialect } from './tomcat.js';
import { withRoute } from './with-route.js';

const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const keyArb = fc.string({ unit: fc.constantFrom(...(alnum + '-_')), minLength: 1, maxLength: 64 });
const hexKeyArb = fc.string({
  unit: fc.constantFrom(...'0123456789ABCDEF'),
  minLength: 1,
  maxLength: 64,
});
const routeArb = fc.string({
  unit: fc.constantFrom(...(alnum + '-_.')),
  minLength: 1,
  maxLength: 32,
});
const nodeArb = fc.string({ unit: fc.constantFrom(...(alnum + '_')), minLength: 1, maxLength: 8 });

describe('round trips: parse(format(x)) = x', () => {
  it('tomcat, with and without a route', () => {
    const t = tomcatDialect();
    fc.assert(
      fc.property(keyArb, fc.option(routeArb, { nil: undefined }), (key, route) => {
        expect(t.parse(t.format({ key, route }))).toEqual({ ok: true, key, route });
      }),
    );
  });

  it('tomcat with the WebLogic separator', () => {
    const t = tomcatDialect({ separator: '!' });
    fc.assert(
      fc.property(keyArb, routeArb, (key, route) => {
        expect(t.parse(t.format({ key, route }))).toEqual({ ok: true, key, route });
      }),
    );
  });

  it('msm', () => {
    const m = msmDialect();
    fc.assert(
      fc.property(
        hexKeyArb,
        nodeArb,
        fc.option(routeArb, { nil: undefined }),
        (key, storeNode, route) => {
          expect(m.parse(m.format({ key, storeNode, route }))).toEqual({
            ok: true,
            key,
            storeNode,
            route,
          });
        },
      ),
    );
  });

  it('resin', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(routeArb, { minLength: 1, maxLength: 64 }),
        keyArb,
        fc.nat(),
        (servers, key, pick) => {
          const r = resinDialect({ servers });
          const route = servers[pick % servers.length]!;
          expect(r.parse(r.format({ key, route }))).toEqual({ ok: true, key, route });
        },
      ),
    );
  });

  it('withRoute keeps the key and sets the route', () => {
    const t = tomcatDialect();
    fc.assert(
      fc.property(keyArb, routeArb, routeArb, (key, r1, r2) => {
        expect(t.parse(withRoute(t.format({ key, route: r1 }), r2))).toEqual({
          ok: true,
          key,
          route: r2,
        });
      }),
    );
  });

  it('the extractor finds any formatted id among other cookies', () => {
    const t = tomcatDialect();
    const extract = createExtractor();
    const otherCookie = fc
      .tuple(
        fc.string({ unit: fc.constantFrom(...alnum), minLength: 1, maxLength: 12 }),
        fc.string({ maxLength: 40 }),
      )
      .filter(([n]) => n !== 'JSESSIONID')
      .map(([n, v]) => `${n}=${v.replace(/[;\u0000-\u001f]/g, '')}`);
    fc.assert(
      fc.property(
        keyArb,
        routeArb,
        fc.array(otherCookie, { maxLength: 10 }),
        fc.nat(),
        (key, route, others, at) => {
          const pairs = [...others];
          pairs.splice(at % (pairs.length + 1), 0, `JSESSIONID=${t.format({ key, route })}`);
          expect(extract('/index.jsp', pairs.join('; '))).toMatchObject({
            found: true,
            key,
            route,
          });
        },
      ),
    );
  });
});
