import { describe, expect, it } from 'vitest';
import { SessionBackendError, isBackendError } from './errors.js';

describe('SessionBackendError', () => {
  it('carries its code, name and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new SessionBackendError('UNAVAILABLE', 'redis at 127.0.0.1:1 refused', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SessionBackendError');
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.cause).toBe(cause);
    expect(isBackendError(err)).toBe(true);
    expect(isBackendError(err, 'UNAVAILABLE')).toBe(true);
    expect(isBackendError(err, 'TIMEOUT')).toBe(false);
    expect(isBackendError(cause)).toBe(false);
  });
});
