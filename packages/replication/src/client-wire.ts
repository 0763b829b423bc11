import protobuf from 'protobufjs/minimal.js';
import type { Version } from '@cohort/session-codec';
import { cohort } from '../gen/client.js';
import { ClientWireError } from './client-errors.js';
import type { AckLevel } from './ops.js';

const pb = cohort.client.v1;

/** The client wire version written in every message, and the only one read. */
export const CLIENT_WIRE_VERSION = 1;

/** Default largest client message accepted by the decoders, in bytes (4 MiB). */
export const DEFAULT_MAX_CLIENT_FRAME = 4 * 1024 * 1024;

/** A session node in a {@link PlacementMap}. */
export interface PlacementNode {
  /** Member id (`name#boot`), as used by `placementOf`. */
  readonly id: string;
  /** WebSocket URL of its client endpoint. */
  readonly url: string;
}

/** The routable session nodes; a session's owner is first in `placementOf(key, ids, replicas)`. */
export interface PlacementMap {
  readonly replicas: number;
  readonly nodes: readonly PlacementNode[];
}

/** Fields of a session to create when it does not exist. */
export interface CreateFields {
  /** ms since the Unix epoch (client's clock). */
  readonly createdAt: number;
  /** Idle timeout in seconds (negative: never); absent: the node's default. */
  readonly maxInactiveSeconds?: number;
}

interface RequestBase {
  /** The client's request id (> 0, a safe integer), echoed in the response. */
  readonly id: number;
}

/** Read a session (optionally at least `minVersion`, optionally recording an access). */
export interface GetRequest extends RequestBase {
  readonly op: 'get';
  readonly key: string;
  readonly minVersion?: Version;
  /** Record an access at this time (ms since the Unix epoch). */
  readonly touchAt?: number;
  /** The version of the client's copy: answered `unchanged` (no bytes) when still current. */
  readonly known?: Version;
}

/** Create a session (or change it when it exists) with the ops of `delta`. */
export interface CreateRequest extends RequestBase, CreateFields {
  readonly op: 'create';
  readonly key: string;
  /** session-codec Delta bytes for this key (initial attributes), or absent. */
  readonly delta?: Uint8Array;
  readonly ack?: AckLevel;
  /** Dedupe sequence (see {@link ApplyRequest.seq}). */
  readonly seq?: number;
}

/** Apply a request's delta. */
export interface ApplyRequest extends RequestBase {
  readonly op: 'apply';
  readonly key: string;
  /** session-codec Delta bytes for this key. */
  readonly delta: Uint8Array;
  readonly ack?: AckLevel;
  /** Compare-and-set: apply only at exactly this version. */
  readonly expected?: Version;
  /** The lease token this writer holds. */
  readonly fence?: Version;
  /**
   * Dedupe sequence (> 0): the owner answers a seq at or below the highest one this client id
   * applied to the session as done, without applying it again.
   */
  readonly seq?: number;
  /** Create the session with these fields when it does not exist. */
  readonly create?: CreateFields;
}

/** Record an access. */
export interface TouchRequest extends RequestBase {
  readonly op: 'touch';
  readonly key: string;
  /** ms since the Unix epoch. */
  readonly at: number;
}

/** End a session. */
export interface DestroyRequest extends RequestBase {
  readonly op: 'destroy';
  readonly key: string;
  readonly ack?: AckLevel;
  readonly expected?: Version;
  readonly fence?: Version;
}

/** Take the session's lease lock. */
export interface LockRequest extends RequestBase {
  readonly op: 'lock';
  readonly key: string;
  readonly holder: string;
  readonly durationMs: number;
  readonly ack?: AckLevel;
}

/** Give back a lease lock. */
export interface UnlockRequest extends RequestBase {
  readonly op: 'unlock';
  readonly key: string;
  readonly token: Version;
  readonly ack?: AckLevel;
}

/** Ask for placement map updates. */
export interface SubscribeRequest extends RequestBase {
  readonly op: 'subscribe';
}

/** A round trip with no effect. */
export interface PingRequest extends RequestBase {
  readonly op: 'ping';
}

/** One request of the client protocol (proto/client.proto `Request`). */
export type ClientRequest =
  | GetRequest
  | CreateRequest
  | ApplyRequest
  | TouchRequest
  | DestroyRequest
  | LockRequest
  | UnlockRequest
  | SubscribeRequest
  | PingRequest;

/** A successful answer. */
export interface OkResponse {
  readonly kind: 'ok';
  readonly id: number;
  readonly version: Version;
  /** Get: whether the session exists. */
  readonly found?: boolean;
  /** Get: session-codec Session bytes. */
  readonly session?: Uint8Array;
  /** Lock: the fencing token. */
  readonly token?: Version;
  /** Apply/Create: this seq had been applied already. */
  readonly deduped?: boolean;
  /** Get with `known`: the session is still at that version (no bytes sent). */
  readonly unchanged?: boolean;
}

/** A refusal or failure. */
export interface ErrorResponse {
  readonly kind: 'error';
  readonly id: number;
  /** Stable code (see the session node README). */
  readonly code: string;
  readonly message: string;
  /** NOT_OWNER: the member believed to own the session. */
  readonly owner?: string;
  /** CAS_FAILED, STALE: the node's version. */
  readonly current?: Version;
  /** NOT_OWNER: the node's placement map. */
  readonly map?: PlacementMap;
  /** The field that was wrong. */
  readonly field?: string;
}

/** A placement map pushed after a Subscribe (id 0). */
export interface MapResponse {
  readonly kind: 'map';
  readonly id: number;
  readonly map: PlacementMap;
}

/** The node's greeting when a connection opens (id 0). */
export interface HelloResponse {
  readonly kind: 'hello';
  readonly id: number;
  readonly node: string;
  readonly map: PlacementMap;
  readonly maxFrameBytes: number;
}

/** One message from node to client (proto/client.proto `Response`). */
export type ClientResponse = OkResponse | ErrorResponse | MapResponse | HelloResponse;

/** Limits of the decoders. */
export interface ClientDecodeLimits {
  /** Largest message accepted, in bytes (default {@link DEFAULT_MAX_CLIENT_FRAME}). */
  readonly maxFrameBytes?: number;
}

type LongLike = { low: number; high: number; unsigned: boolean };
type I64 = number | LongLike | null | undefined;

const ACK_OUT: Record<AckLevel, number> = { owner: 1, quorum: 2, all: 3 };
const ACK_IN: readonly (AckLevel | undefined)[] = [undefined, 'owner', 'quorum', 'all'];

class Ctx {
  constructor(readonly requestId: number | undefined) {}

  fail(problem: string, field: string, expected: string): never {
    throw new ClientWireError('MALFORMED', problem, {
      field,
      expected,
      ...(this.requestId !== undefined ? { requestId: this.requestId } : {}),
    });
  }

  num(v: I64, field: string, signed = false): number {
    if (v === null || v === undefined) return 0;
    let n: number;
    if (typeof v === 'number') n = v;
    else {
      const high = v.unsigned ? v.high >>> 0 : v.high | 0;
      n = high * 4294967296 + (v.low >>> 0);
    }
    if (!Number.isSafeInteger(n) || (!signed && n < 0)) {
      this.fail(`${field} is outside the safe integer range`, field, 'a safe integer');
    }
    return n;
  }

  key(v: string | null | undefined, field: string): string {
    if (!v) this.fail(`${field} is missing`, field, 'a non-empty session key');
    if (v.length > 1024) this.fail(`${field} is longer than 1024 characters`, field, 'a key');
    return v;
  }

  version(v: { epoch?: I64; seq?: I64 } | null | undefined, field: string): Version | undefined {
    if (v === null || v === undefined) return undefined;
    return { epoch: this.num(v.epoch, `${field}.epoch`), seq: this.num(v.seq, `${field}.seq`) };
  }

  ack(v: number | null | undefined, field: string): AckLevel | undefined {
    const n = v ?? 0;
    if (n < 0 || n >= ACK_IN.length) this.fail(`${field} is ${n}`, field, 'an Ack value 0-3');
    return ACK_IN[n];
  }

  map(m: cohort.client.v1.IPlacementMap | null | undefined, field: string): PlacementMap {
    if (!m) this.fail(`${field} is missing`, field, 'a placement map');
    const nodes = (m.nodes ?? []).map((n, i) => {
      if (!n.id) this.fail(`${field}.nodes[${i}].id is missing`, `${field}.nodes`, 'a member id');
      return { id: n.id, url: n.url ?? '' };
    });
    return { replicas: m.replicas ?? 0, nodes };
  }
}

function omitUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function createIn(
  c: Ctx,
  x: cohort.client.v1.ICreate,
  field: string,
): CreateFields & { maxInactiveSeconds?: number } {
  return omitUndefined({
    createdAt: c.num(x.createdAt, `${field}.createdAt`, true),
    maxInactiveSeconds: x.maxInactive ? (x.maxInactive.seconds ?? 0) : undefined,
  });
}

function bytesOrUndefined(b: Uint8Array | null | undefined): Uint8Array | undefined {
  return b && b.length > 0 ? b : undefined;
}

function requestIn(m: cohort.client.v1.Request, id: number): ClientRequest {
  const c: Ctx = new Ctx(id);
  switch (m.op) {
    case 'get': {
      const x = m.get!;
      return omitUndefined({
        op: 'get',
        id,
        key: c.key(x.key, 'get.key'),
        minVersion: c.version(x.minVersion, 'get.minVersion'),
        touchAt: x.touch ? c.num(x.touchAt, 'get.touchAt', true) : undefined,
        known: c.version(x.known, 'get.known'),
      });
    }
    case 'create': {
      const x = m.create!;
      const seq = c.num(x.seq, 'create.seq');
      return omitUndefined({
        op: 'create',
        id,
        key: c.key(x.key, 'create.key'),
        ...createIn(c, x, 'create'),
        delta: bytesOrUndefined(x.delta),
        ack: c.ack(x.ack, 'create.ack'),
        seq: seq > 0 ? seq : undefined,
      });
    }
    case 'apply': {
      const x = m.apply!;
      if (!x.delta || x.delta.length === 0)
        c.fail('apply.delta is missing', 'apply.delta', 'a Delta');
      const seq = c.num(x.seq, 'apply.seq');
      return omitUndefined({
        op: 'apply',
        id,
        key: c.key(x.key, 'apply.key'),
        delta: x.delta,
        ack: c.ack(x.ack, 'apply.ack'),
        expected: c.version(x.expected, 'apply.expected'),
        fence: c.version(x.fence, 'apply.fence'),
        seq: seq > 0 ? seq : undefined,
        create: x.create ? createIn(c, x.create, 'apply.create') : undefined,
      });
    }
    case 'touch': {
      const x = m.touch!;
      return {
        op: 'touch',
        id,
        key: c.key(x.key, 'touch.key'),
        at: c.num(x.at, 'touch.at', true),
      };
    }
    case 'destroy': {
      const x = m.destroy!;
      return omitUndefined({
        op: 'destroy',
        id,
        key: c.key(x.key, 'destroy.key'),
        ack: c.ack(x.ack, 'destroy.ack'),
        expected: c.version(x.expected, 'destroy.expected'),
        fence: c.version(x.fence, 'destroy.fence'),
      });
    }
    case 'lock': {
      const x = m.lock!;
      if (!x.holder) c.fail('lock.holder is missing', 'lock.holder', 'a holder name');
      if (!x.durationMs) c.fail('lock.durationMs is 0', 'lock.durationMs', 'a duration > 0');
      return omitUndefined({
        op: 'lock',
        id,
        key: c.key(x.key, 'lock.key'),
        holder: x.holder,
        durationMs: x.durationMs,
        ack: c.ack(x.ack, 'lock.ack'),
      });
    }
    case 'unlock': {
      const x = m.unlock!;
      const token = c.version(x.token, 'unlock.token');
      if (!token) c.fail('unlock.token is missing', 'unlock.token', 'the lease token');
      return omitUndefined({
        op: 'unlock',
        id,
        key: c.key(x.key, 'unlock.key'),
        token,
        ack: c.ack(x.ack, 'unlock.ack'),
      });
    }
    case 'subscribe':
      return { op: 'subscribe', id };
    case 'ping':
      return { op: 'ping', id };
    default:
      throw new ClientWireError('UNKNOWN_OP', 'request has no operation this node knows', {
        requestId: id,
        field: 'op',
        expected: 'one of get, create, apply, touch, destroy, lock, unlock, subscribe, ping',
      });
  }
}

function versionOut(v: Version | undefined): cohort.client.v1.IVersion | null {
  return v === undefined ? null : { epoch: v.epoch, seq: v.seq };
}

function mapOut(m: PlacementMap): cohort.client.v1.IPlacementMap {
  return { replicas: m.replicas, nodes: m.nodes.map((n) => ({ id: n.id, url: n.url })) };
}

function createOut(x: CreateFields): Pick<cohort.client.v1.ICreate, 'createdAt' | 'maxInactive'> {
  return {
    createdAt: x.createdAt,
    maxInactive: x.maxInactiveSeconds === undefined ? null : { seconds: x.maxInactiveSeconds },
  };
}

function ackOut(a: AckLevel | undefined): number {
  return a === undefined ? 0 : ACK_OUT[a];
}

/**
 * Encodes a request as a `Request` message of proto/client.proto.
 *
 * @param r - the request
 */
export function encodeRequest(r: ClientRequest): Uint8Array {
  const m: cohort.client.v1.IRequest = { version: CLIENT_WIRE_VERSION, id: r.id };
  switch (r.op) {
    case 'get':
      m.get = {
        key: r.key,
        minVersion: versionOut(r.minVersion),
        touch: r.touchAt !== undefined,
        touchAt: r.touchAt ?? 0,
        known: versionOut(r.known),
      };
      break;
    case 'create':
      m.create = {
        key: r.key,
        ...createOut(r),
        delta: r.delta ?? null,
        ack: ackOut(r.ack),
        seq: r.seq ?? 0,
      };
      break;
    case 'apply':
      m.apply = {
        key: r.key,
        delta: r.delta,
        ack: ackOut(r.ack),
        expected: versionOut(r.expected),
        fence: versionOut(r.fence),
        seq: r.seq ?? 0,
        create: r.create ? createOut(r.create) : null,
      };
      break;
    case 'touch':
      m.touch = { key: r.key, at: r.at };
      break;
    case 'destroy':
      m.destroy = {
        key: r.key,
        ack: ackOut(r.ack),
        expected: versionOut(r.expected),
        fence: versionOut(r.fence),
      };
      break;
    case 'lock':
      m.lock = { key: r.key, holder: r.holder, durationMs: r.durationMs, ack: ackOut(r.ack) };
      break;
    case 'unlock':
      m.unlock = { key: r.key, token: versionOut(r.token), ack: ackOut(r.ack) };
      break;
    case 'subscribe':
      m.subscribe = {};
      break;
    case 'ping':
      m.ping = {};
      break;
  }
  return pb.Request.encode(m).finish();
}

function checkSize(bytes: Uint8Array, limits: ClientDecodeLimits, what: string): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new ClientWireError('MALFORMED', `${what} is not bytes`, { expected: 'a Uint8Array' });
  }
  const max = limits.maxFrameBytes ?? DEFAULT_MAX_CLIENT_FRAME;
  if (bytes.byteLength > max) {
    throw new ClientWireError('TOO_LARGE', `${what} is ${bytes.byteLength} bytes`, {
      offset: 0,
      expected: `at most ${max} bytes`,
    });
  }
}

function checkVersion(v: number | null | undefined, requestId: number | undefined): void {
  if ((v ?? 0) !== CLIENT_WIRE_VERSION) {
    throw new ClientWireError('UNSUPPORTED_VERSION', `client wire version ${v ?? 0}`, {
      field: 'version',
      expected: `version ${CLIENT_WIRE_VERSION}`,
      ...(requestId !== undefined ? { requestId } : {}),
    });
  }
}

function decodeWith<T>(decode: (r: protobuf.Reader) => T, bytes: Uint8Array, what: string): T {
  const reader = protobuf.Reader.create(bytes);
  try {
    return decode(reader);
  } catch (cause) {
    throw new ClientWireError('MALFORMED', `not a valid ${what}: ${(cause as Error).message}`, {
      offset: reader.pos,
      expected: `a ${what} message of proto/client.proto`,
      cause,
    });
  }
}

/**
 * Decodes a `Request` message.
 *
 * @param bytes - one WebSocket message
 * @param limits - size limit
 * @throws ClientWireError MALFORMED, UNSUPPORTED_VERSION, UNKNOWN_OP (with `requestId` when the
 *   id could be read) or TOO_LARGE; nothing else, for any input
 */
export function decodeRequest(bytes: Uint8Array, limits: ClientDecodeLimits = {}): ClientRequest {
  checkSize(bytes, limits, 'request');
  const m = decodeWith((r) => pb.Request.decode(r), bytes, 'Request');
  const id = new Ctx(undefined).num(m.id, 'id');
  checkVersion(m.version, id > 0 ? id : undefined);
  if (id === 0) new Ctx(undefined).fail('request id is 0', 'id', 'a request id > 0');
  return requestIn(m, id);
}

/**
 * Encodes a response as a `Response` message of proto/client.proto.
 *
 * @param r - the response
 */
export function encodeResponse(r: ClientResponse): Uint8Array {
  const m: cohort.client.v1.IResponse = { version: CLIENT_WIRE_VERSION, id: r.id };
  switch (r.kind) {
    case 'ok':
      m.ok = {
        version: versionOut(r.version),
        found: r.found ?? false,
        session: r.session ?? null,
        token: versionOut(r.token),
        deduped: r.deduped ?? false,
        unchanged: r.unchanged ?? false,
      };
      break;
    case 'error':
      m.error = {
        code: r.code,
        message: r.message,
        owner: r.owner ?? '',
        current: versionOut(r.current),
        map: r.map ? mapOut(r.map) : null,
        field: r.field ?? '',
      };
      break;
    case 'map':
      m.map = mapOut(r.map);
      break;
    case 'hello':
      m.hello = { node: r.node, map: mapOut(r.map), maxFrameBytes: r.maxFrameBytes };
      break;
  }
  return pb.Response.encode(m).finish();
}

/**
 * Decodes a `Response` message.
 *
 * @param bytes - one WebSocket message
 * @param limits - size limit
 * @throws ClientWireError MALFORMED, UNSUPPORTED_VERSION, UNKNOWN_OP or TOO_LARGE; nothing else
 */
export function decodeResponse(bytes: Uint8Array, limits: ClientDecodeLimits = {}): ClientResponse {
  checkSize(bytes, limits, 'response');
  const m = decodeWith((r) => pb.Response.decode(r), bytes, 'Response');
  const c0 = new Ctx(undefined);
  const id = c0.num(m.id, 'id');
  checkVersion(m.version, undefined);
  const c: Ctx = new Ctx(id);
  switch (m.result) {
    case 'ok': {
      const x = m.ok!;
      return omitUndefined({
        kind: 'ok',
        id,
        version: c.version(x.version, 'ok.version') ?? { epoch: 0, seq: 0 },
        found: x.found ? true : undefined,
        session: bytesOrUndefined(x.session),
        token: c.version(x.token, 'ok.token'),
        deduped: x.deduped ? true : undefined,
        unchanged: x.unchanged ? true : undefined,
      });
    }
    case 'error': {
      const x = m.error!;
      if (!x.code) c.fail('error.code is missing', 'error.code', 'an error code');
      return omitUndefined({
        kind: 'error',
        id,
        code: x.code,
        message: x.message ?? '',
        owner: x.owner || undefined,
        current: c.version(x.current, 'error.current'),
        map: x.map ? c.map(x.map, 'error.map') : undefined,
        field: x.field || undefined,
      });
    }
    case 'map':
      return { kind: 'map', id, map: c.map(m.map, 'map') };
    case 'hello': {
      const x = m.hello!;
      if (!x.node) c.fail('hello.node is missing', 'hello.node', 'a member id');
      return {
        kind: 'hello',
        id,
        node: x.node,
        map: c.map(x.map, 'hello.map'),
        maxFrameBytes: x.maxFrameBytes ?? 0,
      };
    }
    default:
      throw new ClientWireError('UNKNOWN_OP', 'response has no result this client knows', {
        requestId: id,
        field: 'result',
        expected: 'one of ok, error, map, hello',
      });
  }
}
