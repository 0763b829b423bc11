/** First two bytes of every packet sent by the web server (proxy) to the container. */
export const MAGIC_TO_CONTAINER = 0x1234;
/** First two bytes (`"AB"`) of every packet sent by the container to the web server. */
export const MAGIC_FROM_CONTAINER = 0x4142;

/** Default packet size (header + payload) of Tomcat, mod_jk and mod_proxy_ajp. */
export const DEFAULT_PACKET_SIZE = 8192;
/** Largest packet size any AJP13 implementation accepts. */
export const MAX_PACKET_SIZE = 65536;
/** Smallest packet size the peers accept (smaller values are raised to it). */
export const MIN_PACKET_SIZE = 8192;

/** Message type bytes (the first payload byte). */
export const MessageType = {
  FORWARD_REQUEST: 0x02,
  SEND_BODY_CHUNK: 0x03,
  SEND_HEADERS: 0x04,
  END_RESPONSE: 0x05,
  GET_BODY_CHUNK: 0x06,
  SHUTDOWN: 0x07,
  PING: 0x08,
  CPONG_REPLY: 0x09,
  CPING: 0x0a,
} as const;

/** Method byte meaning "the method name is in attribute 0x0D". */
export const STORED_METHOD_CODE = 0xff;

/** Method names by code; index = code − 1 (codes 0x01…0x1B). */
export const METHODS: readonly string[] = [
  'OPTIONS',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'TRACE',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'ACL',
  'REPORT',
  'VERSION-CONTROL',
  'CHECKIN',
  'CHECKOUT',
  'UNCHECKOUT',
  'SEARCH',
  'MKWORKSPACE',
  'UPDATE',
  'LABEL',
  'MERGE',
  'BASELINE-CONTROL',
  'MKACTIVITY',
];

/** Method code by (upper-case) method name. */
export const METHOD_CODES: ReadonlyMap<string, number> = new Map(METHODS.map((m, i) => [m, i + 1]));

/** Request header names by code low byte; index = code − 0xA001 (lower case, as Tomcat exposes them). */
export const REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'authorization',
  'connection',
  'content-type',
  'content-length',
  'cookie',
  'cookie2',
  'host',
  'pragma',
  'referer',
  'user-agent',
];

/** Request header code by lower-case name. */
export const REQUEST_HEADER_CODES: ReadonlyMap<string, number> = new Map(
  REQUEST_HEADERS.map((h, i) => [h, 0xa001 + i]),
);

/** Response header names by code; index = code − 0xA001 (canonical case). */
export const RESPONSE_HEADERS: readonly string[] = [
  'Content-Type',
  'Content-Language',
  'Content-Length',
  'Date',
  'Last-Modified',
  'Location',
  'Set-Cookie',
  'Set-Cookie2',
  'Servlet-Engine',
  'Status',
  'WWW-Authenticate',
];

/** Response header code by lower-case name and by canonical name. */
export const RESPONSE_HEADER_CODES: ReadonlyMap<string, number> = new Map(
  RESPONSE_HEADERS.flatMap((h, i) => [
    [h.toLowerCase(), 0xa001 + i],
    [h, 0xa001 + i],
  ]),
);

/** Forward Request attribute codes. */
export const Attribute = {
  CONTEXT: 0x01,
  SERVLET_PATH: 0x02,
  REMOTE_USER: 0x03,
  AUTH_TYPE: 0x04,
  QUERY_STRING: 0x05,
  ROUTE: 0x06,
  SSL_CERT: 0x07,
  SSL_CIPHER: 0x08,
  SSL_SESSION: 0x09,
  REQ_ATTRIBUTE: 0x0a,
  SSL_KEY_SIZE: 0x0b,
  SECRET: 0x0c,
  STORED_METHOD: 0x0d,
  ARE_DONE: 0xff,
} as const;

/** Names of the message types, for error messages. */
export function messageTypeName(type: number): string {
  for (const [name, code] of Object.entries(MessageType)) if (code === type) return name;
  return `0x${type.toString(16).padStart(2, '0')}`;
}
