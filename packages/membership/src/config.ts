import { MembershipError } from './errors.js';

/**
 * Every tuning knob of the protocol core. Times are milliseconds. The presets below set them all;
 * `createMember` and the simulator accept a preset plus overrides.
 */
export interface ProtocolConfig {
  /** Time between two probes started by this member (SWIM protocol period T'). */
  probeIntervalMs: number;
  /** How long a direct ping waits for its ack before indirect probes start. */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (SWIM k). */
  indirectChecks: number;
  /** Also probe over the stream transport (TCP) when the direct ping fails. */
  tcpFallback: boolean;
  /** Each update is piggybacked at most `retransmitMult * ceil(log10(N + 1))` times. */
  retransmitMult: number;
  /** Interval of the extra gossip round (only when updates are pending). */
  gossipIntervalMs: number;
  /** Members gossiped to per gossip round. */
  gossipNodes: number;
  /** Dead members still receive gossip for this long, so they can learn of it and refute. */
  gossipToDeadMs: number;
  /** Suspicion timeout once `suspicionConfirmations` independent observers agree (Lifeguard Min). */
  suspicionMinMs: number;
  /** Suspicion timeout with no confirmation (Lifeguard Max). */
  suspicionMaxMs: number;
  /** Independent confirmations that bring the suspicion timeout down to the minimum (Lifeguard K). */
  suspicionConfirmations: number;
  /** Upper bound of the local health multiplier (Lifeguard S). */
  awarenessMax: number;
  /** Lifeguard on (default) or off (plain SWIM with suspicion, used for the ablation runs). */
  lifeguard: boolean;
  /** Least time between two anti-entropy syncs started by this member. */
  syncCooldownMs: number;
  /** A digest sync with a random member at least this often, even when checksums agree. */
  syncIntervalMs: number;
  /** One dead (not left) member is probed again this often, so partitions heal. */
  deadProbeIntervalMs: number;
  /** Dead and left members are forgotten after this long. */
  tombstoneTtlMs: number;
  /** Retry interval for joining through the seeds while no other member is known. */
  joinRetryMs: number;
  /** Seeds that are not in the alive view are contacted again this often. */
  seedIntervalMs: number;
  /** Largest datagram this member sends, all overheads included. */
  maxPacketBytes: number;
  /** Bytes the transport adds to each datagram (encryption); subtracted from the budget. */
  packetOverheadBytes: number;
  /** Largest metadata a member may publish. */
  metadataMaxBytes: number;
  /** Metadata up to this size rides inside alive messages; larger metadata is pulled by digest. */
  inlineMetadataMaxBytes: number;
  /** Largest payload of a user broadcast. */
  userMessageMaxBytes: number;
  /** Share of each packet's piggyback budget reserved for user broadcasts when any are pending. */
  userShare: number;
  /** Routable-set changes within this window are reported as one transition. */
  routableBatchMs: number;
  /** A member removed from the routable set comes back after this long of continuous health. */
  readmitAfterMs: number;
  /** Half-life of the flap penalty (routable-set damping). */
  dampingHalfLifeMs: number;
  /** Flap penalty at which a member is held out of the routable set. */
  dampingSuppress: number;
  /** Flap penalty below which a held-out member may come back. */
  dampingReuse: number;
  /** A joining or leaving member tells this many members directly, besides gossiping it. */
  leaveFanout: number;
}

/** Names of the built-in presets. */
export type PresetName = 'lan' | 'wan' | 'local';

const LAN: ProtocolConfig = {
  probeIntervalMs: 500,
  probeTimeoutMs: 200,
  indirectChecks: 3,
  tcpFallback: true,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToDeadMs: 30_000,
  suspicionMinMs: 2_000,
  suspicionMaxMs: 15_000,
  suspicionConfirmations: 3,
  awarenessMax: 8,
  lifeguard: true,
  syncCooldownMs: 2_000,
  syncIntervalMs: 30_000,
  deadProbeIntervalMs: 2_000,
  tombstoneTtlMs: 3_600_000,
  joinRetryMs: 1_000,
  seedIntervalMs: 30_000,
  maxPacketBytes: 1200,
  packetOverheadBytes: 0,
  metadataMaxBytes: 65_536,
  inlineMetadataMaxBytes: 512,
  userMessageMaxBytes: 512,
  userShare: 0.3,
  routableBatchMs: 500,
  readmitAfterMs: 5_000,
  dampingHalfLifeMs: 60_000,
  dampingSuppress: 3,
  dampingReuse: 0.75,
  leaveFanout: 64,
};

/** The presets: `lan` (default), `wan` (slow links, ~4× slower), `local` (one host, fast). */
export const PRESETS: Readonly<Record<PresetName, Readonly<ProtocolConfig>>> = {
  lan: LAN,
  wan: {
    ...LAN,
    probeIntervalMs: 2_000,
    probeTimeoutMs: 1_000,
    gossipIntervalMs: 500,
    gossipNodes: 4,
    gossipToDeadMs: 60_000,
    suspicionMinMs: 8_000,
    suspicionMaxMs: 60_000,
    syncCooldownMs: 5_000,
    syncIntervalMs: 60_000,
    deadProbeIntervalMs: 5_000,
    joinRetryMs: 2_000,
    routableBatchMs: 2_000,
    readmitAfterMs: 20_000,
  },
  local: {
    ...LAN,
    probeIntervalMs: 250,
    probeTimeoutMs: 100,
    gossipIntervalMs: 100,
    suspicionMinMs: 1_000,
    suspicionMaxMs: 8_000,
    syncCooldownMs: 1_000,
    syncIntervalMs: 15_000,
    deadProbeIntervalMs: 1_000,
    joinRetryMs: 500,
    routableBatchMs: 200,
    readmitAfterMs: 2_000,
  },
};

const RANGES: Record<keyof ProtocolConfig, [number, number] | 'boolean'> = {
  probeIntervalMs: [10, 600_000],
  probeTimeoutMs: [1, 600_000],
  indirectChecks: [0, 16],
  tcpFallback: 'boolean',
  retransmitMult: [1, 64],
  gossipIntervalMs: [5, 600_000],
  gossipNodes: [1, 64],
  gossipToDeadMs: [0, 86_400_000],
  suspicionMinMs: [1, 86_400_000],
  suspicionMaxMs: [1, 86_400_000],
  suspicionConfirmations: [0, 32],
  awarenessMax: [1, 64],
  lifeguard: 'boolean',
  syncCooldownMs: [0, 86_400_000],
  syncIntervalMs: [100, 86_400_000],
  deadProbeIntervalMs: [10, 86_400_000],
  tombstoneTtlMs: [0, 30 * 86_400_000],
  joinRetryMs: [10, 600_000],
  seedIntervalMs: [100, 86_400_000],
  maxPacketBytes: [512, 65_507],
  packetOverheadBytes: [0, 256],
  metadataMaxBytes: [0, 1_048_576],
  inlineMetadataMaxBytes: [0, 768],
  userMessageMaxBytes: [0, 768],
  userShare: [0, 0.9],
  routableBatchMs: [0, 600_000],
  readmitAfterMs: [0, 86_400_000],
  dampingHalfLifeMs: [1, 86_400_000],
  dampingSuppress: [0.5, 1_000],
  dampingReuse: [0, 1_000],
  leaveFanout: [0, 10_000],
};

/**
 * Build a complete, validated config from a preset and overrides. Throws a
 * {@link MembershipError} with code `ERR_CONFIG` naming the first bad option.
 */
export function resolveConfig(
  preset: PresetName = 'lan',
  overrides: Partial<ProtocolConfig> = {},
  prefix = '',
): ProtocolConfig {
  if (!Object.prototype.hasOwnProperty.call(PRESETS, preset)) {
    throw new MembershipError(
      'ERR_CONFIG',
      `${prefix}preset: unknown preset ${JSON.stringify(preset)}`,
      {
        field: `${prefix}preset`,
        expected: "'lan' | 'wan' | 'local'",
      },
    );
  }
  const out: ProtocolConfig = { ...PRESETS[preset] };
  for (const [key, value] of Object.entries(overrides)) {
    const range = RANGES[key as keyof ProtocolConfig];
    const field = `${prefix}${key}`;
    if (range === undefined) {
      throw new MembershipError('ERR_CONFIG', `${field}: unknown option`, { field });
    }
    if (value === undefined) continue;
    if (range === 'boolean') {
      if (typeof value !== 'boolean') {
        throw new MembershipError(
          'ERR_CONFIG',
          `${field}: expected a boolean, got ${typeof value}`,
          {
            field,
            expected: 'boolean',
          },
        );
      }
    } else if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < range[0] ||
      value > range[1]
    ) {
      throw new MembershipError(
        'ERR_CONFIG',
        `${field}: expected a number in [${range[0]}, ${range[1]}], got ${String(value)}`,
        { field, expected: `number in [${range[0]}, ${range[1]}]` },
      );
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  const rel = (ok: boolean, field: string, expected: string): void => {
    if (!ok) {
      throw new MembershipError('ERR_CONFIG', `${prefix}${field}: must be ${expected}`, {
        field: `${prefix}${field}`,
        expected,
      });
    }
  };
  rel(out.probeTimeoutMs < out.probeIntervalMs, 'probeTimeoutMs', 'less than probeIntervalMs');
  rel(out.suspicionMinMs <= out.suspicionMaxMs, 'suspicionMinMs', 'at most suspicionMaxMs');
  rel(out.dampingReuse < out.dampingSuppress, 'dampingReuse', 'less than dampingSuppress');
  rel(
    out.inlineMetadataMaxBytes + out.packetOverheadBytes + 200 <= out.maxPacketBytes,
    'inlineMetadataMaxBytes',
    'small enough that an alive message fits maxPacketBytes with 200 bytes to spare',
  );
  rel(
    out.userMessageMaxBytes + out.packetOverheadBytes + 200 <= out.maxPacketBytes,
    'userMessageMaxBytes',
    'small enough that a user message fits maxPacketBytes with 200 bytes to spare',
  );
  return out;
}
