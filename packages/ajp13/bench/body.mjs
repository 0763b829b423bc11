// Body framing throughput: cutting a 1 MiB response body into SEND_BODY_CHUNK packets (headers
// written, data referenced, never copied) and decoding such a stream arriving in 64 KiB socket
// reads (data handed out as subarrays), against a plain Buffer.concat copy of the same bytes.
import { Buffer } from 'node:buffer';
import {
  ResponseDecoder,
  SEND_BODY_CHUNK_TRAILER,
  encodeRequestBody,
  requestBodyHeader,
  sendBodyChunkHeader,
  RequestDecoder,
} from '../dist/index.js';
import { fmt, rounds, save, table } from './lib.mjs';

const MiB = 1 << 20;
const P = 8192;
const body = Buffer.alloc(MiB);
for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
const maxResp = P - 8;
const maxReq = P - 6;

// the same body as 64 KiB reads from a socket, as AJP packets (response) and as raw bytes
const respStream = Buffer.concat(
  (() => {
    const parts = [];
    for (let o = 0; o < body.length; o += maxResp) {
      const d = body.subarray(o, o + maxResp);
      parts.push(sendBodyChunkHeader(d.length), d, SEND_BODY_CHUNK_TRAILER);
    }
    return parts;
  })(),
);
const reqStream = Buffer.concat(
  (() => {
    const parts = [];
    for (let o = 0; o < body.length; o += maxReq)
      parts.push(encodeRequestBody(body.subarray(o, o + maxReq)));
    return parts;
  })(),
);
const reqPackets = Math.ceil(body.length / maxReq);
const cut = (b) =>
  Array.from({ length: Math.ceil(b.length / 65536) }, (_, i) =>
    b.subarray(i * 65536, (i + 1) * 65536),
  );
const respReads = cut(respStream);
const reqReads = cut(reqStream);
const rawReads = cut(body);
let sink = 0;

const r = rounds(
  {
    'encode SEND_BODY_CHUNK framing (zero-copy)': (n) => {
      for (let k = 0; k < n; k++) {
        const out = [];
        for (let o = 0; o < body.length; o += maxResp) {
          const d = body.subarray(o, o + maxResp);
          out.push(sendBodyChunkHeader(d.length), d, SEND_BODY_CHUNK_TRAILER);
        }
        sink += out.length;
      }
    },
    'encode request body framing (zero-copy)': (n) => {
      for (let k = 0; k < n; k++) {
        const out = [];
        for (let o = 0; o < body.length; o += maxReq) {
          const d = body.subarray(o, o + maxReq);
          out.push(requestBodyHeader(d.length), d);
        }
        sink += out.length;
      }
    },
    'decode SEND_BODY_CHUNK stream': (n) => {
      for (let k = 0; k < n; k++) {
        const d = new ResponseDecoder();
        let got = 0;
        for (const c of respReads)
          for (const e of d.push(c)) if (e.type === 'body-chunk') got += e.data.length;
        sink += got;
      }
    },
    'decode request body stream': (n) => {
      for (let k = 0; k < n; k++) {
        const d = new RequestDecoder();
        // as a container does when it sends GET_BODY_CHUNK for each packet
        for (let i = 0; i < reqPackets; i++) d.expectBodyPacket();
        let got = 0;
        for (const c of reqReads)
          for (const e of d.push(c)) if (e.type === 'body') got += e.data.length;
        sink += got;
      }
    },
    'Buffer.concat copy of the same bytes': (n) => {
      for (let k = 0; k < n; k++) sink += Buffer.concat(rawReads).length;
    },
  },
  { batch: 4, ms: 400 },
);

const peer = r['Buffer.concat copy of the same bytes'];
const mbps = (x) => x.opsPerSec; // one op = 1 MiB
const rows = Object.entries(r).map(([k, v]) => [
  k,
  fmt(mbps(v)),
  fmt(v.cpuNsPerOp / 1e3 / 1, 0),
  `${fmt(peer.cpuNsPerOp / v.cpuNsPerOp, 2)}×`,
]);
table(['1 MiB body, P = 8192', 'MiB/s', 'CPU µs per MiB', 'vs Buffer.concat (CPU)'], rows);
if (sink === 42) console.log('');
save('body', { results: r });
