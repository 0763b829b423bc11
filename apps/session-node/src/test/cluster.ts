import { pino } from 'pino';
import { WebSocket } from 'ws';
import {
  decodeResponse,
  encodeRequest,
  type ClientRequest,
  type ClientResponse,
  type HelloResponse,
} from '@cohort/replication';
import { resolveNodeConfig } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import { SessionNode } from '../node.js';

/** The token the test clusters use. */
export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** Starts `n` nodes in this process on 127.0.0.1, ports chosen by the system, joined together. */
export async function startCluster(
  n: number,
  extra: Partial<ConfigInput> = {},
): Promise<SessionNode[]> {
  const nodes: SessionNode[] = [];
  for (let i = 0; i < n; i++) {
    const config = resolveNodeConfig({
      name: `n${i + 1}`,
      listen: '127.0.0.1:0',
      gossip: { listen: '127.0.0.1:0', preset: 'local' },
      seeds: nodes.length > 0 ? [nodes[0]!.gossipAddress] : [],
      auth: { token: TEST_TOKEN },
      log: { level: 'silent' },
      ...extra,
    });
    const node = new SessionNode(config, { logger: pino({ level: 'silent' }) });
    await node.start();
    nodes.push(node);
  }
  await waitFor(() => nodes.every((x) => x.ready), 10_000, 'cluster ready');
  return nodes;
}

/** Polls `cond` every 20 ms until it holds, or throws after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A bare protocol client over one connection, for tests of the node itself. */
export class RawClient {
  readonly ws: WebSocket;
  readonly hello: Promise<HelloResponse>;
  readonly pushed: ClientResponse[] = [];
  /** Resolves when the connection closes. */
  readonly gone: Promise<void>;
  readonly #waiting = new Map<number, (r: ClientResponse) => void>();
  #next = 1;

  constructor(url: string, token: string | undefined = TEST_TOKEN, clientId = 'test-client') {
    const headers: Record<string, string> = { 'x-cohort-client': clientId };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    this.ws = new WebSocket(url, { headers });
    this.gone = new Promise((resolve) => this.ws.once('close', () => resolve()));
    this.hello = new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.on('message', (data) => {
        const r = decodeResponse(data as Buffer);
        if (r.kind === 'hello') resolve(r);
        else if (r.id === 0) this.pushed.push(r);
        else {
          this.#waiting.get(r.id)?.(r);
          this.#waiting.delete(r.id);
        }
      });
    });
  }

  /** Sends a request (its id is assigned here unless given) and waits for its answer. */
  async call(req: Omit<ClientRequest, 'id'> & { id?: number }): Promise<ClientResponse> {
    await this.hello;
    const id = req.id ?? this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.ws.send(encodeRequest({ ...req, id } as ClientRequest));
    });
  }

  /** Resolves with the close code and reason. */
  closed(): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  close(): void {
    this.ws.close();
  }
}
