/**
 * Test helper: bytes from the notation of reference/ajp13.md, e.g. `12 34 00 08 "HTTP/1.1" 00`.
 * Hex pairs and double-quoted ASCII strings, separated by whitespace.
 */
export function hex(text: string): Buffer {
  const out: number[] = [];
  const re = /"([^"]*)"|([0-9A-Fa-f]{2})|(\S+)/g;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) for (const ch of m[1]) out.push(ch.charCodeAt(0));
    else if (m[2] !== undefined) out.push(parseInt(m[2], 16));
    else throw new Error(`bad token in hex text: ${m[3]}`);
  }
  return Buffer.from(out);
}

/** Feeds `bytes` to `push` split at the given offsets and concatenates the results. */
export function feedSplit<E>(push: (b: Buffer) => E[], bytes: Buffer, cuts: number[]): E[] {
  const events: E[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    events.push(...push(bytes.subarray(prev, c)));
    prev = c;
  }
  return events;
}
