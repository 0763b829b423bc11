import {
  decodeDelta,
  defaultValueCodec,
  encodeSession,
  SessionCodecError,
  type Op,
  type Session,
} from '@cohort/session-codec';
import type {
  AckLevel,
  ApplyRequest,
  ClientRequest,
  ClientResponse,
  CreateRequest,
  OpResult,
  PlacementMap,
} from '@cohort/replication';
import type { EngineHost, HostOp } from './engine-host.js';
import type { Slab } from './slab.js';

/**
 * Prefix of the attributes where the owner records, per client id, the highest dedupe `seq`
 * applied to a session. They replicate with the session, so a new owner after a failover knows
 * them too. Clients hide attributes whose name starts with NUL.
 */
export const SEQ_ATTRIBUTE_PREFIX = '\u0000seq:';

/** Limits the node enforces on client changes. */
export interface RequestLimits {
  readonly maxAttributeBytes: number;
  readonly maxSessionBytes: number;
  readonly maxAttributes: number;
}

/** What request handling needs from the node. */
export interface RequestContext {
  readonly host: EngineHost;
  readonly limits: RequestLimits;
  /** Default acknowledgement level. */
  readonly ack: AckLevel;
  /** Default idle timeout of new sessions, in seconds. */
  readonly maxInactive: number;
  /** Where kept bytes are copied to. */
  readonly slab: Slab;
  /** The current placement map (sent with NOT_OWNER). */
  readonly map: () => PlacementMap;
}

type Refusal = { code: string; message: string; field?: string };

function refuse(id: number, r: Refusal): ClientResponse {
  return {
    kind: 'error',
    id,
    code: r.code,
    message: r.message,
    ...(r.field ? { field: r.field } : {}),
  };
}

function fromResult(ctx: RequestContext, id: number, r: OpResult, deduped = false): ClientResponse {
  if (r.ok) {
    return {
      kind: 'ok',
      id,
      version: r.version,
      ...(r.token ? { token: r.token } : {}),
      ...(deduped ? { deduped: true } : {}),
    };
  }
  return {
    kind: 'error',
    id,
    code: r.code,
    message: r.message,
    ...(r.owner ? { owner: r.owner } : {}),
    ...(r.current ? { current: r.current } : {}),
    ...(r.code === 'NOT_OWNER' ? { map: ctx.map() } : {}),
  };
}

function sizeOf(s: Session | null): { bytes: number; count: number } {
  let bytes = 0;
  if (s) for (const v of s.attributes.values()) bytes += v.byteLength;
  return { bytes, count: s ? s.attributes.size : 0 };
}

/** Checks client ops against the limits and the reserved names; null when they pass. */
function checkOps(
  ops: readonly Op[],
  current: Session | null,
  limits: RequestLimits,
): Refusal | null {
  let { bytes, count } = sizeOf(current);
  for (const op of ops) {
    if ((op.op === 'set' || op.op === 'remove') && op.name.startsWith('\u0000')) {
      return {
        code: 'INVALID_OP',
        message: 'attribute names starting with NUL are reserved',
        field: 'delta',
      };
    }
    if (op.op !== 'set') {
      if (op.op === 'remove' && current?.attributes.has(op.name)) {
        bytes -= current.attributes.get(op.name)!.byteLength;
        count--;
      }
      continue;
    }
    if (op.value.byteLength > limits.maxAttributeBytes) {
      return {
        code: 'LIMIT_EXCEEDED',
        message: `attribute ${JSON.stringify(op.name).slice(0, 80)} is ${op.value.byteLength} bytes, the limit is ${limits.maxAttributeBytes}`,
        field: 'limits.maxAttributeBytes',
      };
    }
    const old = current?.attributes.get(op.name);
    bytes += op.value.byteLength - (old?.byteLength ?? 0);
    if (old === undefined) count++;
  }
  if (bytes > limits.maxSessionBytes) {
    return {
      code: 'LIMIT_EXCEEDED',
      message: `the session would be ${bytes} bytes, the limit is ${limits.maxSessionBytes}`,
      field: 'limits.maxSessionBytes',
    };
  }
  if (count > limits.maxAttributes) {
    return {
      code: 'LIMIT_EXCEEDED',
      message: `the session would have ${count} attributes, the limit is ${limits.maxAttributes}`,
      field: 'limits.maxAttributes',
    };
  }
  return null;
}

function deltaOps(key: string, bytes: Uint8Array | undefined, slab: Slab): Op[] | Refusal {
  if (bytes === undefined) return [];
  try {
    // The values stay views into these bytes for as long as the session holds them.
    const d = decodeDelta(slab.copy(bytes));
    if (d.key !== key)
      return { code: 'INVALID_OP', message: 'the delta is for another session', field: 'delta' };
    return [...d.ops];
  } catch (err) {
    if (err instanceof SessionCodecError) {
      return { code: 'INVALID_OP', message: `delta: ${err.message}`, field: 'delta' };
    }
    throw err;
  }
}

/** How many recent dedupe seqs the owner keeps per client and session. */
export const SEQ_WINDOW = 4;

function appliedSeqs(s: Session | null, clientId: string): number[] {
  const v = s?.attributes.get(SEQ_ATTRIBUTE_PREFIX + clientId);
  if (v === undefined) return [];
  try {
    const n = defaultValueCodec.decode(v);
    return Array.isArray(n) ? n.filter((x): x is number => typeof x === 'number') : [];
  } catch {
    return [];
  }
}

/**
 * Whether `seq` was applied: it is one of the recent seqs recorded, or older than all of them
 * once the window is full (a retry that late is taken as applied).
 */
function wasApplied(seqs: readonly number[], seq: number): boolean {
  return seqs.includes(seq) || (seqs.length >= SEQ_WINDOW && seq < Math.min(...seqs));
}

/**
 * Carries out client requests on the engine. Stateless apart from the engine: dedupe records live
 * in the sessions themselves.
 */
export class RequestHandler {
  readonly #ctx: RequestContext;
  /**
   * Accesses recorded here that the engine has not put into the session yet (it replicates
   * touches in batches, at most every max(TTL/4, 60 s)): reads show them at once.
   */
  readonly #touched = new Map<string, { at: number; since: number }>();
  #lastSweep = Date.now();

  #touch(key: string, at: number): void {
    const t = this.#touched.get(key);
    if (t === undefined || t.at < at) this.#touched.set(key, { at, since: Date.now() });
    const now = Date.now();
    if (now - this.#lastSweep > 60_000) {
      // Touches recorded 2 h ago have been replicated (batches: max(TTL/4, 60 s), TTL <= 4 h).
      this.#lastSweep = now;
      for (const [k, v] of this.#touched)
        if (now - v.since > 2 * 3_600_000) this.#touched.delete(k);
    }
  }

  #withTouch(s: Session): Session {
    const t = this.#touched.get(s.key);
    if (t === undefined) return s;
    if (s.lastAccessedAt >= t.at) {
      this.#touched.delete(s.key);
      return s;
    }
    return { ...s, lastAccessedAt: t.at, isNew: false };
  }

  /** @param ctx - the engine host, limits and defaults */
  constructor(ctx: RequestContext) {
    this.#ctx = ctx;
  }

  /**
   * Answers one request (`subscribe` and `ping` are answered by the connection).
   *
   * @param req - the decoded request
   * @param clientId - the connection's client id (for dedupe records)
   */
  async handle(req: ClientRequest, clientId: string): Promise<ClientResponse> {
    const ctx = this.#ctx;
    const host = ctx.host;
    switch (req.op) {
      case 'get': {
        const r = await host.submit({
          kind: 'read',
          key: req.key,
          ...(req.minVersion ? { minVersion: req.minVersion } : {}),
          ...(req.touchAt !== undefined ? { touch: req.touchAt } : {}),
        });
        if (!r.ok) return fromResult(ctx, req.id, r);
        let s = r.session ?? null;
        if (s !== null && req.touchAt !== undefined) this.#touch(req.key, req.touchAt);
        if (
          s !== null &&
          req.known !== undefined &&
          req.known.epoch === r.version.epoch &&
          req.known.seq === r.version.seq
        ) {
          return { kind: 'ok', id: req.id, version: r.version, found: true, unchanged: true };
        }
        if (s !== null) s = this.#withTouch(s);
        return s === null
          ? { kind: 'ok', id: req.id, version: r.version }
          : { kind: 'ok', id: req.id, version: r.version, found: true, session: encodeSession(s) };
      }
      case 'touch': {
        const r = await host.submit({ kind: 'read', key: req.key, touch: req.at });
        if (r.ok && (r.session ?? null) !== null) this.#touch(req.key, req.at);
        if (r.ok && (r.session ?? null) === null) {
          return {
            kind: 'error',
            id: req.id,
            code: 'NOT_FOUND',
            message: 'the session does not exist',
          };
        }
        return fromResult(ctx, req.id, r);
      }
      case 'create':
      case 'apply':
        return this.#write(req, clientId);
      case 'destroy': {
        const r = await host.submit({
          kind: 'write',
          key: req.key,
          ops: [{ op: 'invalidate' }],
          level: req.ack ?? ctx.ack,
          ...(req.expected ? { expected: req.expected } : {}),
          ...(req.fence ? { fence: req.fence } : {}),
        });
        return fromResult(ctx, req.id, r);
      }
      case 'lock': {
        const r = await host.submit({
          kind: 'acquire',
          key: req.key,
          holder: req.holder,
          durationMs: req.durationMs,
          level: req.ack ?? ctx.ack,
        });
        return fromResult(ctx, req.id, r);
      }
      case 'unlock': {
        const r = await host.submit({
          kind: 'release',
          key: req.key,
          token: req.token,
          level: req.ack ?? ctx.ack,
        });
        return fromResult(ctx, req.id, r);
      }
      case 'subscribe':
      case 'ping':
        return { kind: 'ok', id: req.id, version: { epoch: 0, seq: 0 } };
    }
  }

  async #write(req: CreateRequest | ApplyRequest, clientId: string): Promise<ClientResponse> {
    const ctx = this.#ctx;
    const host = ctx.host;
    const ops = deltaOps(req.key, req.delta, ctx.slab);
    if (!Array.isArray(ops)) return refuse(req.id, ops);
    const create =
      req.op === 'create'
        ? {
            createdAt: req.createdAt,
            maxInactiveSeconds: req.maxInactiveSeconds ?? ctx.maxInactive,
          }
        : req.create
          ? {
              createdAt: req.create.createdAt,
              maxInactiveSeconds: req.create.maxInactiveSeconds ?? ctx.maxInactive,
            }
          : undefined;
    const level = req.ack ?? ctx.ack;
    const seq = req.seq;
    let view = (host.flushFor(req.key), host.engine.inspect(req.key));
    if ((seq !== undefined || req.op === 'create') && view?.role !== 'owner') {
      // The dedupe record and the existence check must be read where the write will apply: make
      // this node the active owner first (a read claims the session when this node is first in
      // placement, or answers NOT_OWNER).
      const r = await host.submit({ kind: 'read', key: req.key });
      if (!r.ok) return fromResult(ctx, req.id, r);
      host.flush();
      view = host.engine.inspect(req.key);
      if (view?.role !== 'owner') {
        return {
          kind: 'error',
          id: req.id,
          code: 'UNAVAILABLE',
          message: 'ownership moved; retry',
        };
      }
    }
    const current = view?.session ?? null;
    const refusal = checkOps(ops, current, ctx.limits);
    if (refusal) return refuse(req.id, refusal);
    const expected = req.op === 'apply' ? req.expected : undefined;
    const fence = req.op === 'apply' ? req.fence : undefined;
    const seqs = seq !== undefined ? appliedSeqs(current, clientId) : [];
    if (seq !== undefined && current !== null && wasApplied(seqs, seq)) {
      // Applied before (a retry after a lost answer or a failover): answered with the session's
      // current version, without applying it again.
      return { kind: 'ok', id: req.id, version: view!.version, deduped: true };
    }
    if (req.op === 'create' && current !== null) {
      return {
        kind: 'error',
        id: req.id,
        code: 'EXISTS',
        message: 'a session with this key exists',
      };
    }
    if (seq !== undefined) {
      ops.push({
        op: 'set',
        name: SEQ_ATTRIBUTE_PREFIX + clientId,
        value: defaultValueCodec.encode([seq, ...seqs].sort((a, b) => b - a).slice(0, SEQ_WINDOW)),
      });
    }
    const op: HostOp = {
      kind: 'write',
      key: req.key,
      ops,
      level,
      ...(expected ? { expected } : {}),
      ...(fence ? { fence } : {}),
      ...(create ? { create } : {}),
    };
    // Queued to the end of this turn with the others (one replication frame per member for all
    // of them); the next write of this session flushes it before reading its dedupe record.
    return fromResult(ctx, req.id, await host.submit(op));
  }
}
