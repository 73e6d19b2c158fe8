export { crc32c, crc32cUpdate } from "./crc32c.ts"
export {
  WalClosedError,
  WalCorruptError,
  type WalError,
  WalInputError,
  WalIoError,
  WalLockedError,
} from "./errors.ts"
export {
  DEFAULT_SEGMENT_BYTES,
  FileWal,
  mkdirAll,
  segmentFileName,
  WalOptions,
  type WalRecovery,
} from "./file-wal.ts"
export {
  type HardState as WalHardState,
  MAX_ENTRY_DATA_BYTES,
  MAX_VOTE_BYTES,
  type WalEntry,
} from "./format.ts"
export { openRaftStorage, persistToWal } from "./raft-storage.ts"
export { make as makeWal, Wal } from "./service.ts"
export {
  type Snapshot as WalSnapshot,
  type SnapshotInput as WalSnapshotInput,
  snapshotFileName,
  syncDirectory,
} from "./snapshot.ts"
