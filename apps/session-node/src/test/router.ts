import {
  placementOf,
  type ClientRequest,
  type ClientResponse,
  type PlacementMap,
} from '@cohort/replication';
import { RawClient } from './cluster.js';

/**
 * A minimal owner-routing client for the node's own tests (the full client is
 * @cohort/session-client): sends each request to the owner of its key in the newest map, follows
 * NOT_OWNER, and retries the same request (same seq) after failures until `deadline`.
 */
export class TestRouter {
  #map: PlacementMap;
  readonly #conns = new Map<string, RawClient>();
  readonly #clientId: string;

  constructor(map: PlacementMap, clientId: string) {
    this.#map = map;
    this.#clientId = clientId;
  }

  #conn(url: string): RawClient {
    let c = this.#conns.get(url);
    if (!c || c.ws.readyState > 1) {
      c = new RawClient(url, undefined, this.#clientId);
      c.hello.catch(() => undefined);
      c.ws.on('error', () => undefined);
      this.#conns.set(url, c);
    }
    return c;
  }

  async #once(
    req: Omit<ClientRequest, 'id'> & { key: string },
  ): Promise<ClientResponse | 'failed'> {
    const ids = this.#map.nodes.map((n) => n.id);
    const owner = placementOf(req.key, ids, this.#map.replicas)[0];
    const node = this.#map.nodes.find((n) => n.id === owner);
    if (!node) return 'failed';
    const c = this.#conn(node.url);
    try {
      await c.hello;
    } catch {
      return 'failed';
    }
    const closed = c.gone.then(() => 'failed' as const);
    const timeout = new Promise<'failed'>((resolve) =>
      setTimeout(() => resolve('failed'), 3000).unref(),
    );
    return Promise.race([c.call(req), closed, timeout]);
  }

  /** Runs one request until it gets a definite answer or the deadline passes. */
  async call(
    req: Omit<ClientRequest, 'id'> & { key: string },
    deadlineMs = 20_000,
  ): Promise<ClientResponse | 'failed'> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const r = await this.#once(req);
      if (r !== 'failed' && r.kind === 'error' && r.code === 'NOT_OWNER' && r.map) {
        this.#map = r.map;
        continue;
      }
      const transient =
        r === 'failed' ||
        (r.kind === 'error' &&
          ['UNAVAILABLE', 'TIMEOUT', 'OWNERSHIP_LOST', 'NOT_OWNER'].includes(r.code));
      if (!transient) return r;
      if (Date.now() > end) return r;
      await new Promise((res) => setTimeout(res, 100));
      // Ask any reachable node for its current map (in the Hello of a new connection).
      for (const n of this.#map.nodes) {
        const probe = new RawClient(n.url, undefined, this.#clientId);
        probe.ws.on('error', () => undefined);
        const hello = await Promise.race([
          probe.hello.catch(() => undefined),
          new Promise<undefined>((res) => setTimeout(() => res(undefined), 500)),
        ]);
        probe.close();
        if (hello) {
          this.#map = hello.map;
          break;
        }
      }
    }
  }

  close(): void {
    for (const c of this.#conns.values()) c.close();
  }
}
