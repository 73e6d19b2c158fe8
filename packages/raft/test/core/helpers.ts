// Builders for unit tests of the core: nodes with a given log and term,
// messages with paper field names, and views of the returned commands.
import {
  type AppendEntries,
  type Command,
  createNode,
  type Entry,
  type Heartbeat,
  type Input,
  type Message,
  makeConfig,
  type NodeOptions,
  type RaftState,
  type RequestVote,
  step,
} from "../../src/index.ts"
import { messagesOf } from "../../src/testing/sync-network.ts"

const enc = new TextEncoder()

/** Entries with the given terms, indexes from `from`; data is the index as text. */
export const ents = (terms: ReadonlyArray<number>, from = 1): Entry[] =>
  terms.map((term, i) => ({
    type: "Normal",
    index: from + i,
    term,
    data: enc.encode(`${from + i}`),
  }))

export interface NodeSpec extends Partial<Omit<NodeOptions, "id">> {
  readonly terms?: ReadonlyArray<number>
  readonly term?: number
  readonly vote?: string | null
  readonly commit?: number
}

/** A node of `peers` with a given log; pre-vote and check-quorum off unless asked (plain paper Raft). */
export const node = (id: string, peers: ReadonlyArray<string>, spec: NodeSpec = {}): RaftState => {
  const {
    terms = [],
    term = terms.length > 0 ? terms[terms.length - 1]! : 0,
    vote = null,
    commit = 0,
    ...o
  } = spec
  return createNode(
    { preVote: false, checkQuorum: false, ...o, id },
    {
      hardState: { term, vote, commit },
      snapshot: { index: 0, term: 0, config: makeConfig(peers), data: new Uint8Array(0) },
      entries: ents(terms),
    },
  )
}

export const appendEntries = (
  from: string,
  to: string,
  term: number,
  prevLogIndex: number,
  prevLogTerm: number,
  entries: ReadonlyArray<Entry>,
  leaderCommit = 0,
): AppendEntries => ({
  type: "AppendEntries",
  from,
  to,
  term,
  prevLogIndex,
  prevLogTerm,
  entries,
  leaderCommit,
})

export const requestVote = (
  from: string,
  to: string,
  term: number,
  lastLogIndex: number,
  lastLogTerm: number,
  preVote = false,
): RequestVote => ({
  type: "RequestVote",
  from,
  to,
  term,
  lastLogIndex,
  lastLogTerm,
  preVote,
  transfer: false,
})

export const heartbeat = (from: string, to: string, term: number, leaderCommit = 0): Heartbeat => ({
  type: "Heartbeat",
  from,
  to,
  term,
  leaderCommit,
  readContext: 0,
})

/** Steps and returns every message the step sends (immediately or after its write). */
export const sent = (s: RaftState, input: Input): Message[] => messagesOf(step(s, input))

export const tick = (s: RaftState, n: number): Command[] => {
  const out: Command[] = []
  for (let i = 0; i < n; i++) out.push(...step(s, { type: "Tick" }))
  return out
}

/** Ticks until the node starts an election (its term moves; at most `max` ticks); returns that tick's commands. */
export const tickUntilCampaign = (s: RaftState, max = 100): Command[] => {
  const term = s.term
  for (let i = 0; i < max; i++) {
    const cmds = step(s, { type: "Tick" })
    if (s.term !== term) return cmds
  }
  throw new Error(`${s.id} did not campaign within ${max} ticks`)
}

/** The terms of a node's log. */
export const logTerms = (s: RaftState): number[] => s.entries.map((e) => e.term)

/** Makes `s` the leader of the next term with the votes of `voters` (delivered by hand). */
export const makeLeader = (s: RaftState, voters: ReadonlyArray<string>): Command[] => {
  const out = step(s, { type: "Campaign" })
  for (const v of voters) {
    if (s.role === "Leader") break
    out.push(
      ...step(s, {
        type: "RequestVoteResponse",
        from: v,
        to: s.id,
        term: s.term,
        voteGranted: true,
        preVote: false,
      }),
    )
  }
  if (s.role !== "Leader") throw new Error(`${s.id} did not become leader`)
  return out
}

/** Acknowledges every write in `out` (and in what the acknowledgements return), appending their commands. */
const acknowledgeAll = (s: RaftState, out: Command[]): Command[] => {
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!
    if (c.type === "Persist" && c.ack !== null)
      out.push(...step(s, { type: "Persisted", ...c.ack }))
  }
  return out
}

/**
 * Steps like a shell whose disk is instant: each `Persist` is acknowledged at
 * once. Returns every command of the step and of the acknowledgements.
 */
export const stepDurable = (s: RaftState, input: Input): Command[] =>
  acknowledgeAll(s, step(s, input))

export const sentDurable = (s: RaftState, input: Input): Message[] =>
  messagesOf(stepDurable(s, input))

/** `makeLeader`, then acknowledge the leader's own writes. */
export const makeDurableLeader = (s: RaftState, voters: ReadonlyArray<string>): Command[] =>
  acknowledgeAll(s, makeLeader(s, voters))

export const appendOk = (from: string, to: string, term: number, matchIndex: number): Message => ({
  type: "AppendEntriesResponse",
  from,
  to,
  term,
  success: true,
  matchIndex,
  prevLogIndex: 0,
  conflictIndex: 0,
  conflictTerm: 0,
})
