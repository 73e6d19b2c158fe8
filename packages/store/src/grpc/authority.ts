// etcd's Go clients (etcdctl 3.4's per-endpoint maintenance calls, some 3.5
// releases for every call) send an HTTP/2 :authority that is not an authority
// ("http://127.0.0.1:2379", "#initially=[...]"). Go's gRPC server ignores it;
// Node's HTTP/2 (nghttp2) resets the stream with PROTOCOL_ERROR, and Node has
// no switch to relax that. This shim sits in front of the gRPC server: it reads
// a connection's first header block; if the :authority is acceptable it hands
// the socket over untouched (no cost afterwards); otherwise it re-encodes every
// header block of that connection with the authority repaired.
import type * as net from "node:net"
import { type Duplex, duplexPair } from "node:stream"
import { encodeLiterals, type Header, HpackDecoder } from "./hpack.ts"

const PREFACE_LENGTH = 24
const HEADERS = 0x1
const CONTINUATION = 0x9
const END_STREAM = 0x1
const END_HEADERS = 0x4
const PADDED = 0x8
const PRIORITY = 0x20
/** The server's SETTINGS_MAX_FRAME_SIZE (Node's default): no client frame may be larger. */
const MAX_FRAME = 16384
/**
 * Largest header block (HEADERS and its CONTINUATIONs) read, and largest
 * amount of other bytes held before handing a connection over: far above
 * what Node's HTTP/2 accepts (64 KiB header lists; 64 KiB windows), so a
 * client Node would serve is never refused, while one that never ends its
 * header block (a CONTINUATION flood) or its first request cannot grow our
 * buffers without bound.
 */
const MAX_HELD = 256 * 1024
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

/** A connection this shim refuses to read further (the socket is destroyed). */
export class FrameError extends Error {}

/** What nghttp2 accepts in :authority (RFC 3986 authority characters). */
export const validAuthority = (a: string): boolean => /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/.test(a)

/** The authority a client most likely meant: the host of a URL, else a neutral one. */
export const repairAuthority = (a: string): string => {
  const host = a.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0] ?? ""
  return host !== "" && validAuthority(host) ? host : "localhost"
}

/** Splits a byte stream into the preface and HTTP/2 frames, collecting header blocks. */
class FrameReader {
  private pending: Buffer = Buffer.alloc(0)
  private prefaceDone = false
  private block: Buffer[] = []
  private blockBytes = 0
  private blockStream = 0
  private blockFlags = 0
  private blockFrames: Buffer[] = []
  /** A complete header block of a stream (END_STREAM kept in `flags`), with its raw frames. */
  private readonly onBlock: (stream: number, flags: number, block: Buffer, raw: Buffer) => void
  /** Bytes that are not part of a header block: the preface and other frames. */
  private readonly onOther: (bytes: Buffer) => void

  constructor(
    onBlock: (stream: number, flags: number, block: Buffer, raw: Buffer) => void,
    onOther: (bytes: Buffer) => void,
  ) {
    this.onBlock = onBlock
    this.onOther = onOther
  }

  /** Bytes received but not yet delivered (an incomplete frame). */
  remaining(): Buffer {
    return this.pending
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    if (!this.prefaceDone) {
      if (this.pending.length < PREFACE_LENGTH) return
      this.onOther(this.pending.subarray(0, PREFACE_LENGTH))
      this.pending = this.pending.subarray(PREFACE_LENGTH)
      this.prefaceDone = true
    }
    for (;;) {
      if (this.pending.length < 9) return
      const length = this.pending.readUIntBE(0, 3)
      // Refused at once, as nghttp2 would (FRAME_SIZE_ERROR), not buffered up to 16 MiB.
      if (length > MAX_FRAME) throw new FrameError(`a frame of ${length} bytes`)
      if (this.pending.length < 9 + length) return
      const frame = this.pending.subarray(0, 9 + length)
      this.pending = this.pending.subarray(9 + length)
      const type = frame[3]!
      const flags = frame[4]!
      const stream = frame.readUInt32BE(5) & 0x7fffffff
      if (type === HEADERS) {
        let start = 9
        let end = 9 + length
        if (flags & PADDED) end -= frame[start++]!
        if (flags & PRIORITY) start += 5
        this.block = [frame.subarray(start, end)]
        this.blockFrames = [frame]
        this.blockBytes = frame.length
        this.blockStream = stream
        this.blockFlags = flags
      } else if (type === CONTINUATION && this.block.length > 0) {
        this.blockBytes += frame.length
        if (this.blockBytes > MAX_HELD) throw new FrameError("a header block without end")
        this.block.push(frame.subarray(9))
        this.blockFrames.push(frame)
        this.blockFlags |= flags & END_HEADERS
      } else {
        this.onOther(frame)
        continue
      }
      if (this.blockFlags & END_HEADERS) {
        const block = Buffer.concat(this.block)
        const raw = Buffer.concat(this.blockFrames)
        this.block = []
        this.blockFrames = []
        this.onBlock(this.blockStream, this.blockFlags, block, raw)
      }
    }
  }
}

/** HEADERS (+ CONTINUATION) frames carrying `block`. */
const headerFrames = (stream: number, endStream: boolean, block: Uint8Array): Buffer => {
  const frames: Buffer[] = []
  let offset = 0
  let first = true
  do {
    const n = Math.min(MAX_FRAME, block.length - offset)
    const last = offset + n === block.length
    const head = Buffer.alloc(9)
    head.writeUIntBE(n, 0, 3)
    head[3] = first ? HEADERS : CONTINUATION
    head[4] = (first && endStream ? END_STREAM : 0) | (last ? END_HEADERS : 0)
    head.writeUInt32BE(stream, 5)
    frames.push(head, Buffer.from(block.subarray(offset, offset + n)))
    offset += n
    first = false
  } while (offset < block.length)
  return Buffer.concat(frames)
}

const SETTINGS = 0x4
const ACK = 0x1
/** An empty SETTINGS frame: the server preface gRPC clients wait for before their first call. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, SETTINGS, 0, 0, 0, 0, 0])

/**
 * Handles one client connection. We answer the client's preface with an empty
 * SETTINGS frame (gRPC clients wait for one before their first call), read
 * until we have both its first header block and its ACK of our SETTINGS, drop
 * that ACK (the real server never sent those settings), and hand over either
 * the socket itself, with the bytes read put back, or a rewriting pipe.
 */
export const handleConnection = (
  socket: net.Socket,
  inject: (connection: Duplex) => void,
  http1?: (socket: net.Socket, already: Buffer) => void,
): void => {
  const kept: Buffer[] = []
  let keptBytes = 0
  let authority: string | undefined | null = null
  let acked = false
  let decided = false
  /** Hands the socket to Node's HTTP/2 as it is, with what was read put back. */
  const passThrough = (bytes: Buffer): void => {
    // Node's HTTP/2 reads what is already buffered on a socket it is given.
    socket.unshift(bytes)
    inject(socket)
  }
  const decide = (): void => {
    if (decided || authority === null || !acked) return
    decided = true
    socket.off("data", onData)
    socket.pause()
    const bytes = Buffer.concat([...kept, probe.remaining()])
    if (authority === undefined || validAuthority(authority)) passThrough(bytes)
    else rewrite(socket, bytes, inject)
  }
  const keep = (bytes: Buffer): void => {
    keptBytes += bytes.length
    if (keptBytes > MAX_HELD) throw new FrameError("too much before the first request")
    kept.push(bytes)
  }
  let seen = Buffer.alloc(0)
  const probe = new FrameReader(
    (_stream, _flags, block, raw) => {
      keep(raw)
      if (authority !== null) return
      try {
        authority = new HpackDecoder().decode(block).find(([n]) => n === ":authority")?.[1]
      } catch {
        authority = undefined
      }
    },
    (bytes) => {
      if (!acked && bytes.length === 9 && bytes[3] === SETTINGS && (bytes[4]! & ACK) !== 0) {
        acked = true
        return
      }
      keep(bytes)
    },
  )
  const onData = (chunk: Buffer): void => {
    // Not HTTP/2's preface (an HTTP/1 request, say): the HTTP/1 endpoints
    // answer it when there are some, else Node's HTTP/2 does at once
    // (GOAWAY), where frames read from it would wait forever.
    if (seen.length < PREFACE.length) {
      const first = seen.length === 0
      seen = Buffer.concat([seen, chunk.subarray(0, PREFACE.length - seen.length)])
      if (!PREFACE.subarray(0, seen.length).equals(seen)) {
        decided = true
        socket.off("data", onData)
        socket.pause()
        const bytes = Buffer.concat([...kept, probe.remaining(), chunk])
        // (A client whose first bytes looked like HTTP/2's has had our SETTINGS: Node's HTTP/2 answers it.)
        if (http1 !== undefined && first) http1(socket, bytes)
        else passThrough(bytes)
        return
      }
      // Our SETTINGS go out once the client's first bytes say HTTP/2 (an
      // HTTP/1 client must get nothing but its answer); clients send their
      // preface without waiting for ours.
      if (first) socket.write(EMPTY_SETTINGS)
    }
    try {
      probe.push(chunk)
      decide()
    } catch {
      socket.destroy()
    }
  }
  socket.on("data", onData)
  socket.on("error", () => socket.destroy())
}

/** Pipes a connection through a header rewriter into the gRPC server. */
let openRewrites = 0
/** Connections whose frames are being rewritten now (for tests: none may linger). */
export const rewritingConnections = (): number => openRewrites

const rewrite = (
  socket: net.Socket,
  already: Buffer,
  inject: (connection: Duplex) => void,
): void => {
  const [ours, theirs] = duplexPair()
  const decoder = new HpackDecoder()
  const reader = new FrameReader(
    (stream, flags, block, _raw) => {
      const headers: Header[] = decoder
        .decode(block)
        .map(([n, v]) =>
          n === ":authority" && !validAuthority(v) ? [n, repairAuthority(v)] : [n, v],
        )
      ours.write(headerFrames(stream, (flags & END_STREAM) !== 0, encodeLiterals(headers)))
    },
    (bytes) => {
      ours.write(bytes)
    },
  )
  const feed = (chunk: Buffer): void => {
    try {
      reader.push(chunk)
    } catch {
      socket.destroy()
    }
  }
  // `ours` keeps reading whatever the HTTP/2 session writes, even once the
  // client has gone (it is dropped then): a write of the session's that
  // nobody reads never completes, and Node's JS stream socket under the
  // session fails an internal assertion (an uncaught exception) on its next
  // write, such as the GOAWAY of a closing server. So the client's going
  // away only ends the session's input, and `ours` goes when the session's
  // side has closed.
  ours.on("data", (chunk: Buffer) => {
    if (!socket.destroyed) socket.write(chunk)
  })
  openRewrites++
  ours.on("close", () => {
    openRewrites--
    socket.destroy()
  })
  ours.on("error", () => socket.destroy())
  theirs.on("close", () => ours.destroy())
  const endInput = () => {
    if (!ours.writableEnded) ours.end()
  }
  socket.on("close", endInput)
  socket.on("end", endInput)
  inject(theirs)
  feed(already)
  socket.on("data", feed)
  socket.resume()
}
