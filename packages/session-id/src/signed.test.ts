import { describe, expect, it } from 'vitest';
// express-session signs its cookie with cookie-signature: ours must produce and accept the same.
import cookieSignature from 'cookie-signature';
import { signSessionId, unsignSessionId } from './signed.js';

describe('signed ids (express-session format)', () => {
  it('produces exactly what express-session writes', () => {
    for (const id of ['abc', 'Xk2-_9.tc1', 'a'.repeat(200)]) {
      expect(signSessionId(id, 'keyboard cat')).toBe(
        's:' + cookieSignature.sign(id, 'keyboard cat'),
      );
    }
  });

  it('verifies values signed by express-session', () => {
    const signed = 's:' + cookieSignature.sign('Xk2.tc1', 'secret-one');
    expect(unsignSessionId(signed, ['secret-one'])).toEqual({ ok: true, value: 'Xk2.tc1' });
  });

  it('rotates secrets: the first signs, every one verifies', () => {
    const old = signSessionId('id.tc1', 'old');
    expect(unsignSessionId(old, ['new', 'old'])).toEqual({ ok: true, value: 'id.tc1' });
    expect(unsignSessionId(old, ['new'])).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses tampered and unsigned values', () => {
    const good = signSessionId('id.tc1', 's3');
    expect(unsignSessionId(good.replace('tc1', 'tc2'), ['s3'])).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(unsignSessionId(good.slice(0, -1), ['s3'])).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(unsignSessionId('id.tc1', ['s3'])).toEqual({ ok: false, reason: 'not-signed' });
    expect(unsignSessionId('s:.', ['s3'])).toEqual({ ok: false, reason: 'not-signed' });
    expect(unsignSessionId(good, [])).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses to sign without a secret', () => {
    expect(() => signSessionId('id', '')).toThrow(/secret/);
  });
});
