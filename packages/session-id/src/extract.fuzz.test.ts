import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createExtractor, type Extraction } from './extract.js';
import { resinDialect } from './resin.js';

const REAL_HEADER =
  '_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; ' +
  'JSESSIONID=539DF5750E45A74AA7988AC84004C70A.tc1; theme=dark; lang=en-US; ' +
  'csrftoken=Xk2p9QmT3xkLw8ZtYb7cVn4Rf6Hj1Ds0; ROUTEID=.tc1; consent=yes; tz=Europe%2FBerlin';
const REAL_TARGET = '/shop/cart;jsessionid=539DF5750E45A74AA7988AC84004C70A.tc2?item=42&qty=1';

const extractors = [
  createExtractor(),
  createExtractor({ routeCookie: 'ROUTEID', isKnownRoute: (r) => r.length === 3 }),
  createExtractor({ cookieNames: ['connect.sid'], signed: { secrets: ['s'] } }),
  createExtractor({ cookieNames: ['connect.sid', 'JSESSIONID'], signed: {} }),
  createExtractor({ dialect: resinDialect({ servers: ['a', 'b', 'c'] }) }),
];

/** Extraction never throws; a result is either a valid session or a no-session with a reason. */
function checkAll(target: string | Buffer | undefined, cookie: string | Buffer | undefined): void {
  for (const extract of extractors) {
    let r: Extraction;
    try {
      r = extract(target, cookie);
    } catch (err) {
      throw new Error(
        `extractor threw on ${JSON.stringify(String(target))} / ${JSON.stringify(String(cookie))}: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    if (r.found) {
      expect(r.key.length).toBeGreaterThan(0);
      expect(r.id).not.toMatch(/[\u0000-\u0020;%"]/);
      if (r.route !== undefined) expect(r.route.length).toBeGreaterThan(0);
    } else {
      expect(typeof r.reason).toBe('string');
    }
  }
}

/** Applies byte-level mutations (replace, insert, delete, duplicate a slice) to a real header. */
const mutated = (base: string) =>
  fc
    .array(
      fc.tuple(
        fc.nat(),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 1, max: 40 }),
      ),
      { minLength: 1, maxLength: 8 },
    )
    .map((edits) => {
      const bytes = [...Buffer.from(base, 'latin1')];
      for (const [pos, kind, byte, len] of edits) {
        const at = pos % (bytes.length + 1);
        if (kind === 0 && at < bytes.length) bytes[at] = byte;
        else if (kind === 1) bytes.splice(at, 0, byte);
        else if (kind === 2) bytes.splice(at, len);
        else bytes.splice(at, 0, ...bytes.slice(at, at + len));
      }
      return Buffer.from(bytes);
    });

describe('extractor fuzz', () => {
  it('never throws on random strings', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 300 })),
        fc.option(fc.string({ maxLength: 800 })),
        (t, c) => {
          checkAll(t ?? undefined, c ?? undefined);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 800 }), (t, c) => {
        checkAll(Buffer.from(t), Buffer.from(c));
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated real headers and targets', () => {
    fc.assert(
      fc.property(mutated(REAL_TARGET), mutated(REAL_HEADER), (t, c) => {
        checkAll(t, c);
        checkAll(t.toString('latin1'), c.toString('latin1'));
      }),
      { numRuns: 5000 },
    );
  });

  it('stays linear on hostile inputs of a megabyte', () => {
    const extract = createExtractor({ maxHeaderLength: 4 << 20, routeCookie: 'ROUTEID' });
    const hostile: [string, string][] = [
      ['/', 'JSESSIONID='.repeat(100_000)],
      ['/', 'JSESSIONID=' + 'A'.repeat(1 << 20)],
      ['/', ' '.repeat(1 << 20) + 'JSESSIONID=K.tc1'],
      ['/', 'a=1; '.repeat(200_000)],
      ['/', 'ROUTEID=.'.repeat(100_000)],
      [';jsessionid='.repeat(100_000), ''],
      ['/' + ';jsessionid=K.'.repeat(70_000), ''],
    ];
    for (const [target, cookie] of hostile) {
      const started = process.hrtime.bigint();
      extract(target, cookie);
      extract(Buffer.from(target), Buffer.from(cookie));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // A quadratic scan of 1 MB would take minutes; linear takes a few milliseconds.
      expect(ms).toBeLessThan(1000);
    }
  });
});
