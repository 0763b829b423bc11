import protobuf from 'protobufjs/minimal.js';
import {
  decodeDelta,
  decodeSession,
  encodeDelta,
  encodeSession,
  SessionCodecError,
  type Version,
} from '@cohort/session-codec';
import { cohort } from '../gen/replication.js';
import { ReplicationError } from './errors.js';
import type { EpochInfo, Entry, Frame, LeaseState, Message, Snapshot } from './messages.js';

const pb = cohort.replication.v1;

/** The wire version written in every frame, and the only one read. */
export const WIRE_VERSION = 1;

/** Options of {@link encodeFrame}. */
export interface EncodeOptions {
  /**
   * Leave `from` and `to` out of the bytes (default false). For a connection whose two ends
   * exchanged their member ids when it was set up; the receiver passes them to
   * {@link decodeFrame}. Saves their length on every frame.
   */
  readonly omitAddresses?: boolean;
}

/** Limits applied when decoding a frame, and the addresses of a connection-bound frame. */
export interface FrameLimits {
  /** The sender, for frames encoded with `omitAddresses` (a sender in the bytes must match). */
  readonly from?: string;
  /** The receiver, for frames encoded with `omitAddresses` (a receiver in the bytes must match). */
  readonly to?: string;
  /** Largest frame accepted, in bytes (default 64 MiB). */
  readonly maxFrameBytes?: number;
  /** Most messages in one frame (default 100 000). */
  readonly maxMessages?: number;
}

type LongLike = { low: number; high: number; unsigned: boolean };
type U64 = number | LongLike | null | undefined;

function malformed(problem: string, field?: string, expected?: string): ReplicationError {
  return new ReplicationError('MALFORMED', problem, {
    ...(field !== undefined ? { field } : {}),
    ...(expected !== undefined ? { expected } : {}),
  });
}

/** A decoded integer, as a small integer when it is one (protobufjs hands out boxed doubles). */
function num(v: U64, field: string): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return (v | 0) === v ? v | 0 : v;
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  const n = high * 4294967296 + (v.low >>> 0);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw malformed(`${field} is outside the safe integer range`, field, '0 <= n < 2^53');
  }
  return (n | 0) === n ? n | 0 : n;
}

function str(v: string | null | undefined, field: string): string {
  if (!v) throw malformed(`${field} is missing`, field, 'a non-empty string');
  return v;
}

function version(v: { epoch?: U64; seq?: U64 } | null | undefined, field: string): Version {
  return { epoch: num(v?.epoch, `${field}.epoch`), seq: num(v?.seq, `${field}.seq`) };
}

function leaseOut(l: LeaseState | null): cohort.replication.v1.ILease | null {
  return l === null ? null : { holder: l.holder, token: l.token, durationMs: l.durationMs };
}

function leaseIn(l: cohort.replication.v1.ILease | null | undefined): LeaseState | null {
  if (l === null || l === undefined) return null;
  return {
    holder: str(l.holder, 'lease.holder'),
    token: version(l.token, 'lease.token'),
    durationMs: l.durationMs ?? 0,
  };
}

function stateOut(s: Snapshot): cohort.replication.v1.IState {
  return {
    version: s.version,
    session: s.session === null ? null : encodeSession(s.session),
    lease: leaseOut(s.lease),
  };
}

function stateIn(s: cohort.replication.v1.IState | null | undefined, key: string): Snapshot {
  if (!s) throw malformed('state is missing', 'state');
  const session = s.session && s.session.length > 0 ? decodeSession(s.session) : null;
  if (session !== null && session.key !== key) {
    throw malformed('state holds another session', 'state.session', `session ${key}`);
  }
  return { version: version(s.version, 'state.version'), session, lease: leaseIn(s.lease) };
}

function epochOut(e: EpochInfo | null): cohort.replication.v1.IEpochInfo | null {
  return e === null ? null : { epoch: e.epoch, owner: e.owner, set: [...e.set] };
}

function epochIn(e: cohort.replication.v1.IEpochInfo | null | undefined): EpochInfo | null {
  if (e === null || e === undefined) return null;
  return {
    epoch: num(e.epoch, 'accepted.epoch'),
    owner: str(e.owner, 'accepted.owner'),
    set: setIn(e.set, 'accepted.set'),
  };
}

function setIn(s: string[] | null | undefined, field: string): string[] {
  if (!s || s.length === 0) throw malformed(`${field} is empty`, field, 'at least the owner');
  for (const m of s) str(m, field);
  return s;
}

function entryOut(e: Entry): cohort.replication.v1.IEntry {
  return {
    delta: encodeDelta(e.delta),
    seq: e.version.seq,
    create: e.create
      ? { createdAt: e.create.createdAt, maxInactive: e.create.maxInactiveSeconds }
      : null,
    lease: e.lease === undefined ? null : { lease: leaseOut(e.lease) },
  };
}

function entryIn(e: cohort.replication.v1.IEntry, key: string, epoch: number): Entry {
  if (!e.delta || e.delta.length === 0) throw malformed('entry without a delta', 'entry.delta');
  const delta = decodeDelta(e.delta);
  if (key !== '' && delta.key !== key) {
    throw malformed('entry holds a delta of another session', 'entry.delta', `session ${key}`);
  }
  const out: {
    delta: Entry['delta'];
    version: Version;
    create?: Entry['create'];
    lease?: Entry['lease'];
  } = {
    delta,
    version: { epoch, seq: num(e.seq, 'entry.seq') },
  };
  if (e.create) {
    const createdAt = num(e.create.createdAt, 'create.createdAt');
    out.create = { createdAt, maxInactiveSeconds: e.create.maxInactive ?? 0 };
  }
  if (e.lease) out.lease = leaseIn(e.lease.lease);
  return out;
}

function messageOut(m: Message): cohort.replication.v1.IMessage {
  switch (m.t) {
    case 'prepare':
      return { prepare: { key: m.key, epoch: m.epoch, version: m.version } };
    case 'promise':
      return {
        promise: {
          key: m.key,
          epoch: m.epoch,
          accepted: epochOut(m.accepted),
          version: m.version,
          state: m.state ? stateOut(m.state) : null,
        },
      };
    case 'reject':
      return { reject: { key: m.key, epoch: m.epoch, promised: m.promised } };
    case 'accept':
      return { accept: { key: m.key, epoch: m.epoch, set: [...m.set], version: m.version } };
    case 'replicate':
      // Every entry's delta names the session: the key is not repeated when there are entries.
      return {
        replicate: {
          key: m.entries.length > 0 ? '' : m.key,
          epoch: m.epoch,
          entries: m.entries.map(entryOut),
        },
      };
    case 'snapshot':
      return { snapshot: { key: m.key, epoch: m.epoch, state: stateOut(m.state) } };
    case 'ack':
      return { ack: { key: m.key, epoch: m.epoch, version: m.version, gap: m.gap } };
    case 'nudge':
      return { nudge: { key: m.key, epoch: m.epoch } };
  }
}

function messageIn(m: cohort.replication.v1.Message.$Properties): Message {
  switch (m.kind) {
    case 'prepare': {
      const x = m.prepare!;
      return {
        t: 'prepare',
        key: str(x.key, 'prepare.key'),
        epoch: num(x.epoch, 'prepare.epoch'),
        version: version(x.version, 'prepare.version'),
      };
    }
    case 'promise': {
      const x = m.promise!;
      const key = str(x.key, 'promise.key');
      return {
        t: 'promise',
        key,
        epoch: num(x.epoch, 'promise.epoch'),
        accepted: epochIn(x.accepted),
        version: version(x.version, 'promise.version'),
        state: x.state ? stateIn(x.state, key) : null,
      };
    }
    case 'reject': {
      const x = m.reject!;
      return {
        t: 'reject',
        key: str(x.key, 'reject.key'),
        epoch: num(x.epoch, 'reject.epoch'),
        promised: num(x.promised, 'reject.promised'),
      };
    }
    case 'accept': {
      const x = m.accept!;
      return {
        t: 'accept',
        key: str(x.key, 'accept.key'),
        epoch: num(x.epoch, 'accept.epoch'),
        set: setIn(x.set, 'accept.set'),
        version: version(x.version, 'accept.version'),
      };
    }
    case 'replicate': {
      const x = m.replicate!;
      const epoch = num(x.epoch, 'replicate.epoch');
      if (!x.key && x.entries && x.entries.length > 0) {
        const entries = x.entries.map((e) => entryIn(e, '', epoch));
        const key = entries[0]!.delta.key;
        for (const e of entries) {
          if (e.delta.key !== key) {
            throw malformed(
              'entry holds a delta of another session',
              'entry.delta',
              `session ${key}`,
            );
          }
        }
        return { t: 'replicate', key, epoch, entries };
      }
      const key = str(x.key, 'replicate.key');
      return {
        t: 'replicate',
        key,
        epoch,
        entries: (x.entries ?? []).map((e) => entryIn(e, key, epoch)),
      };
    }
    case 'snapshot': {
      const x = m.snapshot!;
      const key = str(x.key, 'snapshot.key');
      return {
        t: 'snapshot',
        key,
        epoch: num(x.epoch, 'snapshot.epoch'),
        state: stateIn(x.state, key),
      };
    }
    case 'ack': {
      const x = m.ack!;
      return {
        t: 'ack',
        key: str(x.key, 'ack.key'),
        epoch: num(x.epoch, 'ack.epoch'),
        version: version(x.version, 'ack.version'),
        gap: x.gap === true,
      };
    }
    case 'nudge':
      return {
        t: 'nudge',
        key: str(m.nudge!.key, 'nudge.key'),
        epoch: num(m.nudge!.epoch, 'nudge.epoch'),
      };
    default:
      throw malformed(
        'message has no kind',
        'message',
        'one of prepare, promise, reject, accept, replicate, snapshot, ack, nudge',
      );
  }
}

/**
 * Encodes a frame as a `Frame` message of proto/replication.proto.
 *
 * @param frame - the frame
 * @param options - whether to leave the addresses out
 * @throws SessionCodecError when a session or delta inside is invalid
 */
export function encodeFrame(frame: Frame, options: EncodeOptions = {}): Uint8Array {
  const omit = options.omitAddresses === true;
  return pb.Frame.encode({
    version: WIRE_VERSION,
    from: omit ? '' : frame.from,
    to: omit ? '' : frame.to,
    messages: frame.messages.map(messageOut),
  }).finish();
}

function address(
  inBytes: string | null | undefined,
  given: string | undefined,
  field: string,
): string {
  if (inBytes && given !== undefined && inBytes !== given) {
    throw malformed(`frame ${field} is ${inBytes}, this connection is ${given}`, field, given);
  }
  return str(inBytes || given, field);
}

/**
 * Decodes a `Frame` message. Sessions and deltas inside are decoded with session-codec (values
 * stay encoded).
 *
 * @param bytes - the frame
 * @param limits - size limits, and the addresses of a connection-bound frame
 * @throws ReplicationError MALFORMED (with the byte offset or the field), UNSUPPORTED_VERSION
 */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits = {}): Frame {
  if (!(bytes instanceof Uint8Array)) {
    throw new ReplicationError('MALFORMED', 'frame is not bytes', { expected: 'a Uint8Array' });
  }
  const maxBytes = limits.maxFrameBytes ?? 64 * 1024 * 1024;
  if (bytes.byteLength > maxBytes) {
    throw new ReplicationError('MALFORMED', `frame is larger than ${maxBytes} bytes`, {
      offset: 0,
      expected: `at most ${maxBytes} bytes`,
    });
  }
  const reader = protobuf.Reader.create(bytes);
  let m: ReturnType<typeof pb.Frame.decode>;
  try {
    m = pb.Frame.decode(reader);
  } catch (cause) {
    throw new ReplicationError('MALFORMED', `not a valid frame: ${(cause as Error).message}`, {
      offset: reader.pos,
      expected: 'a Frame message of proto/replication.proto',
      cause,
    });
  }
  if ((m.version ?? 0) !== WIRE_VERSION) {
    throw new ReplicationError('UNSUPPORTED_VERSION', `frame has wire version ${m.version ?? 0}`, {
      field: 'version',
      expected: `version ${WIRE_VERSION}`,
    });
  }
  const list = m.messages ?? [];
  const maxMessages = limits.maxMessages ?? 100_000;
  if (list.length > maxMessages) {
    throw malformed(`frame has ${list.length} messages`, 'messages', `at most ${maxMessages}`);
  }
  try {
    return {
      from: address(m.from, limits.from, 'from'),
      to: address(m.to, limits.to, 'to'),
      messages: list.map((x) => messageIn(x)),
    };
  } catch (err) {
    if (err instanceof SessionCodecError) {
      throw new ReplicationError(
        'MALFORMED',
        `frame holds an invalid session or delta: ${err.message}`,
        {
          expected: 'session-codec messages',
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** The protobuf codec as a {@link FrameCodec} for the simulator. */
export const wireCodec = { encode: encodeFrame, decode: (b: Uint8Array): Frame => decodeFrame(b) };
