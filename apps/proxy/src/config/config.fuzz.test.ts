import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ConfigError } from './errors.js';
import { parseConfig, validateConfig } from './load.js';

const VALID = `listen: 127.0.0.1:8000
workers: 2
timeouts: { connect: 2s, response: 1m }
balancers:
  - name: app
    method: hash
    hashKey: { source: cookie, name: sid }
    failback: when-idle
    failbackIdle: 10m
    members:
      - { url: "http://127.0.0.1:8080", route: tc1, loadfactor: 2, domain: A }
      - { url: "ajp://127.0.0.1:8009", route: tc2, secret: s, redirect: tc1, state: D }
`;

/** The parser either accepts (a complete config) or throws a ConfigError with located issues. */
function check(text: string): void {
  try {
    const c = parseConfig(text);
    expect(c.balancers.length).toBeGreaterThan(0);
    for (const b of c.balancers) expect(b.maxAttempts).toBeGreaterThan(0);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).issues.length).toBeGreaterThan(0);
  }
}

describe('config parser fuzzing', () => {
  it('the seed file is valid', () => {
    expect(parseConfig(VALID).balancers[0]!.members[1]!.state).toBe('disabled');
  });

  it('an unknown YAML tag is refused', () => {
    expect(() => parseConfig('!foo x')).toThrow(ConfigError);
  });

  it('random text: a ConfigError or a valid config, never another throw', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), check), { numRuns: 300 });
  });

  it('mutated valid files: a ConfigError or a valid config', () => {
    const mutation = fc.tuple(fc.nat(VALID.length), fc.nat(20), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        let text = VALID;
        for (const [at, del, ins] of muts) text = text.slice(0, at) + ins + text.slice(at + del);
        check(text);
      }),
      { numRuns: 200 },
    );
  }, 30_000);

  it('random JSON values: a ConfigError or a valid config', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        try {
          validateConfig(v);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
