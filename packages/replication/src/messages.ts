import type { Delta, Session, Version } from '@cohort/session-codec';

/** The owner and replica set of one ownership epoch of a session. */
export interface EpochInfo {
  /** The epoch number (grows with every ownership change). */
  readonly epoch: number;
  /** The member that sequences changes in this epoch. */
  readonly owner: string;
  /** The replica set, owner first. */
  readonly set: readonly string[];
}

/** A lease lock on a session, held by one client until released or expired. */
export interface LeaseState {
  /** Who holds it (an opaque client name). */
  readonly holder: string;
  /** The fencing token: the session version at which the lease was granted. */
  readonly token: Version;
  /** How long the lease lasts after it was granted (or after a new owner took over). */
  readonly durationMs: number;
}

/** Fields of a session created by the entry that carries them. */
export interface CreateInfo {
  /** Creation time, ms since the Unix epoch, on the creating client's clock. */
  readonly createdAt: number;
  /** Idle seconds before expiry; negative means never. */
  readonly maxInactiveSeconds: number;
}

/**
 * One sequenced change of a session: the delta (whose `base` is the previous version), the
 * version the owner assigned to the result, and optionally the creation of the session and a
 * change of its lease.
 */
export interface Entry {
  /** The change; `delta.base` is the version it applies to. */
  readonly delta: Delta;
  /** The version of the state after this entry. */
  readonly version: Version;
  /** Present when this entry creates the session. */
  readonly create?: CreateInfo;
  /** Present when this entry changes the lease: the new lease, or null for none. */
  readonly lease?: LeaseState | null;
}

/** A full copy of a session's replicated state. */
export interface Snapshot {
  /** The version of this state. */
  readonly version: Version;
  /** The session, or null when it does not exist (never created, invalidated or expired). */
  readonly session: Session | null;
  /** The lease, or null. */
  readonly lease: LeaseState | null;
}

/** Phase 1 of taking ownership: "promise to refuse anything older than `epoch`". */
export interface PrepareMsg {
  readonly t: 'prepare';
  readonly key: string;
  readonly epoch: number;
  /** The claimer's own version: a replica with a newer one includes its state. */
  readonly version: Version;
}
/** The answer to a prepare: what this replica last accepted and holds. */
export interface PromiseMsg {
  readonly t: 'promise';
  readonly key: string;
  readonly epoch: number;
  readonly accepted: EpochInfo | null;
  readonly version: Version;
  /** The replica's state, when it is newer than the claimer's. */
  readonly state: Snapshot | null;
}
/** A refusal: the sender has promised (or accepted) `promised`, newer than `epoch`. */
export interface RejectMsg {
  readonly t: 'reject';
  readonly key: string;
  readonly epoch: number;
  readonly promised: number;
}
/** Phase 2: "the sender owns `epoch` with this replica set, starting from `version`". */
export interface AcceptMsg {
  readonly t: 'accept';
  readonly key: string;
  readonly epoch: number;
  readonly set: readonly string[];
  readonly version: Version;
}
/** Changes sequenced by the owner of `epoch`, in order. */
export interface ReplicateMsg {
  readonly t: 'replicate';
  readonly key: string;
  readonly epoch: number;
  readonly entries: readonly Entry[];
}
/** The whole state, sent by the owner to a replica that cannot catch up from the log. */
export interface SnapshotMsg {
  readonly t: 'snapshot';
  readonly key: string;
  readonly epoch: number;
  readonly state: Snapshot;
}
/** A replica's cumulative acknowledgement: it holds `version`; `gap` asks for what it misses. */
export interface AckMsg {
  readonly t: 'ack';
  readonly key: string;
  readonly epoch: number;
  readonly version: Version;
  readonly gap: boolean;
}
/** A hint to the member first in placement: "this session should be yours, claim it". */
export interface NudgeMsg {
  readonly t: 'nudge';
  readonly key: string;
  /** The highest epoch the sender knows for the session, so the claim starts above it. */
  readonly epoch: number;
}

/** Every message between engines. */
export type Message =
  PrepareMsg | PromiseMsg | RejectMsg | AcceptMsg | ReplicateMsg | SnapshotMsg | AckMsg | NudgeMsg;

/** Messages from one engine to another, sent together (one frame on the wire). */
export interface Frame {
  /** The sending member. */
  readonly from: string;
  /** The receiving member. */
  readonly to: string;
  /** The messages, in the order they were produced. */
  readonly messages: readonly Message[];
}
