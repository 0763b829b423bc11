import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseAjpBackend, parseHttpBackend, parsePort } from './cli-args.js';
import { PeerError } from './errors.js';
import { runDirCreator } from './paths.js';

/** Runs `f`; a PeerError BAD_OPTION is a valid outcome, anything else thrown fails the property. */
function typedOrValue<T>(f: () => T): T | PeerError {
  try {
    return f();
  } catch (e) {
    if (e instanceof PeerError && e.code === 'BAD_OPTION') return e;
    throw e;
  }
}

const specChar = fc.constantFrom(
  ':',
  '[',
  ']',
  '.',
  '-',
  '0',
  '1',
  '8',
  '9',
  'a',
  'z',
  ' ',
  '\u0000',
  '%',
  '65536',
);

describe('CLI argument parsing', () => {
  it('parses the documented forms', () => {
    expect(parsePort('8080', '--port')).toBe(8080);
    expect(parsePort(undefined, '--port')).toBeUndefined();
    expect(parseHttpBackend('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHttpBackend('[::1]:81')).toEqual({ host: '::1', port: 81 });
    expect(parseAjpBackend('127.0.0.1:8009:tc1:s:e:c')).toEqual({
      host: '127.0.0.1',
      port: 8009,
      route: 'tc1',
      secret: 's:e:c',
    });
    expect(parseAjpBackend('h:1:r').secret).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(() => parsePort('0', '--port')).toThrow("--port '0' is not a port");
    expect(() => parsePort('1e3', '--port')).toThrow(PeerError);
    expect(() => parseHttpBackend('8080')).toThrow('must be HOST:PORT');
    expect(() => parseAjpBackend('h:1')).toThrow('HOST:PORT:ROUTE');
  });

  it('never throws anything but a BAD_OPTION PeerError, on any input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: specChar, maxLength: 12 })), (s) => {
        for (const r of [
          typedOrValue(() => parsePort(s, 'p')),
          typedOrValue(() => parseHttpBackend(s)),
          typedOrValue(() => parseAjpBackend(s)),
        ]) {
          if (r instanceof PeerError || r === undefined) continue;
          const port = typeof r === 'number' ? r : r.port;
          if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) return false;
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('reads a run directory creator PID only from well-formed names', () => {
    expect(runDirCreator('tomcat-tc-1-1234-7-abcdef')).toBe(1234);
    expect(runDirCreator('.cache')).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), (s) => {
        const pid = runDirCreator(s);
        return pid === undefined || (Number.isInteger(pid) && pid >= 0);
      }),
    );
  });
});
