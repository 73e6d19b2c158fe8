// Typed failures of the Raft runtime.
import { Schema } from "effect"

/** This node does not lead; `leaderHint` names the leader when known. */
export class NotLeader extends Schema.TaggedError<NotLeader>()("NotLeader", {
  leaderHint: Schema.NullOr(Schema.String),
}) {
  override get message(): string {
    return this.leaderHint === null
      ? "not the leader; no leader known"
      : `not the leader; try ${this.leaderHint}`
  }
}

/**
 * The request was refused or lost: the leader was handing over leadership,
 * was overloaded, refused a membership change, its entry was overwritten by
 * a later leader, or no answer came (`reason` says which, for people).
 * `outcome` is what a caller may rely on: `"NotApplied"` when the entry was
 * never placed in the log or was overwritten there, so it will never be
 * applied and retrying it cannot apply it twice; `"Unknown"` when it may
 * still be applied (placed, then its leader went quiet or a snapshot covered
 * it). Reads and transfers are always `"NotApplied"`.
 */
export class Dropped extends Schema.TaggedError<Dropped>()("Dropped", {
  reason: Schema.String,
  outcome: Schema.Literals(["NotApplied", "Unknown"]),
}) {
  override get message(): string {
    return `dropped: ${this.reason}${this.outcome === "Unknown" ? " (outcome unknown)" : ""}`
  }
}

/** The node stopped (its scope closed, or its storage failed). */
export class Stopped extends Schema.TaggedError<Stopped>()("Stopped", {
  reason: Schema.String,
}) {
  override get message(): string {
    return `raft node stopped: ${this.reason}`
  }
}

/** Durable storage failed; the node stops, since it can no longer keep its promises. */
export class StorageFailure extends Schema.TaggedError<StorageFailure>()("StorageFailure", {
  operation: Schema.String,
  cause: Schema.Defect(),
}) {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `raft storage ${this.operation} failed: ${detail}`
  }
}

/** A runtime or core option was rejected; `field` names it. */
export class RaftConfigError extends Schema.TaggedError<RaftConfigError>()("RaftConfigError", {
  field: Schema.String,
  reason: Schema.String,
}) {
  override get message(): string {
    return `invalid raft option ${this.field}: ${this.reason}`
  }
}

export type RequestError = NotLeader | Dropped | Stopped
