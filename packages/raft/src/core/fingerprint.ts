// Copying, comparing and hashing node states and messages, for the model
// checker (millions of states) and for tests.
//
// One traversal (`visitState` / `visitMessage`) feeds a sink; the canonical
// text encoding and the 64-bit fingerprint are two sinks over the same walk, so
// they can never disagree about which fields count. `options` are excluded:
// they are constant for a node's life.
import type { RaftState } from "./state.ts"
import type { Config, Entry, Message, Snapshot } from "./types.ts"

/** A deep copy of everything `step` may mutate; immutable parts (entries, configs, snapshots) are shared. */
export const cloneState = (s: RaftState): RaftState => ({
  ...s,
  entries: s.entries.slice(),
  votesGranted: s.votesGranted.slice(),
  votesRejected: s.votesRejected.slice(),
  progress: s.progress.map((p) => ({
    ...p,
    inflight: p.inflight.slice(),
    inflightBytes: p.inflightBytes.slice(),
  })),
  pendingReads: s.pendingReads.map((r) => ({ ...r, acks: r.acks.slice() })),
  deferredReads: s.deferredReads.slice(),
  incoming: s.incoming === null ? null : { ...s.incoming, chunks: s.incoming.chunks.slice() },
})

/** Receives the values of a traversal in order. */
export interface Sink {
  num(n: number): void
  str(s: string): void
  bytes(b: Uint8Array): void
}

const nullable = (k: Sink, v: string | null): void => {
  if (v === null) k.num(-1)
  else k.str(v)
}

const ids = (k: Sink, a: ReadonlyArray<string>): void => {
  k.num(a.length)
  for (const x of a) k.str(x)
}

const visitConfig = (k: Sink, c: Config): void => {
  ids(k, c.voters)
  ids(k, c.outgoing)
  ids(k, c.learners)
  ids(k, c.learnersNext)
  k.num(c.autoLeave ? 1 : 0)
}

const visitEntry = (k: Sink, e: Entry): void => {
  k.num(e.index)
  k.num(e.term)
  if (e.type === "Normal") {
    k.num(0)
    k.bytes(e.data)
  } else {
    k.num(1)
    k.str(e.change.transition)
    k.num(e.change.changes.length)
    for (const c of e.change.changes) {
      k.str(c.type)
      k.str(c.node)
    }
  }
}

const visitEntries = (k: Sink, es: ReadonlyArray<Entry>): void => {
  k.num(es.length)
  for (const e of es) visitEntry(k, e)
}

const visitSnapshot = (k: Sink, s: Snapshot): void => {
  k.num(s.index)
  k.num(s.term)
  visitConfig(k, s.config)
  k.bytes(s.data)
}

export const visitState = (k: Sink, s: RaftState): void => {
  k.str(s.id)
  k.str(s.role)
  k.num(s.term)
  nullable(k, s.vote)
  nullable(k, s.leader)
  visitSnapshot(k, s.snapshot)
  visitEntries(k, s.entries)
  k.num(s.commitIndex)
  k.num(s.appliedIndex)
  k.num(s.stableIndex)
  k.num(s.persisted.term)
  nullable(k, s.persisted.vote)
  k.num(s.persisted.commit)
  visitConfig(k, s.config)
  k.num(s.pendingConfIndex)
  k.num(s.electionElapsed)
  k.num(s.heartbeatElapsed)
  k.num(s.randomizedElectionTimeout)
  k.num(s.rng)
  ids(k, s.votesGranted)
  ids(k, s.votesRejected)
  k.num(s.progress.length)
  for (const p of s.progress) {
    k.str(p.id)
    k.num(p.match)
    k.num(p.next)
    k.str(p.state)
    k.num(p.probeSent ? 1 : 0)
    k.num(p.inflight.length)
    for (let i = 0; i < p.inflight.length; i++) {
      k.num(p.inflight[i]!)
      k.num(p.inflightBytes[i]!)
    }
    k.num(p.pendingSnapshot)
    k.num(p.snapshotOffset)
    k.num(p.stalled ? 1 : 0)
    k.num(p.sentCommit)
    k.num(p.recentActive ? 1 : 0)
    k.num(p.learner ? 1 : 0)
  }
  nullable(k, s.leadTransferee)
  k.num(s.uncommittedBytes)
  k.num(s.readSeq)
  k.num(s.pendingReads.length)
  for (const r of s.pendingReads) {
    k.num(r.seq)
    k.num(r.context)
    k.str(r.from)
    k.num(r.index)
    ids(k, r.acks)
  }
  k.num(s.deferredReads.length)
  for (const r of s.deferredReads) {
    k.num(r.context)
    k.str(r.from)
  }
  if (s.incoming === null) {
    k.num(-1)
  } else {
    const inc = s.incoming
    k.num(inc.index)
    k.num(inc.term)
    visitConfig(k, inc.config)
    k.num(inc.leaderTerm)
    k.num(inc.received)
    k.num(inc.chunks.length)
    for (const c of inc.chunks) k.bytes(c)
  }
}

export const visitMessage = (k: Sink, m: Message): void => {
  k.str(m.type)
  k.str(m.from)
  k.str(m.to)
  k.num(m.term)
  switch (m.type) {
    case "RequestVote":
      k.num(m.lastLogIndex)
      k.num(m.lastLogTerm)
      k.num((m.preVote ? 1 : 0) | (m.transfer ? 2 : 0))
      return
    case "RequestVoteResponse":
      k.num((m.voteGranted ? 1 : 0) | (m.preVote ? 2 : 0))
      return
    case "AppendEntries":
      k.num(m.prevLogIndex)
      k.num(m.prevLogTerm)
      visitEntries(k, m.entries)
      k.num(m.leaderCommit)
      return
    case "AppendEntriesResponse":
      k.num(m.success ? 1 : 0)
      k.num(m.matchIndex)
      k.num(m.prevLogIndex)
      k.num(m.conflictIndex)
      k.num(m.conflictTerm)
      return
    case "Heartbeat":
      k.num(m.leaderCommit)
      k.num(m.readContext)
      return
    case "HeartbeatResponse":
      k.num(m.readContext)
      return
    case "InstallSnapshot":
      k.num(m.lastIncludedIndex)
      k.num(m.lastIncludedTerm)
      visitConfig(k, m.config)
      k.num(m.offset)
      k.bytes(m.data)
      k.num(m.done ? 1 : 0)
      return
    case "InstallSnapshotResponse":
      k.num(m.lastIncludedIndex)
      k.num(m.offset)
      k.num((m.success ? 1 : 0) | (m.done ? 2 : 0))
      return
    case "TimeoutNow":
      return
    case "ReadIndexRequest":
      k.num(m.context)
      return
    case "ReadIndexResponse":
      k.num(m.context)
      k.num(m.index)
      k.num(m.leaderCommit)
      return
    case "ForwardProposals":
      k.num(m.proposals.length)
      for (const p of m.proposals) {
        k.num(p.id)
        if (p.type === "Normal") {
          k.num(0)
          k.bytes(p.data)
        } else {
          k.num(1)
          visitEntry(k, { type: "ConfChange", index: 0, term: 0, change: p.change })
        }
      }
      return
    case "ForwardProposalsResponse":
      k.num(m.outcomes.length)
      for (const o of m.outcomes) {
        k.num(o.id)
        if (o.accepted) {
          k.num(o.index)
          k.num(o.term)
        } else {
          k.num(-1)
          k.str(o.reason)
        }
      }
      nullable(k, m.leaderHint)
      return
  }
}

// ---------------------------------------------------------------------------
// Canonical text

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

class TextSink implements Sink {
  parts: string[] = []
  num(n: number): void {
    this.parts.push(String(n))
  }
  str(s: string): void {
    this.parts.push(JSON.stringify(s))
  }
  bytes(b: Uint8Array): void {
    let h = "x"
    for (let i = 0; i < b.length; i++) h += HEX[b[i]!]
    this.parts.push(h)
  }
}

/** A canonical text form: equal exactly when the states are equal (options aside). */
export const encodeState = (s: RaftState): string => {
  const k = new TextSink()
  visitState(k, s)
  return k.parts.join(",")
}

export const encodeMessage = (m: Message): string => {
  const k = new TextSink()
  visitMessage(k, m)
  return k.parts.join(",")
}

export const statesEqual = (a: RaftState, b: RaftState): boolean =>
  encodeState(a) === encodeState(b)

// ---------------------------------------------------------------------------
// 64-bit fingerprint: two independent 32-bit multiplicative lanes

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)

/** Incremental 64-bit hash over a traversal; `digest` returns 16 hex digits. */
export class Hasher implements Sink {
  h1 = 0x811c9dc5
  h2 = 0x1b873593
  private mix(x: number): void {
    this.h1 = Math.imul(this.h1 ^ x, 0x01000193)
    this.h2 = Math.imul(this.h2 ^ x, 0x5bd1e995)
    this.h2 ^= this.h2 >>> 15
  }
  num(n: number): void {
    if ((n | 0) === n) {
      this.mix(1)
      this.mix(n)
    } else {
      f64[0] = n
      this.mix(2)
      this.mix(u32[0]!)
      this.mix(u32[1]!)
    }
  }
  str(s: string): void {
    this.mix(3)
    this.mix(s.length)
    for (let i = 0; i < s.length; i++) this.mix(s.charCodeAt(i))
  }
  bytes(b: Uint8Array): void {
    this.mix(4)
    this.mix(b.length)
    let i = 0
    for (; i + 4 <= b.length; i += 4)
      this.mix(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))
    for (; i < b.length; i++) this.mix(b[i]!)
  }
  digest(): string {
    // fmix is a bijection on 32 bits, so distinct lane pairs stay distinct.
    const a = fmix(this.h1)
    const b = fmix(this.h2)
    return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0")
  }
}

const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

/** A 64-bit fingerprint (16 hex digits) of the canonical state. */
export const fingerprintState = (s: RaftState): string => {
  const h = new Hasher()
  visitState(h, s)
  return h.digest()
}

export const fingerprintMessage = (m: Message): string => {
  const h = new Hasher()
  visitMessage(h, m)
  return h.digest()
}
