export { MembershipError } from './errors.js';
export type { MembershipErrorCode } from './errors.js';
export { PRESETS, resolveConfig } from './config.js';
export type { PresetName, ProtocolConfig } from './config.js';
export { MemberCore } from './member-core.js';
export type {
  CoreOptions,
  CoreOutput,
  CoreStats,
  MemberSnapshot,
  MembershipEvent,
  Outbound,
} from './member-core.js';
export type { RoutableChange } from './routable-set.js';
export { suspicionTimeout } from './suspicion.js';
export { seededRandom } from './prng.js';
export type { Random } from './prng.js';
export {
  decodeEnvelope,
  decodeFrame,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeFrame,
  encodeMessage,
  WIRE_VERSION,
} from './wire.js';
export type {
  DigestEntry,
  Envelope,
  Frame,
  FrameBody,
  MemberStatus,
  WireMessage,
  WireRecord,
} from './wire.js';
export { Simulator } from './simulator.js';
export type {
  LinkModel,
  SimEventListener,
  SimNodeOptions,
  SimTraffic,
  SimulatorOptions,
} from './simulator.js';
export {
  bootCluster,
  converged,
  churnLoad,
  crashDetection,
  crashDetectionSeries,
  grayFailure,
  joinConvergence,
  leaveVisibility,
  massBootstrap,
  metadataPropagation,
  partitionHeal,
  stability,
  steadyLoad,
} from './scenarios.js';
export type {
  GrayFailureResult,
  LoadResult,
  ScenarioOptions,
  StabilityResult,
} from './scenarios.js';
export { createMember } from './member.js';
export type {
  Member,
  MemberEvents,
  MemberInfo,
  MemberOptions,
  MemberStats,
  Metadata,
} from './member.js';
export { ENCRYPTION_OVERHEAD, Keyring } from './keyring.js';
export { UdpTcpTransport, formatAddress, parseAddress } from './transport.js';
export type { TransportOptions, TransportStats } from './transport.js';
