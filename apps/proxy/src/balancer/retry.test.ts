import { describe, expect, it } from 'vitest';

import { marksMemberInError, mayRetry, type FailurePhase } from './retry.js';

const base = { method: 'GET', bodyReplayable: true, attempts: 1, maxAttempts: 3 };

describe('retry rules', () => {
  it('connect failures are retried for any method, POST included', () => {
    for (const method of ['GET', 'POST', 'PATCH', 'LOCK']) {
      expect(mayRetry({ ...base, method, phase: 'connect' })).toBe(true);
    }
  });
  it('failures after the request was written are retried for idempotent methods only', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) {
      expect(mayRetry({ ...base, method, phase: 'sent' })).toBe(true);
    }
    for (const method of ['POST', 'PATCH', 'CONNECT', 'LOCK']) {
      expect(mayRetry({ ...base, method, phase: 'sent' })).toBe(false);
    }
  });
  it('a body that cannot be sent again (streamed past the cap) blocks every retry', () => {
    for (const phase of ['connect', 'sent'] as FailurePhase[]) {
      expect(mayRetry({ ...base, method: 'PUT', phase, bodyReplayable: false })).toBe(false);
    }
  });
  it('timeouts and failures after response bytes reached the client are never retried', () => {
    expect(mayRetry({ ...base, phase: 'timeout' })).toBe(false);
    expect(mayRetry({ ...base, phase: 'responding' })).toBe(false);
  });
  it('maxAttempts bounds everything', () => {
    expect(mayRetry({ ...base, phase: 'connect', attempts: 3 })).toBe(false);
    expect(mayRetry({ ...base, phase: 'connect', attempts: 2 })).toBe(true);
    expect(mayRetry({ ...base, phase: 'connect', attempts: 1, maxAttempts: 1 })).toBe(false);
  });
  it('connect failures and resets mark the member in error; timeouts and late failures do not', () => {
    expect(marksMemberInError('connect')).toBe(true);
    expect(marksMemberInError('sent')).toBe(true);
    expect(marksMemberInError('timeout')).toBe(false);
    expect(marksMemberInError('responding')).toBe(false);
  });
  it('one request fault never marks the member at once and is never retried elsewhere', () => {
    for (const phase of ['invalid', 'request', 'queue'] as FailurePhase[]) {
      expect(marksMemberInError(phase)).toBe(false);
      expect(mayRetry({ ...base, phase })).toBe(false);
    }
  });
});
