// The Raft step function: `step(state, input) -> commands`.
//
// Pure and deterministic: no clock (time is `Tick` inputs), no randomness (the
// election timeout comes from the PRNG state inside `RaftState`), no I/O (the
// shell executes the returned commands). `step` mutates `state` in place; the
// model checker clones before stepping.
//
// Ordering contract (what must be durable before what; see README):
// 1. `Send` commands may be executed immediately, in any order relative to
//    `Persist` commands: they never depend on unwritten state. (A leader's
//    AppendEntries go out while it writes the same entries itself, dissertation
//    10.2.1; the leader counts itself toward commitment only after `Persisted`.)
// 2. `Persist` writes become durable in the order returned (across steps too).
// 3. The messages in `Persist.after` may be sent only after that write and all
//    earlier writes are durable: vote grants, the candidate's own RequestVote
//    (its term and self-vote), AppendEntries successes, installed snapshots.
// 4. `Apply`/`ApplySnapshot` only ever carry state already durable locally, so
//    they may be executed at once.
// 5. When a `Persist` has an `ack`, the shell feeds `Persisted` back once it is
//    durable; until then the node neither counts nor applies those entries.
import {
  entryAt,
  entryBytes,
  firstIndexOfTermRun,
  isUpToDate,
  lastIndex,
  lastIndexOfTerm,
  lastTerm,
  sliceEntries,
  termAt,
  truncateFrom,
} from "./log.ts"
import {
  addInflight,
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  freeInflightsTo,
  isPaused,
  makeProgress,
} from "./progress.ts"
import { allVoters, applyConfChange, isJoint, isVoter, members, voteResult } from "./quorum.ts"
import { nextRng, seedRng } from "./rng.ts"
import type { Progress, RaftState, ResolvedOptions } from "./state.ts"
import { resolveFlags } from "./state.ts"
import type {
  AppendEntries,
  AppendEntriesResponse,
  Command,
  ConfChange,
  Config,
  Entry,
  ForwardProposals,
  ForwardProposalsResponse,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Input,
  InstallSnapshot,
  InstallSnapshotResponse,
  Message,
  NodeId,
  Persisted,
  Proposal,
  ProposalOutcome,
  RaftOptions,
  ReadIndexResponse,
  RequestVote,
  RequestVoteResponse,
  Snapshot,
} from "./types.ts"
import { allMutations } from "./types.ts"

// ---------------------------------------------------------------------------
// Options

/** An option or a stored value was rejected; `field` names it. */
export class RaftInputError extends Error {
  readonly field: string
  readonly reason: string
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.name = "RaftInputError"
    this.field = field
    this.reason = reason
  }
}

export const defaultOptions: Omit<RaftOptions, "id"> = {
  electionTick: 10,
  heartbeatTick: 1,
  preVote: true,
  checkQuorum: true,
  maxMsgBytes: 1024 * 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: Number.POSITIVE_INFINITY,
  maxUncommittedBytes: Number.POSITIVE_INFINITY,
  snapshotChunkBytes: 1024 * 1024,
  forwardProposals: false,
  readOnly: "Safe",
  seed: 0,
  mutations: [],
}

export type NodeOptions = Partial<RaftOptions> & { readonly id: NodeId }

const positiveInt = (field: string, v: number): void => {
  if (!Number.isSafeInteger(v) || v < 1)
    throw new RaftInputError(field, `must be an integer >= 1, got ${v}`)
}
const positiveOrInfinity = (field: string, v: number): void => {
  if (!(v === Number.POSITIVE_INFINITY || (Number.isSafeInteger(v) && v >= 1)))
    throw new RaftInputError(field, `must be an integer >= 1 or Infinity, got ${v}`)
}

/** Fills defaults and validates; throws `RaftInputError` naming the bad field. */
export const resolveOptions = (input: NodeOptions): ResolvedOptions => {
  const o: RaftOptions = { ...defaultOptions, ...input }
  if (typeof o.id !== "string" || o.id.length === 0)
    throw new RaftInputError("id", "must be a non-empty string")
  positiveInt("heartbeatTick", o.heartbeatTick)
  positiveInt("electionTick", o.electionTick)
  if (o.electionTick <= o.heartbeatTick)
    throw new RaftInputError(
      "electionTick",
      `must exceed heartbeatTick (${o.heartbeatTick}), got ${o.electionTick}`,
    )
  positiveOrInfinity("maxMsgBytes", o.maxMsgBytes)
  positiveInt("maxInflightMsgs", o.maxInflightMsgs)
  positiveOrInfinity("maxInflightBytes", o.maxInflightBytes)
  positiveOrInfinity("maxUncommittedBytes", o.maxUncommittedBytes)
  positiveInt("snapshotChunkBytes", o.snapshotChunkBytes)
  if (o.readOnly !== "Safe" && o.readOnly !== "LeaseBased")
    throw new RaftInputError(
      "readOnly",
      `must be "Safe" or "LeaseBased", got ${String(o.readOnly)}`,
    )
  if (o.readOnly === "LeaseBased" && !o.checkQuorum)
    throw new RaftInputError("readOnly", `"LeaseBased" needs checkQuorum: true`)
  if (!Number.isSafeInteger(o.seed))
    throw new RaftInputError("seed", `must be an integer, got ${o.seed}`)
  for (const [i, m] of o.mutations.entries())
    if (!allMutations.includes(m))
      throw new RaftInputError(`mutations[${i}]`, `unknown mutation ${String(m)}`)
  return { ...o, flags: resolveFlags(o.mutations) }
}

// ---------------------------------------------------------------------------
// Creating and restoring a node

/** What a node keeps on disk: the input to `createNode` after a restart. */
export interface DurableState {
  readonly hardState: HardState
  readonly snapshot: Snapshot
  readonly entries: ReadonlyArray<Entry>
}

const EMPTY_DATA = new Uint8Array(0)

/** The durable state of a member of a brand-new cluster whose initial configuration is `config`. */
export const bootstrap = (config: Config): DurableState => ({
  hardState: { term: 0, vote: null, commit: 0 },
  snapshot: { index: 0, term: 0, config, data: EMPTY_DATA },
  entries: [],
})

/** Checks stored state read back from disk (an external input). */
export const validateDurable = (d: DurableState): void => {
  const { hardState: hs, snapshot: snap, entries } = d
  if (!Number.isSafeInteger(hs.term) || hs.term < 0)
    throw new RaftInputError("hardState.term", `must be an integer >= 0, got ${hs.term}`)
  if (!Number.isSafeInteger(hs.commit) || hs.commit < 0)
    throw new RaftInputError("hardState.commit", `must be an integer >= 0, got ${hs.commit}`)
  if (hs.vote !== null && (typeof hs.vote !== "string" || hs.vote.length === 0))
    throw new RaftInputError("hardState.vote", "must be null or a non-empty node id")
  if (!Number.isSafeInteger(snap.index) || snap.index < 0)
    throw new RaftInputError("snapshot.index", `must be an integer >= 0, got ${snap.index}`)
  if (!Number.isSafeInteger(snap.term) || snap.term < 0 || (snap.index === 0) !== (snap.term === 0))
    throw new RaftInputError("snapshot.term", `invalid term ${snap.term} at index ${snap.index}`)
  let prevTerm = snap.term
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    if (e.index !== snap.index + 1 + i)
      throw new RaftInputError(
        `entries[${i}].index`,
        `expected ${snap.index + 1 + i}, got ${e.index}`,
      )
    if (!Number.isSafeInteger(e.term) || e.term < prevTerm)
      throw new RaftInputError(
        `entries[${i}].term`,
        `must be >= the previous term ${prevTerm}, got ${e.term}`,
      )
    prevTerm = e.term
  }
  if (hs.term < prevTerm)
    throw new RaftInputError(
      "hardState.term",
      `${hs.term} is below the last entry's term ${prevTerm}`,
    )
}

/**
 * A node restored from its durable state. `applied` is how far the state
 * machine already got (it survives restarts if the state machine is durable);
 * below the snapshot, the first step returns `ApplySnapshot` and then the
 * committed entries again. A base snapshot (index 0) with non-empty data
 * counts as above a state machine at 0: the first step hands it over too.
 */
export const createNode = (options: NodeOptions, durable: DurableState, applied = 0): RaftState => {
  const o = resolveOptions(options)
  validateDurable(durable)
  const { hardState, snapshot } = durable
  const last = snapshot.index + durable.entries.length
  if (!Number.isSafeInteger(applied) || applied < 0 || applied > last)
    throw new RaftInputError("applied", `must be an integer in [0, ${last}], got ${applied}`)
  const s: RaftState = {
    options: o,
    id: o.id,
    role: "Follower",
    term: hardState.term,
    vote: hardState.vote,
    leader: null,
    snapshot,
    entries: [...durable.entries],
    commitIndex: 0,
    appliedIndex: applied,
    stableIndex: last,
    persisted: hardState,
    config: snapshot.config,
    pendingConfIndex: 0,
    electionElapsed: 0,
    heartbeatElapsed: 0,
    randomizedElectionTimeout: o.electionTick,
    rng: seedRng(o.seed, o.id),
    votesGranted: [],
    votesRejected: [],
    progress: [],
    leadTransferee: null,
    uncommittedBytes: 0,
    readSeq: 0,
    pendingReads: [],
    deferredReads: [],
    incoming: null,
  }
  s.commitIndex = Math.min(Math.max(hardState.commit, snapshot.index, applied), last)
  // A base snapshot (index 0) with data, e.g. a new member's initial
  // membership, is handed to a state machine that starts from nothing.
  if (applied === 0 && snapshot.index === 0 && snapshot.data.byteLength > 0) s.appliedIndex = -1
  s.config = configAt(s, last)
  resetElectionTimeout(s)
  return s
}

// ---------------------------------------------------------------------------
// Queries

export interface Status {
  readonly id: NodeId
  readonly role: RaftState["role"]
  readonly term: number
  readonly leader: NodeId | null
  readonly commitIndex: number
  readonly appliedIndex: number
  readonly lastIndex: number
  readonly snapshotIndex: number
  readonly config: Config
  readonly progress: ReadonlyArray<{
    readonly id: NodeId
    readonly match: number
    readonly next: number
    readonly state: Progress["state"]
    readonly learner: boolean
  }>
}

export const status = (s: RaftState): Status => ({
  id: s.id,
  role: s.role,
  term: s.term,
  leader: s.leader,
  commitIndex: s.commitIndex,
  appliedIndex: s.appliedIndex,
  lastIndex: lastIndex(s),
  snapshotIndex: s.snapshot.index,
  config: s.config,
  progress: s.progress.map((p) => ({
    id: p.id,
    match: p.match,
    next: p.next,
    state: p.state,
    learner: p.learner,
  })),
})

/** The configuration in effect at `index` (>= snapshot.index): the snapshot's plus the changes up to it. */
export const configAt = (s: RaftState, index: number): Config => {
  let c = s.snapshot.config
  for (let i = s.snapshot.index + 1; i <= index; i++) {
    const e = entryAt(s, i)
    if (e.type === "ConfChange") {
      const next = applyConfChange(c, e.change)
      if (typeof next !== "string") c = next
    }
  }
  return c
}

/** Whether the node knows any configuration (a joining node starts without one). */
const hasConfiguration = (s: RaftState): boolean =>
  s.config.voters.length > 0 || s.config.learners.length > 0

/** May this node start an election? */
export const promotable = (s: RaftState): boolean => isVoter(s.config, s.id)

// ---------------------------------------------------------------------------
// The step function

/** Scratch space of one step: what to write and what to send after the write. */
interface Ctx {
  out: Command[]
  /** `NO_MESSAGES` until the step has a message to send after its write. */
  after: Message[]
  /** Lowest log index written in this step (Infinity when none). */
  writeFrom: number
  writeSnapshot: Snapshot | null
}

/** Shared empty lists (never written to): most steps write nothing or send nothing after. */
const NO_MESSAGES: Message[] = []
const NO_ENTRIES: Entry[] = []

/** One scratch context for every step: steps never nest, and each starts by resetting it. */
const scratch: Ctx = {
  out: [],
  after: NO_MESSAGES,
  writeFrom: Number.POSITIVE_INFINITY,
  writeSnapshot: null,
}

/**
 * Advances `s` by one input and returns the commands for the shell, which
 * must honour the ordering contract at the top of this file.
 */
export const step = (s: RaftState, input: Input): Command[] => {
  const ctx = scratch
  ctx.out = []
  ctx.after = NO_MESSAGES
  ctx.writeFrom = Number.POSITIVE_INFINITY
  ctx.writeSnapshot = null
  switch (input.type) {
    case "Tick":
      tick(s, ctx)
      break
    case "Propose":
      propose(s, ctx, input.proposals)
      break
    case "Persisted":
      onPersisted(s, ctx, input)
      break
    case "Compact":
      compact(s, ctx, input.index, input.data)
      break
    case "ReadIndex":
      readIndex(s, ctx, input.context, s.id)
      break
    case "TransferLeadership":
      transferLeadership(s, ctx, input.to)
      break
    case "Campaign":
      if (s.role !== "Leader") campaign(s, ctx, false)
      break
    case "ReportUnreachable": {
      const pr = s.role === "Leader" ? findProgress(s, input.node) : undefined
      if (pr !== undefined && pr.state === "Replicate") becomeProbe(pr)
      break
    }
    case "ReportSnapshot": {
      const pr = s.role === "Leader" ? findProgress(s, input.node) : undefined
      if (pr !== undefined && pr.state === "Snapshot") {
        if (input.success) pr.match = Math.max(pr.match, pr.pendingSnapshot)
        becomeProbe(pr)
        // Wait for the next heartbeat reply before probing again.
        pr.probeSent = true
      }
      break
    }
    case "RequestVote":
    case "RequestVoteResponse":
    case "AppendEntries":
    case "AppendEntriesResponse":
    case "Heartbeat":
    case "HeartbeatResponse":
    case "InstallSnapshot":
    case "InstallSnapshotResponse":
    case "TimeoutNow":
    case "ReadIndexRequest":
    case "ReadIndexResponse":
    case "ForwardProposals":
    case "ForwardProposalsResponse":
      // Misaddressed or malformed messages (a buggy or hostile peer) are dropped.
      if (input.to === s.id && wellFormed(input)) receive(s, ctx, input)
      break
    default:
      input satisfies never
  }
  finish(s, ctx)
  return ctx.out
}

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0

/**
 * The structural facts the core relies on, checked before a message from the
 * network is acted on: indexes and terms are non-negative integers, and an
 * AppendEntries carries contiguous entries right after prevLogIndex with
 * non-decreasing terms between prevLogTerm and the sender's term.
 */
export const wellFormed = (m: Message): boolean => {
  if (!isIndex(m.term) || typeof m.from !== "string" || m.from.length === 0) return false
  switch (m.type) {
    case "AppendEntries": {
      if (!isIndex(m.prevLogIndex) || !isIndex(m.prevLogTerm) || !isIndex(m.leaderCommit))
        return false
      let term = m.prevLogTerm
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i]!
        if (
          e.index !== m.prevLogIndex + 1 + i ||
          !isIndex(e.term) ||
          e.term < term ||
          e.term > m.term
        )
          return false
        term = e.term
      }
      return true
    }
    case "RequestVote":
      return isIndex(m.lastLogIndex) && isIndex(m.lastLogTerm)
    case "AppendEntriesResponse":
      return (
        isIndex(m.matchIndex) &&
        isIndex(m.prevLogIndex) &&
        isIndex(m.conflictIndex) &&
        isIndex(m.conflictTerm)
      )
    case "Heartbeat":
      return isIndex(m.leaderCommit) && isIndex(m.readContext)
    case "InstallSnapshot":
      return (
        isIndex(m.lastIncludedIndex) &&
        isIndex(m.lastIncludedTerm) &&
        isIndex(m.offset) &&
        m.lastIncludedTerm <= m.term &&
        (m.lastIncludedIndex === 0) === (m.lastIncludedTerm === 0)
      )
    case "InstallSnapshotResponse":
      return isIndex(m.lastIncludedIndex) && isIndex(m.offset)
    case "ReadIndexResponse":
      return isIndex(m.leaderCommit) && Number.isSafeInteger(m.index)
    default:
      return true
  }
}

const send = (ctx: Ctx, m: Message): void => {
  ctx.out.push({ type: "Send", message: m })
}

/** Queues a message that may leave only once this step's write (and all before it) is durable. */
const sendAfterPersist = (ctx: Ctx, m: Message): void => {
  if (ctx.after === NO_MESSAGES) ctx.after = []
  ctx.after.push(m)
}

/** Emits Apply/ApplySnapshot and the step's single Persist. */
const finish = (s: RaftState, ctx: Ctx): void => {
  // Applying a membership change can move commitIndex (a new quorum): apply again.
  while (maybeApply(s, ctx)) {}
  maybeAutoLeave(s, ctx)
  const last = lastIndex(s)
  const hasEntries = ctx.writeFrom <= last
  const writing = hasEntries || ctx.writeSnapshot !== null
  const p = s.persisted
  const hsChanged = s.term !== p.term || s.vote !== p.vote
  if (!hsChanged && !writing && ctx.after.length === 0) return
  let hardState: HardState | null = null
  if (hsChanged || (writing && s.commitIndex !== p.commit)) {
    hardState = { term: s.term, vote: s.vote, commit: s.commitIndex }
    s.persisted = hardState
  }
  let ack: { index: number; term: number } | null = null
  if (hasEntries) ack = { index: last, term: lastTerm(s) }
  else if (ctx.writeSnapshot !== null && ctx.writeSnapshot.index > s.stableIndex)
    ack = { index: ctx.writeSnapshot.index, term: ctx.writeSnapshot.term }
  ctx.out.push({
    type: "Persist",
    hardState,
    snapshot: ctx.writeSnapshot,
    entries: hasEntries ? s.entries.slice(ctx.writeFrom - s.snapshot.index - 1) : NO_ENTRIES,
    after: ctx.after,
    ack,
  })
}

// ---------------------------------------------------------------------------
// Roles and timers

const resetElectionTimeout = (s: RaftState): void => {
  s.rng = nextRng(s.rng)
  s.randomizedElectionTimeout = s.options.electionTick + (s.rng % s.options.electionTick)
}

const resetTimers = (s: RaftState): void => {
  s.electionElapsed = 0
  s.heartbeatElapsed = 0
  resetElectionTimeout(s)
}

/** Leaves leadership: pending reads fail, progress is dropped. */
const abandonLeadership = (s: RaftState, ctx: Ctx): void => {
  for (const r of s.pendingReads) dropRead(s, ctx, r.context, r.from)
  for (const r of s.deferredReads) dropRead(s, ctx, r.context, r.from)
  s.pendingReads = []
  s.deferredReads = []
  s.progress = []
  s.leadTransferee = null
  s.uncommittedBytes = 0
}

const becomeFollower = (s: RaftState, ctx: Ctx, term: number, leader: NodeId | null): void => {
  if (s.role === "Leader") abandonLeadership(s, ctx)
  if (term !== s.term) {
    s.term = term
    s.vote = null
    s.incoming = null
  }
  s.role = "Follower"
  s.leader = leader
  s.votesGranted = []
  s.votesRejected = []
  resetTimers(s)
}

const becomePreCandidate = (s: RaftState): void => {
  // A pre-candidate changes neither term nor vote (dissertation 9.6).
  s.role = "PreCandidate"
  s.leader = null
  s.votesGranted = [s.id]
  s.votesRejected = []
  resetTimers(s)
}

const becomeCandidate = (s: RaftState): void => {
  s.role = "Candidate"
  s.term += 1
  s.vote = s.id
  s.leader = null
  s.incoming = null
  s.votesGranted = [s.id]
  s.votesRejected = []
  resetTimers(s)
}

const becomeLeader = (s: RaftState, ctx: Ctx): void => {
  s.role = "Leader"
  s.leader = s.id
  s.votesGranted = []
  s.votesRejected = []
  s.leadTransferee = null
  s.uncommittedBytes = 0
  resetTimers(s)
  const next = lastIndex(s) + 1
  s.progress = members(s.config).map((id) => makeProgress(id, next, !isVoter(s.config, id)))
  const self = findProgress(s, s.id)
  if (self !== undefined) {
    self.match = Math.max(0, s.stableIndex)
    becomeReplicate(self)
    self.recentActive = true
  }
  // A no-op entry of the new term lets the leader commit (section 5.4.2), and
  // no membership change may be proposed before it is applied: that rule makes
  // one-server-at-a-time changes safe across leader changes.
  appendEntries(s, ctx, [{ type: "Normal", index: next, term: s.term, data: new Uint8Array(0) }])
  s.pendingConfIndex = next
  broadcastAppend(s, ctx)
}

const tick = (s: RaftState, ctx: Ctx): void => {
  const o = s.options
  if (s.role === "Leader") {
    s.heartbeatElapsed++
    s.electionElapsed++
    if (s.electionElapsed >= o.electionTick) {
      s.electionElapsed = 0
      if (o.checkQuorum) {
        if (!quorumActive(s)) {
          becomeFollower(s, ctx, s.term, null)
          return
        }
        for (const pr of s.progress) pr.recentActive = pr.id === s.id
      }
      // A transfer that did not finish within an election timeout is abandoned.
      s.leadTransferee = null
    }
    if (s.heartbeatElapsed >= o.heartbeatTick) {
      s.heartbeatElapsed = 0
      const seq = s.pendingReads.length > 0 ? s.readSeq : 0
      broadcastHeartbeat(s, ctx, seq)
    }
    return
  }
  if (!promotable(s)) {
    // Capped so a learner's state stops changing once its lease has expired.
    if (s.electionElapsed < s.randomizedElectionTimeout) s.electionElapsed++
    return
  }
  s.electionElapsed++
  if (s.electionElapsed >= s.randomizedElectionTimeout) {
    s.electionElapsed = 0
    campaign(s, ctx, false)
  }
}

const quorumActive = (s: RaftState): boolean => {
  const active: NodeId[] = []
  for (const pr of s.progress) if (pr.recentActive || pr.id === s.id) active.push(pr.id)
  return voteResult(s.config, active, []) === "Won"
}

const campaign = (s: RaftState, ctx: Ctx, transfer: boolean): void => {
  if (!promotable(s)) return
  if (s.options.preVote && !transfer) {
    becomePreCandidate(s)
    if (voteResult(s.config, s.votesGranted, []) === "Won") {
      startElection(s, ctx, false)
      return
    }
    requestVotes(s, ctx, true, false)
    return
  }
  startElection(s, ctx, transfer)
}

const startElection = (s: RaftState, ctx: Ctx, transfer: boolean): void => {
  becomeCandidate(s)
  if (voteResult(s.config, s.votesGranted, []) === "Won") {
    becomeLeader(s, ctx)
    return
  }
  requestVotes(s, ctx, false, transfer)
}

const requestVotes = (s: RaftState, ctx: Ctx, preVote: boolean, transfer: boolean): void => {
  const lastLogIndex = lastIndex(s)
  const lastLogTerm = lastTerm(s)
  for (const id of allVoters(s.config)) {
    if (id === s.id) continue
    const m: RequestVote = {
      type: "RequestVote",
      from: s.id,
      to: id,
      term: preVote ? s.term + 1 : s.term,
      lastLogIndex,
      lastLogTerm,
      preVote,
      transfer,
    }
    // A real candidate's term and self-vote must be durable first: otherwise a
    // crash could let it vote for someone else in the same term.
    if (preVote) send(ctx, m)
    else sendAfterPersist(ctx, m)
  }
}

// ---------------------------------------------------------------------------
// Receiving messages

/** Messages only a leader of `term` sends. */
const fromLeader = (m: Message): boolean =>
  m.type === "AppendEntries" ||
  m.type === "Heartbeat" ||
  m.type === "InstallSnapshot" ||
  m.type === "TimeoutNow" ||
  m.type === "ReadIndexResponse" ||
  m.type === "ForwardProposalsResponse"

const receive = (s: RaftState, ctx: Ctx, m: Message): void => {
  if (m.term > s.term) {
    if (m.type === "RequestVote") {
      // Leader lease (dissertation 4.2.3): while a leader is heard from within
      // the minimum election timeout, ignore votes, unless leadership is being
      // handed over on purpose.
      const inLease =
        s.options.checkQuorum && s.leader !== null && s.electionElapsed < s.options.electionTick
      if (!m.transfer && inLease) return
      if (!m.preVote) becomeFollower(s, ctx, m.term, null)
    } else if (m.type === "RequestVoteResponse" && m.preVote && m.voteGranted) {
      // A granted pre-vote carries the term we would campaign in; keep ours.
    } else if (s.role === "Leader" && s.options.flags.leaderIgnoresHigherTerm) {
      // Mutation: adopt the term but keep leading.
      s.term = m.term
      s.vote = null
    } else {
      becomeFollower(s, ctx, m.term, fromLeader(m) ? m.from : null)
    }
  } else if (m.term < s.term) {
    // Stale sender. Answer RPCs with our term so a deposed leader or a lagging
    // candidate learns it (Figure 2: "reply false if term < currentTerm").
    // Client traffic (forwarded proposals and reads) does not depend on terms.
    switch (m.type) {
      case "AppendEntries":
        send(ctx, appendResponse(s, m.from, false, 0, m.prevLogIndex, 0, 0))
        return
      case "Heartbeat":
        send(ctx, {
          type: "HeartbeatResponse",
          from: s.id,
          to: m.from,
          term: s.term,
          readContext: 0,
        })
        return
      case "InstallSnapshot":
        send(ctx, snapshotResponse(s, m.from, m.lastIncludedIndex, 0, false, false))
        return
      case "RequestVote":
        send(ctx, voteResponse(s, m.from, s.term, false, m.preVote))
        return
      case "ReadIndexRequest":
      case "ReadIndexResponse":
      case "ForwardProposals":
      case "ForwardProposalsResponse":
        break
      default:
        return
    }
  }

  switch (m.type) {
    case "RequestVote":
      onRequestVote(s, ctx, m)
      return
    case "RequestVoteResponse":
      onRequestVoteResponse(s, ctx, m)
      return
    case "AppendEntries":
      if (!acceptLeader(s, ctx, m.from)) return
      onAppendEntries(s, ctx, m)
      return
    case "Heartbeat":
      if (!acceptLeader(s, ctx, m.from)) return
      onHeartbeat(s, ctx, m)
      return
    case "InstallSnapshot":
      if (!acceptLeader(s, ctx, m.from)) return
      onInstallSnapshot(s, ctx, m)
      return
    case "AppendEntriesResponse":
      if (s.role === "Leader") onAppendEntriesResponse(s, ctx, m)
      return
    case "HeartbeatResponse":
      if (s.role === "Leader") onHeartbeatResponse(s, ctx, m)
      return
    case "InstallSnapshotResponse":
      if (s.role === "Leader") onInstallSnapshotResponse(s, ctx, m)
      return
    case "TimeoutNow":
      if (s.role !== "Leader") campaign(s, ctx, true)
      return
    case "ReadIndexRequest":
      readIndex(s, ctx, m.context, m.from)
      return
    case "ReadIndexResponse":
      onReadIndexResponse(s, ctx, m)
      return
    case "ForwardProposals":
      onForwardProposals(s, ctx, m)
      return
    case "ForwardProposalsResponse":
      onForwardProposalsResponse(ctx, m)
      return
  }
}

/** A message from the leader of our term: follow it. False if we lead this term ourselves. */
const acceptLeader = (s: RaftState, ctx: Ctx, from: NodeId): boolean => {
  if (s.role === "Leader") return false
  if (s.role !== "Follower") becomeFollower(s, ctx, s.term, from)
  s.leader = from
  s.electionElapsed = 0
  return true
}

const voteResponse = (
  s: RaftState,
  to: NodeId,
  term: number,
  voteGranted: boolean,
  preVote: boolean,
): RequestVoteResponse => ({
  type: "RequestVoteResponse",
  from: s.id,
  to,
  term,
  voteGranted,
  preVote,
})

const onRequestVote = (s: RaftState, ctx: Ctx, m: RequestVote): void => {
  // We may vote for the same candidate again, vote when we have not voted and
  // know no leader this term, or pre-vote for a later term.
  let canVote =
    s.vote === m.from || (s.vote === null && s.leader === null) || (m.preVote && m.term > s.term)
  // A pre-vote is refused while a leader is heard from (dissertation 9.6).
  if (m.preVote && !m.transfer && s.leader !== null && s.electionElapsed < s.options.electionTick)
    canVote = false
  const upToDate =
    s.options.flags.voteWithoutLogCheck || isUpToDate(s, m.lastLogIndex, m.lastLogTerm)
  if (!canVote || !upToDate) {
    send(ctx, voteResponse(s, m.from, s.term, false, m.preVote))
    return
  }
  if (m.preVote) {
    send(ctx, voteResponse(s, m.from, m.term, true, true))
    return
  }
  s.electionElapsed = 0
  s.vote = m.from
  const grant = voteResponse(s, m.from, s.term, true, false)
  if (s.options.flags.replyBeforePersist) {
    // Mutation: answer before the vote is durable (a crash can forget it).
    send(ctx, grant)
  } else {
    sendAfterPersist(ctx, grant)
  }
}

const onRequestVoteResponse = (s: RaftState, ctx: Ctx, m: RequestVoteResponse): void => {
  const expecting = m.preVote ? s.role === "PreCandidate" : s.role === "Candidate"
  if (!expecting) return
  if (s.votesGranted.includes(m.from) || s.votesRejected.includes(m.from)) return
  if (m.voteGranted) s.votesGranted.push(m.from)
  else s.votesRejected.push(m.from)
  const result = voteResult(s.config, s.votesGranted, s.votesRejected)
  if (result === "Won") {
    if (s.role === "PreCandidate") startElection(s, ctx, false)
    else becomeLeader(s, ctx)
  } else if (result === "Lost") {
    becomeFollower(s, ctx, s.term, null)
  }
}

const appendResponse = (
  s: RaftState,
  to: NodeId,
  success: boolean,
  matchIndex: number,
  prevLogIndex: number,
  conflictIndex: number,
  conflictTerm: number,
): AppendEntriesResponse => ({
  type: "AppendEntriesResponse",
  from: s.id,
  to,
  term: s.term,
  success,
  matchIndex,
  prevLogIndex,
  conflictIndex,
  conflictTerm,
})

const onAppendEntries = (s: RaftState, ctx: Ctx, m: AppendEntries): void => {
  if (m.prevLogIndex < s.commitIndex) {
    // Everything up to commitIndex matches every leader's log; say so.
    sendAfterPersist(ctx, appendResponse(s, m.from, true, s.commitIndex, m.prevLogIndex, 0, 0))
    return
  }
  const last = lastIndex(s)
  if (m.prevLogIndex === 0 && last === 0 && !hasConfiguration(s)) {
    // A node that joins with no configuration cannot replay membership changes
    // from index 1 without the cluster's initial one: conflictIndex 0 asks the
    // leader for its snapshot (which carries a configuration).
    send(ctx, appendResponse(s, m.from, false, 0, 0, 0, 0))
    return
  }
  const matches = s.options.flags.appendWithoutPrevCheck
    ? m.prevLogIndex <= last
    : termAt(s, m.prevLogIndex) === m.prevLogTerm
  if (!matches) {
    // Fast backup hints (section 5.3): where our log diverges or ends.
    let conflictIndex: number
    let conflictTerm: number
    if (m.prevLogIndex > last) {
      conflictIndex = last + 1
      conflictTerm = 0
    } else {
      conflictTerm = termAt(s, m.prevLogIndex)
      conflictIndex = firstIndexOfTermRun(s, m.prevLogIndex)
    }
    send(ctx, appendResponse(s, m.from, false, 0, m.prevLogIndex, conflictIndex, conflictTerm))
    return
  }
  const lastNew = m.prevLogIndex + m.entries.length
  // Skip entries we already have; at the first conflict, truncate and append.
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!
    if (e.index <= lastIndex(s) && termAt(s, e.index) === e.term) continue
    if (e.index <= lastIndex(s)) {
      if (e.index <= s.commitIndex && !s.options.flags.appendWithoutPrevCheck)
        throw new Error(
          `raft invariant violated: entry ${e.index} conflicts with committed index ${s.commitIndex}`,
        )
      truncateFrom(s, e.index)
      s.stableIndex = Math.min(s.stableIndex, e.index - 1)
      // A membership change may have been cut off: back to the latest one left.
      s.config = configAt(s, lastIndex(s))
    }
    appendEntries(s, ctx, i === 0 ? m.entries : m.entries.slice(i))
    break
  }
  commitTo(s, Math.min(m.leaderCommit, lastNew))
  sendAfterPersist(ctx, appendResponse(s, m.from, true, lastNew, m.prevLogIndex, 0, 0))
}

const onHeartbeat = (s: RaftState, ctx: Ctx, m: Heartbeat): void => {
  // leaderCommit is at most our matchIndex as the leader knows it, so our log holds it.
  commitTo(s, Math.min(m.leaderCommit, lastIndex(s)))
  const r: HeartbeatResponse = {
    type: "HeartbeatResponse",
    from: s.id,
    to: m.from,
    term: s.term,
    readContext: m.readContext,
  }
  send(ctx, r)
}

const snapshotResponse = (
  s: RaftState,
  to: NodeId,
  lastIncludedIndex: number,
  offset: number,
  success: boolean,
  done: boolean,
): InstallSnapshotResponse => ({
  type: "InstallSnapshotResponse",
  from: s.id,
  to,
  term: s.term,
  lastIncludedIndex,
  offset,
  success,
  done,
})

const onInstallSnapshot = (s: RaftState, ctx: Ctx, m: InstallSnapshot): void => {
  const index = m.lastIncludedIndex
  const needsBase =
    index === 0 && s.snapshot.index === 0 && lastIndex(s) === 0 && !hasConfiguration(s)
  if (index <= s.commitIndex && !needsBase) {
    // We already hold (and will apply) everything the snapshot covers.
    sendAfterPersist(
      ctx,
      snapshotResponse(s, m.from, index, m.offset + m.data.byteLength, true, true),
    )
    return
  }
  if (m.offset === 0) {
    s.incoming = {
      index,
      term: m.lastIncludedTerm,
      config: m.config,
      leaderTerm: m.term,
      received: 0,
      chunks: [],
    }
  }
  const inc = s.incoming
  if (
    inc === null ||
    inc.index !== index ||
    inc.term !== m.lastIncludedTerm ||
    inc.leaderTerm !== m.term ||
    inc.received !== m.offset
  ) {
    const have = inc !== null && inc.index === index && inc.leaderTerm === m.term ? inc.received : 0
    send(ctx, snapshotResponse(s, m.from, index, have, false, false))
    return
  }
  inc.chunks.push(m.data)
  inc.received += m.data.byteLength
  if (!m.done) {
    send(ctx, snapshotResponse(s, m.from, index, inc.received, true, false))
    return
  }
  s.incoming = null
  if (termAt(s, index) === inc.term && !needsBase) {
    // Our log already contains the snapshot's last entry: keep the log and
    // just commit up to it (Figure 13, step 6).
    commitTo(s, index)
  } else {
    const snapshot: Snapshot = {
      index,
      term: inc.term,
      config: inc.config,
      data: concatChunks(inc.chunks, inc.received),
    }
    s.snapshot = snapshot
    s.entries = []
    s.stableIndex = Math.max(0, Math.min(s.stableIndex, index - 1))
    s.commitIndex = Math.max(s.commitIndex, index)
    s.config = snapshot.config
    ctx.writeSnapshot = snapshot
    if (needsBase) {
      // A joining node's base snapshot (index 0): its data is state the
      // state machine has never seen (the initial membership, say). -1 marks
      // it neither durable nor applied; its Persisted ack (index 0, term 0)
      // makes it durable and maybeApply then hands it over like any other.
      s.stableIndex = -1
      s.appliedIndex = -1
    }
  }
  sendAfterPersist(ctx, snapshotResponse(s, m.from, index, inc.received, true, true))
}

const concatChunks = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

// ---------------------------------------------------------------------------
// Leader: replication

export const findProgress = (s: RaftState, id: NodeId): Progress | undefined => {
  for (const pr of s.progress) if (pr.id === id) return pr
  return undefined
}

/**
 * Appends entries at the end of the log (they are written by this step's
 * Persist). A membership change takes effect as it enters the log.
 */
const appendEntries = (s: RaftState, ctx: Ctx, entries: ReadonlyArray<Entry>): void => {
  if (entries.length === 0) return
  const first = entries[0]!.index
  if (first < ctx.writeFrom) ctx.writeFrom = first
  for (const e of entries) {
    s.entries.push(e)
    if (e.type === "ConfChange") adoptConfChange(s, e.change)
  }
}

const adoptConfChange = (s: RaftState, change: ConfChange): void => {
  const next = applyConfChange(s.config, change)
  // An invalid change is a no-op on every node alike: all hold the same log.
  if (typeof next === "string") return
  s.config = next
  if (s.role === "Leader") syncProgress(s)
}

/** Leader: one progress per member of the configuration. */
const syncProgress = (s: RaftState): void => {
  const c = s.config
  const nextIndex = lastIndex(s) + 1
  const progress: Progress[] = []
  for (const id of members(c)) {
    let pr = findProgress(s, id)
    if (pr === undefined) {
      pr = makeProgress(id, nextIndex, false)
      // Count a newcomer as active so check-quorum does not fire before it answers.
      pr.recentActive = true
      if (id === s.id) {
        pr.match = Math.max(0, s.stableIndex)
        becomeReplicate(pr)
      }
    }
    pr.learner = !isVoter(c, id)
    progress.push(pr)
  }
  s.progress = progress
  if (s.leadTransferee !== null && !isVoter(c, s.leadTransferee)) s.leadTransferee = null
}

const commitTo = (s: RaftState, index: number): void => {
  if (index > s.commitIndex) s.commitIndex = index
}

/**
 * Advances commitIndex to the highest index stored on a quorum, but only if
 * that entry is from the current term (section 5.4.2): older entries are
 * committed indirectly. Returns whether it advanced.
 */
const maybeCommit = (s: RaftState): boolean => {
  const index = quorumCommitIndex(s)
  if (index <= s.commitIndex) return false
  if (termAt(s, index) !== s.term && !s.options.flags.commitPriorTermByCount) return false
  const old = s.commitIndex
  s.commitIndex = index
  if (s.options.maxUncommittedBytes !== Number.POSITIVE_INFINITY) {
    let freed = 0
    for (let i = Math.max(old, s.snapshot.index) + 1; i <= index; i++)
      freed += entryBytes(entryAt(s, i))
    s.uncommittedBytes = Math.max(0, s.uncommittedBytes - freed)
  }
  return true
}

/** Scratch space for `quorumMatch` (steps never interleave, so one buffer serves all). */
const matchScratch: number[] = []

/**
 * The highest index stored on a majority of `voters` (Infinity for none): the
 * median of their match indexes, found without allocating (the hot path of
 * every acknowledgement). Same result as quorum.ts's `committedIndex`.
 */
const quorumMatch = (s: RaftState, voters: ReadonlyArray<NodeId>): number => {
  const n = voters.length
  if (n === 0) return Number.POSITIVE_INFINITY
  const m = matchScratch
  for (let i = 0; i < n; i++) {
    const pr = findProgress(s, voters[i]!)
    const v = pr === undefined ? 0 : pr.match
    // Insertion sort, descending: n is a handful.
    let j = i
    while (j > 0 && m[j - 1]! < v) {
      m[j] = m[j - 1]!
      j--
    }
    m[j] = v
  }
  return m[n >> 1]!
}

/**
 * Leader: the highest index stored on a quorum of the configuration (both
 * halves when joint) according to its progress, whatever its term.
 */
export const quorumCommitIndex = (s: RaftState): number => {
  const c = s.config
  let index = quorumMatch(s, c.voters)
  if (c.outgoing.length > 0) index = Math.min(index, quorumMatch(s, c.outgoing))
  return index === Number.POSITIVE_INFINITY ? 0 : index
}

/** After the leader's commitIndex moved: step down if removed, release reads, tell idle followers. */
const onCommitAdvanced = (s: RaftState, ctx: Ctx): void => {
  if (!isVoter(s.config, s.id) && s.commitIndex >= s.pendingConfIndex) {
    // The configuration that removed (or demoted) this leader is committed:
    // it has handed the cluster over and steps down (dissertation 4.2.2).
    becomeFollower(s, ctx, s.term, null)
    return
  }
  if (s.deferredReads.length > 0 && termAt(s, s.commitIndex) === s.term) {
    const deferred = s.deferredReads
    s.deferredReads = []
    for (const r of deferred) readIndex(s, ctx, r.context, r.from)
  }
  for (const pr of s.progress) if (pr.id !== s.id) maybeSendCommit(s, ctx, pr)
}

/**
 * Followers with nothing in flight would only learn a new commitIndex at the
 * next heartbeat; a busy pipeline carries it in its next AppendEntries.
 */
const maybeSendCommit = (s: RaftState, ctx: Ctx, pr: Progress): void => {
  if (pr.state !== "Replicate" || pr.inflight.length > 0) return
  if (pr.sentCommit >= Math.min(s.commitIndex, pr.match)) return
  sendAppend(s, ctx, pr, true)
}

/**
 * Sends the next AppendEntries (or snapshot chunk) to `pr` if the flow control
 * allows. With `sendIfEmpty` an empty AppendEntries still goes out (to probe or
 * to carry commitIndex). Returns whether a message went out.
 */
const sendAppend = (s: RaftState, ctx: Ctx, pr: Progress, sendIfEmpty: boolean): boolean => {
  if (isPaused(pr, s.options)) return false
  const prevLogIndex = pr.next - 1
  if (prevLogIndex < s.snapshot.index) {
    becomeSnapshot(pr, s.snapshot.index)
    sendSnapshotChunk(s, ctx, pr)
    return true
  }
  const last = lastIndex(s)
  const entries = pr.next <= last ? sliceEntries(s, pr.next, last + 1, s.options.maxMsgBytes) : []
  if (entries.length === 0 && !sendIfEmpty) return false
  const m: AppendEntries = {
    type: "AppendEntries",
    from: s.id,
    to: pr.id,
    term: s.term,
    prevLogIndex,
    prevLogTerm: termAt(s, prevLogIndex),
    entries,
    leaderCommit: s.commitIndex,
  }
  send(ctx, m)
  if (m.leaderCommit > pr.sentCommit) pr.sentCommit = m.leaderCommit
  if (pr.state === "Replicate") {
    if (entries.length > 0) {
      const lastSent = entries[entries.length - 1]!.index
      let bytes = 0
      if (s.options.maxInflightBytes !== Number.POSITIVE_INFINITY)
        for (const e of entries) bytes += entryBytes(e)
      addInflight(pr, lastSent, bytes)
      pr.next = lastSent + 1
    }
  } else {
    pr.probeSent = true
  }
  return true
}

const sendSnapshotChunk = (s: RaftState, ctx: Ctx, pr: Progress): void => {
  const snap = s.snapshot
  if (pr.pendingSnapshot !== snap.index) {
    // The snapshot was replaced by a newer one: start that one from scratch.
    pr.pendingSnapshot = snap.index
    pr.snapshotOffset = 0
  }
  const offset = Math.min(pr.snapshotOffset, snap.data.byteLength)
  const end = Math.min(offset + s.options.snapshotChunkBytes, snap.data.byteLength)
  const m: InstallSnapshot = {
    type: "InstallSnapshot",
    from: s.id,
    to: pr.id,
    term: s.term,
    lastIncludedIndex: snap.index,
    lastIncludedTerm: snap.term,
    config: snap.config,
    offset,
    data: snap.data.subarray(offset, end),
    done: end === snap.data.byteLength,
  }
  pr.stalled = false
  send(ctx, m)
}

const broadcastAppend = (s: RaftState, ctx: Ctx): void => {
  for (const pr of s.progress) if (pr.id !== s.id) sendAppend(s, ctx, pr, false)
}

const broadcastHeartbeat = (s: RaftState, ctx: Ctx, readContext: number): void => {
  for (const pr of s.progress) {
    if (pr.id === s.id) continue
    // Loss recovery: when messages are in flight but nothing was acknowledged
    // for a whole heartbeat interval, assume they were lost. A snapshot chunk
    // is resent; pipelined entries are probed again from matchIndex.
    if (pr.state === "Snapshot") {
      if (pr.stalled) sendSnapshotChunk(s, ctx, pr)
      else pr.stalled = true
    } else if (pr.state === "Replicate" && pr.inflight.length > 0) {
      if (pr.stalled) {
        becomeProbe(pr)
        sendAppend(s, ctx, pr, true)
      } else {
        pr.stalled = true
      }
    }
    const m: Heartbeat = {
      type: "Heartbeat",
      from: s.id,
      to: pr.id,
      term: s.term,
      leaderCommit: Math.min(pr.match, s.commitIndex),
      readContext,
    }
    if (m.leaderCommit > pr.sentCommit) pr.sentCommit = m.leaderCommit
    send(ctx, m)
  }
}

const onAppendEntriesResponse = (s: RaftState, ctx: Ctx, m: AppendEntriesResponse): void => {
  const pr = findProgress(s, m.from)
  if (pr === undefined) return
  pr.recentActive = true
  if (!m.success) {
    // Ignore stale rejections: of a message older than what is known to match,
    // or (when probing) of anything but the current probe.
    if (pr.state === "Snapshot") return
    if (pr.state === "Replicate") {
      if (m.prevLogIndex <= pr.match) return
      becomeProbe(pr)
    } else if (m.prevLogIndex !== pr.next - 1) {
      return
    }
    if (m.conflictIndex === 0) {
      // The follower has no configuration yet and needs a snapshot to start from.
      becomeSnapshot(pr, s.snapshot.index)
      sendSnapshotChunk(s, ctx, pr)
      return
    }
    let next = m.conflictIndex
    if (m.conflictTerm > 0) {
      const k = lastIndexOfTerm(s, m.conflictTerm, m.prevLogIndex)
      if (k >= 0) next = k + 1
    }
    // Always move back at least one entry, never to or below what matches.
    pr.next = Math.max(pr.match + 1, Math.min(next, m.prevLogIndex))
    pr.probeSent = false
    sendAppend(s, ctx, pr, true)
    return
  }
  pr.stalled = false
  const updated = m.matchIndex > pr.match
  if (updated) pr.match = m.matchIndex
  if (pr.next <= m.matchIndex) pr.next = m.matchIndex + 1
  if (updated || (pr.state === "Probe" && pr.match === m.matchIndex)) {
    if (pr.state === "Probe") becomeReplicate(pr)
    else if (pr.state === "Snapshot" && pr.match >= pr.pendingSnapshot) becomeProbe(pr)
    else if (pr.state === "Replicate") freeInflightsTo(pr, pr.match)
  }
  if (updated && maybeCommit(s)) onCommitAdvanced(s, ctx)
  if (s.role !== "Leader") return
  if (m.from === s.leadTransferee && pr.match === lastIndex(s)) sendTimeoutNow(s, ctx, m.from)
  // Fill the window.
  while (sendAppend(s, ctx, pr, false)) {
    if (pr.state !== "Replicate") break
  }
  maybeSendCommit(s, ctx, pr)
}

const onHeartbeatResponse = (s: RaftState, ctx: Ctx, m: HeartbeatResponse): void => {
  const pr = findProgress(s, m.from)
  if (pr === undefined) return
  pr.recentActive = true
  if (pr.state === "Probe") {
    // The follower is reachable: probe again (the last probe may be lost).
    pr.probeSent = false
    sendAppend(s, ctx, pr, true)
  } else if (pr.state === "Replicate" && pr.inflight.length === 0 && pr.match < lastIndex(s)) {
    sendAppend(s, ctx, pr, true)
  }
  if (m.readContext > 0 && !pr.learner) ackReads(s, ctx, m.from, m.readContext)
}

const onInstallSnapshotResponse = (s: RaftState, ctx: Ctx, m: InstallSnapshotResponse): void => {
  const pr = findProgress(s, m.from)
  if (pr === undefined) return
  pr.recentActive = true
  if (pr.state !== "Snapshot") return
  pr.stalled = false
  if (m.done && m.success) {
    if (m.lastIncludedIndex > pr.match) pr.match = m.lastIncludedIndex
    becomeProbe(pr)
    if (maybeCommit(s)) onCommitAdvanced(s, ctx)
    if (s.role !== "Leader") return
    if (m.from === s.leadTransferee && pr.match === lastIndex(s)) sendTimeoutNow(s, ctx, m.from)
    sendAppend(s, ctx, pr, false)
    return
  }
  if (m.lastIncludedIndex !== pr.pendingSnapshot) return
  pr.snapshotOffset = m.offset
  sendSnapshotChunk(s, ctx, pr)
}

const sendTimeoutNow = (s: RaftState, ctx: Ctx, to: NodeId): void => {
  send(ctx, { type: "TimeoutNow", from: s.id, to, term: s.term })
}

// ---------------------------------------------------------------------------
// Persistence acknowledgements, compaction, applying

const onPersisted = (s: RaftState, ctx: Ctx, p: Persisted): void => {
  // (index, term) names a unique log prefix (Log Matching), so an ack for
  // entries since overwritten is recognised by a different term and ignored.
  if (p.index <= s.stableIndex || termAt(s, p.index) !== p.term) return
  s.stableIndex = p.index
  if (s.role !== "Leader") return
  const self = findProgress(s, s.id)
  if (self === undefined || p.index <= self.match) return
  self.match = p.index
  self.next = p.index + 1
  if (maybeCommit(s)) onCommitAdvanced(s, ctx)
}

const compact = (s: RaftState, ctx: Ctx, index: number, data: Uint8Array): void => {
  // Only applied state can be snapshotted; anything else is ignored.
  if (index <= s.snapshot.index || index > s.appliedIndex) return
  const snapshot: Snapshot = { index, term: termAt(s, index), config: configAt(s, index), data }
  s.entries = s.entries.slice(index - s.snapshot.index)
  s.snapshot = snapshot
  ctx.writeSnapshot = snapshot
}

/** Hands committed, locally durable state to the state machine. Returns whether it did. */
const maybeApply = (s: RaftState, ctx: Ctx): boolean => {
  let progressed = false
  if (s.snapshot.index > s.appliedIndex) {
    if (s.snapshot.index > s.stableIndex) return false
    ctx.out.push({ type: "ApplySnapshot", snapshot: s.snapshot })
    s.appliedIndex = s.snapshot.index
    progressed = true
  }
  const to = Math.min(s.commitIndex, s.stableIndex)
  if (to <= s.appliedIndex) return progressed
  const entries = s.entries.slice(s.appliedIndex - s.snapshot.index, to - s.snapshot.index)
  ctx.out.push({ type: "Apply", entries })
  s.appliedIndex = to
  return true
}

/**
 * A leader in a joint configuration marked autoLeave proposes the empty change
 * that leaves it once the joint one is committed (also a new leader that
 * inherits a joint configuration, once its no-op commits).
 */
const maybeAutoLeave = (s: RaftState, ctx: Ctx): void => {
  if (s.role !== "Leader" || !isJoint(s.config) || !s.config.autoLeave) return
  if (s.pendingConfIndex > s.commitIndex || s.leadTransferee !== null) return
  const index = lastIndex(s) + 1
  appendEntries(s, ctx, [
    { type: "ConfChange", index, term: s.term, change: { changes: [], transition: "Auto" } },
  ])
  s.pendingConfIndex = index
  broadcastAppend(s, ctx)
}

// ---------------------------------------------------------------------------
// Proposals

const proposalBytes = (p: Proposal): number =>
  p.type === "Normal" ? p.data.byteLength + 24 : 24 + 16 * (p.change.changes.length + 1)

/** Appends proposals on the leader, or says why not. */
const leaderAccept = (s: RaftState, ctx: Ctx, p: Proposal): ProposalOutcome => {
  if (s.leadTransferee !== null) return { id: p.id, accepted: false, reason: "TransferInProgress" }
  const bytes = proposalBytes(p)
  if (s.uncommittedBytes > 0 && s.uncommittedBytes + bytes > s.options.maxUncommittedBytes)
    return { id: p.id, accepted: false, reason: "Overloaded" }
  const index = lastIndex(s) + 1
  let entry: Entry
  if (p.type === "ConfChange") {
    // One change at a time: the previous one (and this leader's no-op) must be committed.
    if (s.pendingConfIndex > s.commitIndex)
      return { id: p.id, accepted: false, reason: "ConfChangeRejected" }
    if (typeof applyConfChange(s.config, p.change) === "string")
      return { id: p.id, accepted: false, reason: "ConfChangeRejected" }
    s.pendingConfIndex = index
    entry = { type: "ConfChange", index, term: s.term, change: p.change }
  } else {
    entry = { type: "Normal", index, term: s.term, data: p.data }
  }
  appendEntries(s, ctx, [entry])
  if (s.options.maxUncommittedBytes !== Number.POSITIVE_INFINITY) s.uncommittedBytes += bytes
  return { id: p.id, accepted: true, index, term: s.term }
}

const propose = (s: RaftState, ctx: Ctx, proposals: ReadonlyArray<Proposal>): void => {
  if (proposals.length === 0) return
  if (s.role === "Leader") {
    let appended = false
    for (const p of proposals) {
      const r = leaderAccept(s, ctx, p)
      if (r.accepted) {
        appended = true
        ctx.out.push({ type: "ProposalAccepted", id: r.id, index: r.index, term: r.term })
      } else {
        ctx.out.push({ type: "ProposalDropped", id: r.id, reason: r.reason, leaderHint: s.id })
      }
    }
    if (appended) broadcastAppend(s, ctx)
    return
  }
  if (s.options.forwardProposals && s.leader !== null) {
    const m: ForwardProposals = {
      type: "ForwardProposals",
      from: s.id,
      to: s.leader,
      term: s.term,
      proposals,
    }
    send(ctx, m)
    return
  }
  for (const p of proposals)
    ctx.out.push({ type: "ProposalDropped", id: p.id, reason: "NotLeader", leaderHint: s.leader })
}

const onForwardProposals = (s: RaftState, ctx: Ctx, m: ForwardProposals): void => {
  const outcomes: ProposalOutcome[] = []
  if (s.role === "Leader") {
    let appended = false
    for (const p of m.proposals) {
      const r = leaderAccept(s, ctx, p)
      if (r.accepted) appended = true
      outcomes.push(r)
    }
    if (appended) broadcastAppend(s, ctx)
  } else {
    for (const p of m.proposals) outcomes.push({ id: p.id, accepted: false, reason: "NotLeader" })
  }
  const r: ForwardProposalsResponse = {
    type: "ForwardProposalsResponse",
    from: s.id,
    to: m.from,
    term: s.term,
    outcomes,
    leaderHint: s.leader,
  }
  send(ctx, r)
}

const onForwardProposalsResponse = (ctx: Ctx, m: ForwardProposalsResponse): void => {
  for (const o of m.outcomes) {
    if (o.accepted)
      ctx.out.push({ type: "ProposalAccepted", id: o.id, index: o.index, term: o.term })
    else
      ctx.out.push({
        type: "ProposalDropped",
        id: o.id,
        reason: o.reason,
        leaderHint: m.leaderHint,
      })
  }
}

// ---------------------------------------------------------------------------
// ReadIndex (dissertation 6.4)

const dropRead = (s: RaftState, ctx: Ctx, context: number, from: NodeId): void => {
  if (from === s.id) {
    ctx.out.push({
      type: "ReadDropped",
      context,
      leaderHint: s.role === "Leader" ? null : s.leader,
    })
    return
  }
  const r: ReadIndexResponse = {
    type: "ReadIndexResponse",
    from: s.id,
    to: from,
    term: s.term,
    context,
    index: -1,
    leaderCommit: 0,
  }
  send(ctx, r)
}

const readReady = (s: RaftState, ctx: Ctx, context: number, from: NodeId, index: number): void => {
  if (from === s.id) {
    ctx.out.push({ type: "ReadReady", context, index })
    return
  }
  const pr = findProgress(s, from)
  const r: ReadIndexResponse = {
    type: "ReadIndexResponse",
    from: s.id,
    to: from,
    term: s.term,
    context,
    index,
    leaderCommit: Math.min(pr?.match ?? 0, s.commitIndex),
  }
  if (pr !== undefined && r.leaderCommit > pr.sentCommit) pr.sentCommit = r.leaderCommit
  send(ctx, r)
}

const readIndex = (s: RaftState, ctx: Ctx, context: number, from: NodeId): void => {
  if (s.role !== "Leader") {
    if (from === s.id && s.leader !== null) {
      send(ctx, { type: "ReadIndexRequest", from: s.id, to: s.leader, term: s.term, context })
    } else {
      dropRead(s, ctx, context, from)
    }
    return
  }
  // Until an entry of its term commits, the leader may not know the latest commitIndex.
  if (termAt(s, s.commitIndex) !== s.term) {
    s.deferredReads.push({ context, from })
    return
  }
  const alone = voteResult(s.config, [s.id], []) === "Won"
  if (alone || s.options.readOnly === "LeaseBased") {
    readReady(s, ctx, context, from, s.commitIndex)
    return
  }
  s.readSeq += 1
  s.pendingReads.push({ seq: s.readSeq, context, from, index: s.commitIndex, acks: [s.id] })
  broadcastHeartbeat(s, ctx, s.readSeq)
}

/** A voter echoed readContext `seq`: it still followed us after every read with seq <= that. */
const ackReads = (s: RaftState, ctx: Ctx, from: NodeId, seq: number): void => {
  let confirmed = -1
  for (let i = 0; i < s.pendingReads.length; i++) {
    const r = s.pendingReads[i]!
    if (r.seq > seq) break
    if (!r.acks.includes(from)) r.acks.push(from)
    if (voteResult(s.config, r.acks, []) === "Won") confirmed = i
  }
  if (confirmed < 0) return
  // Confirming a later read confirms every earlier one.
  const ready = s.pendingReads.splice(0, confirmed + 1)
  for (const r of ready) readReady(s, ctx, r.context, r.from, r.index)
}

const onReadIndexResponse = (s: RaftState, ctx: Ctx, m: ReadIndexResponse): void => {
  if (m.index < 0) {
    ctx.out.push({ type: "ReadDropped", context: m.context, leaderHint: s.leader })
    return
  }
  // Like a heartbeat, leaderCommit is covered by our log when it comes from our leader.
  if (m.term === s.term && m.from === s.leader) commitTo(s, Math.min(m.leaderCommit, lastIndex(s)))
  ctx.out.push({ type: "ReadReady", context: m.context, index: m.index })
}

// ---------------------------------------------------------------------------
// Leadership transfer (dissertation 3.10)

const transferLeadership = (s: RaftState, ctx: Ctx, to: NodeId): void => {
  if (s.role !== "Leader" || to === s.id || !isVoter(s.config, to)) return
  if (s.leadTransferee === to) return
  const pr = findProgress(s, to)
  if (pr === undefined) return
  s.leadTransferee = to
  // The transfer must finish within one election timeout.
  s.electionElapsed = 0
  if (pr.match === lastIndex(s)) sendTimeoutNow(s, ctx, to)
  else sendAppend(s, ctx, pr, true)
}
