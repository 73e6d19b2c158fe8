// A node's complete state: plain, copyable data. `step` mutates it in place;
// callers that need the previous state (the model checker) `cloneState` first.
import type { Config, Entry, HardState, Mutation, NodeId, RaftOptions, Snapshot } from "./types.ts"

export type Role = "Follower" | "PreCandidate" | "Candidate" | "Leader"

/**
 * How the leader replicates to one follower (etcd-io/raft's tracker.Progress):
 * - `Probe`: the follower's log position is unknown; at most one AppendEntries is
 *   in flight (`probeSent`), `next` moves back on each rejection;
 * - `Replicate`: the follower is known to match up to `match`; entries are
 *   pipelined optimistically, `next` runs ahead of `match`, bounded by the
 *   in-flight window;
 * - `Snapshot`: the follower needs the snapshot at `pendingSnapshot`, sent in
 *   chunks; `snapshotOffset` bytes are acknowledged.
 * Invariant: match < next.
 */
export type ProgressState = "Probe" | "Replicate" | "Snapshot"

export interface Progress {
  readonly id: NodeId
  match: number
  next: number
  state: ProgressState
  /** Probe: an AppendEntries is in flight, send no more until a reply or heartbeat reply. */
  probeSent: boolean
  /** Replicate: the last index of each AppendEntries in flight, ascending. */
  inflight: number[]
  /** Replicate: the entry bytes of each in-flight AppendEntries (parallel to `inflight`). */
  inflightBytes: number[]
  inflightTotalBytes: number
  /** Snapshot: index of the snapshot being sent. */
  pendingSnapshot: number
  /** Snapshot: bytes the follower acknowledged. */
  snapshotOffset: number
  /**
   * Replicate/Snapshot: nothing was acknowledged since the last heartbeat; if
   * that is still so at the next one, in-flight messages are presumed lost.
   */
  stalled: boolean
  /** The highest commitIndex this follower was sent (AppendEntries, heartbeat, read reply). */
  sentCommit: number
  /** Heard from since the last check-quorum round. */
  recentActive: boolean
  learner: boolean
}

/** A ReadIndex request waiting for a quorum to confirm leadership. */
export interface PendingRead {
  /** Heartbeats carrying a readContext >= seq confirm this read. */
  readonly seq: number
  readonly context: number
  /** The node that asked (this node for local reads). */
  readonly from: NodeId
  /** The commitIndex when the request arrived. */
  readonly index: number
  /** Voters that answered a heartbeat with readContext >= seq (sorted). */
  acks: NodeId[]
}

/** A ReadIndex that arrived before the leader committed an entry of its term. */
export interface DeferredRead {
  readonly context: number
  readonly from: NodeId
}

/** InstallSnapshot chunks received so far. */
export interface IncomingSnapshot {
  readonly index: number
  readonly term: number
  readonly config: Config
  /** Term of the leader sending it: chunks from another leader restart the transfer. */
  readonly leaderTerm: number
  received: number
  chunks: Uint8Array[]
}

/** Mutations resolved to flags, consulted at the points they break. */
export interface MutationFlags {
  readonly voteWithoutLogCheck: boolean
  readonly commitPriorTermByCount: boolean
  readonly appendWithoutPrevCheck: boolean
  readonly replyBeforePersist: boolean
  readonly leaderIgnoresHigherTerm: boolean
}

/** Options after validation, shared (never copied) between clones of a node. */
export interface ResolvedOptions extends RaftOptions {
  readonly flags: MutationFlags
}

export interface RaftState {
  /** Constant for the node's life; not part of the canonical encoding. */
  readonly options: ResolvedOptions
  readonly id: NodeId
  role: Role
  /** currentTerm */
  term: number
  /** votedFor */
  vote: NodeId | null
  /** The leader of `term` if known (this node when leading). */
  leader: NodeId | null

  /** The latest snapshot; the log starts right after `snapshot.index`. */
  snapshot: Snapshot
  /** Log entries snapshot.index+1 .. lastIndex, contiguous. Owned by this state. */
  entries: Entry[]
  commitIndex: number
  /**
   * Highest index handed to the state machine (`Apply` / `ApplySnapshot`);
   * -1 while a base snapshot (index 0) with data waits to be handed over.
   */
  appliedIndex: number
  /** Highest log index known durable locally; -1 while a received base snapshot is being written. */
  stableIndex: number
  /** The hard state of the last `Persist` (what a crash would bring back). */
  persisted: HardState

  /**
   * The configuration in effect: the latest one in the log, committed or not
   * (dissertation 4.1): the snapshot's plus every membership change after it.
   */
  config: Config
  /**
   * Leader only: index of its latest membership change (at first, of its
   * no-op). Another change may be proposed once this index is committed.
   */
  pendingConfIndex: number

  electionElapsed: number
  heartbeatElapsed: number
  randomizedElectionTimeout: number
  /** xorshift32 state, never 0. */
  rng: number

  votesGranted: NodeId[]
  votesRejected: NodeId[]

  /** Leader only: one entry per member (this node included), sorted by id. */
  progress: Progress[]
  leadTransferee: NodeId | null
  /** Bytes of entries this leader appended that are not committed yet. */
  uncommittedBytes: number

  readSeq: number
  pendingReads: PendingRead[]
  deferredReads: DeferredRead[]

  incoming: IncomingSnapshot | null
}

export const resolveFlags = (mutations: ReadonlyArray<Mutation>): MutationFlags => ({
  voteWithoutLogCheck: mutations.includes("VoteWithoutLogCheck"),
  commitPriorTermByCount: mutations.includes("CommitPriorTermByCount"),
  appendWithoutPrevCheck: mutations.includes("AppendWithoutPrevCheck"),
  replyBeforePersist: mutations.includes("ReplyBeforePersist"),
  leaderIgnoresHigherTerm: mutations.includes("LeaderIgnoresHigherTerm"),
})
