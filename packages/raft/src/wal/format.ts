// The on-disk format of WAL segments: pure encoding and scanning, no I/O.
//
// A segment is a sequence of batches. A batch is the bytes of one group-commit
// write: frames of records followed by one Commit frame naming the batch's
// start offset. Every frame is
//
//   u32 LE  length (low 24 bits) | CRC-8 of the length (high 8 bits)
//   u32 LE  CRC-32C of the body
//   body    kind (u8), then the kind's fields (integers u64 LE)
//
// The CRC-8 guards the length on its own, so a damaged length is detected
// instead of being mistaken for a frame cut short by a crash. A zero head word
// marks the end of written data (a preallocated, zero-filled tail).
//
// Batches are the unit of atomicity: a write is acknowledged only after its
// fdatasync, and the next batch is written only after that, so everything but
// the last batch of the last segment was durable before anything after it was
// written. Recovery keeps committed batches, drops an incomplete or damaged last
// batch of the last segment (a torn write), and refuses damage anywhere else
// (see `scanSegment`).

import { crc8Of24, crc32c } from "./crc32c.ts"

export const FRAME_HEADER_BYTES = 8
/** Largest body a frame can carry (24-bit length). */
export const MAX_BODY_BYTES = 0xffffff
/** Format version written in segment headers. */
export const FORMAT_VERSION = 1

export const RecordKind = {
  /** First record of every segment: sequence number and first log index. */
  Header: 1,
  /** A log entry. */
  Entry: 2,
  /** Raft's hard state: current term, vote, commit index. */
  HardState: 3,
  /** Discards entries with index >= fromIndex; the next entry is fromIndex. */
  Truncate: 4,
  /** Ends a batch; names the offset where the batch began. */
  Commit: 5,
  /** Discards the whole log; the next entry is `next` (a snapshot installed from a leader). */
  Reset: 6,
} as const

const ENTRY_FIXED = 1 + 1 + 8 + 8
const HEADER_BODY = 1 + 1 + 8 + 8
/** Fixed part of a hard state body; the vote's UTF-8 bytes follow. */
const HARD_STATE_FIXED = 1 + 8 + 8 + 2
/** Vote length that stands for "no vote". */
const NO_VOTE = 0xffff
/** Longest vote (node id) in UTF-8 bytes. */
export const MAX_VOTE_BYTES = 1024
/** Truncate, Reset and Commit: kind and one u64. */
const ONE_NUMBER_BODY = 1 + 8
const TRUNCATE_BODY = ONE_NUMBER_BODY
const COMMIT_BODY = ONE_NUMBER_BODY
/** Largest data an entry frame can carry. */
export const MAX_ENTRY_DATA_BYTES = MAX_BODY_BYTES - ENTRY_FIXED

/** A Raft log entry as the WAL stores it; `type` is a small tag (0..255) of the caller's. */
export interface WalEntry {
  readonly index: number
  readonly term: number
  readonly type: number
  readonly data: Uint8Array
}

/** Raft's persistent state besides the log; `vote` is a node id or null (the core's HardState). */
export interface HardState {
  readonly term: number
  readonly vote: string | null
  readonly commit: number
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder("utf-8", { fatal: true })

export type WalRecord =
  | {
      readonly kind: "header"
      readonly version: number
      readonly seq: number
      readonly firstIndex: number
    }
  | { readonly kind: "entry"; readonly entry: WalEntry }
  | { readonly kind: "hardState"; readonly hardState: HardState }
  | { readonly kind: "truncate"; readonly fromIndex: number }
  | { readonly kind: "reset"; readonly next: number }

const TWO_32 = 0x1_0000_0000

/**
 * Encodes frames into one growable buffer. The WAL keeps two and swaps them:
 * appends encode into the pending one while the other is being written.
 */
export class FrameWriter {
  private buf: Uint8Array
  private view: DataView
  length = 0
  private lastVote: string | undefined
  private lastVoteBytes = new Uint8Array(0)

  constructor(initialBytes = 64 * 1024) {
    this.buf = new Uint8Array(initialBytes)
    this.view = new DataView(this.buf.buffer)
  }

  /** The encoded bytes (a view, valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }

  reset(): void {
    this.length = 0
  }

  header(seq: number, firstIndex: number): void {
    const o = this.begin(HEADER_BODY)
    this.buf[o] = RecordKind.Header
    this.buf[o + 1] = FORMAT_VERSION
    this.u64(o + 2, seq)
    this.u64(o + 10, firstIndex)
    this.end(o, HEADER_BODY)
  }

  entry(index: number, term: number, type: number, data: Uint8Array): void {
    const body = ENTRY_FIXED + data.length
    const o = this.begin(body)
    this.buf[o] = RecordKind.Entry
    this.buf[o + 1] = type
    this.u64(o + 2, index)
    this.u64(o + 10, term)
    this.buf.set(data, o + ENTRY_FIXED)
    this.end(o, body)
  }

  /** `hs.vote` must encode to at most MAX_VOTE_BYTES bytes (callers check). */
  hardState(hs: HardState): void {
    const vote = hs.vote === null ? undefined : this.voteBytes(hs.vote)
    const body = HARD_STATE_FIXED + (vote?.length ?? 0)
    const o = this.begin(body)
    this.buf[o] = RecordKind.HardState
    this.u64(o + 1, hs.term)
    this.u64(o + 9, hs.commit)
    this.view.setUint16(o + 17, vote === undefined ? NO_VOTE : vote.length, true)
    if (vote !== undefined) this.buf.set(vote, o + HARD_STATE_FIXED)
    this.end(o, body)
  }

  /** UTF-8 of `vote`, kept for the next call: a term's hard states repeat one vote. */
  private voteBytes(vote: string): Uint8Array {
    if (vote !== this.lastVote) {
      this.lastVote = vote
      this.lastVoteBytes = utf8.encode(vote)
    }
    return this.lastVoteBytes
  }

  truncate(fromIndex: number): void {
    this.oneNumber(RecordKind.Truncate, fromIndex)
  }

  resetLog(next: number): void {
    this.oneNumber(RecordKind.Reset, next)
  }

  commit(batchStart: number): void {
    this.oneNumber(RecordKind.Commit, batchStart)
  }

  /** A record whose body is its kind and one u64 (Truncate, Reset, Commit). */
  private oneNumber(kind: number, n: number): void {
    const o = this.begin(ONE_NUMBER_BODY)
    this.buf[o] = kind
    this.u64(o + 1, n)
    this.end(o, ONE_NUMBER_BODY)
  }

  /** Reserves a frame for a body of `bodyLength` bytes; returns the body's offset. */
  private begin(bodyLength: number): number {
    const need = this.length + FRAME_HEADER_BYTES + bodyLength
    if (need > this.buf.length) {
      let size = this.buf.length * 2
      while (size < need) size *= 2
      const next = new Uint8Array(size)
      next.set(this.buf.subarray(0, this.length))
      this.buf = next
      this.view = new DataView(next.buffer)
    }
    return this.length + FRAME_HEADER_BYTES
  }

  private end(bodyOffset: number, bodyLength: number): void {
    const h = bodyOffset - FRAME_HEADER_BYTES
    this.view.setUint32(h, (bodyLength | (crc8Of24(bodyLength) << 24)) >>> 0, true)
    this.view.setUint32(h + 4, crc32c(this.buf, bodyOffset, bodyOffset + bodyLength), true)
    this.length = bodyOffset + bodyLength
  }

  private u64(at: number, n: number): void {
    this.view.setUint32(at, n >>> 0, true)
    this.view.setUint32(at + 4, Math.floor(n / TWO_32), true)
  }
}

/** Bytes of the frame `FrameWriter.entry` writes for `dataLength` bytes of data. */
export const entryFrameBytes = (dataLength: number): number =>
  FRAME_HEADER_BYTES + ENTRY_FIXED + dataLength

export interface ScannedRecord {
  readonly offset: number
  readonly record: WalRecord
}

export type ScanResult =
  | {
      readonly _tag: "Ok"
      /** Records of committed batches, in order. */
      readonly records: ReadonlyArray<ScannedRecord>
      /** End of the last committed batch: the bytes to keep. */
      readonly validLength: number
      /** Set when bytes after `validLength` are not all zero: why scanning stopped there. */
      readonly torn: { readonly offset: number; readonly reason: string } | undefined
    }
  | { readonly _tag: "Corrupt"; readonly offset: number; readonly reason: string }

const u64At = (view: DataView, at: number): number | undefined => {
  const hi = view.getUint32(at + 4, true)
  // Beyond Number.MAX_SAFE_INTEGER: never written by us.
  if (hi > 0x1fffff) return undefined
  return hi * TWO_32 + view.getUint32(at, true)
}

/** Decodes a checksummed body; a string is the reason it is malformed. */
const decodeBody = (
  bytes: Uint8Array,
  view: DataView,
  o: number,
  len: number,
): WalRecord | { readonly commit: number } | string => {
  const kind = bytes[o]
  switch (kind) {
    case RecordKind.Entry: {
      if (len < ENTRY_FIXED) return `entry body of ${len} bytes is shorter than ${ENTRY_FIXED}`
      const index = u64At(view, o + 2)
      const term = u64At(view, o + 10)
      if (index === undefined || index < 1) return "entry index out of range"
      if (term === undefined) return "entry term out of range"
      const data = bytes.slice(o + ENTRY_FIXED, o + len)
      return { kind: "entry", entry: { index, term, type: bytes[o + 1]!, data } }
    }
    case RecordKind.Commit: {
      if (len !== COMMIT_BODY) return `commit body of ${len} bytes, expected ${COMMIT_BODY}`
      const start = u64At(view, o + 1)
      if (start === undefined) return "commit batch start out of range"
      return { commit: start }
    }
    case RecordKind.HardState: {
      if (len < HARD_STATE_FIXED)
        return `hard state body of ${len} bytes is shorter than ${HARD_STATE_FIXED}`
      const term = u64At(view, o + 1)
      const commit = u64At(view, o + 9)
      if (term === undefined || commit === undefined) return "hard state field out of range"
      const voteLength = view.getUint16(o + 17, true)
      const expected = HARD_STATE_FIXED + (voteLength === NO_VOTE ? 0 : voteLength)
      if (len !== expected) return `hard state body of ${len} bytes, expected ${expected}`
      let vote: string | null = null
      if (voteLength !== NO_VOTE) {
        try {
          vote = fromUtf8.decode(bytes.subarray(o + HARD_STATE_FIXED, o + len))
        } catch {
          return "hard state vote is not UTF-8"
        }
      }
      return { kind: "hardState", hardState: { term, vote, commit } }
    }
    case RecordKind.Truncate: {
      if (len !== TRUNCATE_BODY) return `truncate body of ${len} bytes, expected ${TRUNCATE_BODY}`
      const fromIndex = u64At(view, o + 1)
      if (fromIndex === undefined || fromIndex < 1) return "truncate index out of range"
      return { kind: "truncate", fromIndex }
    }
    case RecordKind.Reset: {
      if (len !== TRUNCATE_BODY) return `reset body of ${len} bytes, expected ${TRUNCATE_BODY}`
      const next = u64At(view, o + 1)
      if (next === undefined || next < 1) return "reset index out of range"
      return { kind: "reset", next }
    }
    case RecordKind.Header: {
      if (len !== HEADER_BODY) return `header body of ${len} bytes, expected ${HEADER_BODY}`
      const version = bytes[o + 1]!
      if (version !== FORMAT_VERSION) return `unsupported format version ${version}`
      const seq = u64At(view, o + 2)
      const firstIndex = u64At(view, o + 10)
      if (seq === undefined || firstIndex === undefined || firstIndex < 1)
        return "header field out of range"
      return { kind: "header", version, seq, firstIndex }
    }
    default:
      return `unknown record kind ${kind}`
  }
}

const COMMIT_HEAD = (COMMIT_BODY | (crc8Of24(COMMIT_BODY) << 24)) >>> 0

const allZero = (bytes: Uint8Array, from: number): boolean => {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

/**
 * Whether a valid Commit frame after `offset` closes a batch that began after
 * `offset`. If so, the batch holding `offset` was fsynced before that later
 * batch was written, and damage at `offset` is corruption, not a torn write.
 * Resynchronises byte by byte: the damaged frame's length cannot be trusted.
 */
const laterBatchCommitted = (bytes: Uint8Array, view: DataView, offset: number): boolean => {
  const last = bytes.length - FRAME_HEADER_BYTES - COMMIT_BODY
  for (let p = offset + 1; p <= last; p++) {
    if (view.getUint32(p, true) !== COMMIT_HEAD) continue
    const body = p + FRAME_HEADER_BYTES
    if (bytes[body] !== RecordKind.Commit) continue
    if (crc32c(bytes, body, body + COMMIT_BODY) !== view.getUint32(p + 4, true)) continue
    const start = u64At(view, body + 1)
    if (start !== undefined && start > offset && start < p) return true
  }
  return false
}

/**
 * Scans one segment's bytes. In the last segment (`isLast`), an incomplete or
 * damaged final batch is a torn write: its records are dropped and `torn` says
 * where and why. Anywhere else, and in the last segment when a later batch was
 * committed after the damage, the result is `Corrupt` with the offset of the
 * first bad frame.
 */
export const scanSegment = (bytes: Uint8Array, isLast: boolean): ScanResult => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size = bytes.length
  const records: ScannedRecord[] = []
  let batch: ScannedRecord[] = []
  let batchStart = 0
  let validLength = 0
  let o = 0
  let bad: string | undefined
  for (;;) {
    if (o === size) break
    if (size - o < FRAME_HEADER_BYTES) {
      bad = allZero(bytes, o) ? undefined : "partial frame header at end of file"
      break
    }
    const head = view.getUint32(o, true)
    if (head === 0) {
      bad = allZero(bytes, o) ? undefined : "zero frame header followed by data"
      break
    }
    const len = head & 0xffffff
    if (crc8Of24(len) !== head >>> 24) {
      bad = "frame length fails its check byte"
      break
    }
    const bodyAt = o + FRAME_HEADER_BYTES
    if (bodyAt + len > size) {
      bad = `frame of ${len} bytes extends past end of file (${size} bytes)`
      break
    }
    if (crc32c(bytes, bodyAt, bodyAt + len) !== view.getUint32(o + 4, true)) {
      bad = "checksum mismatch"
      break
    }
    const decoded = decodeBody(bytes, view, bodyAt, len)
    if (typeof decoded === "string") {
      bad = decoded
      break
    }
    if ("commit" in decoded) {
      if (decoded.commit !== batchStart) {
        bad = `commit frame names batch start ${decoded.commit}, expected ${batchStart}`
        break
      }
      if (batch.length === 0) {
        bad = "empty batch"
        break
      }
      for (const r of batch) records.push(r)
      batch = []
      o = bodyAt + len
      validLength = batchStart = o
      continue
    }
    const atStart = o === 0
    if (atStart !== (decoded.kind === "header")) {
      bad = atStart ? "segment does not begin with a header" : "header inside a segment"
      break
    }
    batch.push({ offset: o, record: decoded })
    o = bodyAt + len
  }
  if (bad === undefined) {
    // Clean end of data. Frames after the last Commit are a batch cut short.
    if (batch.length === 0) return { _tag: "Ok", records, validLength, torn: undefined }
    if (!isLast)
      return { _tag: "Corrupt", offset: batchStart, reason: "segment ends inside a batch" }
    return {
      _tag: "Ok",
      records,
      validLength,
      torn: { offset: batchStart, reason: "batch without its commit frame" },
    }
  }
  if (!isLast || laterBatchCommitted(bytes, view, o)) {
    return { _tag: "Corrupt", offset: o, reason: bad }
  }
  return { _tag: "Ok", records, validLength, torn: { offset: o, reason: bad } }
}
