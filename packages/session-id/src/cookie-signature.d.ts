// Types for the `cookie-signature` package (express-session's signer), used by the tests to check
// that signed ids are byte-for-byte what express-session writes.
declare module 'cookie-signature' {
  const signature: {
    sign(value: string, secret: string): string;
    unsign(signed: string, secret: string): string | false;
  };
  export default signature;
}
