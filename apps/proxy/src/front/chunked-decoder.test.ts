import { describe, expect, it } from 'vitest';

import { ChunkedDecoder } from './chunked-decoder.js';
import { FrontRequestError } from './errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** What feeding `pieces` (consecutive parts of one input) to a decoder gave. */
interface Fed {
  /** The body bytes handed to onData, concatenated. */
  body: string;
  /** Offset in the whole input just after the body, -1 when the decoder wants more. */
  end: number;
  /** How many onData calls. */
  calls: number;
}

/** Feeds `pieces` in order, stopping at the end of the body. */
function feed(pieces: Buffer[], maxLineBytes = 1024): Fed {
  const d = new ChunkedDecoder(maxLineBytes);
  const out: Buffer[] = [];
  let offset = 0;
  let calls = 0;
  for (const p of pieces) {
    const r = d.push(p, 0, (c) => {
      calls++;
      out.push(Buffer.from(c));
    });
    if (r !== -1) {
      expect(d.done).toBe(true);
      return { body: Buffer.concat(out).toString('latin1'), end: offset + r, calls };
    }
    expect(d.done).toBe(false);
    offset += p.length;
  }
  return { body: Buffer.concat(out).toString('latin1'), end: -1, calls };
}

/** `input` cut into pieces of `size` bytes. */
function pieces(input: Buffer, size: number): Buffer[] {
  const r: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) r.push(input.subarray(i, i + size));
  return r;
}

/** The error thrown while decoding `input` (whole, then byte by byte: both must refuse). */
function refusal(input: string, maxLineBytes = 1024): FrontRequestError {
  const errors: FrontRequestError[] = [];
  for (const split of [[b(input)], pieces(b(input), 1)]) {
    try {
      const r = feed(split, maxLineBytes);
      throw new Error(`decoded ${JSON.stringify(r)} from ${JSON.stringify(input)}`);
    } catch (e) {
      if (!(e instanceof FrontRequestError)) throw e;
      errors.push(e);
    }
  }
  expect(errors[1]!.message).toBe(errors[0]!.message);
  return errors[0]!;
}

describe('ChunkedDecoder: valid bodies', () => {
  it('decodes a single chunk and returns the offset after the last chunk', () => {
    const input = '5\r\nhello\r\n0\r\n\r\n';
    expect(feed([b(input)])).toEqual({ body: 'hello', end: input.length, calls: 1 });
  });

  it('decodes an empty body (the last chunk only)', () => {
    expect(feed([b('0\r\n\r\n')])).toEqual({ body: '', end: 5, calls: 0 });
  });

  it('decodes several chunks in order', () => {
    const input = '3\r\nabc\r\n1\r\nd\r\na\r\n0123456789\r\n0\r\n\r\n';
    expect(feed([b(input)])).toEqual({ body: 'abcd0123456789', end: input.length, calls: 3 });
  });

  it('reads hex sizes in upper and lower case, with leading zeros', () => {
    const data = 'x'.repeat(0xab);
    for (const size of ['ab', 'AB', 'aB', '00Ab', '00000000000ab'])
      expect(feed([b(`${size}\r\n${data}\r\n0\r\n\r\n`)]).body).toBe(data);
    const big = 'y'.repeat(0x1f0);
    expect(feed([b(`1F0\r\n${big}\r\n000\r\n\r\n`)]).body).toBe(big);
  });

  it('ignores chunk extensions, with or without values and whitespace', () => {
    const input =
      '3;name\r\nabc\r\n2;a=b;c="d e"\r\nde\r\n1 ;x\r\nf\r\n1\t; y = z\r\ng\r\n0;last=1\r\n\r\n';
    expect(feed([b(input)])).toEqual({ body: 'abcdefg', end: input.length, calls: 4 });
  });

  it('reads and drops trailer fields', () => {
    const input = '2\r\nok\r\n0\r\nX-Checksum: abc\r\nX-Other:\tv\xe9\r\n\r\n';
    expect(feed([b(input)])).toEqual({ body: 'ok', end: input.length, calls: 1 });
  });

  it('leaves the bytes after the body (the next request) unread', () => {
    const body = '4\r\nwxyz\r\n0\r\n\r\n';
    const input = b(body + 'GET /next HTTP/1.1\r\n\r\n');
    const d = new ChunkedDecoder(1024);
    const got: Buffer[] = [];
    const end = d.push(input, 0, (c) => got.push(c));
    expect(end).toBe(body.length);
    expect(input.toString('latin1', end)).toBe('GET /next HTTP/1.1\r\n\r\n');
    expect(Buffer.concat(got).toString()).toBe('wxyz');
  });

  it('starts at the given offset', () => {
    const input = b('JUNK2\r\nhi\r\n0\r\n\r\nrest');
    const d = new ChunkedDecoder(1024);
    const got: Buffer[] = [];
    expect(d.push(input, 4, (c) => got.push(c))).toBe(input.length - 4);
    expect(Buffer.concat(got).toString()).toBe('hi');
  });

  it('hands out views into the pushed buffer (no copy)', () => {
    const input = b('5\r\nhello\r\n0\r\n\r\n');
    const d = new ChunkedDecoder(1024);
    const views: Buffer[] = [];
    d.push(input, 0, (c) => views.push(c));
    expect(views).toHaveLength(1);
    expect(views[0]!.buffer).toBe(input.buffer);
    expect(views[0]!.byteOffset).toBe(input.byteOffset + 3);
  });

  it('once done, reads nothing more', () => {
    const d = new ChunkedDecoder(1024);
    expect(d.push(b('0\r\n\r\n'), 0, () => {})).toBe(5);
    expect(d.done).toBe(true);
    let called = false;
    expect(d.push(b('3\r\nabc\r\n'), 0, () => (called = true))).toBe(0);
    expect(d.push(b('xx'), 2, () => (called = true))).toBe(2);
    expect(called).toBe(false);
  });

  it('needs more (-1) until the final CRLF of the trailer section', () => {
    const d = new ChunkedDecoder(1024);
    expect(d.push(b('1\r\na\r\n0\r\nX: y\r\n'), 0, () => {})).toBe(-1);
    expect(d.done).toBe(false);
    expect(d.push(b('\r'), 0, () => {})).toBe(-1);
    expect(d.push(b('\nnext'), 0, () => {})).toBe(1);
    expect(d.done).toBe(true);
  });

  it('accepts 13 size digits and an extension or trailer section of exactly the limit', () => {
    expect(feed([b('0000000000003\r\nabc\r\n0\r\n\r\n')]).body).toBe('abc');
    // the size line with its extension: 16 bytes allowed with a limit of 16
    const ext16 = '3;' + 'e'.repeat(14);
    expect(feed([b(`${ext16}\r\nabc\r\n0\r\n\r\n`)], 16).body).toBe('abc');
    // trailer bytes (without CRLFs) over all trailer lines: 16 allowed
    expect(feed([b('0\r\nA: 12345\r\nB: 12345\r\n\r\n')], 16).end).toBe(25);
  });

  const samples: [string, string][] = [
    ['5\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\nU: w\r\n\r\nNEXT', 'abc0123456789'],
    ['1\r\n\r\r\n2\r\n\n\n\r\n0\r\n\r\n', '\r\n\n'],
    ['0\r\n\r\n\r\n', ''],
  ];
  for (const [input, body] of samples) {
    it(`gives the same bytes and end offset at every split of ${JSON.stringify(input)}`, () => {
      const whole = b(input);
      const bodyEnd =
        input.length - (input.endsWith('NEXT') ? 4 : input.endsWith('\r\n\r\n\r\n') ? 2 : 0);
      const expected = feed([whole]);
      expect(expected.body).toBe(body);
      expect(expected.end).toBe(bodyEnd);
      for (let k = 1; k < whole.length; k++) {
        const r = feed([whole.subarray(0, k), whole.subarray(k)]);
        expect([r.body, r.end], `split at ${k}`).toEqual([body, bodyEnd]);
      }
      for (let size = 1; size <= whole.length; size++) {
        const r = feed(pieces(whole, size));
        expect([r.body, r.end], `pieces of ${size}`).toEqual([body, bodyEnd]);
      }
    });
  }
});

const refusals: [string, string, number?][] = [
  ['a non-hex size', 'g\r\nabc\r\n0\r\n\r\n'],
  ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
  ['a negative size', '-5\r\nhello\r\n0\r\n\r\n'],
  ['a plus sign', '+5\r\nhello\r\n0\r\n\r\n'],
  ['an empty size line', '\r\n'],
  ['an extension without a size', ';x\r\n'],
  ['a space before the size', ' 5\r\nhello\r\n'],
  ['a size followed by junk', '5x\r\nhello\r\n'],
  ['a bare LF after the size', '3\nabc\r\n0\r\n\r\n'],
  ['a bare LF after the last-chunk size', '0\n\r\n'],
  ['a bare LF after an extension', '3;x\nabc\r\n0\r\n\r\n'],
  ['a CR after the size without LF', '3\rabc\r\n0\r\n\r\n'],
  ['a CR after an extension without LF', '3;x\rabc\r\n0\r\n\r\n'],
  ['data longer than its size', '3\r\nabcd\r\n0\r\n\r\n'],
  ['data shorter than its size', '5\r\nabc\r\n0\r\n\r\n'],
  ['data followed by a bare LF', '3\r\nabc\n0\r\n\r\n'],
  ['data followed by CR and no LF', '3\r\nabc\rX0\r\n\r\n'],
  ['data followed by nothing but the next size', '3\r\nabc0\r\n\r\n'],
  ['a NUL in an extension', '3;a\0b\r\nabc\r\n0\r\n\r\n'],
  ['a control character in an extension', '3;a\x01b\r\nabc\r\n0\r\n\r\n'],
  ['DEL in an extension', '3;a\x7fb\r\nabc\r\n0\r\n\r\n'],
  ['14 size digits', '00000000000003\r\nabc\r\n0\r\n\r\n'],
  ['a huge size', 'fffffffffffffffff\r\n'],
  ['a bare LF after a trailer field', '0\r\nX: y\n\r\n'],
  ['a bare LF ending the trailer section', '0\r\nX: y\r\n\n'],
  ['a bare LF right after the last chunk', '0\r\n\n'],
  ['a CR without LF ending the body', '0\r\n\rX'],
  ['a CR without LF after a trailer', '0\r\nX: y\rZ\r\n\r\n'],
  ['a control character in a trailer', '0\r\nX: a\x01\r\n\r\n'],
  ['a NUL in a trailer', '0\r\nX: \0\r\n\r\n'],
  ['DEL in a trailer', '0\r\nX: \x7f\r\n\r\n'],
  ['obs-fold (space) in the trailers', '0\r\nX: a\r\n b\r\n\r\n'],
  ['obs-fold (tab) in the trailers', '0\r\nX: a\r\n\tb\r\n\r\n'],
  ['a trailer section starting with a space', '0\r\n X: a\r\n\r\n'],
  ['an extension over the line limit', '3;' + 'e'.repeat(15) + '\r\nabc\r\n0\r\n\r\n', 16],
  ['a long extension on the last chunk', '0;' + 'e'.repeat(15) + '\r\n\r\n', 16],
  ['a trailer section over the limit', '0\r\nA: 12345\r\nB: 123456\r\n\r\n', 16],
  ['one long trailer field', '0\r\nX: ' + 'v'.repeat(2000) + '\r\n\r\n', 1024],
];

describe('ChunkedDecoder: refusals', () => {
  for (const [name, input, max] of refusals) {
    it(`${name} → BAD_CHUNK 400`, () => {
      const e = refusal(input, max);
      expect(e.code).toBe('BAD_CHUNK');
      expect(e.status).toBe(400);
    });
  }

  it('delivers no bytes of a chunk whose size line is bad', () => {
    const got: Buffer[] = [];
    const d = new ChunkedDecoder(1024);
    expect(() => d.push(b('3\r\nabc\r\nzz\r\nsecret\r\n'), 0, (c) => got.push(c))).toThrow(
      FrontRequestError,
    );
    expect(Buffer.concat(got).toString()).toBe('abc');
  });
});
