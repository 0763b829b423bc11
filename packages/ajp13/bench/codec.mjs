// Decode and encode of a typical browser Forward Request (GET, 12 headers, ~600 bytes) and of a
// typical SEND_HEADERS, against JSON.parse / JSON.stringify of the same message as a plain object.
import { Buffer } from 'node:buffer';
import {
  RequestDecoder,
  decodeForwardRequestPayload,
  decodeSendHeadersPayload,
  encodeForwardRequest,
  encodeSendHeaders,
} from '../dist/index.js';
import { fmt, rounds, save, table } from './lib.mjs';

const request = {
  method: 'GET',
  protocol: 'HTTP/1.1',
  uri: '/shop/catalog/item/4711',
  remoteAddr: '203.0.113.42',
  remoteHost: null,
  serverName: 'shop.example.com',
  serverPort: 443,
  isSsl: true,
  headers: [
    ['host', 'shop.example.com'],
    [
      'user-agent',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    ],
    [
      'accept',
      'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
    ],
    ['accept-language', 'en-US,en;q=0.9,de;q=0.8'],
    ['accept-encoding', 'gzip, deflate, br, zstd'],
    ['cookie', 'JSESSIONID=35BEF698BA0927471D168BA08EBCD6D4.node1; theme=dark'],
    ['referer', 'https://shop.example.com/shop/catalog'],
    ['connection', 'keep-alive'],
    ['upgrade-insecure-requests', '1'],
    ['sec-fetch-dest', 'document'],
    ['sec-fetch-mode', 'navigate'],
    ['content-length', '0'],
  ],
  attributes: {
    secret: 'a-32-character-shared-ajp-secret',
    queryString: 'color=red&size=m',
    route: 'node1',
    requestAttributes: [
      ['AJP_REMOTE_PORT', '53412'],
      ['AJP_LOCAL_ADDR', '10.0.0.5'],
    ],
  },
};
const response = {
  status: 200,
  reason: '200',
  headers: [
    ['Content-Type', 'text/html;charset=UTF-8'],
    ['Content-Language', 'en-US'],
    ['Date', 'Sat, 21 Nov 2026 14:00:00 GMT'],
    ['Set-Cookie', 'JSESSIONID=35BEF698BA0927471D168BA08EBCD6D4.node1; Path=/; Secure; HttpOnly'],
    ['Cache-Control', 'no-cache'],
    ['Vary', 'Accept-Encoding'],
    ['X-Frame-Options', 'SAMEORIGIN'],
    ['Content-Length', '14230'],
  ],
};

const frBytes = encodeForwardRequest(request);
const frJson = JSON.stringify(request);
const shBytes = encodeSendHeaders(response);
const shJson = JSON.stringify(response);
const fedStream = Buffer.concat(Array.from({ length: 100 }, () => frBytes));
let sink = 0;

const r = rounds({
  'FR decode (AJP)': (n) => {
    for (let i = 0; i < n; i++) sink += decodeForwardRequestPayload(frBytes, 4).headers.length;
  },
  'FR decode (AJP, streaming, 100 per chunk)': (n) => {
    for (let i = 0; i < n; i += 100) sink += new RequestDecoder().push(fedStream).length;
  },
  'FR JSON.parse': (n) => {
    for (let i = 0; i < n; i++) sink += JSON.parse(frJson).headers.length;
  },
  'FR encode (AJP)': (n) => {
    for (let i = 0; i < n; i++) sink += encodeForwardRequest(request).length;
  },
  'FR JSON.stringify': (n) => {
    for (let i = 0; i < n; i++) sink += JSON.stringify(request).length;
  },
  'SEND_HEADERS decode (AJP)': (n) => {
    for (let i = 0; i < n; i++) sink += decodeSendHeadersPayload(shBytes, 4).headers.length;
  },
  'SEND_HEADERS JSON.parse': (n) => {
    for (let i = 0; i < n; i++) sink += JSON.parse(shJson).headers.length;
  },
  'SEND_HEADERS encode (AJP)': (n) => {
    for (let i = 0; i < n; i++) sink += encodeSendHeaders(response).length;
  },
  'SEND_HEADERS JSON.stringify': (n) => {
    for (let i = 0; i < n; i++) sink += JSON.stringify(response).length;
  },
});

console.log(
  `Forward Request: ${frBytes.length} bytes AJP, ${frJson.length} bytes JSON; SEND_HEADERS: ${shBytes.length} bytes AJP, ${shJson.length} bytes JSON\n`,
);
const pairs = [
  ['FR decode (AJP)', 'FR JSON.parse'],
  ['FR decode (AJP, streaming, 100 per chunk)', 'FR JSON.parse'],
  ['FR encode (AJP)', 'FR JSON.stringify'],
  ['SEND_HEADERS decode (AJP)', 'SEND_HEADERS JSON.parse'],
  ['SEND_HEADERS encode (AJP)', 'SEND_HEADERS JSON.stringify'],
];
const rows = pairs.map(([a, b]) => [
  a,
  fmt(r[a].opsPerSec),
  fmt(r[a].cpuNsPerOp),
  b,
  fmt(r[b].opsPerSec),
  fmt(r[b].cpuNsPerOp),
  `${fmt(r[b].cpuNsPerOp / r[a].cpuNsPerOp, 2)}×`,
]);
table(['AJP13', 'ops/s', 'CPU ns/op', 'peer', 'ops/s', 'CPU ns/op', 'AJP speed-up (CPU)'], rows);
if (sink === 42) console.log('');
save('codec', {
  sizes: {
    frBytes: frBytes.length,
    frJson: frJson.length,
    shBytes: shBytes.length,
    shJson: shJson.length,
  },
  results: r,
});
