// @flotilla/raft: a pure, deterministic Raft core (`step`) and the tools around it.

export { applyPersist, freezeDurable, type MutableDurable, mutableDurable } from "./core/durable.ts"
export {
  cloneState,
  encodeMessage,
  encodeState,
  fingerprintMessage,
  fingerprintState,
  Hasher,
  type Sink,
  statesEqual,
  visitMessage,
  visitState,
} from "./core/fingerprint.ts"
export {
  ENTRY_OVERHEAD_BYTES,
  entryAt,
  entryBytes,
  isUpToDate,
  lastIndex,
  lastTerm,
  termAt,
} from "./core/log.ts"
export {
  allVoters,
  applyConfChange,
  committedIndex,
  configEquals,
  emptyConfig,
  isJoint,
  isVoter,
  makeConfig,
  members,
  type VoteResult,
  voteResult,
} from "./core/quorum.ts"
export {
  bootstrap,
  configAt,
  createNode,
  type DurableState,
  defaultOptions,
  findProgress,
  type NodeOptions,
  promotable,
  quorumCommitIndex,
  RaftInputError,
  resolveOptions,
  type Status,
  status,
  step,
  validateDurable,
  wellFormed,
} from "./core/raft.ts"
export type {
  DeferredRead,
  IncomingSnapshot,
  MutationFlags,
  PendingRead,
  Progress,
  ProgressState,
  RaftState,
  ResolvedOptions,
  Role,
} from "./core/state.ts"
export * from "./core/types.ts"
export * from "./runtime/index.ts"
// The TCP transport and its binary wire codec; the file WAL.
export {
  make as makeTcpTransport,
  RaftTcpTransport,
  TcpPeerAddress,
  TcpTransport,
  TcpTransportError,
  type TcpTransportHandlers,
  TcpTransportOptions,
  type TcpTransportStats,
} from "./transport/tcp.ts"
export {
  BinaryReader,
  BinaryWriter,
  decodeConfig,
  decodeWireMessage,
  ENTRY_CONF_CHANGE,
  ENTRY_NORMAL,
  encodeConfig,
  encodeWireMessage,
  entryFromWal,
  entryToWal,
  RaftCodecError,
  readMessage,
  writeMessage,
} from "./transport/tcp-codec.ts"
export { type QueryHandler, queryPeer } from "./transport/tcp-query.ts"
export * from "./wal/index.ts"
