import { Schema } from "effect"

/**
 * Recovery found a record that is damaged where a torn write cannot explain it
 * (anywhere but the last batch of the last segment), or records that contradict
 * each other. The log is refused rather than silently shortened: fsynced data
 * would be lost.
 */
export class WalCorruptError extends Schema.TaggedError<WalCorruptError>()("WalCorruptError", {
  /** The file's path. */
  file: Schema.String,
  /** Byte offset of the damaged frame in `file`. */
  offset: Schema.Number,
  reason: Schema.String,
}) {
  override get message(): string {
    return `corrupt WAL file ${this.file} at offset ${this.offset}: ${this.reason}`
  }
}

/**
 * A file operation failed. After a failed write or fsync the WAL refuses every
 * later call: the kernel may have dropped the dirty pages, so retrying could
 * acknowledge data that never reached the disk.
 */
export class WalIoError extends Schema.TaggedError<WalIoError>()("WalIoError", {
  operation: Schema.String,
  path: Schema.String,
  cause: Schema.Defect(),
}) {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `WAL ${this.operation} failed on ${this.path}: ${detail}`
  }
}

/** An argument was rejected; `field` names it (e.g. `entries[3].index`). */
export class WalInputError extends Schema.TaggedError<WalInputError>()("WalInputError", {
  field: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return `invalid WAL input ${this.field}: ${this.reason}`
  }
}

/** The WAL was closed (or is closing) when the call arrived. */
export class WalClosedError extends Schema.TaggedError<WalClosedError>()("WalClosedError", {
  path: Schema.String,
}) {
  override get message(): string {
    return `WAL ${this.path} is closed`
  }
}

/** Another live process holds the directory's lock file. */
export class WalLockedError extends Schema.TaggedError<WalLockedError>()("WalLockedError", {
  path: Schema.String,
  pid: Schema.Number,
}) {
  override get message(): string {
    return `WAL directory ${this.path} is locked by process ${this.pid}`
  }
}

export type WalError =
  | WalCorruptError
  | WalIoError
  | WalInputError
  | WalClosedError
  | WalLockedError
