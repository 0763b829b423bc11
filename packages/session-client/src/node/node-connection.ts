import { WebSocket } from 'ws';
import {
  decodeResponse,
  encodeRequest,
  type ClientRequest,
  type ClientResponse,
  type HelloResponse,
  type PlacementMap,
} from '@cohort/replication';
import { sendBatched } from './batched-send.js';

/** Why a request got no answer on a connection. */
export type ConnectionFailure = 'closed' | 'timeout' | 'refused';

/** Options of a {@link NodeConnection}. */
export interface NodeConnectionOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly clientId: string;
  /** Requests in flight at most; more wait in a queue (backpressure). */
  readonly maxInFlight: number;
  /** Called with every map the node pushes or greets with. */
  readonly onMap: (map: PlacementMap) => void;
  readonly connectTimeoutMs: number;
  /** CA certificates to trust for wss:// (default: the system's). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
}

interface Waiter {
  readonly resolve: (r: ClientResponse | ConnectionFailure) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One WebSocket to one session node: pipelined requests matched to answers by id, a bound on
 * requests in flight (more wait their turn), per-request timeouts. It never throws: a request
 * resolves with the answer or with why there is none.
 */
export class NodeConnection {
  readonly url: string;
  readonly #o: NodeConnectionOptions;
  readonly #ws: WebSocket;
  readonly #waiting = new Map<number, Waiter>();
  readonly #queue: (() => void)[] = [];
  readonly hello: Promise<HelloResponse | ConnectionFailure>;
  #next = 1;
  #open = false;
  #closed = false;

  /** @param options - where, credentials, limits */
  constructor(options: NodeConnectionOptions) {
    this.#o = options;
    this.url = options.url;
    const headers: Record<string, string> = { 'x-cohort-client': options.clientId };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    this.#ws = new WebSocket(options.url, {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: options.connectTimeoutMs,
      ...(options.ca !== undefined
        ? { ca: options.ca as string | Buffer | (string | Buffer)[] }
        : {}),
    });
    this.hello = new Promise((resolve) => {
      this.#ws.on('unexpected-response', (_req, res) => {
        res.resume();
        resolve('refused');
        this.#fail();
      });
      this.#ws.on('error', () => {
        resolve('closed');
        this.#fail();
      });
      this.#ws.on('close', () => {
        resolve('closed');
        this.#fail();
      });
      this.#ws.on('message', (data) => {
        let r: ClientResponse;
        try {
          r = decodeResponse(data as Buffer);
        } catch {
          this.#ws.terminate();
          return;
        }
        if (r.kind === 'hello') {
          this.#open = true;
          options.onMap(r.map);
          resolve(r);
        } else if (r.kind === 'map') options.onMap(r.map);
        else {
          const w = this.#waiting.get(r.id);
          if (w) {
            this.#waiting.delete(r.id);
            clearTimeout(w.timer);
            w.resolve(r);
            this.#queue.shift()?.();
          }
        }
      });
    });
  }

  /** Whether the connection is open (or opening) and usable. */
  get usable(): boolean {
    return !this.#closed;
  }

  /** Requests in flight plus queued. */
  get load(): number {
    return this.#waiting.size + this.#queue.length;
  }

  /** Sends a request and resolves with its answer, or with why there is none. */
  async request(
    req: ClientRequest extends infer T ? (T extends ClientRequest ? Omit<T, 'id'> : never) : never,
    timeoutMs: number,
  ): Promise<ClientResponse | ConnectionFailure> {
    const hello = await this.hello;
    if (typeof hello === 'string') return hello;
    if (this.#closed) return 'closed';
    if (this.#waiting.size >= this.#o.maxInFlight) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
      if (this.#closed) return 'closed';
    }
    const id = this.#next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve('timeout');
        this.#queue.shift()?.();
      }, timeoutMs);
      this.#waiting.set(id, { resolve, timer });
      sendBatched(this.#ws, encodeRequest({ ...req, id } as ClientRequest));
    });
  }

  #fail(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.resolve('closed');
    }
    this.#waiting.clear();
    for (const q of this.#queue.splice(0)) q();
  }

  /** Closes the connection; requests in flight resolve `closed`. */
  close(): void {
    this.#fail();
    if (this.#open || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else this.#ws.close();
  }
}
