import { randomBytes } from 'node:crypto';
import {
  placementOf,
  type ClientRequest,
  type ClientResponse,
  type PlacementMap,
} from '@cohort/replication';
import {
  decodeSession,
  encodeDelta,
  createDelta,
  SessionCodecError,
  type Delta,
  type Op,
  type Session,
  type Version,
} from '@cohort/session-codec';
import type {
  AckLevel,
  ApplyOptions,
  LoadOptions,
  SessionBackend,
  TouchEntry,
  WriteOptions,
} from '../backend.js';
import { SessionBackendError, type SessionBackendErrorCode } from '../errors.js';
import { NodeConnection, type ConnectionFailure } from './node-connection.js';

/** Options of a {@link NodeBackend}. */
export interface NodeBackendOptions {
  /**
   * Session nodes to start from: `ws://host:port` (or `wss://`), the client path `/v1/client` is
   * added when absent. The client learns the others from their placement map.
   */
  readonly nodes: readonly string[];
  /** The nodes' client token (`auth.token` in their configuration). */
  readonly token?: string;
  /**
   * This client's id, the key of its dedupe records on the nodes (default: random per backend,
   * which is what a process should use; two live clients must never share one).
   */
  readonly clientId?: string;
  /** Default acknowledgement level (default: the nodes' configured default). */
  readonly level?: AckLevel;
  /** Time for one attempt at one node (default 5000 ms, the nodes' write timeout). */
  readonly attemptTimeoutMs?: number;
  /** Time an operation may take in all, retries after failover included (default 15 000 ms). */
  readonly deadlineMs?: number;
  /** Requests in flight per node connection; more wait (default 1024). */
  readonly maxInFlight?: number;
  /** Time to open a connection (default 2000 ms). */
  readonly connectTimeoutMs?: number;
  /** Request ids remembered for retries by the caller (default 100 000). */
  readonly rememberRequests?: number;
  /** CA certificates to trust for `wss://` nodes (default: the system's). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
}

/** Codes of the nodes that a retry at the (new) owner can get past. */
const TRANSIENT = new Set(['UNAVAILABLE', 'TIMEOUT', 'OWNERSHIP_LOST', 'STALE', 'NOT_OWNER']);

/** Codes after which the operation may have happened (retried only when it is idempotent). */
const UNKNOWN_OUTCOME = new Set(['TIMEOUT', 'OWNERSHIP_LOST']);

function mapCode(code: string): SessionBackendErrorCode {
  switch (code) {
    case 'NOT_FOUND':
    case 'EXISTS':
    case 'CAS_FAILED':
    case 'TIMEOUT':
    case 'UNAVAILABLE':
      return code;
    case 'OWNERSHIP_LOST':
      return 'TIMEOUT';
    case 'LEASE_HELD':
    case 'FENCED':
      return 'CAS_FAILED';
    case 'LIMIT_EXCEEDED':
      return 'TOO_LARGE';
    case 'STALE':
    case 'NOT_OWNER':
      return 'UNAVAILABLE';
    default:
      return 'INVALID_ARGUMENT';
  }
}

function clientUrl(u: string): string {
  return /\/v1\/client$/.test(u) ? u : `${u.replace(/\/$/, '')}/v1/client`;
}

/** Attributes starting with NUL are the nodes' own (dedupe records): never shown to callers. */
function withoutReserved(s: Session): Session {
  let reserved = false;
  for (const name of s.attributes.keys()) if (name.charCodeAt(0) === 0) reserved = true;
  if (!reserved) return s;
  const attributes = new Map<string, Uint8Array>();
  for (const [n, v] of s.attributes) if (n.charCodeAt(0) !== 0) attributes.set(n, v);
  return { ...s, attributes };
}

type WithoutId<T> = T extends ClientRequest ? Omit<T, 'id'> : never;
type Req = WithoutId<Extract<ClientRequest, { key: string }>>;

/**
 * The smart client of a cohort session-node cluster, as a {@link SessionBackend}: it learns the
 * placement map (from every node's greeting and pushes), sends each operation to the session's
 * owner, follows `NOT_OWNER` answers (which carry the current map), and retries on failover —
 * reads, touches and destroys always, writes with their request id turned into a dedupe
 * sequence so that a write the old owner applied is not applied again. Connections to several
 * nodes, pipelined; requests over `maxInFlight` per connection wait (backpressure).
 */
export class NodeBackend implements SessionBackend {
  readonly #o: Required<Omit<NodeBackendOptions, 'token' | 'level' | 'ca'>> & NodeBackendOptions;
  readonly #clientId: string;
  readonly #conns = new Map<string, NodeConnection>();
  readonly #seqs = new Map<string, number>();
  #map: PlacementMap | undefined;
  #nextSeq = 1;
  #closed = false;

  /** @param options - where the nodes are, credentials and timeouts */
  constructor(options: NodeBackendOptions) {
    if (options.nodes.length === 0) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'nodes: at least one session node URL');
    }
    this.#o = {
      clientId: randomBytes(6).toString('base64url'),
      attemptTimeoutMs: 5000,
      deadlineMs: 15_000,
      maxInFlight: 1024,
      connectTimeoutMs: 2000,
      rememberRequests: 100_000,
      ...options,
    };
    this.#clientId = this.#o.clientId;
  }

  /** The placement map last learned (undefined before the first connection). */
  get map(): PlacementMap | undefined {
    return this.#map;
  }

  #conn(url: string): NodeConnection {
    let c = this.#conns.get(url);
    if (!c || !c.usable) {
      c = new NodeConnection({
        url,
        token: this.#o.token,
        clientId: this.#clientId,
        maxInFlight: this.#o.maxInFlight,
        connectTimeoutMs: this.#o.connectTimeoutMs,
        ...(this.#o.ca !== undefined ? { ca: this.#o.ca } : {}),
        onMap: (m) => {
          if (m.nodes.length > 0) this.#map = m;
        },
      });
      this.#conns.set(url, c);
      const conn = c;
      void conn.hello.then((h) => {
        if (typeof h !== 'string') void conn.request({ op: 'subscribe' }, this.#o.attemptTimeoutMs);
      });
    }
    return c;
  }

  #ownerUrl(key: string, avoid: ReadonlySet<string>): string {
    const m = this.#map;
    if (m && m.nodes.length > 0) {
      const owner = placementOf(
        key,
        m.nodes.map((n) => n.id),
        m.replicas,
      )[0];
      const url = m.nodes.find((n) => n.id === owner)?.url;
      if (url !== undefined && !avoid.has(url)) return url;
    }
    const all = [...(m?.nodes.map((n) => n.url) ?? []), ...this.#o.nodes.map(clientUrl)];
    return all.find((u) => !avoid.has(u)) ?? all[0]!;
  }

  /** Learns the current map from any node that answers (a new connection's greeting). */
  async #refreshMap(avoid: ReadonlySet<string>): Promise<void> {
    const urls = new Set([
      ...(this.#map?.nodes.map((n) => n.url) ?? []),
      ...this.#o.nodes.map(clientUrl),
    ]);
    for (const url of urls) {
      if (avoid.has(url)) continue;
      const existing = this.#conns.get(url);
      if (existing?.usable) continue; // its pushes keep the map fresh
      const h = await this.#conn(url).hello;
      if (typeof h !== 'string') return;
    }
  }

  async #call(req: Req, idempotent: boolean): Promise<ClientResponse & { kind: 'ok' }> {
    if (this.#closed) throw new SessionBackendError('CLOSED', 'the backend is closed');
    const deadline = Date.now() + this.#o.deadlineMs;
    const avoid = new Set<string>();
    let last: string;
    let backoff = 25;
    for (let attempt = 0; ; attempt++) {
      const url = this.#ownerUrl(req.key, avoid);
      const left = deadline - Date.now();
      const r: ClientResponse | ConnectionFailure =
        left <= 0
          ? 'timeout'
          : await this.#conn(url).request(req, Math.min(left, this.#o.attemptTimeoutMs));
      if (this.#closed) throw new SessionBackendError('CLOSED', 'the backend is closed');
      if (typeof r !== 'string' && r.kind === 'ok') return r;
      if (r === 'refused') {
        throw new SessionBackendError(
          'UNAVAILABLE',
          'a session node refused the connection (check the token)',
        );
      }
      let code: string;
      if (typeof r === 'string') {
        code = r === 'timeout' ? 'TIMEOUT' : 'UNAVAILABLE';
        avoid.add(url);
        if (avoid.size >= (this.#map?.nodes.length ?? 1) + this.#o.nodes.length) avoid.clear();
      } else if (r.kind === 'error') {
        code = r.code;
        if (code === 'NOT_OWNER' && r.map && r.map.nodes.length > 0) {
          this.#map = r.map;
          avoid.clear();
          if (attempt < 3) continue;
        }
        if (!TRANSIENT.has(code)) {
          throw new SessionBackendError(mapCode(code), `session node: ${code}: ${r.message}`);
        }
      } else code = 'UNAVAILABLE';
      last = code;
      if (!idempotent && UNKNOWN_OUTCOME.has(code)) {
        throw new SessionBackendError(
          mapCode(code),
          `session node: ${code} (the outcome is unknown)`,
        );
      }
      if (Date.now() + backoff >= deadline) {
        throw new SessionBackendError(
          last === 'UNAVAILABLE' || last === 'NOT_OWNER' || last === 'STALE'
            ? 'UNAVAILABLE'
            : 'TIMEOUT',
          `session node: no answer within ${this.#o.deadlineMs} ms (last: ${last})`,
        );
      }
      await new Promise((res) => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 400);
      await this.#refreshMap(avoid);
    }
  }

  /** The dedupe sequence of a request id (the same for a retry of the same write). */
  #seqOf(requestId: string): number {
    let s = this.#seqs.get(requestId);
    if (s === undefined) {
      s = this.#nextSeq++;
      this.#seqs.set(requestId, s);
      if (this.#seqs.size > this.#o.rememberRequests) {
        this.#seqs.delete(this.#seqs.keys().next().value!);
      }
    }
    return s;
  }

  async load(key: string, options: LoadOptions = {}): Promise<Session | null> {
    const r = await this.#call(
      {
        op: 'get',
        key,
        ...(options.minVersion ? { minVersion: options.minVersion } : {}),
        ...(options.touchAt !== undefined ? { touchAt: options.touchAt } : {}),
      },
      true,
    );
    return this.#session(r);
  }

  #session(r: ClientResponse & { kind: 'ok' }): Session | null {
    if (!r.found || !r.session) return null;
    try {
      return withoutReserved(decodeSession(r.session));
    } catch (err) {
      if (err instanceof SessionCodecError) {
        throw new SessionBackendError(
          'CORRUPT',
          `session node sent a session this client cannot read: ${err.code}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  async revalidate(
    key: string,
    known: Version,
    options: Pick<LoadOptions, 'touchAt'> = {},
  ): Promise<Session | null | 'unchanged'> {
    const r = await this.#call(
      {
        op: 'get',
        key,
        known,
        ...(options.touchAt !== undefined ? { touchAt: options.touchAt } : {}),
      },
      true,
    );
    if (r.unchanged) return 'unchanged';
    return this.#session(r);
  }

  async create(session: Session, options: WriteOptions): Promise<Version> {
    const ops: Op[] = [];
    for (const [name, value] of session.attributes) ops.push({ op: 'set', name, value });
    if (session.principal !== null) ops.push({ op: 'setPrincipal', principal: session.principal });
    if (!session.isNew || session.lastAccessedAt !== session.createdAt) {
      ops.push({ op: 'touch', at: session.lastAccessedAt });
    }
    const level = options.level ?? this.#o.level;
    const r = await this.#call(
      {
        op: 'create',
        key: session.key,
        createdAt: session.createdAt,
        maxInactiveSeconds: session.maxInactiveSeconds,
        delta: encodeDelta(createDelta(session.key, { epoch: 0, seq: 0 }, ops)),
        seq: this.#seqOf(options.requestId),
        ...(level ? { ack: level } : {}),
      },
      true,
    );
    return r.version;
  }

  async apply(key: string, delta: Delta, options: ApplyOptions): Promise<Version> {
    if (delta.key !== key) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'delta.key is not the key given');
    }
    const level = options.level ?? this.#o.level;
    const r = await this.#call(
      {
        op: 'apply',
        key,
        delta: encodeDelta(delta),
        seq: this.#seqOf(options.requestId),
        ...(options.expected ? { expected: options.expected } : {}),
        ...(level ? { ack: level } : {}),
      },
      true,
    );
    return r.version;
  }

  async touch(entries: readonly TouchEntry[]): Promise<void> {
    await Promise.all(
      entries.map((e) =>
        this.#call({ op: 'touch', key: e.key, at: e.at }, true).catch((err: unknown) => {
          if (err instanceof SessionBackendError && err.code === 'NOT_FOUND') return;
          throw err;
        }),
      ),
    );
  }

  async destroy(key: string): Promise<void> {
    try {
      await this.#call(
        { op: 'destroy', key, ...(this.#o.level ? { ack: this.#o.level } : {}) },
        true,
      );
    } catch (err) {
      if (err instanceof SessionBackendError && err.code === 'NOT_FOUND') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
  }
}
