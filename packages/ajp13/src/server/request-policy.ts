import { createHash, timingSafeEqual } from 'node:crypto';
import type { DecodedForwardRequest } from '../forward-request.js';

/**
 * Request attribute (0x0A) names every container accepts: the ones httpd and mod_jk send by
 * default, the TLS names, and the IIS TLS names (Tomcat's built-in list).
 */
export const BUILTIN_REQUEST_ATTRIBUTES: ReadonlySet<string> = new Set([
  'AJP_REMOTE_PORT',
  'AJP_LOCAL_ADDR',
  'AJP_SSL_PROTOCOL',
  'JK_LB_ACTIVATION',
  'javax.servlet.request.cipher_suite',
  'javax.servlet.request.key_size',
  'javax.servlet.request.ssl_session',
  'javax.servlet.request.X509Certificate',
  'jakarta.servlet.request.cipher_suite',
  'jakarta.servlet.request.key_size',
  'jakarta.servlet.request.ssl_session',
  'jakarta.servlet.request.X509Certificate',
  'CERT_ISSUER',
  'CERT_SUBJECT',
  'CERT_COOKIE',
  'HTTPS_SERVER_SUBJECT',
  'CERT_FLAGS',
  'HTTPS_SECRETKEYSIZE',
  'CERT_SERIALNUMBER',
  'HTTPS_SERVER_ISSUER',
  'HTTPS_KEYSIZE',
]);

/** Why a request was refused by {@link checkRequest}. */
export interface PolicyRefusal {
  /** HTTP status to answer (403). */
  status: number;
  /** What was wrong (never contains the secret). */
  reason: string;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'latin1').digest();
}

let lastSecret: string | null = null;
let lastDigest: Buffer = Buffer.alloc(0);

/** The configured secret's digest, computed once (a server checks every request against it). */
function secretDigest(secret: string): Buffer {
  if (secret !== lastSecret) {
    lastDigest = digest(secret);
    lastSecret = secret;
  }
  return lastDigest;
}

/**
 * The container's Ghostcat-era checks (reference §5.4): the secret must match (compared in
 * constant time), and every request attribute name must be built in or fully match `allowed`.
 * Returns null when the request passes.
 */
export function checkRequest(
  fr: DecodedForwardRequest,
  secret: string | null,
  allowed: RegExp | null,
): PolicyRefusal | null {
  if (secret !== null) {
    const got = fr.attributes.secret;
    if (got === undefined) return { status: 403, reason: 'secret missing' };
    if (!timingSafeEqual(digest(got), secretDigest(secret)))
      return { status: 403, reason: 'secret wrong' };
  }
  for (const [name] of fr.attributes.requestAttributes ?? []) {
    if (BUILTIN_REQUEST_ATTRIBUTES.has(name)) continue;
    if (allowed !== null) {
      const m = allowed.exec(name);
      if (m !== null && m.index === 0 && m[0].length === name.length) continue;
    }
    return { status: 403, reason: `request attribute not allowed: ${name.slice(0, 64)}` };
  }
  return null;
}
