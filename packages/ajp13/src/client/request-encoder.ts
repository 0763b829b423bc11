import {
  Attribute,
  MAGIC_TO_CONTAINER,
  METHOD_CODES,
  MessageType,
  REQUEST_HEADER_CODES,
  STORED_METHOD_CODE,
} from '../constants.js';
import { AjpProtocolError } from '../errors.js';
import type { ForwardAttributes } from '../forward-request.js';
import { PacketWriter } from '../packet-writer.js';
import { AjpRequestError } from './request-error.js';

/** What the pool needs to encode a request, beside the request itself. @internal */
export interface RequestEncoding {
  readonly packetSize: number;
  readonly secret: string | undefined;
  /** Server name when neither `serverName` nor a Host header gives one. */
  readonly defaultServerName: string;
}

/** The request fields the encoder reads (shared by `request()` and `dispatch()` options). @internal */
export interface EncodableRequest {
  readonly method: string;
  readonly url: string;
  readonly protocol?: string;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly secure?: boolean;
  readonly serverName?: string;
  readonly serverPort?: number;
  readonly route?: string;
  readonly attributes?: Omit<ForwardAttributes, 'secret' | 'queryString' | 'route'>;
}

const NAME = 'FORWARD_REQUEST';
const NOT_TOKEN = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const PRIVILEGED_ATTR = /^(javax|jakarta)\.servlet\.(include|forward|error|async)\./i;
const SKIP = -1;
const HOST = REQUEST_HEADER_CODES.get('host')!;

/** `name` equals `lower` (lower-case ASCII) ignoring the case of letters only. */
function sameName(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    const l = lower.charCodeAt(i);
    if (c !== l && !((c | 0x20) === l && l >= 0x61 && l <= 0x7a)) return false;
  }
  return true;
}

/**
 * The AJP code of a request header name compared case-insensitively (0 = none), or {@link SKIP}
 * for Content-Length and Transfer-Encoding, which the body framing replaces. No lower-cased copy
 * of the name is made.
 */
function headerCode(name: string): number {
  switch (name.length) {
    case 4:
      return sameName(name, 'host') ? HOST : 0;
    case 6:
      if (sameName(name, 'accept')) return 0xa001;
      if (sameName(name, 'cookie')) return 0xa009;
      return sameName(name, 'pragma') ? 0xa00c : 0;
    case 7:
      if (sameName(name, 'cookie2')) return 0xa00a;
      return sameName(name, 'referer') ? 0xa00d : 0;
    case 10:
      if (sameName(name, 'user-agent')) return 0xa00e;
      return sameName(name, 'connection') ? 0xa006 : 0;
    case 12:
      return sameName(name, 'content-type') ? 0xa007 : 0;
    case 13:
      return sameName(name, 'authorization') ? 0xa005 : 0;
    case 14:
      if (sameName(name, 'content-length')) return SKIP;
      return sameName(name, 'accept-charset') ? 0xa002 : 0;
    case 15:
      if (sameName(name, 'accept-encoding')) return 0xa003;
      return sameName(name, 'accept-language') ? 0xa004 : 0;
    case 17:
      return sameName(name, 'transfer-encoding') ? SKIP : 0;
    default:
      return 0;
  }
}

let lastHost = '';
let lastHostName: string | undefined;
let lastHostPort: number | undefined;
let lastHostOk = false;

/** `host[:port]` / `[v6][:port]` split as the Host header grammar allows; false when it does not. */
function splitHost(h: string): boolean {
  if (h === lastHost) return lastHostOk;
  lastHost = h;
  lastHostOk = true;
  if (h.charCodeAt(0) === 0x5b) {
    const c = h.indexOf(']');
    if (c >= 0 && portAfter(h, c + 1)) {
      lastHostName = h.slice(0, c + 1);
      return true;
    }
  }
  const k = h.indexOf(':');
  if (k < 0) {
    lastHostName = h;
    lastHostPort = undefined;
    return true;
  }
  if (portAfter(h, k)) {
    lastHostName = h.slice(0, k);
    return true;
  }
  lastHostOk = false;
  return false;
}

/** Whether `h` ends at `at` or continues with `:digits` to its end; sets the port. */
function portAfter(h: string, at: number): boolean {
  if (at === h.length) {
    lastHostPort = undefined;
    return true;
  }
  if (h.charCodeAt(at) !== 0x3a || at + 1 === h.length) return false;
  for (let i = at + 1; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  lastHostPort = Number(h.slice(at + 1));
  return true;
}

function attr(w: PacketWriter, code: number, v: string | undefined, field: string, nl = false) {
  if (v === undefined) return;
  w.u8(code, field);
  w.string(v, field, nl);
}

/**
 * Encodes the Forward Request of one client request straight from a flat `[name, value, …]`
 * header list into one packet: header codes found without lower-casing, Content-Length and
 * Transfer-Encoding replaced by the body framing (`contentLength`, null = unknown length), the
 * server name and port taken from Host, the secret, query string, route, client port and local
 * address as attributes. The bytes are those {@link encodeForwardRequest} gives for the same
 * request. Throws {@link AjpRequestError} (nothing sent): REQUEST_TOO_LARGE or INVALID_REQUEST.
 * @internal
 */
export function encodeRequest(
  o: EncodableRequest,
  headers: readonly string[],
  contentLength: number | null,
  enc: RequestEncoding,
): Buffer {
  const reqAttrs = o.attributes?.requestAttributes;
  if (reqAttrs !== undefined)
    for (const [n] of reqAttrs)
      if (PRIVILEGED_ATTR.test(n)) throw invalid(`privileged request attribute ${n}`);
  try {
    return write(o, headers, contentLength, enc);
  } catch (err) {
    if (err instanceof AjpProtocolError && err.code === 'MESSAGE_TOO_LARGE')
      throw new AjpRequestError(
        'REQUEST_TOO_LARGE',
        `request headers do not fit in a ${enc.packetSize}-byte AJP packet`,
        { requestSent: false, cause: err },
      );
    throw invalid(err instanceof Error ? err.message : String(err), err);
  }
}

function invalid(msg: string, cause?: unknown): AjpRequestError {
  return new AjpRequestError('INVALID_REQUEST', msg, { requestSent: false, cause });
}

function emptyField(field: string): AjpProtocolError {
  return new AjpProtocolError('INVALID_VALUE', `empty ${field}`, {
    messageType: NAME,
    field,
    expected: 'a non-empty string',
  });
}

function write(
  o: EncodableRequest,
  headers: readonly string[],
  contentLength: number | null,
  enc: RequestEncoding,
): Buffer {
  const w = new PacketWriter(MAGIC_TO_CONTAINER, enc.packetSize, NAME);
  const method = o.method;
  const code = METHOD_CODES.get(method);
  if (code === undefined && (method.length === 0 || NOT_TOKEN.test(method)))
    throw new AjpProtocolError('INVALID_VALUE', 'method is not an HTTP token', {
      messageType: NAME,
      field: 'method',
      expected: 'an HTTP token',
    });
  const protocol = o.protocol ?? 'HTTP/1.1';
  const url = o.url;
  const q = url.indexOf('?');
  const uri = q < 0 ? url : url.slice(0, q);
  if (protocol.length === 0) throw emptyField('protocol');
  if (uri.length === 0) throw emptyField('req_uri');
  // the host comes first from the headers; its position in the packet is after them
  let host: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === 4 && sameName(n, 'host')) {
      host = headers[i + 1]!;
      break;
    }
  }
  let serverName = o.serverName;
  let serverPort = o.serverPort;
  if (host !== undefined) {
    if (splitHost(host)) {
      serverName ??= lastHostName;
      if (lastHostPort !== undefined) serverPort ??= lastHostPort;
    } else serverName ??= host;
  }
  w.u8(MessageType.FORWARD_REQUEST, 'prefix_code');
  w.u8(code ?? STORED_METHOD_CODE, 'method');
  w.string(protocol, 'protocol');
  w.string(uri, 'req_uri');
  w.string(o.remoteAddress, 'remote_addr');
  w.string(null, 'remote_host');
  w.string(serverName ?? enc.defaultServerName, 'server_name');
  w.u16(serverPort ?? (o.secure ? 443 : 80), 'server_port');
  w.u8(o.secure ? 1 : 0, 'is_ssl');
  const countAt = w.pos;
  w.u16(0, 'num_headers');
  let count = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const hc = headerCode(name);
    if (hc === SKIP) continue;
    w.index = count;
    if (hc !== 0) w.u16(hc, 'header_name');
    else {
      if (name.length === 0 || NOT_TOKEN.test(name))
        throw new AjpProtocolError('INVALID_VALUE', `header ${count} name is not an HTTP token`, {
          messageType: NAME,
          field: `header[${count}].name`,
          expected: 'an HTTP token',
        });
      w.string(name, 'header[].name');
    }
    w.string(headers[i + 1]!, 'header[].value');
    count++;
  }
  w.index = count;
  if (contentLength !== null) {
    // like mod_jk: an explicit 0 saves the container a GET_BODY_CHUNK round trip
    w.u16(0xa008, 'header_name');
    w.string(String(contentLength), 'header[].value');
  } else {
    // as mod_jk and mod_proxy_ajp do: tells the application a body is coming (AJP frames it)
    w.string('transfer-encoding', 'header[].name');
    w.string('chunked', 'header[].value');
  }
  count++;
  if (count > 0xffff)
    throw new AjpProtocolError('INVALID_VALUE', `${count} is not a 16-bit unsigned integer`, {
      messageType: NAME,
      field: 'num_headers',
      expected: 'an integer in 0…65535',
    });
  w.patchU16(countAt, count);
  const a = o.attributes;
  if (a !== undefined) {
    attr(w, Attribute.CONTEXT, a.context, 'context');
    attr(w, Attribute.SERVLET_PATH, a.servletPath, 'servlet_path');
  }
  attr(w, Attribute.SECRET, enc.secret, 'secret');
  if (a !== undefined) {
    attr(w, Attribute.REMOTE_USER, a.remoteUser, 'remote_user');
    attr(w, Attribute.AUTH_TYPE, a.authType, 'auth_type');
  }
  if (q >= 0) attr(w, Attribute.QUERY_STRING, url.slice(q + 1), 'query_string');
  attr(w, Attribute.ROUTE, o.route, 'route');
  if (a !== undefined) {
    attr(w, Attribute.SSL_CERT, a.sslCert, 'ssl_cert', true);
    attr(w, Attribute.SSL_CIPHER, a.sslCipher, 'ssl_cipher');
    attr(w, Attribute.SSL_SESSION, a.sslSession, 'ssl_session');
    if (a.sslKeySize !== undefined) {
      w.u8(Attribute.SSL_KEY_SIZE, 'ssl_key_size');
      w.u16(a.sslKeySize, 'ssl_key_size');
    }
  }
  if (code === undefined) attr(w, Attribute.STORED_METHOD, method, 'stored_method');
  const reqAttrs = a?.requestAttributes;
  if (reqAttrs !== undefined)
    for (const [name, value] of reqAttrs) {
      w.u8(Attribute.REQ_ATTRIBUTE, 'req_attribute');
      w.string(name, 'req_attribute.name');
      w.string(value, 'req_attribute.value');
    }
  if (o.remotePort !== undefined) {
    w.u8(Attribute.REQ_ATTRIBUTE, 'req_attribute');
    w.string('AJP_REMOTE_PORT', 'req_attribute.name');
    w.string(String(o.remotePort), 'req_attribute.value');
  }
  if (o.localAddress !== undefined) {
    w.u8(Attribute.REQ_ATTRIBUTE, 'req_attribute');
    w.string('AJP_LOCAL_ADDR', 'req_attribute.name');
    w.string(o.localAddress, 'req_attribute.value');
  }
  w.u8(Attribute.ARE_DONE, 'request_terminator');
  return w.finish();
}
