import { describe, expect, it } from 'vitest';
import { describeBackend, newKey, newRequestId, sessionWith } from './backend.testkit.js';
import { SessionBackendError } from './errors.js';
import { MemoryBackend } from './memory-backend.js';

let clock = 1_700_000_000_000;
describeBackend('MemoryBackend', {
  make: async () => new MemoryBackend({ now: () => clock, idleGraceMs: 100 }),
  expiry: {
    graceMs: 100,
    advance: async (ms) => {
      clock += ms;
    },
  },
});

describe('MemoryBackend limits', () => {
  it('refuses more sessions than maxSessions with TOO_LARGE', async () => {
    const b = new MemoryBackend({ maxSessions: 1 });
    await b.create(sessionWith(newKey(), {}), { requestId: newRequestId() });
    await expect(
      b.create(sessionWith(newKey(), {}), { requestId: newRequestId() }),
    ).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await b.close();
  });

  it('refuses a negative grace', () => {
    expect(() => new MemoryBackend({ idleGraceMs: -1 })).toThrow(SessionBackendError);
  });
});
