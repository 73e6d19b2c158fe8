import {
  applyPersist,
  bootstrap,
  cloneState,
  createNode,
  type DurableState,
  type Entry,
  freezeDurable,
  type Input,
  lastIndex,
  type Message,
  type Mutation,
  makeConfig,
  mutableDurable,
  type NodeId,
  type Persist,
  type RaftState,
  step,
  termAt,
} from "@flotilla/raft"
import {
  type Actor,
  actorSystem,
  type Command,
  cancelTimer,
  type Id,
  invoke,
  type NetworkSemantics,
  persist,
  respond,
  type Step,
  type SystemState,
  send,
  setTimer,
} from "../core/actor.ts"
import { Hasher } from "../core/hash.ts"
import { linearizable } from "../core/history.ts"
import type { SequentialSpec } from "../core/linearizability.ts"
import { always, type Property, sometimes } from "../core/model.ts"

/**
 * The real `@flotilla/raft` core as actors: each server runs the production
 * `step` function; the model only carries its commands out (sends, durable
 * writes, applying committed entries) and decides which inputs happen next:
 * message deliveries (reordered, optionally lost or duplicated), election
 * timeouts (`Campaign`), the leader's heartbeat timeouts (`Tick`), crashes and
 * restarts that keep only what was written to disk, and clients that propose
 * values and read them back through the log.
 *
 * Abstractions, each sound for the properties checked:
 * - Time: a timeout may fire at any moment, so the tick counters of the core
 *   (`electionElapsed`, `heartbeatElapsed`, the randomized timeout and its
 *   PRNG) are left out of the state's fingerprint. With pre-vote and
 *   check-quorum off (the model's configuration) nothing else reads them.
 * - Disk: with `disk: "sync"` a `Persist` is durable when the step that
 *   issued it ends (writes are atomic with steps; crashes happen between
 *   steps). With `disk: "async"` writes queue up and each completes as a
 *   separate event (a "disk" timer firing): only then are the messages that
 *   wait for it sent and `Persisted` fed back, and a crash loses the writes
 *   still queued. That is what exposes a core that sends before its write is
 *   durable (the `reply-before-persist` mutant).
 * - Network: in-flight messages form a set (identical copies merge), which
 *   keeps repeated heartbeats from growing the state forever.
 *
 * Properties (Raft paper, Figure 3) are checked on ghost state each server
 * keeps beside the core (and persists with its disk): the terms it led, the
 * entries it committed as leader, the terms of the entries it applied.
 */

/** A server's ghost (history) state: never read by the protocol. */
export interface Ghost {
  /** Terms in which this server was leader. */
  readonly led: ReadonlyArray<number>
  /** Entries this server committed as leader: [index, entry term, leader term]. */
  readonly commits: ReadonlyArray<readonly [number, number, number]>
  /** Term of the entry applied at each index (index i at position i - 1). */
  readonly applied: ReadonlyArray<number>
  /** The first property a server broke on its own (Leader Append-Only, a core error). */
  readonly violation: string | null
}

interface Pending {
  readonly client: Id
  /** Which of the client's operations. */
  readonly seq: number
  readonly index: number
  readonly term: number
}

export interface ServerState {
  readonly role: "server"
  readonly raft: RaftState
  /** The state machine: a register holding the last value written (0 at first). */
  readonly value: number
  /** Client requests appended to the log here, waiting to be applied. */
  readonly pending: ReadonlyArray<Pending>
  readonly ghost: Ghost
  /** What is on this server's disk (null when the model has no crashes: nothing reads it). */
  readonly disk: DurableState | null
  /** Writes issued but not yet durable, oldest first (async disk only). */
  readonly writes: ReadonlyArray<Persist>
}

export interface ClientState {
  readonly role: "client"
  /** Index of the current operation in the script. */
  readonly op: number
  readonly waiting: boolean
}

export type RaftModelState = ServerState | ClientState

export type ClientOp =
  | { readonly type: "write"; readonly value: number }
  | { readonly type: "read" }
export type ClientResult = { readonly ok: true; readonly value?: number } | { readonly ok: false }

export type RaftModelMessage =
  | Message
  | { readonly type: "ClientRequest"; readonly seq: number; readonly op: ClientOp }
  | { readonly type: "ClientReply"; readonly seq: number; readonly result: ClientResult }

type Timer = "election" | "heartbeat" | "disk"
/** What survives a crash: the disk and the ghost. */
export interface Persisted {
  readonly disk: DurableState
  readonly ghost: Ghost
}
type Cmd = Command<RaftModelMessage, Timer, Persisted, ClientOp, ClientResult>
type ActorStep = Step<RaftModelState, Cmd>
export type RaftSystemState = SystemState<
  RaftModelState,
  RaftModelMessage,
  Timer,
  Persisted,
  ClientOp,
  ClientResult
>

export type MutationOption =
  | "none"
  | "vote-without-log-check"
  | "commit-prior-term-by-count"
  | "append-without-prev-check"
  | "reply-before-persist"
  | "leader-ignores-higher-term"

const mutationOf: Record<MutationOption, Mutation | null> = {
  none: null,
  "vote-without-log-check": "VoteWithoutLogCheck",
  "commit-prior-term-by-count": "CommitPriorTermByCount",
  "append-without-prev-check": "AppendWithoutPrevCheck",
  "reply-before-persist": "ReplyBeforePersist",
  "leader-ignores-higher-term": "LeaderIgnoresHigherTerm",
}

export interface RaftModelOptions {
  readonly servers: number
  /** Clients; client i writes the value i + 1. */
  readonly clients: number
  /** Whether each client reads after its write. */
  readonly reads: boolean
  /**
   * Reads answered at once from the receiving server's state machine, not
   * through the log: a broken read path (stale reads), for showing that the
   * linearizability check catches it.
   */
  readonly localReads: boolean
  /**
   * Whether clients wait for answers and record a history (checked for
   * linearizability). Without, a client only proposes its value to every
   * server (as a TLA+ spec's ClientRequest action): fewer states, no
   * linearizability property.
   */
  readonly history: boolean
  /** Boundary: states where any server's term exceeds this are not explored. */
  readonly maxTerm: number
  /** Boundary: states where any server's log is longer are not explored. */
  readonly maxLog: number
  /** Boundary: states with more messages in flight are not explored (0: no bound). */
  readonly maxMessages: number
  /** Crashes (each followed by a possible restart). */
  readonly crashes: number
  readonly lossy: boolean
  readonly duplicating: boolean
  /** First-in first-out per channel (TCP-like) instead of reordering. */
  readonly ordered: boolean
  readonly heartbeats: boolean
  /** Entries per AppendEntries: 1, or all that are pending (0). */
  readonly appendBatch: number
  /** Whether writes are durable at the end of their step or complete later (see above). */
  readonly disk: "sync" | "async"
  readonly mutation: MutationOption
  /**
   * Remove dead messages from the network (see `deadMessage`): on by
   * default; off only to compare state counts and outcomes. Applies to
   * unordered networks without crashes. The `maxMessages` bound then counts
   * only messages that can still be delivered, so the reduced search explores
   * every state the full one does (up to dead messages), and possibly more.
   */
  readonly discardDead: boolean
}

export const defaultRaftOptions: RaftModelOptions = {
  servers: 3,
  clients: 1,
  reads: false,
  localReads: false,
  history: true,
  maxTerm: 2,
  maxLog: 2,
  maxMessages: 0,
  crashes: 0,
  lossy: false,
  duplicating: false,
  ordered: false,
  heartbeats: false,
  appendBatch: 0,
  disk: "sync",
  mutation: "none",
  discardDead: true,
}

const WRITE = 1
const READ = 2

const encodeOp = (op: ClientOp): Uint8Array =>
  op.type === "write" ? Uint8Array.of(WRITE, op.value) : Uint8Array.of(READ)

const emptyGhost: Ghost = { led: [], commits: [], applied: [], violation: null }

/** The register the clients see, with failed operations (definitely not applied) allowed. */
export const raftRegisterSpec: SequentialSpec<number, ClientOp, ClientResult> = {
  init: () => 0,
  step: (state, input, output) => {
    if (output !== undefined && !output.ok) return state
    if (input.type === "write") return input.value
    return output === undefined || output.value === state ? state : undefined
  },
  key: (state) => state,
  describe: (op) =>
    op.input.type === "write"
      ? `write(${op.input.value}) -> ${op.output === undefined ? "?" : op.output.ok ? "ok" : "failed"}`
      : `read() -> ${op.output === undefined ? "?" : op.output.ok ? op.output.value : "failed"}`,
}

/** Server ids are `n1`, `n2`, ...; actor i is server `n{i+1}` for i < servers. */
export const nodeId = (i: number): NodeId => `n${i + 1}`

const idOf = (node: NodeId): Id => Number(node.slice(1)) - 1

const hashEntries = (entries: ReadonlyArray<Entry>, h: Hasher): void => {
  h.word(entries.length)
  for (const e of entries) {
    h.word(e.index)
    h.word(e.term)
    if (e.type === "Normal") {
      h.word(e.data.length)
      for (let i = 0; i < e.data.length; i++) h.word(e.data[i]!)
    } else h.value(e.change)
  }
}

/**
 * A renaming of servers by index (symmetry); node ids are hashed as their
 * renamed index, so renamed states hash alike.
 */
type Perm = (index: number) => number
const identity: Perm = (i) => i

/** `n1` -> 0, `n2` -> 1, ... (the model has at most 5 servers). */
const indexOf = (id: NodeId): number => id.charCodeAt(1) - 49
const idWord = (id: NodeId | null, perm: Perm): number => (id === null ? -1 : perm(indexOf(id)))
const idMask = (ids: ReadonlyArray<NodeId>, perm: Perm): number => {
  let mask = 0
  for (const id of ids) mask |= 1 << perm(indexOf(id))
  return mask
}

const roleCode: Record<RaftState["role"], number> = {
  Follower: 1,
  PreCandidate: 2,
  Candidate: 3,
  Leader: 4,
}
const progressCode = { Probe: 1, Replicate: 2, Snapshot: 3 } as const

const hashGhost = (g: Ghost, h: Hasher): void => {
  h.word(g.led.length)
  for (const t of g.led) h.word(t)
  h.word(g.commits.length)
  for (const [i, t, at] of g.commits) {
    h.word(i)
    h.word(t)
    h.word(at)
  }
  h.word(g.applied.length)
  for (const t of g.applied) h.word(t)
  h.string(g.violation ?? "")
}

/**
 * The parts of a server's state that name no node, hashed once per state
 * object and shared by every renaming (the builder asks for all renamings of
 * one state in a row): `baseHi`/`baseLo`, and per progress entry its own
 * fields (`progressHashes`: index, hi, lo).
 */
let baseOf: ServerState | undefined
let baseHi = 0
let baseLo = 0
const progressHashes: Array<number> = []
const baseHasher = new Hasher()

const serverBase = (s: ServerState): void => {
  if (baseOf === s) return
  baseOf = s
  const r = s.raft
  const h = baseHasher
  progressHashes.length = 0
  for (const p of r.progress) {
    h.reset()
    h.word(p.match)
    h.word(p.next)
    h.word(progressCode[p.state])
    h.bool(p.probeSent)
    h.word(p.inflight.length)
    for (const i of p.inflight) h.word(i)
    h.word(p.pendingSnapshot)
    h.word(p.snapshotOffset)
    h.bool(p.stalled)
    h.word(p.sentCommit)
    h.bool(p.learner)
    h.finish()
    progressHashes.push(indexOf(p.id), h.hi, h.lo)
  }
  h.reset()
  h.word(roleCode[r.role])
  h.word(r.term)
  h.word(r.snapshot.index)
  h.word(r.snapshot.term)
  hashEntries(r.entries, h)
  h.word(r.commitIndex)
  h.word(r.appliedIndex)
  h.word(r.stableIndex)
  h.word(r.persisted.term)
  h.word(r.persisted.commit)
  h.word(r.pendingConfIndex)
  h.word(r.progress.length)
  h.int(r.uncommittedBytes)
  h.word(r.readSeq)
  h.word(r.pendingReads.length)
  h.word(r.deferredReads.length)
  h.bool(r.incoming !== null)
  h.word(s.value)
  h.word(s.pending.length)
  for (const p of s.pending) {
    h.word(p.client)
    h.word(p.seq)
    h.word(p.index)
    h.word(p.term)
  }
  hashGhost(s.ghost, h)
  h.finish()
  baseHi = h.hi
  baseLo = h.lo
}

const slots: Array<number> = []

/**
 * Feeds the parts of a server that can influence its future (see the module
 * comment), naming nodes by renamed index. Vote tallies are sets (the core
 * only asks whether a node is in one) and progress is taken in order of
 * renamed index (the core looks progress up by id).
 */
const hashServer = (s: ServerState, h: Hasher, perm: Perm): void => {
  serverBase(s)
  const r = s.raft
  h.word(1)
  h.fingerprint(baseHi, baseLo)
  h.word(idWord(r.vote, perm))
  h.word(idWord(r.leader, perm))
  h.word(idWord(r.persisted.vote, perm))
  h.word(idWord(r.leadTransferee, perm))
  h.word(idMask(r.votesGranted, perm))
  h.word(idMask(r.votesRejected, perm))
  const k = progressHashes.length / 3
  if (k > 0) {
    slots.length = 8
    slots.fill(-1)
    for (let j = 0; j < k; j++) slots[perm(progressHashes[3 * j]!)] = j
    for (let i = 0; i < 8; i++) {
      const j = slots[i]!
      if (j < 0) continue
      h.word(i)
      h.word(progressHashes[3 * j + 1]!)
      h.word(progressHashes[3 * j + 2]!)
    }
  }
  h.word(s.writes.length)
  for (const w of s.writes) hashWrite(w, h, perm)
  // `disk` is what the system persisted (hashed there when crashes are on).
}

/**
 * A hash of a server's state that renaming servers cannot change: node ids
 * are reduced to "itself" (0) or "another" (1), and other servers' progress
 * is summed. Symmetry reduction sorts servers by it before trying renamings.
 */
const invariantState = (x: RaftModelState, self: Id, h: Hasher): void => {
  if (x.role === "client") {
    hashState(x, h)
    return
  }
  serverBase(x)
  const r = x.raft
  const rel: Perm = (i) => (i === self ? 0 : 1)
  h.word(1)
  h.fingerprint(baseHi, baseLo)
  h.word(idWord(r.vote, rel))
  h.word(idWord(r.leader, rel))
  h.word(idWord(r.persisted.vote, rel))
  h.word(idWord(r.leadTransferee, rel))
  h.word(r.votesGranted.length)
  h.bool(r.votesGranted.some((id) => indexOf(id) === self))
  h.word(r.votesRejected.length)
  h.bool(r.votesRejected.some((id) => indexOf(id) === self))
  let a1 = 0
  let a2 = 0
  for (let j = 0; j < progressHashes.length; j += 3) {
    if (progressHashes[j] === self) {
      h.word(progressHashes[j + 1]!)
      h.word(progressHashes[j + 2]!)
    } else {
      a1 = (a1 + progressHashes[j + 1]!) | 0
      a2 = (a2 + progressHashes[j + 2]!) | 0
    }
  }
  h.word(a1)
  h.word(a2)
  h.word(x.writes.length)
  for (const w of x.writes) hashWrite(w, h, rel)
}

/** Feeds the canonical parts of a Raft node (no renaming), for tests and tools. */
export const hashRaft = (s: RaftState, h: Hasher): void => {
  hashServer(
    { role: "server", raft: s, value: 0, pending: [], ghost: emptyGhost, disk: null, writes: [] },
    h,
    identity,
  )
}

const messageCode: Record<RaftModelMessage["type"], number> = {
  ClientRequest: 1,
  ClientReply: 2,
  RequestVote: 3,
  RequestVoteResponse: 4,
  AppendEntries: 5,
  AppendEntriesResponse: 6,
  Heartbeat: 7,
  HeartbeatResponse: 8,
  InstallSnapshot: 9,
  InstallSnapshotResponse: 10,
  TimeoutNow: 11,
  ReadIndexRequest: 12,
  ReadIndexResponse: 13,
  ForwardProposals: 14,
  ForwardProposalsResponse: 15,
}

/** A canonical hash of a message: its type, then its fields in a fixed order. */
export const hashMessage = (m: RaftModelMessage, h: Hasher, perm: Perm = identity): void => {
  h.word(messageCode[m.type])
  switch (m.type) {
    case "ClientRequest":
      h.word(m.seq)
      if (m.op.type === "write") h.word(m.op.value)
      else h.word(-1)
      return
    case "ClientReply":
      h.word(m.seq)
      h.bool(m.result.ok)
      if (m.result.ok) h.int(m.result.value ?? -1)
      return
    default:
  }
  h.word(perm(indexOf(m.from)))
  h.word(perm(indexOf(m.to)))
  h.word(m.term)
  switch (m.type) {
    case "RequestVote":
      h.word(m.lastLogIndex)
      h.word(m.lastLogTerm)
      h.bool(m.preVote)
      h.bool(m.transfer)
      return
    case "RequestVoteResponse":
      h.bool(m.voteGranted)
      h.bool(m.preVote)
      return
    case "AppendEntries":
      h.word(m.prevLogIndex)
      h.word(m.prevLogTerm)
      hashEntries(m.entries, h)
      h.word(m.leaderCommit)
      return
    case "AppendEntriesResponse":
      h.bool(m.success)
      h.word(m.matchIndex)
      h.word(m.prevLogIndex)
      h.word(m.conflictIndex)
      h.word(m.conflictTerm)
      return
    case "Heartbeat":
      h.word(m.leaderCommit)
      h.word(m.readContext)
      return
    case "HeartbeatResponse":
      h.word(m.readContext)
      return
    default:
      // Messages the model's configuration does not produce: structurally
      // (they name nodes only in from/to, hashed above).
      h.value({ ...m, from: "", to: "" })
  }
}

const hashWrite = (w: Persist, h: Hasher, perm: Perm): void => {
  if (w.hardState === null) h.int(-1)
  else {
    h.word(w.hardState.term)
    h.word(idWord(w.hardState.vote, perm))
    h.word(w.hardState.commit)
  }
  h.bool(w.snapshot !== null)
  if (w.snapshot !== null) h.value(w.snapshot)
  hashEntries(w.entries, h)
  h.word(w.after.length)
  for (const m of w.after) hashMessage(m, h, perm)
  h.int(w.ack === null ? -1 : w.ack.index)
  h.int(w.ack === null ? -1 : w.ack.term)
}

const hashState = (s: RaftModelState, h: Hasher, perm: Perm = identity): void => {
  if (s.role === "client") {
    h.word(2)
    h.word(s.op)
    h.bool(s.waiting)
    return
  }
  hashServer(s, h, perm)
}

/** What a server persisted: its disk (votes renamed) and ghost. */
const hashPersisted = (p: Persisted, h: Hasher, perm: Perm): void => {
  const hs = p.disk.hardState
  h.word(hs.term)
  h.word(idWord(hs.vote, perm))
  h.word(hs.commit)
  h.word(p.disk.snapshot.index)
  h.word(p.disk.snapshot.term)
  hashEntries(p.disk.entries, h)
  hashGhost(p.ghost, h)
}

const sortedInsert = (list: ReadonlyArray<number>, x: number): ReadonlyArray<number> =>
  list.includes(x) ? list : [...list, x].sort((a, b) => a - b)

/**
 * Whether a message to a server in state `r` is dead: the server's `accepts`
 * (below) is false for it now and in every state the server can reach within
 * the boundary `term <= maxTerm`, so the model removes it from the network.
 * This rests on three facts about the core without crashes, which
 * `checkDeadPremises` asserts on every step the model takes:
 * (1) a server's term never decreases; (2) a server becomes Candidate only
 * together with a term increase; (3) it becomes Leader only from Candidate in
 * the same term, or together with a term increase.
 * - A response (vote, append, heartbeat, snapshot) of an older term: taken only
 *   at a term <= its own (1).
 * - A vote response of the server's term when it is not Candidate: taken only
 *   by a Candidate of that term, which it cannot become again (2).
 * - An append, heartbeat or snapshot response of the server's term when it is
 *   Follower: taken only by a Leader of that term, which a Follower cannot
 *   become without a higher term (2, 3).
 * - A client request to a Follower at `maxTerm`: taken only by a Leader, which
 *   it could be only at a term above the boundary (2, 3) (reads on the broken
 *   local read path excepted: any server answers them).
 */
export const deadMessage = (
  r: RaftState,
  msg: RaftModelMessage,
  maxTerm: number,
  localReads: boolean,
): boolean => {
  switch (msg.type) {
    case "RequestVoteResponse":
      return msg.term < r.term || (msg.term === r.term && r.role !== "Candidate")
    case "AppendEntriesResponse":
    case "HeartbeatResponse":
    case "InstallSnapshotResponse":
      return msg.term < r.term || (msg.term === r.term && r.role === "Follower")
    case "ClientRequest":
      // (With the broken local read path any server answers reads.)
      return r.term >= maxTerm && r.role === "Follower" && !(localReads && msg.op.type === "read")
    default:
      return false
  }
}

/** Asserts the facts `deadMessage` rests on for one step from `before` to `after`. */
const checkDeadPremises = (self: Id, before: RaftState, after: RaftState): void => {
  const broken =
    after.term < before.term
      ? "its term decreased"
      : after.role === "Candidate" && before.role !== "Candidate" && after.term === before.term
        ? "it became Candidate without a new term"
        : after.role === "Leader" &&
            before.role !== "Leader" &&
            after.term === before.term &&
            before.role !== "Candidate"
          ? `it became Leader from ${before.role} in the same term`
          : null
  if (broken !== null) {
    throw new Error(
      `raft model: server ${nodeId(self)} broke a premise of dead-message removal (${broken}); rerun with discardDead off`,
    )
  }
}

/** Builds the model. */
export const raftModel = (options: Partial<RaftModelOptions> = {}) => {
  const o: RaftModelOptions = { ...defaultRaftOptions, ...options }
  const n = o.servers
  const ids = Array.from({ length: n }, (_, i) => nodeId(i))
  const config = makeConfig(ids)
  const mutation = mutationOf[o.mutation]
  const keepDisk = o.crashes > 0
  const coreOptions = (id: NodeId) => ({
    id,
    // Timeouts are model actions (Campaign, Tick), so the tick counts only
    // need to be valid; pre-vote and check-quorum are off (see above).
    electionTick: 10,
    heartbeatTick: 1,
    preVote: false,
    checkQuorum: false,
    maxMsgBytes: o.appendBatch === 1 ? 1 : Number.POSITIVE_INFINITY,
    mutations: mutation === null ? [] : [mutation],
  })

  const asyncDisk = o.disk === "async"
  // Dead messages are removed where `accepts` decides deliveries (unordered
  // networks) and terms never go back (no crashes; see `deadMessage`).
  const discarding = o.discardDead && !o.ordered && o.crashes === 0

  /**
   * Runs the core on `input` (if any) and carries out its commands. With
   * `completed`, the oldest queued write has just become durable: it is
   * applied to the disk first, its waiting messages go out and its
   * acknowledgement is fed to the core.
   */
  const run = (self: Id, s: ServerState, input: Input | null, completed?: Persist): ActorStep => {
    const raft = cloneState(s.raft)
    const before = s.raft
    let value = s.value
    const pending = s.pending.slice()
    let { led, commits, applied, violation } = s.ghost
    const disk = s.disk === null ? null : mutableDurable(s.disk)
    let diskChanged = false
    let writes = completed === undefined ? s.writes : s.writes.slice(1)
    const out: Array<Cmd> = []
    const inputs: Array<Input> = input === null ? [] : [input]
    const durable = (c: Persist) => {
      if (disk !== null) {
        applyPersist(disk, c)
        diskChanged = true
      }
      for (const m of c.after) out.push(send(idOf(m.to), m))
      if (c.ack !== null) inputs.push({ type: "Persisted", ...c.ack })
    }
    if (completed !== undefined) durable(completed)
    const reply = (to: Id, seq: number, result: ClientResult) => {
      out.push(send(to, { type: "ClientReply", seq, result }))
    }
    try {
      while (inputs.length > 0) {
        const commands = step(raft, inputs.shift()!)
        for (const c of commands) {
          switch (c.type) {
            case "Send":
              out.push(send(idOf(c.message.to), c.message))
              break
            case "Persist":
              if (asyncDisk) writes = [...writes, c]
              else durable(c)
              break
            case "Apply":
              for (const e of c.entries) {
                value = applyEntry(e, value)
                if (e.index <= applied.length) {
                  if (applied[e.index - 1] !== e.term && violation === null) {
                    violation = `State Machine Safety: ${nodeId(self)} applied index ${e.index} with term ${applied[e.index - 1]} and later with term ${e.term}`
                  }
                } else applied = [...applied, e.term]
                for (let i = pending.length - 1; i >= 0; i--) {
                  const p = pending[i]!
                  if (p.index !== e.index) continue
                  pending.splice(i, 1)
                  // Another entry took its place: it will never be applied
                  // here; the client may still hear from another leader.
                  if (p.term !== e.term) continue
                  const read = e.type === "Normal" && e.data[0] === READ
                  reply(p.client, p.seq, read ? { ok: true, value } : { ok: true })
                }
              }
              break
            case "ApplySnapshot":
              if (violation === null) violation = "unexpected snapshot (the model never compacts)"
              break
            case "ProposalAccepted":
              if (!o.history) break
              pending.push({
                client: c.id >> 4,
                seq: c.id & 15,
                index: c.index,
                term: c.term,
              })
              break
            default:
              break
          }
        }
      }
    } catch (error) {
      if (violation === null) {
        violation = `the core threw: ${error instanceof Error ? error.message : String(error)}`
      }
    }
    if (discarding) checkDeadPremises(self, before, raft)
    // Monitors: what this step did as a leader.
    if (raft.role === "Leader") {
      led = sortedInsert(led, raft.term)
      if (raft.commitIndex > before.commitIndex) {
        const added: Array<readonly [number, number, number]> = []
        for (let i = before.commitIndex + 1; i <= raft.commitIndex; i++) {
          added.push([i, termAt(raft, i), raft.term])
        }
        commits = [...commits, ...added]
      }
      if (before.role === "Leader" && before.term === raft.term && violation === null) {
        // Leader Append-Only: the old log is a prefix of the new one.
        const old = before.entries
        for (let i = 0; i < old.length; i++) {
          const now = raft.entries[i]
          if (now === undefined || now.term !== old[i]!.term || now.index !== old[i]!.index) {
            violation = `Leader Append-Only: leader ${nodeId(self)} of term ${raft.term} removed or replaced entry ${old[i]!.index}`
            break
          }
        }
      }
    }
    const ghost: Ghost =
      led === s.ghost.led &&
      commits === s.ghost.commits &&
      applied === s.ghost.applied &&
      violation === s.ghost.violation
        ? s.ghost
        : { led, commits, applied, violation }
    const frozen = disk === null ? null : diskChanged ? freezeDurable(disk) : s.disk
    if (keepDisk && (frozen !== s.disk || ghost !== s.ghost)) {
      out.push(persist({ disk: frozen!, ghost }))
    }
    // Timers follow the role: a leader heartbeats, everyone else may time
    // out; the disk completes a write while any is queued.
    if (raft.role === "Leader") {
      out.push(cancelTimer("election"))
      if (o.heartbeats) out.push(setTimer("heartbeat"))
    } else {
      out.push(cancelTimer("heartbeat"))
      out.push(setTimer("election"))
    }
    out.push(writes.length > 0 ? setTimer("disk") : cancelTimer("disk"))
    return {
      state: { role: "server", raft, value, pending, ghost, disk: frozen, writes },
      commands: out,
    }
  }

  const applyEntry = (e: Entry, value: number): number =>
    e.type === "Normal" && e.data[0] === WRITE ? e.data[1]! : value

  const server: Actor<RaftModelState, RaftModelMessage, Timer, Persisted, ClientOp, ClientResult> =
    {
      start: (self, saved) => {
        const disk = saved?.disk ?? bootstrap(config)
        const raft = createNode(coreOptions(nodeId(self)), disk)
        const state: ServerState = {
          role: "server",
          raft,
          value: 0,
          pending: [],
          ghost: saved?.ghost ?? emptyGhost,
          disk: keepDisk ? disk : null,
          writes: [],
        }
        if (saved === undefined) {
          return {
            state,
            commands: [
              setTimer("election"),
              ...(keepDisk ? [persist({ disk, ghost: emptyGhost })] : []),
            ],
          }
        }
        // A restarted node re-applies what it knows is committed: a step
        // with nothing to do (an old, ignored Persisted) lets the core emit it.
        return run(self, state, { type: "Persisted", index: 0, term: 0 })
      },
      receive: (self, s, from, msg) => {
        if (s.role !== "server") return undefined
        if (msg.type === "ClientReply") return undefined
        if (msg.type === "ClientRequest") {
          if (o.localReads && msg.op.type === "read") {
            return {
              state: s,
              commands: [
                send(from, {
                  type: "ClientReply",
                  seq: msg.seq,
                  result: { ok: true, value: s.value },
                }),
              ],
            }
          }
          // Only a leader takes proposals (see `accepts`).
          if (s.raft.role !== "Leader") return undefined
          return run(self, s, {
            type: "Propose",
            proposals: [{ id: (from << 4) | msg.seq, type: "Normal", data: encodeOp(msg.op) }],
          })
        }
        return run(self, s, msg)
      },
      // Messages the core would ignore now are left in flight (delivered
      // later, or never): delivering one would only drop it, and a message
      // that is never delivered already covers that. A client request is
      // taken only by a leader; a response only by the role it answers, in
      // its term (an older term's response is ignored for good: terms only
      // grow, except after a crash, when it may still be delivered).
      accepts: (_, s, __, msg) => {
        if (s.role !== "server") return true
        const r = s.raft
        switch (msg.type) {
          case "ClientRequest":
            return r.role === "Leader" || (o.localReads && msg.op.type === "read")
          case "RequestVoteResponse":
            return msg.term > r.term || (msg.term === r.term && r.role === "Candidate")
          case "AppendEntriesResponse":
          case "HeartbeatResponse":
          case "InstallSnapshotResponse":
            return msg.term > r.term || (msg.term === r.term && r.role === "Leader")
          default:
            return true
        }
      },
      ...(discarding
        ? {
            discards: (_: Id, s: RaftModelState, __: Id, msg: RaftModelMessage) =>
              s.role === "server" && deadMessage(s.raft, msg, o.maxTerm, o.localReads),
          }
        : {}),
      timeout: (self, s, timer) => {
        if (s.role !== "server") return undefined
        if (timer === "disk") {
          const w = s.writes[0]
          return w === undefined ? undefined : run(self, s, null, w)
        }
        return run(self, s, timer === "election" ? { type: "Campaign" } : { type: "Tick" })
      },
    }

  const scriptOf = (c: number): ReadonlyArray<ClientOp> => [
    { type: "write", value: c + 1 },
    ...(o.reads ? [{ type: "read" } as const] : []),
  ]

  // A client sends each operation to every server and takes the first
  // answer: only leaders append it, and a server answers once the entry is
  // applied. Clients thus treat servers alike (the model stays symmetric in
  // them); an operation nobody answers stays pending in the history.
  const client = (
    c: number,
  ): Actor<RaftModelState, RaftModelMessage, Timer, Persisted, ClientOp, ClientResult> => {
    const script = scriptOf(c)
    const issue = (op: number): ActorStep => {
      const next = script[op]
      if (next === undefined) return { state: { role: "client", op, waiting: false }, commands: [] }
      const commands: Array<Cmd> = o.history ? [invoke(next)] : []
      for (let i = 0; i < n; i++)
        commands.push(send(i, { type: "ClientRequest", seq: op, op: next }))
      // Without a history the client proposes its value and is done.
      return { state: { role: "client", op, waiting: o.history }, commands }
    }
    // A reply is taken only for the operation the client waits for; the
    // others (later answers from other servers) are dead: the client's
    // operation index only grows.
    const awaited = (s: RaftModelState, msg: RaftModelMessage): boolean =>
      s.role === "client" && s.waiting && msg.type === "ClientReply" && msg.seq === s.op
    return {
      start: () => issue(0),
      receive: (_, s, __, msg) => {
        if (s.role !== "client" || !s.waiting || msg.type !== "ClientReply") return undefined
        if (msg.seq !== s.op) return undefined
        const after = issue(s.op + 1)
        return { state: after.state, commands: [respond(msg.result), ...after.commands] }
      },
      accepts: (_, s, __, msg) => awaited(s, msg),
      ...(discarding
        ? {
            discards: (_: Id, s: RaftModelState, __: Id, msg: RaftModelMessage) => !awaited(s, msg),
          }
        : {}),
    }
  }

  const live = (s: RaftSystemState): Array<ServerState> =>
    s.actors.filter((a): a is ServerState => a !== undefined && a.role === "server")

  // Ghost state of every server, crashed ones included (from what they persisted).
  const ghosts = (s: RaftSystemState): Array<Ghost> => {
    const out: Array<Ghost> = []
    for (let i = 0; i < n; i++) {
      const a = s.actors[i]
      if (a !== undefined && a.role === "server") out.push(a.ghost)
      else {
        const p = s.persisted[i]
        if (p !== undefined) out.push(p.ghost)
      }
    }
    return out
  }

  const properties: Array<Property<RaftSystemState>> = [
    always("Election Safety", (s) => {
      const seen = new Set<number>()
      for (const g of ghosts(s)) {
        for (const t of g.led) {
          if (seen.has(t)) return false
          seen.add(t)
        }
      }
      return true
    }),
    always("Leader Append-Only", (s) =>
      ghosts(s).every((g) => g.violation === null || !g.violation.startsWith("Leader Append-Only")),
    ),
    always("Log Matching", (s) => {
      const servers = live(s)
      for (let a = 0; a < servers.length; a++) {
        for (let b = a + 1; b < servers.length; b++) {
          const x = servers[a]!.raft
          const y = servers[b]!.raft
          const top = Math.min(lastIndex(x), lastIndex(y))
          // Find the highest index where the terms agree; all below must agree too.
          let i = top
          while (i > 0 && termAt(x, i) !== termAt(y, i)) i--
          for (let j = i - 1; j > 0; j--) if (termAt(x, j) !== termAt(y, j)) return false
        }
      }
      return true
    }),
    always("Leader Completeness", (s) => {
      const committed = ghosts(s).flatMap((g) => g.commits)
      for (const leader of live(s)) {
        const r = leader.raft
        if (r.role !== "Leader") continue
        for (const [index, term, at] of committed) {
          if (r.term > at && termAt(r, index) !== term) return false
        }
      }
      return true
    }),
    always("State Machine Safety", (s) => {
      const all = ghosts(s)
      if (all.some((g) => g.violation?.startsWith("State Machine Safety"))) return false
      for (let a = 0; a < all.length; a++) {
        for (let b = a + 1; b < all.length; b++) {
          const x = all[a]!.applied
          const y = all[b]!.applied
          const k = Math.min(x.length, y.length)
          for (let i = 0; i < k; i++) if (x[i] !== y[i]) return false
        }
      }
      return true
    }),
    always("the core raises no error", (s) =>
      ghosts(s).every((g) => g.violation === null || !g.violation.startsWith("the core threw")),
    ),
    ...(o.clients > 0 && o.history ? [linearizable(raftRegisterSpec, "linearizable")] : []),
    sometimes("a leader is elected", (s) => live(s).some((x) => x.raft.role === "Leader")),
    sometimes("a value is committed", (s) =>
      live(s).some((x) => x.raft.commitIndex > 0 && x.value !== 0),
    ),
  ]

  if (o.ordered && o.duplicating) {
    throw new RangeError("network: an ordered network cannot duplicate messages")
  }
  // Unordered networks merge identical messages (see above); FIFO channels
  // keep every copy, so periodic heartbeats need the depth or message bound.
  const network: NetworkSemantics = o.ordered
    ? { ordering: "ordered", lossy: o.lossy }
    : { ordering: "unordered", duplicating: o.duplicating, lossy: o.lossy, dedupe: true }
  const serverIds = Array.from({ length: n }, (_, i) => i)
  return actorSystem<RaftModelState, RaftModelMessage, Timer, Persisted, ClientOp, ClientResult>({
    name: "raft",
    actors: [
      ...serverIds.map(() => server),
      ...Array.from({ length: o.clients }, (_, c) => client(c)),
    ],
    actorNames: [...ids, ...Array.from({ length: o.clients }, (_, c) => `client${c + 1}`)],
    network,
    ...(o.crashes > 0 ? { crashes: { max: o.crashes, actors: serverIds, restart: true } } : {}),
    properties,
    within: (s) => {
      if (o.maxMessages > 0 && s.network.length > o.maxMessages) return false
      // (A loop over the servers: this runs for every generated state.)
      for (let i = 0; i < n; i++) {
        const x = s.actors[i]
        if (x === undefined || x.role !== "server") continue
        if (x.raft.term > o.maxTerm || lastIndex(x.raft) > o.maxLog) return false
      }
      return true
    },
    hash: {
      state: (x, h) => hashState(x, h),
      msg: (m, h) => hashMessage(m, h),
    },
    // Servers are interchangeable: clients treat them alike and the
    // properties do not tell them apart. Node ids are renamed as actor ids.
    symmetry: {
      actors: serverIds,
      hashState: (x, rename, h) => hashState(x, h, rename),
      hashMessage: (m, rename, h) => hashMessage(m, h, rename),
      hashPersisted: (p, rename, h) => hashPersisted(p, h, rename),
      invariantState,
    },
    describe: {
      state: (s) =>
        s.role === "client"
          ? s.waiting
            ? `waiting (operation ${s.op + 1})`
            : "done"
          : describeServer(s),
      msg: describeMessage,
      input: (op) => (op.type === "write" ? `write(${op.value})` : "read"),
      output: (r) => (r.ok ? (r.value === undefined ? "ok" : `ok ${r.value}`) : "failed"),
      persisted: (p) =>
        `term ${p.disk.hardState.term}, vote ${p.disk.hardState.vote ?? "none"}, log ${logText(p.disk.entries)}`,
    },
  })
}

const logText = (entries: ReadonlyArray<Entry>): string =>
  `[${entries
    .map((e) =>
      e.type === "Normal"
        ? e.data.length === 0
          ? `${e.term}:noop`
          : e.data[0] === WRITE
            ? `${e.term}:w${e.data[1]}`
            : `${e.term}:read`
        : `${e.term}:conf`,
    )
    .join(" ")}]`

const describeServer = (s: ServerState): string => {
  const r = s.raft
  return `${r.role} term ${r.term}${r.vote === null ? "" : ` vote ${r.vote}`} log ${logText(r.entries)} commit ${r.commitIndex}${s.value === 0 ? "" : ` value ${s.value}`}`
}

const describeMessage = (m: RaftModelMessage): string => {
  switch (m.type) {
    case "ClientRequest":
      return m.op.type === "write" ? `write(${m.op.value})` : "read"
    case "ClientReply":
      return m.result.ok
        ? `ok${m.result.value === undefined ? "" : ` ${m.result.value}`}`
        : "failed"
    case "RequestVote":
      return `RequestVote(term ${m.term}, last ${m.lastLogIndex}/${m.lastLogTerm})`
    case "RequestVoteResponse":
      return `RequestVoteResponse(term ${m.term}, ${m.voteGranted ? "granted" : "refused"})`
    case "AppendEntries":
      return `AppendEntries(term ${m.term}, prev ${m.prevLogIndex}/${m.prevLogTerm}, ${logText(m.entries)}, commit ${m.leaderCommit})`
    case "AppendEntriesResponse":
      return `AppendEntriesResponse(term ${m.term}, ${m.success ? `match ${m.matchIndex}` : `reject ${m.prevLogIndex}, hint ${m.conflictIndex}/${m.conflictTerm}`})`
    case "Heartbeat":
      return `Heartbeat(term ${m.term}, commit ${m.leaderCommit})`
    case "HeartbeatResponse":
      return `HeartbeatResponse(term ${m.term})`
    default:
      return `${m.type}(term ${m.term})`
  }
}
