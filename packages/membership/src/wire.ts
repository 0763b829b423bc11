import { cohort } from '../gen/membership.js';
import { MembershipError } from './errors.js';

const pb = cohort.membership.v1;

/** Wire format version carried by every datagram and stream frame. */
export const WIRE_VERSION = 1;

/** Liveness status as it travels on the wire and is reported by the API. */
export type MemberStatus = 'alive' | 'suspect' | 'dead' | 'left';

const STATUS_BY_CODE: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
const CODE_BY_STATUS: Record<MemberStatus, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** One message inside a datagram (a datagram is a compound of several). */
export type WireMessage =
  | { type: 'ping'; seq: number; target: string; checksum: number }
  | { type: 'ping-req'; seq: number; target: string; targetAddr: string }
  | { type: 'ack'; seq: number; checksum: number }
  | { type: 'nack'; seq: number }
  | {
      type: 'alive';
      name: string;
      incarnation: number;
      addr: string;
      meta: Uint8Array;
      metaHash: number;
      metaSize: number;
    }
  | { type: 'suspect'; name: string; incarnation: number; from: string }
  | { type: 'dead'; name: string; incarnation: number; from: string; left: boolean }
  | { type: 'user'; origin: string; id: number; payload: Uint8Array };

/** A decoded datagram. */
export interface Envelope {
  version: number;
  cluster: string;
  from: string;
  messages: WireMessage[];
}

/** Versioned state of one member as exchanged by anti-entropy. */
export interface WireRecord {
  name: string;
  addr: string;
  incarnation: number;
  status: MemberStatus;
  /** Inline metadata; empty when the metadata is larger than the inline limit (pull by hash). */
  meta: Uint8Array;
  metaHash: number;
  metaSize: number;
}

/** Digest entry: the version of one member's state. */
export interface DigestEntry {
  name: string;
  incarnation: number;
  status: MemberStatus;
}

/** Body of a stream frame. */
export type FrameBody =
  | { type: 'sync-request'; join: boolean; self: WireRecord | undefined; digest: DigestEntry[] }
  | { type: 'sync-response'; self: WireRecord | undefined; records: WireRecord[]; want: string[] }
  | { type: 'sync-push'; records: WireRecord[] }
  | { type: 'ping'; seq: number; target: string; checksum: number }
  | { type: 'ack'; seq: number; checksum: number }
  | { type: 'meta-pull'; name: string; metaHash: number }
  | { type: 'meta-push'; name: string; incarnation: number; meta: Uint8Array; metaHash: number };

/** A decoded stream frame. */
export interface Frame {
  version: number;
  cluster: string;
  from: string;
  fromAddr: string;
  body: FrameBody;
}

const MAX_NAME = 255;
const MAX_ADDR = 300;
const MAX_META = 1_048_576;

/** Encode one message of a datagram (cached by the dissemination queue). */
export function encodeMessage(m: WireMessage): Uint8Array {
  switch (m.type) {
    case 'ping':
      return pb.Message.encode({
        ping: { seq: m.seq, target: m.target, checksum: m.checksum },
      }).finish();
    case 'ping-req':
      return pb.Message.encode({
        pingReq: { seq: m.seq, target: m.target, targetAddr: m.targetAddr },
      }).finish();
    case 'ack':
      return pb.Message.encode({ ack: { seq: m.seq, checksum: m.checksum } }).finish();
    case 'nack':
      return pb.Message.encode({ nack: { seq: m.seq } }).finish();
    case 'alive':
      return pb.Message.encode({
        alive: {
          name: m.name,
          incarnation: m.incarnation,
          addr: m.addr,
          meta: m.meta,
          metaHash: m.metaHash,
          metaSize: m.metaSize,
        },
      }).finish();
    case 'suspect':
      return pb.Message.encode({
        suspect: { name: m.name, incarnation: m.incarnation, from: m.from },
      }).finish();
    case 'dead':
      return pb.Message.encode({
        dead: { name: m.name, incarnation: m.incarnation, from: m.from, left: m.left },
      }).finish();
    case 'user':
      return pb.Message.encode({
        user: { origin: m.origin, id: m.id, payload: m.payload },
      }).finish();
  }
}

/** Bytes of the envelope header (everything but the messages). */
export function encodeEnvelopeHeader(cluster: string, from: string): Uint8Array {
  return pb.Envelope.encode({ version: WIRE_VERSION, cluster, from }).finish();
}

/** Bytes a message adds to an envelope (field tag, length prefix, body). */
export function framedSize(part: Uint8Array): number {
  return 1 + varintSize(part.length) + part.length;
}

/**
 * Concatenate a header and encoded messages into one datagram. The result is exactly the
 * protobuf encoding of an Envelope with those messages (field 4 repeated, length-delimited).
 */
export function encodeEnvelope(header: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  let size = header.length;
  for (const p of parts) size += framedSize(p);
  const out = new Uint8Array(size);
  out.set(header, 0);
  let o = header.length;
  for (const p of parts) {
    out[o++] = 0x22;
    let n = p.length;
    while (n > 0x7f) {
      out[o++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[o++] = n;
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function varintSize(n: number): number {
  let s = 1;
  while (n > 0x7f) {
    n >>>= 7;
    s++;
  }
  return s;
}

function protoError(err: unknown, what: string): MembershipError {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /offset (\d+)/.exec(msg) ?? /index out of range: (\d+)/.exec(msg);
  const offset = m ? Number(m[1]) : undefined;
  return new MembershipError('ERR_WIRE_DECODE', `${what}: malformed protobuf (${msg})`, {
    offset,
    expected: `a protobuf ${what}`,
    cause: err,
  });
}

function str(v: unknown, field: string, max: number, required: boolean): string {
  const s = typeof v === 'string' ? v : '';
  if (required && s.length === 0) {
    throw new MembershipError('ERR_WIRE_FIELD', `${field}: missing`, {
      field,
      expected: 'a non-empty string',
    });
  }
  if (s.length > max) {
    throw new MembershipError('ERR_WIRE_FIELD', `${field}: ${s.length} characters is too long`, {
      field,
      expected: `at most ${max} characters`,
    });
  }
  return s;
}

function u32(v: unknown): number {
  return typeof v === 'number' ? v >>> 0 : 0;
}

function bytes(v: unknown, field: string, max: number): Uint8Array {
  // protobufjs hands out Buffers in Node; expose plain Uint8Array views (no copy).
  const b =
    v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.length) : new Uint8Array(0);
  if (b.length > max) {
    throw new MembershipError('ERR_WIRE_FIELD', `${field}: ${b.length} bytes is too long`, {
      field,
      expected: `at most ${max} bytes`,
    });
  }
  return b;
}

function status(v: unknown, field: string): MemberStatus {
  const s = STATUS_BY_CODE[typeof v === 'number' ? v : 0];
  if (s === undefined) {
    throw new MembershipError('ERR_WIRE_FIELD', `${field}: unknown status ${String(v)}`, {
      field,
      expected: 'ALIVE, SUSPECT, DEAD or LEFT',
    });
  }
  return s;
}

function checkHeader(version: unknown, what: string): number {
  const v = u32(version);
  if (v !== WIRE_VERSION) {
    throw new MembershipError('ERR_WIRE_VERSION', `${what}.version: got ${v}`, {
      field: `${what}.version`,
      expected: String(WIRE_VERSION),
    });
  }
  return v;
}

/** Decode and validate a datagram. Throws {@link MembershipError} on any bad input. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  let raw: InstanceType<typeof pb.Envelope>;
  try {
    raw = pb.Envelope.decode(data);
  } catch (err) {
    throw protoError(err, 'Envelope');
  }
  const version = checkHeader(raw.version, 'Envelope');
  const messages: WireMessage[] = [];
  raw.messages.forEach((m, i) => {
    const f = `Envelope.messages[${i}]`;
    if (m.ping) {
      messages.push({
        type: 'ping',
        seq: u32(m.ping.seq),
        target: str(m.ping.target, `${f}.ping.target`, MAX_NAME, true),
        checksum: u32(m.ping.checksum),
      });
    } else if (m.pingReq) {
      messages.push({
        type: 'ping-req',
        seq: u32(m.pingReq.seq),
        target: str(m.pingReq.target, `${f}.pingReq.target`, MAX_NAME, true),
        targetAddr: str(m.pingReq.targetAddr, `${f}.pingReq.targetAddr`, MAX_ADDR, true),
      });
    } else if (m.ack) {
      messages.push({ type: 'ack', seq: u32(m.ack.seq), checksum: u32(m.ack.checksum) });
    } else if (m.nack) {
      messages.push({ type: 'nack', seq: u32(m.nack.seq) });
    } else if (m.alive) {
      messages.push({
        type: 'alive',
        name: str(m.alive.name, `${f}.alive.name`, MAX_NAME, true),
        incarnation: u32(m.alive.incarnation),
        addr: str(m.alive.addr, `${f}.alive.addr`, MAX_ADDR, true),
        meta: bytes(m.alive.meta, `${f}.alive.meta`, MAX_META),
        metaHash: u32(m.alive.metaHash),
        metaSize: u32(m.alive.metaSize),
      });
    } else if (m.suspect) {
      messages.push({
        type: 'suspect',
        name: str(m.suspect.name, `${f}.suspect.name`, MAX_NAME, true),
        incarnation: u32(m.suspect.incarnation),
        from: str(m.suspect.from, `${f}.suspect.from`, MAX_NAME, true),
      });
    } else if (m.dead) {
      messages.push({
        type: 'dead',
        name: str(m.dead.name, `${f}.dead.name`, MAX_NAME, true),
        incarnation: u32(m.dead.incarnation),
        from: str(m.dead.from, `${f}.dead.from`, MAX_NAME, true),
        left: m.dead.left === true,
      });
    } else if (m.user) {
      messages.push({
        type: 'user',
        origin: str(m.user.origin, `${f}.user.origin`, MAX_NAME, true),
        id: u32(m.user.id),
        payload: bytes(m.user.payload, `${f}.user.payload`, MAX_META),
      });
    }
    // A message with no known body comes from a newer protocol revision: skipped.
  });
  return {
    version,
    cluster: str(raw.cluster, 'Envelope.cluster', MAX_NAME, false),
    from: str(raw.from, 'Envelope.from', MAX_NAME, true),
    messages,
  };
}

function recordToPb(r: WireRecord): InstanceType<typeof pb.Record> {
  return pb.Record.create({
    name: r.name,
    addr: r.addr,
    incarnation: r.incarnation,
    status: CODE_BY_STATUS[r.status],
    meta: r.meta,
    metaHash: r.metaHash,
    metaSize: r.metaSize,
  });
}

function recordFromPb(r: unknown, f: string): WireRecord {
  const x = r as InstanceType<typeof pb.Record>;
  return {
    name: str(x.name, `${f}.name`, MAX_NAME, true),
    addr: str(x.addr, `${f}.addr`, MAX_ADDR, true),
    incarnation: u32(x.incarnation),
    status: status(x.status, `${f}.status`),
    meta: bytes(x.meta, `${f}.meta`, MAX_META),
    metaHash: u32(x.metaHash),
    metaSize: u32(x.metaSize),
  };
}

/** Encode a stream frame (without the length prefix the transport adds). */
export function encodeFrame(f: Frame): Uint8Array {
  const base = { version: WIRE_VERSION, cluster: f.cluster, from: f.from, fromAddr: f.fromAddr };
  const b = f.body;
  switch (b.type) {
    case 'sync-request':
      return pb.Frame.encode({
        ...base,
        syncRequest: {
          join: b.join,
          self: b.self ? recordToPb(b.self) : null,
          digest: b.digest.map((d) => ({
            name: d.name,
            incarnation: d.incarnation,
            status: CODE_BY_STATUS[d.status],
          })),
        },
      }).finish();
    case 'sync-response':
      return pb.Frame.encode({
        ...base,
        syncResponse: {
          self: b.self ? recordToPb(b.self) : null,
          records: b.records.map(recordToPb),
          want: b.want,
        },
      }).finish();
    case 'sync-push':
      return pb.Frame.encode({
        ...base,
        syncPush: { records: b.records.map(recordToPb) },
      }).finish();
    case 'ping':
      return pb.Frame.encode({
        ...base,
        ping: { seq: b.seq, target: b.target, checksum: b.checksum },
      }).finish();
    case 'ack':
      return pb.Frame.encode({ ...base, ack: { seq: b.seq, checksum: b.checksum } }).finish();
    case 'meta-pull':
      return pb.Frame.encode({
        ...base,
        metaPull: { name: b.name, metaHash: b.metaHash },
      }).finish();
    case 'meta-push':
      return pb.Frame.encode({
        ...base,
        metaPush: { name: b.name, incarnation: b.incarnation, meta: b.meta, metaHash: b.metaHash },
      }).finish();
  }
}

/** Decode and validate a stream frame. Throws {@link MembershipError} on any bad input. */
export function decodeFrame(data: Uint8Array): Frame {
  let raw: InstanceType<typeof pb.Frame>;
  try {
    raw = pb.Frame.decode(data);
  } catch (err) {
    throw protoError(err, 'Frame');
  }
  const version = checkHeader(raw.version, 'Frame');
  let body: FrameBody;
  if (raw.syncRequest) {
    const s = raw.syncRequest;
    body = {
      type: 'sync-request',
      join: s.join === true,
      self: s.self ? recordFromPb(s.self, 'Frame.syncRequest.self') : undefined,
      digest: (s.digest ?? []).map((d, i) => ({
        name: str(d.name, `Frame.syncRequest.digest[${i}].name`, MAX_NAME, true),
        incarnation: u32(d.incarnation),
        status: status(d.status, `Frame.syncRequest.digest[${i}].status`),
      })),
    };
  } else if (raw.syncResponse) {
    const s = raw.syncResponse;
    body = {
      type: 'sync-response',
      self: s.self ? recordFromPb(s.self, 'Frame.syncResponse.self') : undefined,
      records: (s.records ?? []).map((r, i) => recordFromPb(r, `Frame.syncResponse.records[${i}]`)),
      want: (s.want ?? []).map((w, i) => str(w, `Frame.syncResponse.want[${i}]`, MAX_NAME, true)),
    };
  } else if (raw.syncPush) {
    body = {
      type: 'sync-push',
      records: (raw.syncPush.records ?? []).map((r, i) =>
        recordFromPb(r, `Frame.syncPush.records[${i}]`),
      ),
    };
  } else if (raw.ping) {
    body = {
      type: 'ping',
      seq: u32(raw.ping.seq),
      target: str(raw.ping.target, 'Frame.ping.target', MAX_NAME, true),
      checksum: u32(raw.ping.checksum),
    };
  } else if (raw.ack) {
    body = { type: 'ack', seq: u32(raw.ack.seq), checksum: u32(raw.ack.checksum) };
  } else if (raw.metaPull) {
    body = {
      type: 'meta-pull',
      name: str(raw.metaPull.name, 'Frame.metaPull.name', MAX_NAME, true),
      metaHash: u32(raw.metaPull.metaHash),
    };
  } else if (raw.metaPush) {
    body = {
      type: 'meta-push',
      name: str(raw.metaPush.name, 'Frame.metaPush.name', MAX_NAME, true),
      incarnation: u32(raw.metaPush.incarnation),
      meta: bytes(raw.metaPush.meta, 'Frame.metaPush.meta', MAX_META),
      metaHash: u32(raw.metaPush.metaHash),
    };
  } else {
    throw new MembershipError('ERR_WIRE_FIELD', 'Frame.body: missing or unknown body', {
      field: 'Frame.body',
      expected: 'one of syncRequest, syncResponse, syncPush, ping, ack, metaPull, metaPush',
    });
  }
  return {
    version,
    cluster: str(raw.cluster, 'Frame.cluster', MAX_NAME, false),
    from: str(raw.from, 'Frame.from', MAX_NAME, true),
    fromAddr: str(raw.fromAddr, 'Frame.fromAddr', MAX_ADDR, true),
    body,
  };
}
