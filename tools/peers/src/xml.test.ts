import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { serverXml } from './tomcat-config.js';
import { xmlAttr } from './xml.js';

/** The XML unescaping a parser applies to an attribute value (only the entities xmlAttr emits). */
function unescape(v: string): string {
  return v.replace(
    /&(lt|gt|quot|amp);/g,
    (_, e: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[e]!,
  );
}

/** Characters that matter to XML escaping, mixed with any UTF-16 code unit. */
const xmlishChar = fc.oneof(
  fc.constantFrom('&', '"', '<', '>', ';', '#', "'", 'a', 'amp', 'quot'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);

describe('xmlAttr', () => {
  it('round-trips any string and never leaves a quote, < or a bare & in the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: xmlishChar, maxLength: 64 }), (s) => {
        const v = xmlAttr(s);
        return !/["<>]/.test(v) && !/&(?!(lt|gt|quot|amp);)/.test(v) && unescape(v) === s;
      }),
    );
  });

  it('keeps a hostile AJP secret inside its attribute in server.xml', () => {
    fc.assert(
      fc.property(fc.string(), (secret) => {
        const xml = serverXml({
          route: 'r1',
          httpPort: 1,
          ajpPort: 2,
          ajpSecret: secret,
          allowedRequestAttributesPattern: '.*',
          cluster: undefined,
        });
        const m = /secret="([^"]*)"/.exec(xml);
        expect(m).not.toBeNull();
        expect(unescape(m![1]!)).toBe(secret);
      }),
    );
  });
});
