/**
 * `@cohort/ajp13`: the AJP13 protocol (Apache JServ Protocol 1.3) for Node.js: a sans-I/O codec
 * for every message in both directions, streaming decoders, a client connection pool for talking
 * to Tomcat, and a server adapter that puts a Node request listener behind httpd / mod_jk.
 * @packageDocumentation
 */
export { AjpProtocolError, type AjpErrorCode, type AjpErrorDetails } from './errors.js';
export {
  Attribute,
  DEFAULT_PACKET_SIZE,
  MAGIC_FROM_CONTAINER,
  MAGIC_TO_CONTAINER,
  MAX_PACKET_SIZE,
  METHODS,
  MessageType,
  REQUEST_HEADERS,
  RESPONSE_HEADERS,
} from './constants.js';
export {
  decodeForwardRequestPayload,
  encodeForwardRequest,
  type AjpHeader,
  type DecodeOptions,
  type DecodedForwardRequest,
  type EncodeOptions,
  type ForwardAttributes,
  type ForwardRequest,
} from './forward-request.js';
export {
  decodeSendHeadersPayload,
  encodeSendHeaders,
  reasonPhrase,
  type SendHeaders,
} from './send-headers.js';
export {
  CPING_PACKET,
  CPONG_PACKET,
  EMPTY_BODY_PACKET,
  END_OF_BODY_PACKET,
  FLUSH_PACKET,
  PING_PACKET,
  SEND_BODY_CHUNK_TRAILER,
  SHUTDOWN_PACKET,
  decodeEndResponsePayload,
  decodeGetBodyChunkPayload,
  encodeEndResponse,
  encodeGetBodyChunk,
  encodeRequestBody,
  encodeSendBodyChunk,
  maxRequestBodyChunk,
  maxResponseBodyChunk,
  requestBodyHeader,
  sendBodyChunkHeader,
} from './control-messages.js';
export { RequestDecoder, type RequestEvent } from './request-decoder.js';
export { ResponseDecoder, type ResponseEvent } from './response-decoder.js';
export {
  AjpClient,
  type AjpClientOptions,
  type AjpClientStats,
  type AjpHeadersInput,
  type AjpPingOptions,
  type AjpRequestOptions,
  type AjpResponse,
} from './client/client.js';
export { type AjpDispatchHandler, type AjpDispatchOptions } from './client/dispatch-handler.js';
export { AjpRequestError, type AjpRequestErrorCode } from './client/request-error.js';
export {
  createAjpServer,
  type AjpRequestListener,
  type AjpServer,
  type AjpServerOptions,
} from './server/server.js';
export { AjpIncomingRequest, type AjpSocketInfo } from './server/incoming-request.js';
export { AjpServerResponse } from './server/server-response.js';
export { AjpResponseStateError, type AjpResponseStateCode } from './server/response-error.js';
export {
  BUILTIN_REQUEST_ATTRIBUTES,
  checkRequest,
  type PolicyRefusal,
} from './server/request-policy.js';
export { expressListener, type ExpressLikeApp } from './server/express.js';
