import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MembershipError } from './errors.js';

const VERSION = 1;
const NONCE = 12;
const TAG = 16;

/** Bytes AES-256-GCM adds to every datagram and frame: version, nonce and tag. */
export const ENCRYPTION_OVERHEAD = 1 + NONCE + TAG;

/**
 * AES-256-GCM keyring. The first key encrypts; every key is tried to decrypt, so keys can be
 * rotated without downtime (install everywhere, make primary everywhere, then remove the old).
 * The cluster label is authenticated as associated data: packets of another cluster fail.
 * Format: `[version 1 B][nonce 12 B][ciphertext][tag 16 B]`.
 */
export class Keyring {
  private keys: Buffer[];
  private readonly aad: Buffer;

  /** `keys`: 32-byte keys (raw bytes or base64 strings), primary first. */
  constructor(keys: readonly (Uint8Array | string)[], label: string) {
    if (keys.length === 0) {
      throw new MembershipError('ERR_KEY', 'keys: at least one key is required', {
        field: 'keys',
        expected: 'one or more 32-byte keys',
      });
    }
    this.keys = keys.map((k, i) => Keyring.toKey(k, `keys[${i}]`));
    this.aad = Buffer.from(label, 'utf8');
  }

  /** Add a key (decrypt-only until made primary). */
  install(key: Uint8Array | string): void {
    const k = Keyring.toKey(key, 'key');
    if (!this.keys.some((x) => x.equals(k))) this.keys.push(k);
  }

  /** Make an installed key the one that encrypts. */
  use(key: Uint8Array | string): void {
    const k = Keyring.toKey(key, 'key');
    const i = this.keys.findIndex((x) => x.equals(k));
    if (i < 0)
      throw new MembershipError('ERR_KEY', 'key: not installed', {
        field: 'key',
        expected: 'an installed key',
      });
    this.keys.splice(i, 1);
    this.keys.unshift(k);
  }

  /** Remove a key that is not the primary. */
  remove(key: Uint8Array | string): void {
    const k = Keyring.toKey(key, 'key');
    const i = this.keys.findIndex((x) => x.equals(k));
    if (i === 0)
      throw new MembershipError('ERR_KEY', 'key: cannot remove the primary key', { field: 'key' });
    if (i > 0) this.keys.splice(i, 1);
  }

  /** Number of installed keys. */
  get size(): number {
    return this.keys.length;
  }

  /** Encrypt with the primary key and a fresh random nonce. */
  encrypt(plain: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE);
    const c = createCipheriv('aes-256-gcm', this.keys[0] as Buffer, nonce);
    c.setAAD(this.aad);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([Buffer.of(VERSION), nonce, body, c.getAuthTag()]);
  }

  /** Decrypt with any installed key. Throws `ERR_DECRYPT` when none fits. */
  decrypt(data: Uint8Array): Uint8Array {
    if (data.length < ENCRYPTION_OVERHEAD) {
      throw new MembershipError(
        'ERR_DECRYPT',
        `encrypted payload of ${data.length} bytes is too short`,
        {
          expected: `at least ${ENCRYPTION_OVERHEAD} bytes`,
          offset: 0,
        },
      );
    }
    if (data[0] !== VERSION) {
      throw new MembershipError(
        'ERR_DECRYPT',
        `encryption version ${String(data[0])} is not supported`,
        {
          field: 'version',
          expected: String(VERSION),
          offset: 0,
        },
      );
    }
    const nonce = data.subarray(1, 1 + NONCE);
    const body = data.subarray(1 + NONCE, data.length - TAG);
    const tag = data.subarray(data.length - TAG);
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(this.aad);
        d.setAuthTag(tag);
        return Buffer.concat([d.update(body), d.final()]);
      } catch {
        // try the next key
      }
    }
    throw new MembershipError(
      'ERR_DECRYPT',
      'no installed key decrypts this payload (wrong key or cluster label)',
      {
        expected: 'a payload sealed with an installed key and this cluster label',
      },
    );
  }

  private static toKey(k: Uint8Array | string, field: string): Buffer {
    const b = typeof k === 'string' ? Buffer.from(k, 'base64') : Buffer.from(k);
    if (b.length !== 32) {
      throw new MembershipError(
        'ERR_KEY',
        `${field}: ${b.length}-byte key, AES-256 needs 32 bytes`,
        {
          field,
          expected: '32 bytes (raw or base64)',
        },
      );
    }
    return b;
  }
}
