// The data of the pure Raft core: log entries, durable state, configurations,
// messages between nodes, inputs to `step` and the commands it returns.
//
// Everything here is plain data (numbers, strings, booleans, arrays, plain
// objects and Uint8Array payloads): no classes, no closures. That keeps a node's
// state cheap to copy, compare and hash, which the model checker relies on, and
// makes messages trivially encodable on the wire.
//
// Field names follow the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", Figures 2 and 13) and the dissertation
// where the paper is silent (pre-vote, leadership transfer, ReadIndex).

/** A node's identity: a member name such as `"n1"`. Unique within a cluster. */
export type NodeId = string

// ---------------------------------------------------------------------------
// Log entries

/**
 * A membership change. It takes effect on each node as soon as its entry is in
 * that node's log, committed or not (dissertation 4.1); the leader proposes
 * the next one only after this one commits. Shaped like etcd-io/raft's
 * ConfChangeV2. `AddVoter` on a learner promotes it; `AddLearner` on a voter
 * demotes it. An empty `changes` list leaves a joint configuration.
 * `transition`:
 * - `Auto`: a change of at most one voter applies directly (one server at a
 *   time); anything larger enters a joint configuration that the leader leaves
 *   on its own once the joint one is applied;
 * - `JointImplicit`: always joint, left automatically;
 * - `JointExplicit`: always joint, left only by a later empty change.
 */
export interface ConfChange {
  readonly changes: ReadonlyArray<ConfChangeItem>
  readonly transition: "Auto" | "JointImplicit" | "JointExplicit"
}

export interface ConfChangeItem {
  readonly type: "AddVoter" | "AddLearner" | "RemoveNode"
  readonly node: NodeId
}

/** An entry carrying state machine data. An empty `data` is the no-op a new leader appends. */
export interface NormalEntry {
  readonly type: "Normal"
  readonly index: number
  readonly term: number
  readonly data: Uint8Array
}

/** An entry carrying a membership change. */
export interface ConfChangeEntry {
  readonly type: "ConfChange"
  readonly index: number
  readonly term: number
  readonly change: ConfChange
}

/** Entries are immutable once created: the core shares them between states and messages. */
export type Entry = NormalEntry | ConfChangeEntry

// ---------------------------------------------------------------------------
// Configuration and durable state

/**
 * A cluster configuration. Arrays are sorted and disjoint where it matters.
 * `outgoing` is non-empty only in a joint configuration: then decisions need a
 * majority of `voters` and a majority of `outgoing`. `learnersNext` holds voters
 * of `outgoing` that become learners when the joint configuration is left
 * (a node cannot be a voter and a learner at once).
 * Configurations are immutable values: the core replaces them, never edits them.
 */
export interface Config {
  readonly voters: ReadonlyArray<NodeId>
  readonly outgoing: ReadonlyArray<NodeId>
  readonly learners: ReadonlyArray<NodeId>
  readonly learnersNext: ReadonlyArray<NodeId>
  readonly autoLeave: boolean
}

/** What must survive a crash besides the log (Figure 2 "persistent state"). */
export interface HardState {
  /** currentTerm: latest term the node has seen. */
  readonly term: number
  /** votedFor: candidate that received the vote in `term`, or null. */
  readonly vote: NodeId | null
  /**
   * commitIndex at the time of the write. Not needed for safety; lets a
   * restarted node re-apply committed entries without waiting for a leader.
   */
  readonly commit: number
}

/**
 * A snapshot of the state machine covering the log up to `index` (paper
 * section 7: lastIncludedIndex / lastIncludedTerm), with the configuration in
 * effect at `index`. The index-0 snapshot with empty data holds a new cluster's
 * initial configuration.
 */
export interface Snapshot {
  readonly index: number
  readonly term: number
  readonly config: Config
  readonly data: Uint8Array
}

// ---------------------------------------------------------------------------
// Messages between nodes

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  /** The sender's currentTerm (for pre-votes: the term it would campaign in). */
  readonly term: number
}

/**
 * RequestVote (Figure 2), also used for pre-votes (dissertation 9.6): a
 * pre-vote asks "would you vote for me in `term`?" and changes no state.
 * `transfer` marks an election started by leadership transfer: voters then
 * ignore their leader lease.
 */
export interface RequestVote extends Envelope {
  readonly type: "RequestVote"
  readonly lastLogIndex: number
  readonly lastLogTerm: number
  readonly preVote: boolean
  readonly transfer: boolean
}

export interface RequestVoteResponse extends Envelope {
  readonly type: "RequestVoteResponse"
  readonly voteGranted: boolean
  readonly preVote: boolean
}

/** AppendEntries (Figure 2). Heartbeats are the separate `Heartbeat` message. */
export interface AppendEntries extends Envelope {
  readonly type: "AppendEntries"
  readonly prevLogIndex: number
  readonly prevLogTerm: number
  readonly entries: ReadonlyArray<Entry>
  readonly leaderCommit: number
}

/**
 * Reply to AppendEntries. On success `matchIndex` is the last index known to
 * match the leader's log. On failure `prevLogIndex` echoes the rejected request
 * and `conflictTerm`/`conflictIndex` let the leader skip a whole term at once
 * (paper section 5.3, "fast backup"): `conflictTerm` is the follower's term at
 * `prevLogIndex` (0 if its log is shorter) and `conflictIndex` the first index
 * the follower holds with that term (or its lastIndex + 1).
 */
export interface AppendEntriesResponse extends Envelope {
  readonly type: "AppendEntriesResponse"
  readonly success: boolean
  readonly matchIndex: number
  readonly prevLogIndex: number
  readonly conflictIndex: number
  readonly conflictTerm: number
}

/**
 * Leader liveness and commit propagation without log-consistency data (an
 * AppendEntries with no entries and no prevLog check, as etcd-io/raft's
 * MsgHeartbeat): `leaderCommit` is min(commitIndex, the follower's matchIndex),
 * so a follower can always apply it. `readContext` > 0 asks the follower to
 * echo it, confirming leadership for ReadIndex requests.
 */
export interface Heartbeat extends Envelope {
  readonly type: "Heartbeat"
  readonly leaderCommit: number
  readonly readContext: number
}

export interface HeartbeatResponse extends Envelope {
  readonly type: "HeartbeatResponse"
  readonly readContext: number
}

/** One chunk of InstallSnapshot (Figure 13). */
export interface InstallSnapshot extends Envelope {
  readonly type: "InstallSnapshot"
  readonly lastIncludedIndex: number
  readonly lastIncludedTerm: number
  readonly config: Config
  /** Byte offset of `data` within the snapshot; the first chunk has offset 0. */
  readonly offset: number
  readonly data: Uint8Array
  readonly done: boolean
}

/**
 * Reply to one InstallSnapshot chunk. `offset` is how many bytes of the
 * snapshot the follower holds (where the next chunk must start);
 * `success: false` asks the leader to resend from `offset`.
 * `done: true` means the snapshot is installed and durable.
 */
export interface InstallSnapshotResponse extends Envelope {
  readonly type: "InstallSnapshotResponse"
  readonly lastIncludedIndex: number
  readonly offset: number
  readonly success: boolean
  readonly done: boolean
}

/** Leadership transfer (dissertation 3.10): the target starts an election at once. */
export interface TimeoutNow extends Envelope {
  readonly type: "TimeoutNow"
}

/** A follower asks the leader for a read index (dissertation 6.4). */
export interface ReadIndexRequest extends Envelope {
  readonly type: "ReadIndexRequest"
  /** Chosen by the follower's shell to match the reply with its request. */
  readonly context: number
}

/**
 * The leader's answer: `index` is a commitIndex confirmed by a quorum after the
 * request arrived (or -1 when refused). `leaderCommit` is min(commitIndex, the
 * follower's matchIndex), which the follower may commit at once.
 */
export interface ReadIndexResponse extends Envelope {
  readonly type: "ReadIndexResponse"
  readonly context: number
  readonly index: number
  readonly leaderCommit: number
}

/** A proposal as the shell submits it; `id` is the shell's own handle. */
export type Proposal =
  | { readonly id: number; readonly type: "Normal"; readonly data: Uint8Array }
  | { readonly id: number; readonly type: "ConfChange"; readonly change: ConfChange }

/** Proposals a follower forwards to the leader (when `forwardProposals` is on). */
export interface ForwardProposals extends Envelope {
  readonly type: "ForwardProposals"
  readonly proposals: ReadonlyArray<Proposal>
}

/** Per proposal: where the leader put it, or why it refused. */
export type ProposalOutcome =
  | { readonly id: number; readonly accepted: true; readonly index: number; readonly term: number }
  | { readonly id: number; readonly accepted: false; readonly reason: DropReason }

export interface ForwardProposalsResponse extends Envelope {
  readonly type: "ForwardProposalsResponse"
  readonly outcomes: ReadonlyArray<ProposalOutcome>
  readonly leaderHint: NodeId | null
}

export type Message =
  | RequestVote
  | RequestVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse
  | ForwardProposals
  | ForwardProposalsResponse

export type MessageType = Message["type"]

// ---------------------------------------------------------------------------
// Inputs to `step`

/** One unit of logical time. Elections and heartbeats are counted in ticks. */
export interface Tick {
  readonly type: "Tick"
}

/** Client proposals. On a leader they are appended; elsewhere forwarded or refused. */
export interface Propose {
  readonly type: "Propose"
  readonly proposals: ReadonlyArray<Proposal>
}

/**
 * The shell's acknowledgement that every `Persist` up to and including the one
 * that carried `ack: {index, term}` is durable.
 */
export interface Persisted {
  readonly type: "Persisted"
  readonly index: number
  readonly term: number
}

/**
 * The state machine took a snapshot of everything up to `index` (at most the
 * applied index): the core keeps it and discards the log up to `index`.
 */
export interface Compact {
  readonly type: "Compact"
  readonly index: number
  readonly data: Uint8Array
}

/** A linearizable read: wait for a `ReadReady` and then until applied >= its index. */
export interface ReadIndex {
  readonly type: "ReadIndex"
  readonly context: number
}

/** Ask the leader to hand leadership to `to` (ignored elsewhere). */
export interface TransferLeadership {
  readonly type: "TransferLeadership"
  readonly to: NodeId
}

/** Start an election now (as if the election timeout had fired). */
export interface Campaign {
  readonly type: "Campaign"
}

/** The transport could not reach `node`: the leader stops pipelining to it. */
export interface ReportUnreachable {
  readonly type: "ReportUnreachable"
  readonly node: NodeId
}

/** Outcome of a snapshot the transport sent out of band to `node`. */
export interface ReportSnapshot {
  readonly type: "ReportSnapshot"
  readonly node: NodeId
  readonly success: boolean
}

export type LocalInput =
  | Tick
  | Propose
  | Persisted
  | Compact
  | ReadIndex
  | TransferLeadership
  | Campaign
  | ReportUnreachable
  | ReportSnapshot

export type Input = Message | LocalInput

// ---------------------------------------------------------------------------
// Commands returned by `step`

/**
 * Make state durable. After the write the stored log must equal the node's:
 * - `snapshot` (if any) replaces the stored snapshot; stored entries up to its
 *   index are dropped, and if the stored log does not contain an entry with the
 *   snapshot's index and term, all stored entries are dropped;
 * - `entries` (if any) overwrite the stored log from `entries[0].index` on:
 *   stored entries at or after that index are removed first;
 * - `hardState` (if any) replaces the stored hard state.
 * Writes become durable in order. The messages in `after` may be sent only once
 * this write and all earlier ones are durable; a write with nothing to store is
 * a barrier for its `after` messages. When `ack` is set, feed
 * `{ type: "Persisted", ...ack }` back once durable.
 */
export interface Persist {
  readonly type: "Persist"
  readonly hardState: HardState | null
  readonly snapshot: Snapshot | null
  readonly entries: ReadonlyArray<Entry>
  readonly after: ReadonlyArray<Message>
  readonly ack: { readonly index: number; readonly term: number } | null
}

/** Send a message now. Never depends on a pending write. */
export interface Send {
  readonly type: "Send"
  readonly message: Message
}

/** Apply committed (and locally durable) entries to the state machine, in order. */
export interface Apply {
  readonly type: "Apply"
  readonly entries: ReadonlyArray<Entry>
}

/** Replace the state machine with a snapshot received from the leader (durable already). */
export interface ApplySnapshot {
  readonly type: "ApplySnapshot"
  readonly snapshot: Snapshot
}

/** A proposal was appended to the leader's log at `index` in `term` (not yet committed). */
export interface ProposalAccepted {
  readonly type: "ProposalAccepted"
  readonly id: number
  readonly index: number
  readonly term: number
}

export type DropReason =
  /** This node is not the leader (`leaderHint` names the leader if known). */
  | "NotLeader"
  /** The leader is handing leadership over and takes no proposals. */
  | "TransferInProgress"
  /** A membership change is already pending, or the change is invalid here. */
  | "ConfChangeRejected"
  /** The leader's uncommitted log exceeds `maxUncommittedBytes`. */
  | "Overloaded"

export interface ProposalDropped {
  readonly type: "ProposalDropped"
  readonly id: number
  readonly reason: DropReason
  readonly leaderHint: NodeId | null
}

/** A read may be served once the state machine has applied `index`. */
export interface ReadReady {
  readonly type: "ReadReady"
  readonly context: number
  readonly index: number
}

export interface ReadDropped {
  readonly type: "ReadDropped"
  readonly context: number
  readonly leaderHint: NodeId | null
}

export type Command =
  | Persist
  | Send
  | Apply
  | ApplySnapshot
  | ProposalAccepted
  | ProposalDropped
  | ReadReady
  | ReadDropped

// ---------------------------------------------------------------------------
// Options

/**
 * Deliberately broken variants of the algorithm, for checking that tests and
 * the model checker catch real bugs. Never enable in production.
 * - `VoteWithoutLogCheck`: grant votes without the "candidate's log is at least
 *   as up-to-date" check (section 5.4.1); breaks Leader Completeness.
 * - `CommitPriorTermByCount`: commit entries of earlier terms once a majority
 *   stores them (the Figure 8 bug); breaks State Machine Safety.
 * - `AppendWithoutPrevCheck`: accept AppendEntries whose prevLogIndex exists
 *   without comparing prevLogTerm; breaks Log Matching.
 * - `ReplyBeforePersist`: a vote is sent before the write of the vote (and of
 *   its term) is durable; a crash in between forgets it: double votes, two
 *   leaders in a term.
 * - `LeaderIgnoresHigherTerm`: a leader that sees a higher term adopts it but
 *   stays leader; breaks Election Safety.
 */
export type Mutation =
  | "VoteWithoutLogCheck"
  | "CommitPriorTermByCount"
  | "AppendWithoutPrevCheck"
  | "ReplyBeforePersist"
  | "LeaderIgnoresHigherTerm"

export const allMutations: ReadonlyArray<Mutation> = [
  "VoteWithoutLogCheck",
  "CommitPriorTermByCount",
  "AppendWithoutPrevCheck",
  "ReplyBeforePersist",
  "LeaderIgnoresHigherTerm",
]

/** How ReadIndex confirms leadership (dissertation 6.4). */
export type ReadOnlyMode =
  /** One heartbeat round to a quorum per batch of reads. */
  | "Safe"
  /** Trust the leader lease (requires checkQuorum; relies on bounded clock drift). */
  | "LeaseBased"

/** Options of one node; all counts are in ticks, entries or bytes. */
export interface RaftOptions {
  readonly id: NodeId
  /** Base election timeout; the randomized timeout is drawn from [electionTick, 2*electionTick). */
  readonly electionTick: number
  readonly heartbeatTick: number
  /** Pre-vote phase before a real election (dissertation 9.6). */
  readonly preVote: boolean
  /** Leaders step down without a quorum of recent replies; followers honour a leader lease. */
  readonly checkQuorum: boolean
  /** Upper bound on entry bytes in one AppendEntries (at least one entry is always sent). */
  readonly maxMsgBytes: number
  /** AppendEntries in flight per follower in replicate state. */
  readonly maxInflightMsgs: number
  /** Entry bytes in flight per follower (Infinity for no limit). */
  readonly maxInflightBytes: number
  /** Uncommitted entry bytes a leader accepts before refusing proposals (Infinity for no limit). */
  readonly maxUncommittedBytes: number
  /** Snapshot bytes per InstallSnapshot chunk. */
  readonly snapshotChunkBytes: number
  /** Followers forward proposals to the leader instead of refusing them. */
  readonly forwardProposals: boolean
  readonly readOnly: ReadOnlyMode
  /** Seed of the node's PRNG (randomized election timeouts). */
  readonly seed: number
  readonly mutations: ReadonlyArray<Mutation>
}
