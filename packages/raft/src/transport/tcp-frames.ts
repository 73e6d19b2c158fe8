// Framing for the TCP transport: pure, no sockets.
//
//   frame   = u32 LE payload length | payload
//   payload = kind (u8) | body
//   Hello (kind 1): "FLRT" | version (u8) | from (string) | to (string)
//   Batch (kind 2): messages, back to back, until the end of the payload
//   Query (kind 3): "FLRT" | version (u8) | from (string) | to (string) | body
//   Answer (kind 4): body
//
// A connection carries messages one way: the dialing node sends a Hello, then
// batches; the accepting node only reads. A Query instead of the Hello asks the
// accepting node one question before Raft runs (the store's "was this member
// already bootstrapped?"): it answers with one Answer frame, or none, and
// closes. A node from before queries reads a Query as a bad Hello and closes
// the connection unanswered, which the asker takes as no answer. Bodies are
// opaque here: the layer above defines them.

import { clearArray } from "../core/arrays.ts"
import type { Message } from "../core/types.ts"
import {
  BinaryReader,
  BinaryWriter,
  RaftCodecError,
  readMessage,
  writeMessage,
} from "./tcp-codec.ts"

export const FRAME_HELLO = 1
export const FRAME_BATCH = 2
export const FRAME_QUERY = 3
export const FRAME_ANSWER = 4
export const PROTOCOL_VERSION = 1
const MAGIC = [0x46, 0x4c, 0x52, 0x54] // "FLRT"

/** A frame of `kind` opening with the magic, version and both ends' ids (Hello, Query). */
const encodeAddressed = (kind: number, from: string, to: string, body?: Uint8Array): Uint8Array => {
  const w = new BinaryWriter(64 + (body?.length ?? 0))
  w.raw(new Uint8Array(4))
  w.u8(kind)
  w.raw(Uint8Array.from(MAGIC))
  w.u8(PROTOCOL_VERSION)
  w.str(from)
  w.str(to)
  if (body !== undefined) w.raw(body)
  const frame = w.view().slice()
  new DataView(frame.buffer).setUint32(0, frame.length - 4, true)
  return frame
}

/** Reads the opening of `encodeAddressed`; the reader is left at the body. */
const readAddressed = (
  r: BinaryReader,
  kind: number,
  name: string,
): { readonly from: string; readonly to: string } => {
  const got = r.u8(`${name}.kind`)
  if (got !== kind) r.fail(`${name}.kind`, `expected a ${name} frame, got kind ${got}`)
  for (const b of MAGIC)
    if (r.u8(`${name}.magic`) !== b) r.fail(`${name}.magic`, "not a Flotilla Raft peer")
  const version = r.u8(`${name}.version`)
  if (version !== PROTOCOL_VERSION)
    r.fail(`${name}.version`, `unsupported protocol version ${version}`)
  const from = r.str(`${name}.from`)
  const to = r.str(`${name}.to`)
  return { from, to }
}

export const encodeHello = (from: string, to: string): Uint8Array =>
  encodeAddressed(FRAME_HELLO, from, to)

export const decodeHello = (
  payload: Uint8Array,
): { readonly from: string; readonly to: string } => {
  const r = new BinaryReader(payload)
  const hello = readAddressed(r, FRAME_HELLO, "hello")
  if (r.remaining !== 0) r.fail("hello", `${r.remaining} trailing bytes`)
  return hello
}

/** A Query frame: `body` asked of `to` by `from`. */
export const encodeQuery = (from: string, to: string, body: Uint8Array): Uint8Array =>
  encodeAddressed(FRAME_QUERY, from, to, body)

export const decodeQuery = (
  payload: Uint8Array,
): { readonly from: string; readonly to: string; readonly body: Uint8Array } => {
  const r = new BinaryReader(payload)
  const { from, to } = readAddressed(r, FRAME_QUERY, "query")
  return { from, to, body: payload.slice(payload.length - r.remaining) }
}

/** An Answer frame carrying `body`. */
export const encodeAnswer = (body: Uint8Array): Uint8Array => {
  const frame = new Uint8Array(5 + body.length)
  new DataView(frame.buffer).setUint32(0, 1 + body.length, true)
  frame[4] = FRAME_ANSWER
  frame.set(body, 5)
  return frame
}

export const decodeAnswer = (payload: Uint8Array): Uint8Array => {
  const r = new BinaryReader(payload)
  const kind = r.u8("answer.kind")
  if (kind !== FRAME_ANSWER) r.fail("answer.kind", `expected an answer frame, got kind ${kind}`)
  return payload.slice(1)
}

const copyOf = (view: Uint8Array): Uint8Array => view.slice()

/**
 * Encodes `messages[start, end)` as batch frames of at most `softLimit` bytes
 * each; a message larger than that gets a frame of its own. Returns the frames
 * as fresh arrays made by `copy` from the writer's view (sockets keep a
 * reference until written; a socket's caller passes one that makes a Buffer).
 */
export const encodeBatches = (
  messages: ReadonlyArray<Message>,
  start: number,
  end: number,
  softLimit: number,
  writer: BinaryWriter = new BinaryWriter(16 * 1024),
  copy: (view: Uint8Array) => Uint8Array = copyOf,
): Uint8Array[] => {
  const frames: Uint8Array[] = []
  const w = writer
  let i = start
  while (i < end) {
    w.reset()
    w.skip4()
    w.u8(FRAME_BATCH)
    const bodyStart = w.pos
    while (i < end && w.pos < softLimit) {
      const before = w.pos
      writeMessage(w, messages[i]!)
      // A message that takes the frame past the limit starts the next frame
      // instead (alone, if it is that large).
      if (w.pos > softLimit && before > bodyStart) {
        w.pos = before
        break
      }
      i++
    }
    w.setU32At(0, w.pos - 4)
    frames.push(copy(w.view()))
  }
  return frames
}

/** Decodes a batch payload into messages. Throws `RaftCodecError` on bad input. */
export const decodeBatch = (payload: Uint8Array): Message[] => {
  const r = new BinaryReader(payload)
  const kind = r.u8("frame.kind")
  if (kind !== FRAME_BATCH) r.fail("frame.kind", `expected a batch frame, got kind ${kind}`)
  const out: Message[] = []
  while (r.remaining > 0) out.push(readMessage(r))
  return out
}

/**
 * Reassembles frames from a byte stream cut at arbitrary points. `push` returns
 * the payloads completed by a chunk (views into the chunks, which sockets never
 * reuse). Chunks are joined only when a frame spans them, so a large frame
 * arriving in many chunks is copied once. A declared length above
 * `maxFrameBytes` is an error: the stream cannot be trusted after it.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number
  private chunks: Uint8Array[] = []
  private size = 0
  private readonly out: Uint8Array[] = []

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Bytes held of incomplete frames. */
  get buffered(): number {
    return this.size
  }

  /** Payloads completed by `chunk`; the array is reused by the next call. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out = this.out
    clearArray(out)
    if (chunk.length === 0) return out
    let at = 0
    if (this.size === 0) {
      // Nothing held back (the common case): whole frames are cut straight out of the chunk.
      while (chunk.length - at >= 4) {
        const len =
          (chunk[at]! | (chunk[at + 1]! << 8) | (chunk[at + 2]! << 16) | (chunk[at + 3]! << 24)) >>>
          0
        if (len > this.maxFrameBytes) this.tooLong(len)
        if (chunk.length - at < 4 + len) break
        out.push(chunk.subarray(at + 4, at + 4 + len))
        at += 4 + len
      }
      if (at === chunk.length) return out
    }
    this.chunks.push(at === 0 ? chunk : chunk.subarray(at))
    this.size += chunk.length - at
    while (this.size >= 4) {
      const len = this.peekLength()
      if (len > this.maxFrameBytes) this.tooLong(len)
      if (this.size < 4 + len) break
      out.push(this.take(4 + len).subarray(4))
    }
    return out
  }

  private tooLong(len: number): never {
    throw new RaftCodecError({
      field: "frame.length",
      reason: `${len} bytes exceeds the limit of ${this.maxFrameBytes}`,
      offset: 0,
    })
  }

  private peekLength(): number {
    const first = this.chunks[0]!
    if (first.length >= 4)
      return (first[0]! | (first[1]! << 8) | (first[2]! << 16) | (first[3]! << 24)) >>> 0
    const head = this.copy(4, false)
    return (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0
  }

  /** Removes and returns the next `n` buffered bytes. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      this.size -= n
      return first.subarray(0, n)
    }
    return this.copy(n, true)
  }

  /** The next `n` bytes joined into one array; consumed when `consume`. */
  private copy(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    let k = 0
    while (filled < n) {
      const c = this.chunks[k]!
      const part = Math.min(c.length, n - filled)
      out.set(c.subarray(0, part), filled)
      filled += part
      if (consume) {
        if (part === c.length) this.chunks.shift()
        else this.chunks[0] = c.subarray(part)
      } else k++
    }
    if (consume) this.size -= n
    return out
  }
}
