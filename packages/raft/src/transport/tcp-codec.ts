// A compact binary encoding of the Raft core's messages, for the TCP transport
// (and for log entries in the file WAL). No JSON: integers are LEB128 varints
// (zigzag where a field may be negative), strings and byte arrays carry a
// varint length, enumerations are one byte. An AppendEntries carries its
// entries' first index once (they are contiguous by construction).
//
// Encoding trusts the shape of its input (it comes from the core) but checks
// every number, so a bad value fails loudly instead of writing garbage.
// Decoding trusts nothing: every read is bounds-checked and every tag,
// length and number validated; errors name the field and the reason.

import { Schema } from "effect"
import type {
  AppendEntries,
  ConfChange,
  ConfChangeItem,
  Config,
  DropReason,
  Entry,
  Message,
  MessageType,
  Proposal,
  ProposalOutcome,
} from "../core/types.ts"
import type { WalEntry } from "../wal/format.ts"

/** A value could not be encoded, or bytes could not be decoded. */
export class RaftCodecError extends Schema.TaggedError<RaftCodecError>()("RaftCodecError", {
  /** The field being written or read, e.g. `AppendEntries.entries[2].term`. */
  field: Schema.String,
  reason: Schema.String,
  /** Byte offset of the read (decoding only; -1 when encoding). */
  offset: Schema.Number,
}) {
  override get message(): string {
    return this.offset >= 0
      ? `cannot decode ${this.field} at byte ${this.offset}: ${this.reason}`
      : `cannot encode ${this.field}: ${this.reason}`
  }
}

const encodeFail = (field: string, reason: string): never => {
  throw new RaftCodecError({ field, reason, offset: -1 })
}

const TWO_31 = 0x8000_0000
const MAX_ZIGZAG = 2 ** 52

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder("utf-8", { fatal: true })

/** A growable byte buffer with varint, string and byte-array writers. */
export class BinaryWriter {
  buf: Uint8Array
  pos = 0

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(initialBytes)
  }

  /** The bytes written so far (a view, valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  reset(): void {
    this.pos = 0
  }

  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0)
  }

  /** A non-negative safe integer as LEB128. */
  varuint(v: number, field: string): void {
    this.ensure(8)
    const buf = this.buf
    let pos = this.pos
    if (v >>> 0 === v) {
      while (v >= 0x80) {
        buf[pos++] = (v & 0x7f) | 0x80
        v >>>= 7
      }
      buf[pos++] = v
      this.pos = pos
      return
    }
    if (!Number.isSafeInteger(v) || v < 0)
      encodeFail(field, `${v} is not a non-negative safe integer`)
    while (v >= TWO_31) {
      buf[pos++] = (v % 128) | 0x80
      v = Math.floor(v / 128)
    }
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    buf[pos++] = v
    this.pos = pos
  }

  /** An integer in [-2^52, 2^52 - 1], zigzag-mapped then LEB128. */
  zigzag(v: number, field: string): void {
    // The zigzag image must stay a safe integer: v in [-2^52, 2^52 - 1].
    if (!Number.isSafeInteger(v) || v < -MAX_ZIGZAG || v >= MAX_ZIGZAG)
      encodeFail(field, `${v} is not an integer in [-2^52, 2^52 - 1]`)
    this.varuint(v >= 0 ? v * 2 : -v * 2 - 1, field)
  }

  str(s: string): void {
    const n = s.length
    // ASCII (node ids, almost always) is copied directly.
    let ascii = n < 128
    if (ascii)
      for (let i = 0; i < n; i++)
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false
          break
        }
    if (ascii) {
      this.ensure(1 + n)
      this.buf[this.pos++] = n
      for (let i = 0; i < n; i++) this.buf[this.pos++] = s.charCodeAt(i)
      return
    }
    const bytes = utf8.encode(s)
    this.varuint(bytes.length, "string length")
    this.raw(bytes)
  }

  /** `null` is written as length 0, a string as its length + 1. */
  nullableStr(s: string | null): void {
    if (s === null) {
      this.u8(0)
      return
    }
    const bytes = utf8.encode(s)
    this.varuint(bytes.length + 1, "string length")
    this.raw(bytes)
  }

  bytes(b: Uint8Array): void {
    this.varuint(b.length, "byte length")
    this.raw(b)
  }

  /** Four bytes to fill in later with `setU32At`. */
  skip4(): void {
    this.ensure(4)
    this.pos += 4
  }

  /** A u32, little-endian, at `at` (within what was written). */
  setU32At(at: number, v: number): void {
    const buf = this.buf
    buf[at] = v & 0xff
    buf[at + 1] = (v >>> 8) & 0xff
    buf[at + 2] = (v >>> 16) & 0xff
    buf[at + 3] = (v >>> 24) & 0xff
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
}

/**
 * Short ASCII strings (node ids, in every message's from and to) decoded
 * once: a small table by hash hands back the same string for the same bytes,
 * so decoding a message allocates no strings for its ids.
 */
const INTERN_MAX = 48
const INTERN_SLOTS = 256
/** Slots looked at per string (from its hash on), so a few colliding ids do not evict each other. */
const INTERN_WAYS = 4
const internBytes: Array<Uint8Array | undefined> = new Array(INTERN_SLOTS)
const internStrings: string[] = new Array(INTERN_SLOTS)
let internVictim = 0

const intern = (buf: Uint8Array, start: number, n: number): string => {
  let h = 0x811c9dc5
  for (let i = start; i < start + n; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
  const home = (h >>> 0) % INTERN_SLOTS
  let free = -1
  for (let w = 0; w < INTERN_WAYS; w++) {
    const slot = (home + w) % INTERN_SLOTS
    const known = internBytes[slot]
    if (known === undefined) {
      if (free < 0) free = slot
      continue
    }
    if (known.length !== n) continue
    let same = true
    for (let i = 0; i < n; i++)
      if (known[i] !== buf[start + i]) {
        same = false
        break
      }
    if (same) return internStrings[slot]!
  }
  let s = ""
  for (let i = start; i < start + n; i++) s += String.fromCharCode(buf[i]!)
  // Full: replace one of the ways (the table only saves work).
  const slot = free >= 0 ? free : (home + (internVictim++ % INTERN_WAYS)) % INTERN_SLOTS
  internBytes[slot] = buf.slice(start, start + n)
  internStrings[slot] = s
  return s
}

/** A bounds-checked reader over `buf[start, end)`. */
export class BinaryReader {
  readonly buf: Uint8Array
  pos: number
  readonly end: number

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    // A plain Uint8Array view: on a Node Buffer, slice() would alias, not copy.
    this.buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    this.pos = start
    this.end = end
  }

  fail(field: string, reason: string): never {
    throw new RaftCodecError({ field, reason, offset: this.pos })
  }

  get remaining(): number {
    return this.end - this.pos
  }

  u8(field: string): number {
    if (this.pos >= this.end) this.fail(field, "unexpected end of data")
    return this.buf[this.pos++]!
  }

  bool(field: string): boolean {
    const v = this.u8(field)
    if (v > 1) this.fail(field, `boolean byte ${v}`)
    return v === 1
  }

  varuint(field: string): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail(field, "unexpected end of data")
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * scale
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.fail(field, "integer exceeds 2^53 - 1")
        return result
      }
      scale *= 128
    }
    return this.fail(field, "varint longer than 8 bytes")
  }

  zigzag(field: string): number {
    const z = this.varuint(field)
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2
  }

  private slice(field: string, n: number): Uint8Array {
    if (n > this.end - this.pos)
      this.fail(field, `length ${n} exceeds the ${this.end - this.pos} bytes left`)
    const start = this.pos
    this.pos += n
    // A copy: a view would keep the whole received frame alive.
    return this.buf.slice(start, start + n)
  }

  str(field: string): string {
    const n = this.varuint(field)
    if (n > this.end - this.pos)
      this.fail(field, `length ${n} exceeds the ${this.end - this.pos} bytes left`)
    const start = this.pos
    this.pos += n
    let ascii = true
    for (let i = start; i < start + n; i++)
      if (this.buf[i]! >= 0x80) {
        ascii = false
        break
      }
    if (ascii && n <= INTERN_MAX) return intern(this.buf, start, n)
    try {
      return fromUtf8.decode(this.buf.subarray(start, start + n))
    } catch {
      this.pos = start
      return this.fail(field, "invalid UTF-8")
    }
  }

  nullableStr(field: string): string | null {
    const n = this.varuint(field)
    if (n === 0) return null
    const len = n - 1
    if (len > this.end - this.pos)
      this.fail(field, `length ${len} exceeds the ${this.end - this.pos} bytes left`)
    const start = this.pos
    this.pos += len
    try {
      return fromUtf8.decode(this.buf.subarray(start, start + len))
    } catch {
      this.pos = start
      return this.fail(field, "invalid UTF-8")
    }
  }

  bytes(field: string): Uint8Array {
    return this.slice(field, this.varuint(field))
  }

  /** A count of items that each take at least `minBytes`, checked against what is left. */
  count(field: string, minBytes = 1): number {
    const n = this.varuint(field)
    if (n * minBytes > this.end - this.pos)
      this.fail(field, `count ${n} cannot fit in the ${this.end - this.pos} bytes left`)
    return n
  }
}

// ---------------------------------------------------------------------------
// Tags

const MESSAGE_TAGS: Readonly<Record<MessageType, number>> = {
  RequestVote: 1,
  RequestVoteResponse: 2,
  AppendEntries: 3,
  AppendEntriesResponse: 4,
  Heartbeat: 5,
  HeartbeatResponse: 6,
  InstallSnapshot: 7,
  InstallSnapshotResponse: 8,
  TimeoutNow: 9,
  ReadIndexRequest: 10,
  ReadIndexResponse: 11,
  ForwardProposals: 12,
  ForwardProposalsResponse: 13,
}
const MESSAGE_TYPES: ReadonlyArray<MessageType | undefined> = (() => {
  const out: Array<MessageType | undefined> = []
  for (const [k, v] of Object.entries(MESSAGE_TAGS)) out[v] = k as MessageType
  return out
})()

/** Entry type tags, shared with the WAL's `WalEntry.type`. */
export const ENTRY_NORMAL = 0
export const ENTRY_CONF_CHANGE = 1

const CHANGE_TYPES = ["AddVoter", "AddLearner", "RemoveNode"] as const
const TRANSITIONS = ["Auto", "JointImplicit", "JointExplicit"] as const
const DROP_REASONS: ReadonlyArray<DropReason> = [
  "NotLeader",
  "TransferInProgress",
  "ConfChangeRejected",
  "Overloaded",
]

const tagOf = <T extends string>(table: ReadonlyArray<T>, value: T, field: string): number => {
  const i = table.indexOf(value)
  if (i < 0) encodeFail(field, `unknown value ${JSON.stringify(value)}`)
  return i
}

const fromTag = <T>(r: BinaryReader, table: ReadonlyArray<T>, field: string): T => {
  const t = r.u8(field)
  const v = table[t]
  if (v === undefined) r.fail(field, `unknown tag ${t}`)
  return v as T
}

// ---------------------------------------------------------------------------
// Parts

const writeIds = (w: BinaryWriter, ids: ReadonlyArray<string>, field: string): void => {
  w.varuint(ids.length, field)
  for (const id of ids) w.str(id)
}

const readIds = (r: BinaryReader, field: string): string[] => {
  const n = r.count(field)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(r.str(field))
  return out
}

export const writeConfig = (w: BinaryWriter, c: Config): void => {
  writeIds(w, c.voters, "config.voters")
  writeIds(w, c.outgoing, "config.outgoing")
  writeIds(w, c.learners, "config.learners")
  writeIds(w, c.learnersNext, "config.learnersNext")
  w.bool(c.autoLeave)
}

export const readConfig = (r: BinaryReader): Config => ({
  voters: readIds(r, "config.voters"),
  outgoing: readIds(r, "config.outgoing"),
  learners: readIds(r, "config.learners"),
  learnersNext: readIds(r, "config.learnersNext"),
  autoLeave: r.bool("config.autoLeave"),
})

export const writeConfChange = (w: BinaryWriter, c: ConfChange): void => {
  w.u8(tagOf(TRANSITIONS, c.transition, "change.transition"))
  w.varuint(c.changes.length, "change.changes")
  for (const item of c.changes) {
    w.u8(tagOf(CHANGE_TYPES, item.type, "change.changes.type"))
    w.str(item.node)
  }
}

export const readConfChange = (r: BinaryReader): ConfChange => {
  const transition = fromTag(r, TRANSITIONS, "change.transition")
  const n = r.count("change.changes", 2)
  const changes: ConfChangeItem[] = []
  for (let i = 0; i < n; i++) {
    const type = fromTag(r, CHANGE_TYPES, "change.changes.type")
    changes.push({ type, node: r.str("change.changes.node") })
  }
  return { changes, transition }
}

const writeEntryBody = (w: BinaryWriter, e: Entry): void => {
  if (e.type === "Normal") {
    w.u8(ENTRY_NORMAL)
    w.varuint(e.term, "entry.term")
    w.bytes(e.data)
  } else if (e.type === "ConfChange") {
    w.u8(ENTRY_CONF_CHANGE)
    w.varuint(e.term, "entry.term")
    writeConfChange(w, e.change)
  } else encodeFail("entry.type", `unknown entry type ${JSON.stringify((e as Entry).type)}`)
}

const readEntryBody = (r: BinaryReader, index: number): Entry => {
  const type = r.u8("entry.type")
  const term = r.varuint("entry.term")
  if (type === ENTRY_NORMAL) return { type: "Normal", index, term, data: r.bytes("entry.data") }
  if (type === ENTRY_CONF_CHANGE)
    return { type: "ConfChange", index, term, change: readConfChange(r) }
  return r.fail("entry.type", `unknown entry type tag ${type}`)
}

const writeEntries = (w: BinaryWriter, m: AppendEntries): void => {
  const entries = m.entries
  w.varuint(entries.length, "AppendEntries.entries")
  if (entries.length === 0) return
  const first = entries[0]!.index
  w.varuint(first, "AppendEntries.entries[0].index")
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    if (e.index !== first + i)
      encodeFail(
        `AppendEntries.entries[${i}].index`,
        `${e.index} breaks the run starting at ${first}`,
      )
    writeEntryBody(w, e)
  }
}

const readEntries = (r: BinaryReader): Entry[] => {
  const n = r.count("AppendEntries.entries", 3)
  const out: Entry[] = []
  if (n === 0) return out
  const first = r.varuint("AppendEntries.entries[0].index")
  if (first < 1 || first + n - 1 > Number.MAX_SAFE_INTEGER)
    r.fail("AppendEntries.entries[0].index", `${first} out of range`)
  for (let i = 0; i < n; i++) out.push(readEntryBody(r, first + i))
  return out
}

const writeProposal = (w: BinaryWriter, p: Proposal): void => {
  w.zigzag(p.id, "proposal.id")
  if (p.type === "Normal") {
    w.u8(ENTRY_NORMAL)
    w.bytes(p.data)
  } else if (p.type === "ConfChange") {
    w.u8(ENTRY_CONF_CHANGE)
    writeConfChange(w, p.change)
  } else
    encodeFail("proposal.type", `unknown proposal type ${JSON.stringify((p as Proposal).type)}`)
}

const readProposal = (r: BinaryReader): Proposal => {
  const id = r.zigzag("proposal.id")
  const type = r.u8("proposal.type")
  if (type === ENTRY_NORMAL) return { id, type: "Normal", data: r.bytes("proposal.data") }
  if (type === ENTRY_CONF_CHANGE) return { id, type: "ConfChange", change: readConfChange(r) }
  return r.fail("proposal.type", `unknown proposal type tag ${type}`)
}

const writeOutcome = (w: BinaryWriter, o: ProposalOutcome): void => {
  w.zigzag(o.id, "outcome.id")
  if (o.accepted) {
    w.u8(1)
    w.varuint(o.index, "outcome.index")
    w.varuint(o.term, "outcome.term")
  } else {
    w.u8(0)
    w.u8(tagOf(DROP_REASONS, o.reason, "outcome.reason"))
  }
}

const readOutcome = (r: BinaryReader): ProposalOutcome => {
  const id = r.zigzag("outcome.id")
  if (r.bool("outcome.accepted"))
    return {
      id,
      accepted: true,
      index: r.varuint("outcome.index"),
      term: r.varuint("outcome.term"),
    }
  return { id, accepted: false, reason: fromTag(r, DROP_REASONS, "outcome.reason") }
}

// ---------------------------------------------------------------------------
// Messages

/** Appends the encoding of `m` to `w`. Throws `RaftCodecError` on a bad value. */
export const writeMessage = (w: BinaryWriter, m: Message): void => {
  const tag = MESSAGE_TAGS[m.type]
  if (tag === undefined) encodeFail("type", `unknown message type ${JSON.stringify(m.type)}`)
  w.u8(tag)
  w.str(m.from)
  w.str(m.to)
  w.varuint(m.term, "term")
  switch (m.type) {
    case "RequestVote":
      w.varuint(m.lastLogIndex, "RequestVote.lastLogIndex")
      w.varuint(m.lastLogTerm, "RequestVote.lastLogTerm")
      w.u8((m.preVote ? 1 : 0) | (m.transfer ? 2 : 0))
      return
    case "RequestVoteResponse":
      w.u8((m.voteGranted ? 1 : 0) | (m.preVote ? 2 : 0))
      return
    case "AppendEntries":
      w.varuint(m.prevLogIndex, "AppendEntries.prevLogIndex")
      w.varuint(m.prevLogTerm, "AppendEntries.prevLogTerm")
      w.varuint(m.leaderCommit, "AppendEntries.leaderCommit")
      writeEntries(w, m)
      return
    case "AppendEntriesResponse":
      w.bool(m.success)
      w.varuint(m.matchIndex, "AppendEntriesResponse.matchIndex")
      w.varuint(m.prevLogIndex, "AppendEntriesResponse.prevLogIndex")
      w.varuint(m.conflictIndex, "AppendEntriesResponse.conflictIndex")
      w.varuint(m.conflictTerm, "AppendEntriesResponse.conflictTerm")
      return
    case "Heartbeat":
      w.varuint(m.leaderCommit, "Heartbeat.leaderCommit")
      w.varuint(m.readContext, "Heartbeat.readContext")
      return
    case "HeartbeatResponse":
      w.varuint(m.readContext, "HeartbeatResponse.readContext")
      return
    case "InstallSnapshot":
      w.varuint(m.lastIncludedIndex, "InstallSnapshot.lastIncludedIndex")
      w.varuint(m.lastIncludedTerm, "InstallSnapshot.lastIncludedTerm")
      writeConfig(w, m.config)
      w.varuint(m.offset, "InstallSnapshot.offset")
      w.bool(m.done)
      w.bytes(m.data)
      return
    case "InstallSnapshotResponse":
      w.varuint(m.lastIncludedIndex, "InstallSnapshotResponse.lastIncludedIndex")
      w.varuint(m.offset, "InstallSnapshotResponse.offset")
      w.u8((m.success ? 1 : 0) | (m.done ? 2 : 0))
      return
    case "TimeoutNow":
      return
    case "ReadIndexRequest":
      w.zigzag(m.context, "ReadIndexRequest.context")
      return
    case "ReadIndexResponse":
      w.zigzag(m.context, "ReadIndexResponse.context")
      w.zigzag(m.index, "ReadIndexResponse.index")
      w.varuint(m.leaderCommit, "ReadIndexResponse.leaderCommit")
      return
    case "ForwardProposals":
      w.varuint(m.proposals.length, "ForwardProposals.proposals")
      for (const p of m.proposals) writeProposal(w, p)
      return
    case "ForwardProposalsResponse":
      w.varuint(m.outcomes.length, "ForwardProposalsResponse.outcomes")
      for (const o of m.outcomes) writeOutcome(w, o)
      w.nullableStr(m.leaderHint)
      return
  }
}

const flags = (r: BinaryReader, field: string, max: number): number => {
  const f = r.u8(field)
  if (f > max) r.fail(field, `flag byte ${f}`)
  return f
}

/** Reads one message. Throws `RaftCodecError` naming the field on bad input. */
export const readMessage = (r: BinaryReader): Message => {
  const tag = r.u8("type")
  const type = MESSAGE_TYPES[tag]
  if (type === undefined) return r.fail("type", `unknown message tag ${tag}`)
  const from = r.str("from")
  const to = r.str("to")
  const term = r.varuint("term")
  switch (type) {
    case "RequestVote": {
      const lastLogIndex = r.varuint("RequestVote.lastLogIndex")
      const lastLogTerm = r.varuint("RequestVote.lastLogTerm")
      const f = flags(r, "RequestVote.flags", 3)
      return {
        type,
        from,
        to,
        term,
        lastLogIndex,
        lastLogTerm,
        preVote: (f & 1) !== 0,
        transfer: (f & 2) !== 0,
      }
    }
    case "RequestVoteResponse": {
      const f = flags(r, "RequestVoteResponse.flags", 3)
      return { type, from, to, term, voteGranted: (f & 1) !== 0, preVote: (f & 2) !== 0 }
    }
    case "AppendEntries": {
      const prevLogIndex = r.varuint("AppendEntries.prevLogIndex")
      const prevLogTerm = r.varuint("AppendEntries.prevLogTerm")
      const leaderCommit = r.varuint("AppendEntries.leaderCommit")
      const entries = readEntries(r)
      return { type, from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit }
    }
    case "AppendEntriesResponse":
      return {
        type,
        from,
        to,
        term,
        success: r.bool("AppendEntriesResponse.success"),
        matchIndex: r.varuint("AppendEntriesResponse.matchIndex"),
        prevLogIndex: r.varuint("AppendEntriesResponse.prevLogIndex"),
        conflictIndex: r.varuint("AppendEntriesResponse.conflictIndex"),
        conflictTerm: r.varuint("AppendEntriesResponse.conflictTerm"),
      }
    case "Heartbeat":
      return {
        type,
        from,
        to,
        term,
        leaderCommit: r.varuint("Heartbeat.leaderCommit"),
        readContext: r.varuint("Heartbeat.readContext"),
      }
    case "HeartbeatResponse":
      return { type, from, to, term, readContext: r.varuint("HeartbeatResponse.readContext") }
    case "InstallSnapshot": {
      const lastIncludedIndex = r.varuint("InstallSnapshot.lastIncludedIndex")
      const lastIncludedTerm = r.varuint("InstallSnapshot.lastIncludedTerm")
      const config = readConfig(r)
      const offset = r.varuint("InstallSnapshot.offset")
      const done = r.bool("InstallSnapshot.done")
      const data = r.bytes("InstallSnapshot.data")
      return {
        type,
        from,
        to,
        term,
        lastIncludedIndex,
        lastIncludedTerm,
        config,
        offset,
        data,
        done,
      }
    }
    case "InstallSnapshotResponse": {
      const lastIncludedIndex = r.varuint("InstallSnapshotResponse.lastIncludedIndex")
      const offset = r.varuint("InstallSnapshotResponse.offset")
      const f = flags(r, "InstallSnapshotResponse.flags", 3)
      return {
        type,
        from,
        to,
        term,
        lastIncludedIndex,
        offset,
        success: (f & 1) !== 0,
        done: (f & 2) !== 0,
      }
    }
    case "TimeoutNow":
      return { type, from, to, term }
    case "ReadIndexRequest":
      return { type, from, to, term, context: r.zigzag("ReadIndexRequest.context") }
    case "ReadIndexResponse":
      return {
        type,
        from,
        to,
        term,
        context: r.zigzag("ReadIndexResponse.context"),
        index: r.zigzag("ReadIndexResponse.index"),
        leaderCommit: r.varuint("ReadIndexResponse.leaderCommit"),
      }
    case "ForwardProposals": {
      const n = r.count("ForwardProposals.proposals", 2)
      const proposals: Proposal[] = []
      for (let i = 0; i < n; i++) proposals.push(readProposal(r))
      return { type, from, to, term, proposals }
    }
    case "ForwardProposalsResponse": {
      const n = r.count("ForwardProposalsResponse.outcomes", 3)
      const outcomes: ProposalOutcome[] = []
      for (let i = 0; i < n; i++) outcomes.push(readOutcome(r))
      return { type, from, to, term, outcomes, leaderHint: r.nullableStr("leaderHint") }
    }
  }
}

/** One message as a fresh byte array. */
export const encodeWireMessage = (m: Message): Uint8Array => {
  const w = new BinaryWriter(64)
  writeMessage(w, m)
  return w.view().slice()
}

/** Decodes exactly one message; trailing bytes are an error. */
export const decodeWireMessage = (bytes: Uint8Array): Message => {
  const r = new BinaryReader(bytes)
  const m = readMessage(r)
  if (r.remaining !== 0) r.fail("message", `${r.remaining} trailing bytes`)
  return m
}

// ---------------------------------------------------------------------------
// Log entries <-> WAL entries

/** The WAL form of a core entry: `type` 0 carries data, 1 an encoded ConfChange. */
export const entryToWal = (e: Entry): WalEntry => {
  if (e.type === "Normal") return { index: e.index, term: e.term, type: ENTRY_NORMAL, data: e.data }
  const w = new BinaryWriter(32)
  writeConfChange(w, e.change)
  return { index: e.index, term: e.term, type: ENTRY_CONF_CHANGE, data: w.view().slice() }
}

export const entryFromWal = (e: WalEntry): Entry => {
  if (e.type === ENTRY_NORMAL) return { type: "Normal", index: e.index, term: e.term, data: e.data }
  if (e.type === ENTRY_CONF_CHANGE) {
    const r = new BinaryReader(e.data)
    const change = readConfChange(r)
    if (r.remaining !== 0) r.fail("entry.change", `${r.remaining} trailing bytes`)
    return { type: "ConfChange", index: e.index, term: e.term, change }
  }
  throw new RaftCodecError({
    field: "entry.type",
    reason: `unknown WAL entry type ${e.type}`,
    offset: -1,
  })
}

/** A configuration as bytes (e.g. a WAL snapshot's `meta`). */
export const encodeConfig = (c: Config): Uint8Array => {
  const w = new BinaryWriter(64)
  writeConfig(w, c)
  return w.view().slice()
}

export const decodeConfig = (bytes: Uint8Array): Config => {
  const r = new BinaryReader(bytes)
  const c = readConfig(r)
  if (r.remaining !== 0) r.fail("config", `${r.remaining} trailing bytes`)
  return c
}
