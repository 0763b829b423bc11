import { decodeEnvelope, encodeEnvelope, encodeEnvelopeHeader } from '@cohort/membership';
import { createSession, decodeSession, encodeSession } from '@cohort/session-codec';
import { describe, expect, it } from 'vitest';

// Regression: the generated protobuf code of session-codec and membership once shared protobufjs's
// default root, so whichever loaded second replaced the other's `cohort` namespace. Each package
// now generates into a root of its own; both must work when loaded in one process (a session node
// loads both).
describe('session-codec and membership in one process', () => {
  it('both encode and decode', () => {
    const session = createSession({
      key: 'k1',
      now: 1_700_000_000_000,
      maxInactiveSeconds: 1800,
      attributes: { n: 1 },
    });
    expect(decodeSession(encodeSession(session)).key).toBe('k1');
    const env = decodeEnvelope(encodeEnvelope(encodeEnvelopeHeader('lab', 'node-a'), []));
    expect(env).toMatchObject({ cluster: 'lab', from: 'node-a', messages: [] });
  });
});
