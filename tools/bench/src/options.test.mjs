import { describe, expect, it } from 'vitest';

import { BENCHES } from './benches.mjs';
import { BenchOptionError, benchEnv, isQuick, matches, selectBenches } from './options.mjs';

const names = (bs) => bs.map((b) => b.name);

describe('selectBenches', () => {
  it('runs every bench, in registry order, without BENCH_ONLY', () => {
    expect(names(selectBenches(BENCHES, undefined))).toEqual(names(BENCHES));
    expect(names(selectBenches(BENCHES, ' , '))).toEqual(names(BENCHES));
  });

  it('takes exact names, groups and name prefixes, in registry order', () => {
    expect(names(selectBenches(BENCHES, 'membership,proxy-ajp'))).toEqual([
      'proxy-ajp',
      'membership',
    ]);
    expect(names(selectBenches(BENCHES, 'proxy'))).toEqual([
      'proxy-http',
      'proxy-ajp',
      'proxy-attacks',
    ]);
    expect(names(selectBenches(BENCHES, 'ajp13'))).toEqual([
      'ajp13-codec',
      'ajp13-body',
      'ajp13-e2e',
    ]);
    expect(names(selectBenches(BENCHES, 'codecs'))).toContain('session-codec');
  });

  it('does not take a prefix that is not a whole dash-separated part', () => {
    expect(matches('prox', { name: 'proxy-http', group: 'proxy' })).toBe(false);
    expect(matches('session', { name: 'session-codec', group: 'codecs' })).toBe(true);
  });

  it('refuses a name that selects nothing, naming it', () => {
    let err;
    try {
      selectBenches(BENCHES, 'proxy,nope');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BenchOptionError);
    expect(err.code).toBe('UNKNOWN_BENCH');
    expect(err.message).toContain('nope');
    expect(err.message).not.toContain('proxy,');
  });
});

describe('isQuick', () => {
  it('reads 1, true and yes as the short run, anything else as the full one', () => {
    for (const v of ['1', 'true', 'YES', ' 1 ']) expect(isQuick(v)).toBe(true);
    for (const v of [undefined, '', '0', 'false', 'no', '2']) expect(isQuick(v)).toBe(false);
  });
});

describe('benchEnv', () => {
  it('keeps the runner variables from the benches (some read BENCH_ONLY with another meaning)', () => {
    const env = benchEnv({ BENCH_ONLY: 'proxy', BENCH_QUICK: '1', PATH: '/bin', X: 'a' }, {});
    expect(env).toEqual({ PATH: '/bin', X: 'a' });
  });

  it("lets the mode's variables win over the caller's", () => {
    const env = benchEnv(
      { BENCH_SECONDS: '9', BENCH_QUICK: '1' },
      { BENCH_SECONDS: '2', BENCH_QUICK: '1' },
    );
    expect(env).toEqual({ BENCH_SECONDS: '2', BENCH_QUICK: '1' });
  });
});
