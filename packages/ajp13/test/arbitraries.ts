import fc from 'fast-check';
import {
  METHODS,
  REQUEST_HEADERS,
  RESPONSE_HEADERS,
  type AjpHeader,
  type ForwardAttributes,
  type ForwardRequest,
  type SendHeaders,
} from '../src/index.js';

/** Latin-1 text without NUL, CR and LF (what the encoder accepts and the decoder returns as is). */
export const text = (maxLength = 40, minLength = 0) =>
  fc.string({
    unit: fc
      .integer({ min: 1, max: 255 })
      .filter((c) => c !== 10 && c !== 13)
      .map((c) => String.fromCharCode(c)),
    minLength,
    maxLength,
  });

/** An HTTP token. */
export const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);

const notCl = (n: string) => n.toLowerCase() !== 'content-length';

/** A request header: coded names (any case) or string tokens; no Content-Length. */
export const requestHeader: fc.Arbitrary<AjpHeader> = fc.tuple(
  fc.oneof(
    fc
      .constantFrom(...REQUEST_HEADERS.filter(notCl))
      .chain((n) => fc.constantFrom(n, n.toUpperCase())),
    token.filter(notCl),
  ),
  text(60),
);

/** Forward Request attributes (each optional). */
export const attributes: fc.Arbitrary<ForwardAttributes> = fc.record(
  {
    context: text(20),
    servletPath: text(20),
    remoteUser: text(20),
    authType: text(10),
    queryString: text(60),
    route: text(10),
    sslCert: fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x01-\xff]/g, 'x')),
    sslCipher: text(30),
    sslSession: text(30),
    sslKeySize: fc.integer({ min: 0, max: 65535 }),
    secret: text(30),
    requestAttributes: fc.array(fc.tuple(text(20), text(20)), { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: [] },
);

/** A Forward Request that fits in 65536 bytes. */
export const forwardRequest: fc.Arbitrary<ForwardRequest> = fc.record({
  method: fc.oneof(fc.constantFrom(...METHODS), token),
  protocol: text(10, 1),
  uri: text(100, 1),
  remoteAddr: text(40),
  remoteHost: fc.option(text(40), { nil: null }),
  serverName: text(40),
  serverPort: fc.integer({ min: 0, max: 65535 }),
  isSsl: fc.boolean(),
  headers: fc.array(requestHeader, { maxLength: 20 }),
  attributes,
});

/** What the decoder returns for an encoded request. */
export function normalizeRequest(r: ForwardRequest) {
  return {
    ...r,
    headers: r.headers.map(([n, v]): AjpHeader => [
      REQUEST_HEADERS.includes(n.toLowerCase()) ? n.toLowerCase() : n,
      v,
    ]),
    contentLength: null,
  };
}

/** A SEND_HEADERS message. */
export const sendHeaders: fc.Arbitrary<SendHeaders> = fc.record({
  status: fc.integer({ min: 100, max: 999 }),
  reason: fc.option(text(30), { nil: null }),
  headers: fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...RESPONSE_HEADERS).chain((n) => fc.constantFrom(n, n.toLowerCase())),
        token,
      ),
      text(60),
    ),
    { maxLength: 20 },
  ),
});

/** What the decoder returns for an encoded SEND_HEADERS. */
export function normalizeSendHeaders(m: SendHeaders): SendHeaders {
  return {
    ...m,
    headers: m.headers.map(([n, v]): AjpHeader => [
      RESPONSE_HEADERS.find((c) => c.toLowerCase() === n.toLowerCase()) ?? n,
      v,
    ]),
  };
}
