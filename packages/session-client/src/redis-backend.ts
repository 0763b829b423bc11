import { Buffer } from 'node:buffer';
import type { Delta, Session, Version } from '@cohort/session-codec';
import {
  createClient,
  createCluster,
  ErrorReply,
  RESP_TYPES,
  type RedisClientOptions,
  type RedisClusterOptions,
} from 'redis';
import type {
  AckLevel,
  ApplyOptions,
  LoadOptions,
  SessionBackend,
  TouchEntry,
  WriteOptions,
} from './backend.js';
import { SessionBackendError } from './errors.js';
import { ATTRIBUTE_PREFIX, FIELD, decodeSessionHash, encodePrincipal } from './redis-hash.js';
import { APPLY, CREATE, LOAD_TOUCH, REVALIDATE, TOUCH, type Script } from './redis-scripts.js';

type Arg = string | Buffer;

/** The part of a node-redis client (`createClient`) this backend uses. */
export interface RedisClientLike {
  sendCommand(args: readonly Arg[], options?: object): Promise<unknown>;
  close(): Promise<void>;
}

/** The part of a node-redis cluster client (`createCluster`) this backend uses. */
export interface RedisClusterLike {
  sendCommand(
    firstKey: Arg | undefined,
    isReadonly: boolean | undefined,
    args: readonly Arg[],
    options?: object,
  ): Promise<unknown>;
  readonly masters: readonly unknown[];
  nodeClient(node: never): Promise<RedisClientLike>;
  /** node-redis's slot map (internal; used to re-read it after a master failed). */
  readonly _slots?: { rediscover(startWith: unknown): Promise<void> };
  close(): Promise<void>;
}

/** A node-redis client or cluster client, connected. */
export type AnyRedis = RedisClientLike | RedisClusterLike;

/** Options of {@link RedisBackend}. */
export interface RedisBackendOptions {
  /** A connected node-redis client (`createClient`) or cluster (`createCluster`). */
  readonly client: AnyRedis;
  /** Key prefix: a session is the hash `<prefix>{<key>}` (default `cohort:s:`). */
  readonly prefix?: string;
  /**
   * Extra life of a hash past its idle timeout, so touches batched by the middleware (sent late
   * by up to its touch interval) never lose a live session (default 60 000 ms).
   */
  readonly idleGraceMs?: number;
  /** Per-command timeout; a command not answered in time rejects with TIMEOUT (default 2000). */
  readonly commandTimeoutMs?: number;
  /** `close()` also closes the client (default: true when {@link RedisBackend.connect} made it). */
  readonly ownsClient?: boolean;
  /**
   * Replicas that must hold a write before it is acknowledged (Redis `WAIT`, after each create
   * and apply; default 0: Redis's asynchronous replication, a failover can lose the last
   * writes). A write with `level: 'owner'` does not wait. Fewer confirmations in time reject
   * with TIMEOUT (the write is on the master; a retry with its request id applies it once).
   */
  readonly replicaAcks?: number;
}

/** Where {@link RedisBackend.connect} connects. */
export type RedisTarget =
  | { readonly url: string; readonly client?: Partial<RedisClientOptions> }
  | {
      readonly cluster: readonly { readonly url: string }[];
      readonly options?: Partial<RedisClusterOptions>;
    };

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

interface Runner {
  run(key: string | undefined, readonly: boolean, args: Arg[]): Promise<unknown>;
  /** One sender per master (one for a single server), for SCAN. */
  nodes(): Promise<((args: Arg[]) => Promise<unknown>)[]>;
}

class CommandTimeout extends Error {}

/**
 * Rejects with {@link CommandTimeout} when `p` takes longer than `ms` (node-redis's own
 * `timeout` covers only the time a command waits to be written, not the wait for its reply).
 * The reply, if it comes later, is read and dropped by node-redis in order.
 */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CommandTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Makes node-redis re-read the cluster's slot map, starting from a random known master. */
function rediscover(cluster: RedisClusterLike): Promise<void> {
  const masters = cluster.masters as readonly { host?: string; port?: number }[];
  const m = masters[Math.floor(Math.random() * masters.length)];
  if (cluster._slots === undefined || m?.host === undefined) return Promise.resolve();
  return cluster._slots.rediscover({ options: { socket: { host: m.host, port: m.port } } });
}

function runnerOf(client: AnyRedis, timeout: number): Runner {
  const options = { typeMapping: BUFFERS, timeout };
  if ('masters' in client) {
    const cluster = client as RedisClusterLike;
    const send = (key: Arg | undefined, readonly: boolean, args: Arg[]): Promise<unknown> =>
      within(cluster.sendCommand(key, readonly, args, options), timeout);
    return {
      // node-redis re-reads the slot map only on MOVED/ASK, which a dead master never sends: after
      // a connection failure or timeout, re-read it (a failover may have promoted a replica) and
      // try once more. Every command here is safe to repeat (the scripts check the request id).
      run: async (key, readonly, args) => {
        try {
          return await send(key, readonly, args);
        } catch (err) {
          if (err instanceof ErrorReply) throw err;
          await within(rediscover(cluster), timeout).catch(() => undefined);
          return send(key, readonly, args);
        }
      },
      nodes: async () => {
        const out: ((args: Arg[]) => Promise<unknown>)[] = [];
        for (const m of cluster.masters) {
          const c = await cluster.nodeClient(m as never);
          out.push((args) => within(c.sendCommand(args, options), timeout));
        }
        return out;
      },
    };
  }
  const c = client as RedisClientLike;
  return {
    run: (_key, _ro, args) => within(c.sendCommand(args, options), timeout),
    nodes: async () => [(args) => within(c.sendCommand(args, options), timeout)],
  };
}

/** Maps a node-redis failure to a typed error. */
function backendError(err: unknown, what: string): SessionBackendError {
  if (err instanceof SessionBackendError) return err;
  const name = err instanceof Error ? err.constructor.name : '';
  if (
    err instanceof CommandTimeout ||
    name === 'TimeoutError' ||
    name === 'SocketTimeoutError' ||
    name === 'CommandTimeoutDuringMaintenanceError'
  ) {
    return new SessionBackendError('TIMEOUT', `redis did not answer ${what} in time`, {
      cause: err,
    });
  }
  if (name === 'ClientClosedError') {
    return new SessionBackendError('CLOSED', `redis client is closed (${what})`, { cause: err });
  }
  if (err instanceof ErrorReply) {
    return new SessionBackendError(
      'UNAVAILABLE',
      `redis refused ${what}: ${err.message.slice(0, 120)}`,
      {
        cause: err,
      },
    );
  }
  const msg = err instanceof Error ? err.message.slice(0, 120) : String(err);
  return new SessionBackendError('UNAVAILABLE', `redis unreachable for ${what}: ${msg}`, {
    cause: err,
  });
}

function replyInts(reply: unknown, what: string): number[] {
  if (!Array.isArray(reply) || !reply.every((x) => typeof x === 'number')) {
    throw new SessionBackendError('CORRUPT', `unexpected redis reply to ${what}`);
  }
  return reply as number[];
}

/**
 * A {@link SessionBackend} on Redis, Redis Cluster or Valkey, with node-redis: one hash per session
 * (see `redis-hash.ts` for the fields), one `HSET`/`HDEL` per changed attribute, applied with
 * the version bump, request-id check and optional compare-and-set in one Lua script (atomic);
 * touches of many sessions go out pipelined in one round trip; expiry is the hash's `PEXPIRE`
 * (idle timeout + grace), measured by Redis's clock. One key per session, so a cluster never needs
 * cross-slot commands.
 */
export class RedisBackend implements SessionBackend {
  readonly #client: AnyRedis;
  readonly #runner: Runner;
  readonly #prefix: string;
  readonly #grace: string;
  readonly #owns: boolean;
  readonly #replicaAcks: number;
  readonly #waitMs: string;
  #closed = false;

  /** @param options - the client and the layout */
  constructor(options: RedisBackendOptions) {
    this.#client = options.client;
    this.#prefix = options.prefix ?? 'cohort:s:';
    const grace = options.idleGraceMs ?? 60_000;
    if (!Number.isSafeInteger(grace) || grace < 0) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'idleGraceMs must be an integer >= 0');
    }
    if (/[{}*?[\]\\]/.test(this.#prefix)) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'prefix must not contain { } * ? [ ] \\');
    }
    this.#grace = String(grace);
    this.#owns = options.ownsClient ?? false;
    this.#replicaAcks = options.replicaAcks ?? 0;
    if (!Number.isSafeInteger(this.#replicaAcks) || this.#replicaAcks < 0) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'replicaAcks must be an integer >= 0');
    }
    this.#waitMs = String(Math.max(1, Math.floor((options.commandTimeoutMs ?? 2000) * 0.8)));
    this.#runner = runnerOf(options.client, options.commandTimeoutMs ?? 2000);
  }

  /**
   * Connects a new client (or cluster client) and wraps it; `close()` closes it. Commands fail
   * at once while disconnected (no offline queue), so a request never waits for a dead server.
   */
  static async connect(
    target: RedisTarget,
    options: Omit<RedisBackendOptions, 'client'> = {},
  ): Promise<RedisBackend> {
    let client: AnyRedis & { on(e: 'error', f: () => void): unknown; connect(): Promise<unknown> };
    try {
      if ('cluster' in target) {
        client = createCluster({
          rootNodes: target.cluster.map((n) => ({ url: n.url })),
          defaults: { disableOfflineQueue: true, socket: { connectTimeout: 2000 } },
          ...target.options,
        }) as unknown as typeof client;
      } else {
        client = createClient({
          url: target.url,
          disableOfflineQueue: true,
          socket: { connectTimeout: 2000 },
          ...target.client,
        }) as unknown as typeof client;
      }
      client.on('error', () => undefined); // failures surface as rejected commands
      await client.connect();
    } catch (err) {
      throw backendError(err, 'connect');
    }
    return new RedisBackend({ ownsClient: true, ...options, client });
  }

  /** The hash key of a session. */
  hashKey(key: string): string {
    return `${this.#prefix}{${key}}`;
  }

  #open(): void {
    if (this.#closed) throw new SessionBackendError('CLOSED', 'redis backend is closed');
  }

  async #eval(script: Script, hashKey: string, args: Arg[], what: string): Promise<unknown> {
    this.#open();
    try {
      try {
        return await this.#runner.run(hashKey, false, [
          'EVALSHA',
          script.sha,
          '1',
          hashKey,
          ...args,
        ]);
      } catch (err) {
        if (!(err instanceof ErrorReply) || !err.message.startsWith('NOSCRIPT')) throw err;
        return await this.#runner.run(hashKey, false, [
          'EVAL',
          script.source,
          '1',
          hashKey,
          ...args,
        ]);
      }
    } catch (err) {
      throw backendError(err, what);
    }
  }

  /** Waits until `replicaAcks` replicas hold this connection's writes (Redis `WAIT`). */
  async #replicated(hashKey: string, level: AckLevel | undefined, what: string): Promise<void> {
    if (this.#replicaAcks === 0 || level === 'owner') return;
    let got: unknown;
    try {
      got = await this.#runner.run(hashKey, false, [
        'WAIT',
        String(this.#replicaAcks),
        this.#waitMs,
      ]);
    } catch (err) {
      throw backendError(err, what);
    }
    if (typeof got !== 'number' || got < this.#replicaAcks) {
      throw new SessionBackendError(
        'TIMEOUT',
        `${what}: ${String(got)} of ${this.#replicaAcks} replicas confirmed in ${this.#waitMs} ms; retry with the same request id`,
      );
    }
  }

  /** {@inheritDoc SessionBackend.load} */
  async load(key: string, options: LoadOptions = {}): Promise<Session | null> {
    this.#open();
    const hk = this.hashKey(key);
    let reply: unknown;
    if (options.touchAt !== undefined) {
      reply = await this.#eval(
        LOAD_TOUCH,
        hk,
        [String(Math.trunc(options.touchAt)), this.#grace],
        'load',
      );
    } else {
      try {
        reply = await this.#runner.run(hk, true, ['HGETALL', hk]);
      } catch (err) {
        throw backendError(err, 'load');
      }
    }
    return decodeSessionHash(key, reply);
  }

  /** {@inheritDoc SessionBackend.revalidate} */
  async revalidate(
    key: string,
    known: Version,
    options: Pick<LoadOptions, 'touchAt'> = {},
  ): Promise<Session | null | 'unchanged'> {
    if (known.epoch !== 0) return this.load(key, options);
    const touchAt = options.touchAt === undefined ? '' : String(Math.trunc(options.touchAt));
    const reply = await this.#eval(
      REVALIDATE,
      this.hashKey(key),
      [String(known.seq), touchAt, this.#grace],
      'revalidate',
    );
    return reply === 1 ? 'unchanged' : decodeSessionHash(key, reply);
  }

  /** {@inheritDoc SessionBackend.create} */
  async create(session: Session, options: WriteOptions): Promise<Version> {
    const args: Arg[] = [
      options.requestId,
      this.#grace,
      FIELD.createdAt,
      String(session.createdAt),
      FIELD.lastAccessedAt,
      String(session.lastAccessedAt),
      FIELD.maxInactive,
      String(session.maxInactiveSeconds),
      FIELD.isNew,
      session.isNew ? '1' : '0',
    ];
    if (session.principal !== null) args.push(FIELD.principal, encodePrincipal(session.principal));
    for (const [name, bytes] of session.attributes)
      args.push(ATTRIBUTE_PREFIX + name, asBuffer(bytes));
    const r = replyInts(
      await this.#eval(CREATE, this.hashKey(session.key), args, 'create'),
      'create',
    );
    if (r[0] === -3)
      throw new SessionBackendError('EXISTS', 'a session with this key exists already');
    await this.#replicated(this.hashKey(session.key), options.level, 'create');
    return { epoch: 0, seq: r[1]! };
  }

  /** {@inheritDoc SessionBackend.apply} */
  async apply(key: string, delta: Delta, options: ApplyOptions): Promise<Version> {
    if (delta.key !== key) {
      throw new SessionBackendError('INVALID_ARGUMENT', 'delta is for another session key');
    }
    let invalidate = false;
    let maxInactive = '';
    let principal = '';
    let touchAt = '';
    const sets: Arg[] = [];
    const removes: Arg[] = [];
    for (const op of delta.ops) {
      switch (op.op) {
        case 'set':
          sets.push(ATTRIBUTE_PREFIX + op.name, asBuffer(op.value));
          break;
        case 'remove':
          removes.push(ATTRIBUTE_PREFIX + op.name);
          break;
        case 'setMaxInactive':
          maxInactive = String(op.seconds);
          break;
        case 'setPrincipal':
          principal = op.principal === null ? '-' : encodePrincipal(op.principal);
          break;
        case 'touch':
          touchAt = String(op.at);
          break;
        case 'invalidate':
          invalidate = true;
          break;
      }
    }
    const expected = options.expected === undefined ? '' : String(options.expected.seq);
    if (options.expected !== undefined && options.expected.epoch !== 0) {
      throw new SessionBackendError('CAS_FAILED', 'redis versions are in epoch 0');
    }
    const r = replyInts(
      await this.#eval(
        APPLY,
        this.hashKey(key),
        [
          options.requestId,
          expected,
          this.#grace,
          invalidate ? '1' : '0',
          maxInactive,
          principal,
          touchAt,
          String(sets.length / 2),
          ...sets,
          ...removes,
        ],
        'apply',
      ),
      'apply',
    );
    if (r[0] === -1) throw new SessionBackendError('NOT_FOUND', 'no such session');
    if (r[0] === -2) {
      throw new SessionBackendError('CAS_FAILED', 'the session changed since the expected version');
    }
    await this.#replicated(this.hashKey(key), options.level, 'apply');
    return { epoch: 0, seq: r[1]! };
  }

  /** {@inheritDoc SessionBackend.touch} */
  async touch(entries: readonly TouchEntry[]): Promise<void> {
    this.#open();
    // Issued in one tick: node-redis pipelines them into one write per connection.
    await Promise.all(
      entries.map((e) =>
        this.#eval(TOUCH, this.hashKey(e.key), [String(Math.trunc(e.at)), this.#grace], 'touch'),
      ),
    );
  }

  /** {@inheritDoc SessionBackend.destroy} */
  async destroy(key: string): Promise<void> {
    this.#open();
    const hk = this.hashKey(key);
    try {
      await this.#runner.run(hk, false, ['UNLINK', hk]);
    } catch (err) {
      throw backendError(err, 'destroy');
    }
  }

  async #scan(): Promise<string[]> {
    this.#open();
    const keys: string[] = [];
    try {
      for (const send of await this.#runner.nodes()) {
        let cursor = '0';
        do {
          const reply = (await send([
            'SCAN',
            cursor,
            'MATCH',
            `${this.#prefix}{*}`,
            'COUNT',
            '1000',
            'TYPE',
            'hash',
          ])) as [Buffer, Buffer[]];
          cursor = reply[0].toString('latin1');
          for (const k of reply[1]) keys.push(k.toString('utf8'));
        } while (cursor !== '0');
      }
    } catch (err) {
      throw backendError(err, 'scan');
    }
    return keys;
  }

  #keyOf(hashKey: string): string {
    return hashKey.slice(this.#prefix.length + 1, -1);
  }

  /** {@inheritDoc SessionBackend.all} — SCAN of every master: O(keyspace). */
  async all(): Promise<Session[]> {
    const out: Session[] = [];
    for (const hk of await this.#scan()) {
      const s = await this.load(this.#keyOf(hk));
      if (s !== null) out.push(s);
    }
    return out;
  }

  /** {@inheritDoc SessionBackend.length} — SCAN of every master: O(keyspace). */
  async length(): Promise<number> {
    return (await this.#scan()).length;
  }

  /** {@inheritDoc SessionBackend.clear} — removes this prefix's sessions only, never FLUSHDB. */
  async clear(): Promise<void> {
    const keys = await this.#scan();
    try {
      await Promise.all(keys.map((hk) => this.#runner.run(hk, false, ['UNLINK', hk])));
    } catch (err) {
      throw backendError(err, 'clear');
    }
  }

  /** {@inheritDoc SessionBackend.close} */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owns) {
      try {
        await this.#client.close();
      } catch {
        // already closed
      }
    }
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
