export { ReplicationError } from './errors.js';
export type { ReplicationErrorCode, ReplicationErrorDetails } from './errors.js';
export { DEFAULT_CONFIG, resolveConfig } from './config.js';
export type { EngineConfig } from './config.js';
export { placementOf, rendezvousScore } from './placement.js';
export { ReplicationEngine } from './engine.js';
export type { EngineEvent, EngineOptions, EngineOutput, SessionView } from './engine.js';
export type {
  AckLevel,
  AcquireLeaseOp,
  ClientOp,
  OpFailure,
  OpResult,
  OpSuccess,
  ReadOp,
  ReleaseLeaseOp,
  WriteOp,
} from './ops.js';
export type {
  AcceptMsg,
  AckMsg,
  CreateInfo,
  Entry,
  EpochInfo,
  Frame,
  LeaseState,
  Message,
  NudgeMsg,
  PrepareMsg,
  PromiseMsg,
  RejectMsg,
  ReplicateMsg,
  Snapshot,
  SnapshotMsg,
} from './messages.js';
export { WIRE_VERSION, decodeFrame, encodeFrame, wireCodec } from './wire.js';
export type { EncodeOptions, FrameLimits } from './wire.js';
export { checkHistory } from './history-checker.js';
export type { HistoryOp, HistoryViolation } from './history-checker.js';
export { runSimulation, runSeeds } from './simulator.js';
export type { FrameCodec, SeedRunResult, SimOptions, SimReport } from './simulator.js';
export { seededRandom } from './prng.js';
export { ClientWireError } from './client-errors.js';
export type { ClientWireErrorCode, ClientWireErrorDetails } from './client-errors.js';
export {
  CLIENT_WIRE_VERSION,
  DEFAULT_MAX_CLIENT_FRAME,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from './client-wire.js';
export type {
  ApplyRequest,
  ClientDecodeLimits,
  ClientRequest,
  ClientResponse,
  CreateFields,
  CreateRequest,
  DestroyRequest,
  ErrorResponse,
  GetRequest,
  HelloResponse,
  LockRequest,
  MapResponse,
  OkResponse,
  PingRequest,
  PlacementMap,
  PlacementNode,
  SubscribeRequest,
  TouchRequest,
  UnlockRequest,
} from './client-wire.js';
