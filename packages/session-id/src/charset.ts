/**
 * Character classes for session ids, as lookup tables indexed by char code (0–255).
 *
 * A key is URL- and cookie-safe without quoting: letters, digits, `-` and `_` (hex and base64url
 * both fit). A route additionally allows `.` so that names such as `node.rack1` survive. Nothing
 * else is accepted on the request path: no `%` (so no percent-encoding tricks), no control
 * characters, no spaces, no quotes, no separators of other cookies.
 */
function table(extra: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  t[0x2d] = 1; // -
  t[0x5f] = 1; // _
  for (const ch of extra) t[ch.charCodeAt(0)] = 1;
  return t;
}

/** Characters allowed in a session key. */
export const KEY_CHARS: Uint8Array = table('');
/** Characters allowed in a route (a key's characters plus `.`). */
export const ROUTE_CHARS: Uint8Array = table('.');

/** True when every character of `s` is in `chars` (and `s` is not empty). */
export function isAllIn(s: string, chars: Uint8Array): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || chars[c] === 0) return false;
  }
  return true;
}
