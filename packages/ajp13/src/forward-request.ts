import {
  Attribute,
  DEFAULT_PACKET_SIZE,
  MAGIC_TO_CONTAINER,
  METHOD_CODES,
  METHODS,
  MessageType,
  REQUEST_HEADER_CODES,
  REQUEST_HEADERS,
  STORED_METHOD_CODE,
} from './constants.js';
import { AjpProtocolError } from './errors.js';
import { PacketWriter } from './packet-writer.js';
import { PayloadReader } from './payload-reader.js';

/** One header as a `[name, value]` pair; repeated headers are repeated pairs, in order. */
export type AjpHeader = [name: string, value: string];

/** The optional attributes of a Forward Request (the part after the headers). */
export interface ForwardAttributes {
  /** 0x01 context (ignored by Tomcat). */
  context?: string;
  /** 0x02 servlet_path (ignored by Tomcat). */
  servletPath?: string;
  /** 0x03 remote_user. */
  remoteUser?: string;
  /** 0x04 auth_type. */
  authType?: string;
  /** 0x05 query_string: raw, undecoded, without the leading `?`. */
  queryString?: string;
  /** 0x06 route (jvm_route) chosen by the balancer. */
  route?: string;
  /** 0x07 ssl_cert: PEM text (may hold newlines). */
  sslCert?: string;
  /** 0x08 ssl_cipher. */
  sslCipher?: string;
  /** 0x09 ssl_session. */
  sslSession?: string;
  /** 0x0B ssl_key_size in bits (a bare u16 on the wire). */
  sslKeySize?: number;
  /** 0x0C secret shared with the container. */
  secret?: string;
  /** 0x0A req_attribute entries, `[name, value]`, in order. */
  requestAttributes?: AjpHeader[];
}

/** A FORWARD_REQUEST (0x02), web server → container. */
export interface ForwardRequest {
  /** HTTP method, case-sensitive (`PATCH` and other names outside the table travel as stored method). */
  method: string;
  /** Protocol, e.g. `HTTP/1.1`. */
  protocol: string;
  /** Request path, still %-encoded, without the query string. */
  uri: string;
  /** Client IP address as text. */
  remoteAddr: string;
  /** Client host name, usually null. */
  remoteHost: string | null;
  /** Name the client addressed. */
  serverName: string;
  /** Port the client connected to. */
  serverPort: number;
  /** Whether the client connection used TLS. */
  isSsl: boolean;
  /** Request headers; coded names are decoded in lower case. */
  headers: AjpHeader[];
  /** Attributes. */
  attributes: ForwardAttributes;
}

/** A decoded Forward Request plus what the decoder derived from it. */
export interface DecodedForwardRequest extends ForwardRequest {
  /** Parsed Content-Length, or null when absent (= unknown length). */
  contentLength: number | null;
}

/** Options of {@link encodeForwardRequest}. */
export interface EncodeOptions {
  /** Packet size (header + payload); default 8192. */
  packetSize?: number;
}

/** Options of the decoders. */
export interface DecodeOptions {
  /** Packet size (header + payload) limit; default 8192. */
  packetSize?: number;
  /** Verify string terminators, reject trailing bytes and non-0/1 booleans; default true. */
  strict?: boolean;
  /** Most request headers accepted (Tomcat's maxHeaderCount); default 100. */
  maxHeaders?: number;
}

const NAME = 'FORWARD_REQUEST';
const NOT_TOKEN = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function emptyField(field: string): AjpProtocolError {
  return new AjpProtocolError('INVALID_VALUE', `empty ${field}`, {
    messageType: NAME,
    field,
    expected: 'a non-empty string',
  });
}

function attrString(
  w: PacketWriter,
  code: number,
  v: string | undefined,
  field: string,
  nl = false,
): void {
  if (v === undefined) return;
  w.u8(code, field);
  w.string(v, field, nl);
}

/**
 * Encodes a Forward Request as one packet (magic 0x1234). Headers whose names are in the AJP table
 * (compared case-insensitively) get their 2-byte code; methods outside the table are sent as the
 * stored method (0xFF + attribute 0x0D). Refuses NUL/CR/LF in any string (except newlines in the
 * PEM certificate) and a request that does not fit in one packet (`MESSAGE_TOO_LARGE`, which a
 * proxy turns into 400/413).
 */
export function encodeForwardRequest(req: ForwardRequest, options: EncodeOptions = {}): Buffer {
  const w = new PacketWriter(MAGIC_TO_CONTAINER, options.packetSize ?? DEFAULT_PACKET_SIZE, NAME);
  w.u8(MessageType.FORWARD_REQUEST, 'prefix_code');
  const method = req.method;
  const code = METHOD_CODES.get(method);
  if (code === undefined && (method.length === 0 || NOT_TOKEN.test(method)))
    throw new AjpProtocolError('INVALID_VALUE', 'method is not an HTTP token', {
      messageType: NAME,
      field: 'method',
      expected: 'an HTTP token',
    });
  if (req.protocol.length === 0) throw emptyField('protocol');
  if (req.uri.length === 0) throw emptyField('req_uri');
  w.u8(code ?? STORED_METHOD_CODE, 'method');
  w.string(req.protocol, 'protocol');
  w.string(req.uri, 'req_uri');
  w.string(req.remoteAddr, 'remote_addr');
  w.string(req.remoteHost, 'remote_host');
  w.string(req.serverName, 'server_name');
  w.u16(req.serverPort, 'server_port');
  w.u8(req.isSsl ? 1 : 0, 'is_ssl');
  const headers = req.headers;
  w.u16(headers.length, 'num_headers');
  for (let i = 0; i < headers.length; i++) {
    w.index = i;
    const [name, value] = headers[i]!;
    const hc = REQUEST_HEADER_CODES.get(name) ?? REQUEST_HEADER_CODES.get(name.toLowerCase());
    if (hc !== undefined) w.u16(hc, 'header_name');
    else {
      if (name.length === 0 || NOT_TOKEN.test(name))
        throw new AjpProtocolError('INVALID_VALUE', `header ${i} name is not an HTTP token`, {
          messageType: NAME,
          field: `header[${i}].name`,
          expected: 'an HTTP token',
        });
      w.string(name, 'header[].name');
    }
    w.string(value, 'header[].value');
  }
  const a = req.attributes;
  attrString(w, Attribute.CONTEXT, a.context, 'context');
  attrString(w, Attribute.SERVLET_PATH, a.servletPath, 'servlet_path');
  attrString(w, Attribute.SECRET, a.secret, 'secret');
  attrString(w, Attribute.REMOTE_USER, a.remoteUser, 'remote_user');
  attrString(w, Attribute.AUTH_TYPE, a.authType, 'auth_type');
  attrString(w, Attribute.QUERY_STRING, a.queryString, 'query_string');
  attrString(w, Attribute.ROUTE, a.route, 'route');
  attrString(w, Attribute.SSL_CERT, a.sslCert, 'ssl_cert', true);
  attrString(w, Attribute.SSL_CIPHER, a.sslCipher, 'ssl_cipher');
  attrString(w, Attribute.SSL_SESSION, a.sslSession, 'ssl_session');
  if (a.sslKeySize !== undefined) {
    w.u8(Attribute.SSL_KEY_SIZE, 'ssl_key_size');
    w.u16(a.sslKeySize, 'ssl_key_size');
  }
  if (code === undefined) attrString(w, Attribute.STORED_METHOD, method, 'stored_method');
  for (const [name, value] of a.requestAttributes ?? []) {
    w.u8(Attribute.REQ_ATTRIBUTE, 'req_attribute');
    w.string(name, 'req_attribute.name');
    w.string(value, 'req_attribute.value');
  }
  w.u8(Attribute.ARE_DONE, 'request_terminator');
  return w.finish();
}

function parseContentLength(r: PayloadReader, value: string, pos: number): number {
  if (!/^[0-9]{1,15}$/.test(value))
    r.fail(
      'INVALID_CONTENT_LENGTH',
      'Content-Length is not a decimal integer',
      'content-length',
      'digits 0-9',
      pos,
    );
  return Number(value);
}

/**
 * Decodes the payload of a Forward Request (`payload[start]` is the 0x02 type byte, `end` is one
 * past the payload). Strictly validates everything reference §5.4 lists: method codes, stored
 * method, header codes, null/empty protocol, URI and header names, null header values, header count,
 * Content-Length (numeric, single), attribute codes, the terminator and trailing bytes.
 */
export function decodeForwardRequestPayload(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: DecodeOptions = {},
): DecodedForwardRequest {
  const strict = options.strict ?? true;
  const maxHeaders = options.maxHeaders ?? 100;
  const r: PayloadReader = new PayloadReader(buf, start, end, NAME, strict);
  const type = r.u8('prefix_code');
  if (type !== MessageType.FORWARD_REQUEST)
    r.fail(
      'UNKNOWN_MESSAGE_TYPE',
      `type 0x${type.toString(16)}`,
      'prefix_code',
      'FORWARD_REQUEST (0x02)',
      start,
    );
  const mpos = r.pos;
  const mcode = r.u8('method');
  let method: string | undefined;
  if (mcode >= 1 && mcode <= METHODS.length) method = METHODS[mcode - 1];
  else if (mcode !== STORED_METHOD_CODE)
    r.fail(
      'UNKNOWN_METHOD',
      `method code 0x${mcode.toString(16)}`,
      'method',
      'a code 0x01…0x1B or 0xFF',
      mpos,
    );
  let p = r.pos;
  const protocol = r.requiredString('protocol');
  if (protocol.length === 0) r.fail('EMPTY_NOT_ALLOWED', 'empty', 'protocol', 'e.g. HTTP/1.1', p);
  p = r.pos;
  const uri = r.requiredString('req_uri');
  if (uri.length === 0) r.fail('EMPTY_NOT_ALLOWED', 'empty', 'req_uri', 'a path', p);
  const remoteAddr = r.requiredString('remote_addr');
  const remoteHost = r.string('remote_host');
  const serverName = r.requiredString('server_name');
  const serverPort = r.u16('server_port');
  const isSsl = r.bool('is_ssl');
  p = r.pos;
  const n = r.u16('num_headers');
  if (n > maxHeaders)
    r.fail('TOO_MANY_HEADERS', `${n} headers`, 'num_headers', `at most ${maxHeaders}`, p);
  const headers: AjpHeader[] = new Array<AjpHeader>(n);
  let contentLength: number | null = null;
  for (let i = 0; i < n; i++) {
    r.index = i;
    const npos = r.pos;
    const peek = r.peekU16('header_name');
    let name: string;
    let isCL: boolean;
    if (peek >>> 8 === 0xa0) {
      r.pos += 2;
      const idx = (peek & 0xff) - 1;
      if (idx < 0 || idx >= REQUEST_HEADERS.length)
        r.fail(
          'UNKNOWN_HEADER_CODE',
          `code 0x${peek.toString(16)}`,
          `header[${i}].name`,
          'a code 0xA001…0xA00E',
          npos,
        );
      name = REQUEST_HEADERS[idx]!;
      isCL = idx === 7;
    } else {
      name = r.requiredString('header[].name');
      if (name.length === 0)
        r.fail('EMPTY_NOT_ALLOWED', 'empty header name', 'header[].name', 'a name', npos);
      isCL = name.length === 14 && name.toLowerCase() === 'content-length';
    }
    const vpos = r.pos;
    const value = r.requiredString('header[].value');
    if (isCL) {
      if (contentLength !== null)
        r.fail(
          'DUPLICATE_CONTENT_LENGTH',
          'second Content-Length',
          `header[${i}]`,
          'one Content-Length',
          npos,
        );
      contentLength = parseContentLength(r, value, vpos);
    }
    headers[i] = [name, value];
  }
  const attributes: ForwardAttributes = {};
  let storedMethod: string | undefined;
  for (;;) {
    const apos = r.pos;
    if (r.remaining() === 0)
      r.fail('MISSING_TERMINATOR', 'payload ends', 'attributes', 'an attribute code or 0xFF', apos);
    const code = r.u8('attribute');
    if (code === Attribute.ARE_DONE) break;
    switch (code) {
      case Attribute.CONTEXT:
        attributes.context = r.requiredString('context');
        break;
      case Attribute.SERVLET_PATH:
        attributes.servletPath = r.requiredString('servlet_path');
        break;
      case Attribute.REMOTE_USER:
        attributes.remoteUser = r.requiredString('remote_user');
        break;
      case Attribute.AUTH_TYPE:
        attributes.authType = r.requiredString('auth_type');
        break;
      case Attribute.QUERY_STRING:
        attributes.queryString = r.requiredString('query_string');
        break;
      case Attribute.ROUTE:
        attributes.route = r.requiredString('route');
        break;
      case Attribute.SSL_CERT:
        attributes.sslCert = r.requiredString('ssl_cert');
        break;
      case Attribute.SSL_CIPHER:
        attributes.sslCipher = r.requiredString('ssl_cipher');
        break;
      case Attribute.SSL_SESSION:
        attributes.sslSession = r.requiredString('ssl_session');
        break;
      case Attribute.SSL_KEY_SIZE:
        attributes.sslKeySize = r.u16('ssl_key_size');
        break;
      case Attribute.SECRET: {
        const s = r.requiredString('secret');
        if (attributes.secret !== undefined && attributes.secret !== s)
          r.fail('DUPLICATE_SECRET', 'two different secrets', 'secret', 'one secret', apos);
        attributes.secret = s;
        break;
      }
      case Attribute.STORED_METHOD: {
        const m = r.requiredString('stored_method');
        if (m.length === 0 || NOT_TOKEN.test(m))
          r.fail(
            'BAD_STORED_METHOD',
            'stored method is not an HTTP token',
            'stored_method',
            'a method name',
            apos,
          );
        storedMethod = m;
        break;
      }
      case Attribute.REQ_ATTRIBUTE: {
        const an = r.requiredString('req_attribute.name');
        const av = r.requiredString('req_attribute.value');
        (attributes.requestAttributes ??= []).push([an, av]);
        break;
      }
      default:
        r.fail(
          'UNKNOWN_ATTRIBUTE',
          `attribute code 0x${code.toString(16)}`,
          'attribute',
          'a code 0x01…0x0D or 0xFF',
          apos,
        );
    }
  }
  r.finish();
  if (method === undefined) {
    if (storedMethod === undefined)
      r.fail(
        'BAD_STORED_METHOD',
        'method 0xFF without attribute 0x0D',
        'method',
        'attribute 0x0D',
        mpos,
      );
    method = storedMethod;
  } else if (storedMethod !== undefined && strict)
    r.fail(
      'BAD_STORED_METHOD',
      'attribute 0x0D with a coded method',
      'stored_method',
      'method byte 0xFF',
      mpos,
    );
  return {
    method,
    protocol,
    uri,
    remoteAddr,
    remoteHost,
    serverName,
    serverPort,
    isSsl,
    headers,
    attributes,
    contentLength,
  };
}
