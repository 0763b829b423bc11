/** Any UTF-16 code unit above 0xFF (surrogates included). */
const ABOVE_LATIN1 = /[\u0100-\uffff]/;

/**
 * True when every UTF-16 code unit of `s` is at most 0xFF, so it is written as `latin1_value`,
 * one byte per character, and read back by cutting the bytes' Latin-1 text with no validation
 * (every byte is a character). Other text is written as UTF-8 in `string_value`.
 *
 * @param s - the text
 */
export function isLatin1(s: string): boolean {
  const n = s.length;
  if (n < 64) {
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0xff) return false;
    return true;
  }
  return !ABOVE_LATIN1.test(s);
}
