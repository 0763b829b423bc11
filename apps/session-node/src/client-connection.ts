import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import type { ClientWireError } from '@cohort/replication';
import {
  decodeRequest,
  encodeResponse,
  type ClientRequest,
  type ClientResponse,
  type PlacementMap,
} from '@cohort/replication';
import type { NodeMetrics } from './metrics.js';
import type { RequestHandler } from './requests.js';
import { sendBatched } from './batched-send.js';

/** Answers queued unsent to one client (bytes) before the node stops reading its requests. */
const UNSENT_LIMIT = 8 * 1024 * 1024;

/** The WebSocket path of the client protocol. */
export const CLIENT_PATH = '/v1/client';

/** WebSocket close codes the node uses, with the reason text sent beside them. */
export const CLOSE_CODES = {
  /** Text frames, or a frame whose bytes are not a Request. */
  unsupportedData: 1003,
  invalidPayload: 1007,
  /** A frame over `limits.maxFrameBytes`. */
  messageTooBig: 1009,
  /** The node is stopping. */
  goingAway: 1001,
} as const;

/** Options of a {@link ClientConnection}. */
export interface ClientConnectionOptions {
  readonly ws: WebSocket;
  readonly clientId: string;
  readonly handler: RequestHandler;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  /** The node's member id and current map, for the Hello. */
  readonly node: string;
  readonly map: () => PlacementMap;
  /** Subscribe or unsubscribe this connection to map pushes. */
  readonly subscribe: (c: ClientConnection, on: boolean) => void;
}

/**
 * One client's WebSocket: decodes requests, runs them concurrently (pipelining), answers each
 * with its id, and stops reading while too many are in flight or more than 8 MiB of answers
 * are unsent (backpressure). Bytes that are not a request close this connection with a reason; every
 * other connection is untouched.
 */
export class ClientConnection {
  readonly #o: ClientConnectionOptions;
  #inFlight = 0;
  #paused = false;
  #slowReader = false;
  #closed = false;

  /** @param options - the socket, handler and limits */
  constructor(options: ClientConnectionOptions) {
    this.#o = options;
    const ws = options.ws;
    ws.on('message', (data, isBinary) => this.#message(data as Buffer, isBinary));
    ws.on('close', () => {
      this.#closed = true;
      options.subscribe(this, false);
    });
    ws.on('error', (err) => options.log.debug({ err: err.message }, 'client connection error'));
    this.send({
      kind: 'hello',
      id: 0,
      node: options.node,
      map: options.map(),
      maxFrameBytes: options.maxFrameBytes,
    });
  }

  /** Sends one response (dropped when the connection is gone). */
  send(r: ClientResponse): void {
    if (this.#closed) return;
    sendBatched(this.#o.ws, encodeResponse(r));
  }

  /** Closes the connection with a code and reason. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#o.ws.close(code, reason.slice(0, 120));
  }

  #message(data: Buffer, isBinary: boolean): void {
    const o = this.#o;
    if (!isBinary) {
      o.metrics.refused.inc({ reason: 'text-frame' });
      this.close(CLOSE_CODES.unsupportedData, 'binary protobuf frames only');
      return;
    }
    let req: ClientRequest;
    try {
      req = decodeRequest(data, { maxFrameBytes: o.maxFrameBytes });
    } catch (err) {
      const e = err as ClientWireError;
      if (
        e.requestId !== undefined &&
        (e.code === 'UNKNOWN_OP' || e.code === 'UNSUPPORTED_VERSION')
      ) {
        // A newer client: refuse this request, keep the connection.
        o.metrics.requests.inc({ op: 'unknown', code: e.code });
        this.send({ kind: 'error', id: e.requestId, code: e.code, message: e.message });
        return;
      }
      o.metrics.refused.inc({ reason: e.code ?? 'MALFORMED' });
      o.log.warn({ code: e.code, field: e.field, offset: e.offset }, 'client frame refused');
      if (e.code === 'TOO_LARGE') {
        this.close(
          CLOSE_CODES.messageTooBig,
          `TOO_LARGE: ${data.byteLength} bytes, the limit is ${o.maxFrameBytes}`,
        );
      } else
        this.close(CLOSE_CODES.invalidPayload, `${e.code}: ${e.field ?? 'frame'} is not valid`);
      return;
    }
    if (req.op === 'subscribe') o.subscribe(this, true);
    this.#inFlight++;
    if (this.#inFlight >= o.maxInFlight && !this.#paused) {
      this.#paused = true;
      o.ws.pause();
    }
    const started = performance.now();
    o.handler.handle(req, o.clientId).then(
      (res) => this.#done(req, res, started),
      (err: unknown) => {
        o.log.error({ err: (err as Error).message, op: req.op }, 'request failed');
        this.#done(
          req,
          { kind: 'error', id: req.id, code: 'INTERNAL', message: 'internal error' },
          started,
        );
      },
    );
  }

  #done(req: ClientRequest, res: ClientResponse, started: number): void {
    const o = this.#o;
    o.metrics.latency.observe({ op: req.op }, (performance.now() - started) / 1000);
    o.metrics.requests.inc({ op: req.op, code: res.kind === 'error' ? res.code : 'ok' });
    this.send(res);
    this.#inFlight--;
    if (o.ws.bufferedAmount > UNSENT_LIMIT && !this.#slowReader) {
      // The client does not read its answers: stop reading its requests until they leave.
      this.#slowReader = true;
      if (!this.#paused) {
        this.#paused = true;
        o.ws.pause();
      }
      const check = setInterval(() => {
        if (this.#closed || o.ws.bufferedAmount <= UNSENT_LIMIT / 2) {
          clearInterval(check);
          this.#slowReader = false;
          this.#resumeIfIdle();
        }
      }, 10);
      check.unref();
    }
    this.#resumeIfIdle();
  }

  #resumeIfIdle(): void {
    const o = this.#o;
    const busy = this.#inFlight > o.maxInFlight / 2 || this.#slowReader;
    if (this.#paused && !busy) {
      this.#paused = false;
      o.ws.resume();
    } else if (!this.#paused && busy && this.#inFlight >= o.maxInFlight) {
      this.#paused = true;
      o.ws.pause();
    }
  }
}
