// What a replicated store's Raft log and snapshots carry.
//
// Log entry: one kind byte, then either a store request (`encodeRequest`), a
// membership change (header, op), or a batch of such entries (requests
// proposed together share one Raft entry; each is still its own request, with
// its own revision when it writes). Snapshot: a magic, the membership, the
// store's own snapshot (`encodeSnapshot`, CRC-checked on its own) and a
// CRC-32 of the membership part. Decoding checks everything and throws
// CodecError naming what is wrong.
import {
  CodecError,
  decodeRequest,
  decodeSnapshot,
  encodeRequest,
  encodeSnapshotSteps,
  Reader,
  Writer,
} from "./codec.ts"
import { crc32 } from "./crc32.ts"
import { type MemberOp, Membership } from "./members.ts"
import type { MvccStore, StoreConfig } from "./mvcc.ts"
import type { InternalRequest, Member, RequestHeader } from "./types.ts"

export const ENTRY_STORE = 1
export const ENTRY_MEMBER = 2
export const ENTRY_BATCH = 3

export type LogCommand =
  | { readonly kind: "store"; readonly request: InternalRequest }
  | { readonly kind: "member"; readonly header: RequestHeader; readonly op: MemberOp }

/** A store request as a log entry. */
export const encodeStoreEntry = (req: InternalRequest): Uint8Array => {
  const w = new Writer(
    req.put === undefined ? 128 : 40 + req.put.key.length + (req.put.value?.length ?? 0),
  )
  w.u8(ENTRY_STORE)
  return encodeRequest(req, w)
}

const OP_ADD = 1
const OP_REMOVE = 2
const OP_ATTRIBUTES = 3
const OP_PROMOTE = 4
const OP_UPDATE = 5

const enc = new TextEncoder()
const dec = new TextDecoder("utf-8", { fatal: true })

const writeId = (w: Writer, id: bigint): void => {
  w.uint(Number(id >> 32n))
  w.uint(Number(id & 0xffffffffn))
}

const readId = (r: Reader, what: string): bigint => {
  const hi = r.uint(`${what} (high)`)
  const lo = r.uint(`${what} (low)`)
  if (hi > 0xffffffff || lo > 0xffffffff) throw new CodecError(`${what}: not a uint64`)
  return (BigInt(hi) << 32n) | BigInt(lo)
}

const writeString = (w: Writer, s: string): void => w.bytes(enc.encode(s))

const readString = (r: Reader, what: string): string => {
  try {
    return dec.decode(r.bytes(what))
  } catch (e) {
    if (e instanceof CodecError) throw e
    throw new CodecError(`${what}: not UTF-8`)
  }
}

const writeStrings = (w: Writer, ss: ReadonlyArray<string>): void => {
  w.uint(ss.length)
  for (const s of ss) writeString(w, s)
}

const readStrings = (r: Reader, what: string): string[] => {
  const n = r.uint(`${what} count`)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(readString(r, `${what}[${i}]`))
  return out
}

/** A membership change as a log entry. */
export const encodeMemberEntry = (header: RequestHeader, op: MemberOp): Uint8Array => {
  const w = new Writer(64)
  w.u8(ENTRY_MEMBER)
  w.uint(header.ID)
  w.int(header.now)
  switch (op.type) {
    case "add":
      w.u8(OP_ADD)
      writeId(w, op.ID)
      writeStrings(w, op.peerURLs)
      w.u8(op.isLearner ? 1 : 0)
      break
    case "remove":
      w.u8(OP_REMOVE)
      writeId(w, op.ID)
      break
    case "attributes":
      w.u8(OP_ATTRIBUTES)
      writeId(w, op.ID)
      writeString(w, op.name)
      writeStrings(w, op.clientURLs)
      break
    case "promote":
      w.u8(OP_PROMOTE)
      writeId(w, op.ID)
      break
    case "update":
      w.u8(OP_UPDATE)
      writeId(w, op.ID)
      writeStrings(w, op.peerURLs)
      break
  }
  return w.finish()
}

const readMemberOp = (r: Reader): MemberOp => {
  const tag = r.u8("member op type")
  switch (tag) {
    case OP_ADD: {
      const ID = readId(r, "member ID")
      const peerURLs = readStrings(r, "peerURLs")
      const isLearner = r.u8("isLearner") === 1
      return { type: "add", ID, peerURLs, isLearner }
    }
    case OP_REMOVE:
      return { type: "remove", ID: readId(r, "member ID") }
    case OP_ATTRIBUTES: {
      const ID = readId(r, "member ID")
      const name = readString(r, "name")
      const clientURLs = readStrings(r, "clientURLs")
      return { type: "attributes", ID, name, clientURLs }
    }
    case OP_PROMOTE:
      return { type: "promote", ID: readId(r, "member ID") }
    case OP_UPDATE: {
      const ID = readId(r, "member ID")
      return { type: "update", ID, peerURLs: readStrings(r, "peerURLs") }
    }
    default:
      throw new CodecError(`member op type: unknown value ${tag}`)
  }
}

/** Several encoded entries (store or member, not batches) as one log entry. */
export const encodeBatchEntry = (entries: ReadonlyArray<Uint8Array>): Uint8Array => {
  let size = 6
  for (const e of entries) size += e.length + 5
  const w = new Writer(size)
  w.u8(ENTRY_BATCH)
  w.uint(entries.length)
  for (const e of entries) w.bytes(e)
  return w.finish()
}

/**
 * The entries a log entry carries, in order: itself, or the members of a
 * batch (views into `b`). Throws CodecError on a malformed batch.
 */
export const entriesOf = (b: Uint8Array): Uint8Array[] => {
  if (b.length === 0 || b[0] !== ENTRY_BATCH) return [b]
  const r = new Reader(b)
  r.pos = 1
  const n = r.uint("batch size")
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const e = r.bytes(`batch entry ${i}`)
    if (e.length > 0 && e[0] === ENTRY_BATCH)
      throw new CodecError(`batch entry ${i}: a nested batch`)
    out.push(e)
  }
  if (!r.done) throw new CodecError(`${r.end - r.pos} trailing bytes after the batch`)
  return out
}

/** Decodes one (non-batch) log entry's data; throws CodecError on malformed input. */
export const decodeEntry = (b: Uint8Array): LogCommand => {
  if (b.length === 0) throw new CodecError("empty log entry")
  switch (b[0]) {
    case ENTRY_STORE:
      return { kind: "store", request: decodeRequest(b.subarray(1)) }
    case ENTRY_MEMBER: {
      const r = new Reader(b)
      r.pos = 1
      const header = { ID: r.uint("header ID"), now: r.int("header now") }
      const op = readMemberOp(r)
      if (!r.done) throw new CodecError(`${r.end - r.pos} trailing bytes after the member op`)
      return { kind: "member", header, op }
    }
    default:
      throw new CodecError(`log entry kind: unknown value ${b[0]}`)
  }
}

// ---------------------------------------------------------------------------
// Snapshots

const MAGIC = [0x46, 0x4c, 0x52, 0x31] // "FLR1"

const writeMember = (w: Writer, m: Member): void => {
  writeId(w, m.ID)
  writeString(w, m.name)
  writeStrings(w, m.peerURLs)
  writeStrings(w, m.clientURLs)
  w.u8(m.isLearner ? 1 : 0)
}

const readMember = (r: Reader): Member => {
  const ID = readId(r, "member ID")
  const name = readString(r, "member name")
  const peerURLs = readStrings(r, "peerURLs")
  const clientURLs = readStrings(r, "clientURLs")
  const isLearner = r.u8("isLearner") === 1
  return { ID, name, peerURLs, clientURLs, isLearner }
}

/**
 * A replica snapshot's framing before the store snapshot: magic, the
 * membership (CRC-checked), and the store snapshot's length.
 */
export const replicaSnapshotHeader = (
  membership: Membership,
): ((storeBytes: number) => Uint8Array) => {
  const s = membership.state()
  const w = new Writer(256)
  w.raw(new Uint8Array(MAGIC))
  writeId(w, s.clusterId)
  w.uint(s.members.length)
  for (const m of s.members) writeMember(w, m)
  w.uint(s.removed.length)
  for (const id of s.removed) writeId(w, id)
  const crc = crc32(w.view())
  w.uint(crc)
  const fixed = w.finish()
  return (storeBytes) => {
    const h = new Writer(fixed.length + 8)
    h.raw(fixed)
    h.uint(storeBytes)
    return h.finish()
  }
}

/** The state of a replica (membership and store) as snapshot bytes. */
export const encodeReplicaSnapshot = (
  membership: Membership,
  storeSnapshot: Uint8Array,
): Uint8Array => {
  const head = replicaSnapshotHeader(membership)(storeSnapshot.length)
  const out = new Uint8Array(head.length + storeSnapshot.length)
  out.set(head)
  out.set(storeSnapshot, head.length)
  return out
}

/**
 * A replica snapshot in steps (see `encodeSnapshotSteps`): the membership is
 * encoded and the store captured now, when called; the rest is encoded as
 * the steps run, while the replica keeps applying.
 */
export const replicaSnapshotSteps = (
  membership: Membership,
  store: MvccStore,
  allocate?: (bytes: number) => Uint8Array,
): Generator<void, Uint8Array, void> =>
  encodeSnapshotSteps(store.exportState(), replicaSnapshotHeader(membership), allocate)

/** Decodes a replica snapshot; throws CodecError when damaged or malformed. */
export const decodeReplicaSnapshot = (
  b: Uint8Array,
  config: Partial<StoreConfig> = {},
): { readonly membership: Membership; readonly store: MvccStore } => {
  if (b.length < MAGIC.length) throw new CodecError("replica snapshot too short")
  for (let i = 0; i < MAGIC.length; i++) {
    if (b[i] !== MAGIC[i]) throw new CodecError("not a replica snapshot (bad magic)")
  }
  const r = new Reader(b)
  r.pos = MAGIC.length
  const clusterId = readId(r, "cluster ID")
  const n = r.uint("member count")
  const members: Member[] = []
  for (let i = 0; i < n; i++) members.push(readMember(r))
  const nRemoved = r.uint("removed count")
  const removed: bigint[] = []
  for (let i = 0; i < nRemoved; i++) removed.push(readId(r, "removed ID"))
  const end = r.pos
  const crc = r.uint("membership checksum")
  if (crc32(b, 0, end) !== crc)
    throw new CodecError("replica snapshot membership checksum mismatch")
  const store = decodeSnapshot(r.bytes("store snapshot"), config)
  if (!r.done) throw new CodecError("trailing bytes in replica snapshot")
  return { membership: new Membership({ clusterId, members, removed }), store }
}
