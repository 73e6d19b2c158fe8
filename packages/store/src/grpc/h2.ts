// gRPC over Node's HTTP/2, server side, without @grpc/grpc-js: what etcd's v3
// API needs (unary calls and bidirectional streams, identity encoding), so a
// request costs an HTTP/2 stream and two protobuf codecs and nothing more.
//
// Wire format (grpc/PROTOCOL-HTTP2.md): request headers with :path
// /package.Service/Method and content-type application/grpc; messages framed
// as a compressed flag, a big-endian u32 length and the bytes; the response
// is headers (:status 200, content-type), messages, then trailers with
// grpc-status (and grpc-message, percent-encoded). An error before any message
// is a "Trailers-Only" response: one header block that ends the stream.
import * as http2 from "node:http2"
import { GrpcCode } from "../core/errors.ts"

export interface GrpcStatus {
  readonly code: number
  readonly message: string
}

/**
 * Completes a call of one request message: a framed message (status OK) or
 * an error status. Frames from an iterable answer a server-streaming call
 * (Snapshot): they are taken one at a time as HTTP/2 flow control lets them
 * out, so a large answer is not made and buffered all at once.
 */
export type UnaryReply = (
  error: GrpcStatus | null,
  frame?: Uint8Array | Iterable<Uint8Array>,
) => void

export interface UnaryMethod {
  readonly kind: "unary"
  /** Handles one request message; returns a canceller for a client that goes away. */
  readonly call: (message: Uint8Array, reply: UnaryReply) => (() => void) | undefined
}

export interface BidiCall {
  /** One request message, in arrival order; a status ends the stream with it. */
  readonly message: (message: Uint8Array) => GrpcStatus | undefined
  /** The client half-closed, cancelled, or the connection broke. */
  readonly close: () => void
}

export interface BidiMethod {
  readonly kind: "bidi"
  /** Opens a stream: `send` writes a framed message, `end` finishes with a status. */
  readonly open: (send: (frame: Uint8Array) => void, end: (status: GrpcStatus) => void) => BidiCall
}

export type GrpcMethod = UnaryMethod | BidiMethod

/** percent-encoding of grpc-message: bytes outside printable ASCII, and '%'. */
export const encodeGrpcMessage = (message: string): string => {
  let out = ""
  for (const b of new TextEncoder().encode(message)) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/**
 * Runs a write to a stream the client may have reset or whose session may be
 * gone meanwhile: Node then throws, and the answer has nobody to go to.
 */
const guarded = (stream: http2.ServerHttp2Stream, write: () => void): void => {
  if (stream.destroyed || stream.closed) return
  try {
    write()
  } catch {
    stream.destroy()
  }
}

const trailersOnly = (stream: http2.ServerHttp2Stream, status: GrpcStatus): void =>
  guarded(stream, () => {
    if (stream.headersSent) {
      endWithTrailers(stream, status)
      return
    }
    stream.respond(
      {
        ":status": 200,
        "content-type": "application/grpc",
        "grpc-status": String(status.code),
        "grpc-message": encodeGrpcMessage(status.message),
      },
      { endStream: true },
    )
  })

const endWithTrailers = (stream: http2.ServerHttp2Stream, status: GrpcStatus): void =>
  guarded(stream, () => {
    const trailers: http2.OutgoingHttpHeaders = { "grpc-status": String(status.code) }
    if (status.code !== 0) trailers["grpc-message"] = encodeGrpcMessage(status.message)
    stream.once("wantTrailers", () => guarded(stream, () => stream.sendTrailers(trailers)))
    stream.end()
  })

const RESPONSE_HEADERS = { ":status": 200, "content-type": "application/grpc" } as const

/**
 * Writes `frames` to `stream`, waiting for 'drain' whenever the stream's
 * buffer is full, then ends it (status OK in the trailers). A frame that
 * cannot be made ends the stream with INTERNAL. Stops when the client goes.
 */
const pump = (stream: http2.ServerHttp2Stream, frames: Iterator<Uint8Array>): void => {
  const more = (): void => {
    for (;;) {
      if (stream.destroyed || stream.closed) return
      let next: IteratorResult<Uint8Array>
      try {
        next = frames.next()
      } catch (e) {
        const trailers = {
          "grpc-status": String(GrpcCode.INTERNAL),
          "grpc-message": encodeGrpcMessage(`etcdserver: ${String(e)}`),
        }
        stream.removeAllListeners("wantTrailers")
        stream.once("wantTrailers", () => guarded(stream, () => stream.sendTrailers(trailers)))
        guarded(stream, () => stream.end())
        return
      }
      if (next.done === true) {
        guarded(stream, () => stream.end())
        return
      }
      let flowing = true
      guarded(stream, () => {
        flowing = stream.write(next.value)
      })
      if (!flowing) {
        stream.once("drain", more)
        return
      }
    }
  }
  more()
}

/** What a handler threw as the status to answer with: a status, or INTERNAL for anything else. */
const asStatus = (e: unknown): GrpcStatus => {
  const s = e as Partial<GrpcStatus> | null
  return typeof s?.code === "number" && typeof s.message === "string"
    ? { code: s.code, message: s.message }
    : { code: GrpcCode.INTERNAL, message: `grpc: ${String(e)}` }
}

/** grpc-timeout's units (PROTOCOL-HTTP2.md), in milliseconds. */
const TIMEOUT_UNITS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
}

/** A grpc-timeout in milliseconds (at most 8 digits and a unit), or undefined when malformed. */
export const parseGrpcTimeout = (value: string): number | undefined => {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value)
  return m === null ? undefined : Number(m[1]) * TIMEOUT_UNITS[m[2]!]!
}

/** The client's deadline passed: etcd's (context.DeadlineExceeded) answer. */
const DEADLINE_EXCEEDED: GrpcStatus = {
  code: GrpcCode.DEADLINE_EXCEEDED,
  message: "context deadline exceeded",
}

/** gRPC's content types: application/grpc, alone or with +format or ;parameters. */
const isGrpcContentType = (type: string): boolean =>
  type.startsWith("application/grpc") &&
  (type.length === 16 || type[16] === "+" || type[16] === ";")

/** Splits a stream's DATA into gRPC messages. */
class MessageReader {
  private chunks: Buffer[] = []
  private buffered = 0
  private readonly max: number

  constructor(max: number) {
    this.max = max
  }

  /** Complete messages in `chunk` (and before it); throws a status on a bad or oversized one. */
  push(chunk: Buffer, out: (message: Uint8Array) => void): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    for (;;) {
      if (this.buffered < 5) return
      const head = this.peek(5)
      const length = head.readUInt32BE(1)
      // No grpc-encoding is accepted (the stream is refused first), so a
      // message can only be uncompressed (grpc-go's words for the rest).
      if (head[0] === 1) {
        throw {
          code: GrpcCode.INTERNAL,
          message: "grpc: compressed flag set with identity or empty encoding",
        }
      }
      if (head[0] !== 0) {
        throw {
          code: GrpcCode.INTERNAL,
          message: `grpc: received unexpected payload format ${head[0]}`,
        }
      }
      if (length > this.max) {
        throw {
          code: GrpcCode.RESOURCE_EXHAUSTED,
          message: `grpc: received message larger than max (${length} vs. ${this.max})`,
        }
      }
      if (this.buffered < 5 + length) return
      this.take(5)
      out(this.take(length))
    }
  }

  /** Why the stream's end came too early: bytes of an incomplete message, or none at all. */
  incomplete(): string {
    if (this.buffered === 0) return "grpc: no request message"
    if (this.buffered < 5) return `grpc: truncated message: ${this.buffered} of 5 prefix bytes`
    const length = this.peek(5).readUInt32BE(1)
    return `grpc: truncated message: ${this.buffered - 5} of ${length} bytes`
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!
    if (first.length >= n) return first
    const all = Buffer.concat(this.chunks)
    this.chunks = [all]
    return all
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0)
    const first = this.peek(n)
    const out = first.subarray(0, n)
    if (first.length === n) this.chunks.shift()
    else this.chunks[0] = first.subarray(n)
    this.buffered -= n
    return out
  }
}

/** Told of every call of a known method: its start and its end (for metrics). */
export interface GrpcCallObserver {
  readonly started: (path: string, kind: GrpcMethod["kind"]) => void
  /** The call ended with `code` (CANCELLED when the client went away before an answer). */
  readonly handled: (path: string, kind: GrpcMethod["kind"], code: number) => void
}

export interface GrpcServerOptions {
  /** Largest request message accepted. */
  readonly maxReceiveBytes: number
  readonly observer?: GrpcCallObserver
}

/** An HTTP/2 server (fed connections by its owner) answering the given methods by :path. */
export const makeGrpcServer = (
  methods: ReadonlyMap<string, GrpcMethod>,
  options: GrpcServerOptions,
): http2.Http2Server => {
  const server = http2.createServer({ maxSessionMemory: 256 })
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined)
    const path = headers[":path"] ?? ""
    const method = methods.get(path)
    const type = headers["content-type"] ?? ""
    if (!isGrpcContentType(type)) {
      stream.respond({ ":status": 415 }, { endStream: true })
      return
    }
    if (method === undefined) {
      trailersOnly(stream, { code: GrpcCode.UNIMPLEMENTED, message: `unknown method ${path}` })
      return
    }
    const encoding = headers["grpc-encoding"]
    if (encoding !== undefined && encoding !== "identity") {
      trailersOnly(stream, {
        code: GrpcCode.UNIMPLEMENTED,
        message: `grpc: Decompressor is not installed for grpc-encoding "${encoding}"`,
      })
      return
    }
    const header = headers["grpc-timeout"]
    const timeout = Array.isArray(header) ? header.join(",") : header
    const deadline = timeout === undefined ? undefined : parseGrpcTimeout(timeout)
    if (timeout !== undefined && deadline === undefined) {
      trailersOnly(stream, {
        code: GrpcCode.INTERNAL,
        message: `grpc: malformed grpc-timeout: ${timeout}`,
      })
      return
    }
    const reader = new MessageReader(options.maxReceiveBytes)
    const observer = options.observer
    observer?.started(path, method.kind)
    let ended = false
    const onEnd = (code: number): void => {
      if (ended) return
      ended = true
      observer?.handled(path, method.kind, code)
    }
    if (method.kind === "unary") serveUnary(stream, method, reader, deadline, onEnd)
    else serveBidi(stream, method, reader, deadline, onEnd)
  })
  return server
}

/**
 * Runs `expire` when the client's deadline (milliseconds from now) passes;
 * returns the canceller. The timer does not keep the process alive.
 */
const onDeadline = (deadline: number | undefined, expire: () => void): (() => void) => {
  if (deadline === undefined) return () => undefined
  // Under a millisecond (timers' grain) counts as passed already: answered before any work.
  if (deadline < 1) {
    queueMicrotask(expire)
    return () => undefined
  }
  const timer = setTimeout(expire, deadline)
  timer.unref()
  return () => clearTimeout(timer)
}

const serveUnary = (
  stream: http2.ServerHttp2Stream,
  method: UnaryMethod,
  reader: MessageReader,
  deadline: number | undefined,
  onEnd: (code: number) => void,
): void => {
  let started = false
  let cancel: (() => void) | undefined
  let done = false
  // The deadline passed: the call is interrupted (a write may still have been
  // applied, as with etcd) and the client told so.
  const stopTimer = onDeadline(deadline, () => {
    cancel?.()
    reply(DEADLINE_EXCEEDED, undefined)
  })
  const reply: UnaryReply = (error, frame) => {
    if (done) return
    done = true
    onEnd(error === null ? 0 : error.code)
    stopTimer()
    if (stream.destroyed || stream.closed) return
    if (error !== null) {
      trailersOnly(stream, error)
      return
    }
    guarded(stream, () => {
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true })
      stream.once("wantTrailers", () =>
        guarded(stream, () => stream.sendTrailers({ "grpc-status": "0" })),
      )
      if (frame === undefined || frame instanceof Uint8Array) stream.end(frame)
      else pump(stream, frame[Symbol.iterator]())
    })
  }
  const start = (message: Uint8Array): void => {
    // Nothing runs once answered (refused, or past its deadline).
    if (started || done) return
    started = true
    cancel = method.call(message, reply)
  }
  stream.on("data", (chunk: Buffer) => {
    try {
      reader.push(chunk, start)
    } catch (e) {
      reply(asStatus(e), undefined)
    }
  })
  stream.on("end", () => {
    if (!started) reply({ code: GrpcCode.INTERNAL, message: reader.incomplete() }, undefined)
  })
  stream.on("close", () => {
    if (!done) {
      done = true
      onEnd(GrpcCode.CANCELLED)
      stopTimer()
      cancel?.()
    }
  })
}

const serveBidi = (
  stream: http2.ServerHttp2Stream,
  method: BidiMethod,
  reader: MessageReader,
  deadline: number | undefined,
  onEnd: (code: number) => void,
): void => {
  let finished = false
  const send = (frame: Uint8Array): void => {
    if (finished) return
    guarded(stream, () => {
      if (!stream.headersSent) stream.respond(RESPONSE_HEADERS, { waitForTrailers: true })
      stream.write(frame)
    })
  }
  const end = (status: GrpcStatus): void => {
    if (finished) return
    finished = true
    onEnd(status.code)
    if (stream.headersSent) endWithTrailers(stream, status)
    else trailersOnly(stream, status)
  }
  const call = method.open(send, end)
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    stopTimer()
    call.close()
  }
  const stopTimer = onDeadline(deadline, () => {
    end(DEADLINE_EXCEEDED)
    close()
  })
  const message = (m: Uint8Array): void => {
    const refused = call.message(m)
    if (refused !== undefined) throw refused
  }
  stream.on("data", (chunk: Buffer) => {
    if (closed) return
    try {
      reader.push(chunk, message)
    } catch (e) {
      end(asStatus(e))
      close()
    }
  })
  // The client half-closed: no more requests; the server ends the stream too.
  stream.on("end", () => {
    close()
    end({ code: 0, message: "" })
  })
  stream.on("close", () => {
    // Gone before the stream was ended: the client cancelled.
    if (!finished) onEnd(GrpcCode.CANCELLED)
    close()
  })
}
