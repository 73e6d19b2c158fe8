// TCP transport between Raft members: length-prefixed binary frames, messages
// batched per peer, reconnect with exponential backoff.
//
// Each node dials one connection to every peer it sends to and accepts the
// peers' connections for what it receives (as etcd's rafthttp streams), so a
// connection carries messages one way and needs no request/response pairing.
// Raft tolerates loss, duplication and reordering across connections, so the
// transport never retries a message: a message queued for a peer that cannot
// be reached waits (bounded) until it reconnects, and a batch lost with a
// broken connection is gone. `onUnreachable` tells the node (the core's
// `ReportUnreachable`) when a connection fails.
//
// `send` is synchronous and cheap: it queues the message and schedules one
// flush per peer in a microtask, so everything a node emits in one step leaves
// in one frame. While a socket is backpressured, messages accumulate and leave
// together on 'drain'.

import * as net from "node:net"
import { Context, Effect, Layer, Queue, Schema, type Scope, Stream } from "effect"
import { clearArray } from "../core/arrays.ts"
import type { Message, NodeId } from "../core/types.ts"
import { coalesceAppends, isEmptyAppend } from "./coalesce.ts"
import { BinaryWriter, encodeWireMessage, RaftCodecError } from "./tcp-codec.ts"
import {
  decodeBatch,
  decodeHello,
  decodeQuery,
  encodeAnswer,
  encodeBatches,
  encodeHello,
  FRAME_QUERY,
  FrameDecoder,
} from "./tcp-frames.ts"
import type { QueryHandler } from "./tcp-query.ts"

export const TcpPeerAddress = Schema.Struct({
  host: Schema.NonEmptyString,
  port: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })),
})
export type TcpPeerAddress = typeof TcpPeerAddress.Type

export const TcpTransportOptions = Schema.Struct({
  /** This node's id: peers' messages must be addressed to it. */
  id: Schema.NonEmptyString,
  /** Address to listen on (default 127.0.0.1) and port (0 picks a free one). */
  host: Schema.optionalKey(Schema.NonEmptyString),
  port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })),
  /** Where to reach each peer; more can be added with `setPeer`. */
  peers: Schema.optionalKey(Schema.Record(Schema.String, TcpPeerAddress)),
  /** Largest frame accepted from a peer (default 64 MiB). */
  maxFrameBytes: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1024, maximum: 2 ** 31 - 1 })),
  ),
  /** Frames are cut after about this many bytes (default 1 MiB). */
  batchBytes: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 64, maximum: 2 ** 30 })),
  ),
  /** Messages kept per unreachable peer; the oldest are dropped beyond it (default 10,000). */
  maxQueuedMessages: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** First reconnect delay; doubles per failure up to `backoffMaxMs` (defaults 20 and 1000). */
  backoffInitialMs: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  backoffMaxMs: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /**
   * Dial every peer at once and redial whenever its connection breaks, with
   * or without something to send (as etcd's members keep streams to each
   * other), so that `connectedSince` knows every peer. Default false: a peer
   * is dialled when there is something to send to it.
   */
  keepConnected: Schema.optionalKey(Schema.Boolean),
})
export type TcpTransportOptions = typeof TcpTransportOptions.Type

/** Listening failed, or the options were invalid. */
export class TcpTransportError extends Schema.TaggedError<TcpTransportError>()(
  "TcpTransportError",
  {
    operation: Schema.String,
    reason: Schema.String,
  },
) {
  override get message(): string {
    return `TCP transport ${this.operation}: ${this.reason}`
  }
}

export interface TcpTransportHandlers {
  /** A message from a peer, addressed to this node (in per-connection order). */
  readonly onMessage: (message: Message) => void
  /** A connection to `peer` failed or broke. */
  readonly onUnreachable?: (peer: NodeId) => void
  /** A peer sent something undecodable (its connection is dropped). */
  readonly onProtocolError?: (error: RaftCodecError, remote: string) => void
  /**
   * The messages of one read from a peer have all been handed to `onMessage`:
   * a receiver that queues them may process them now, together, in this turn.
   */
  readonly onReadEnd?: () => void
}

export interface TcpTransportStats {
  readonly messagesSent: number
  readonly framesSent: number
  readonly messagesReceived: number
  readonly framesReceived: number
  /** Messages dropped: queue overflow, unknown peer, or misaddressed on receipt. */
  readonly dropped: number
  /** Empty AppendEntries not sent because a later one in the same flush said more (see coalesceAppends). */
  readonly coalesced: number
  readonly connects: number
}

interface Counters {
  messagesSent: number
  framesSent: number
  messagesReceived: number
  framesReceived: number
  dropped: number
  coalesced: number
  connects: number
}

/** Outbound side of one peer: a queue, a socket when connected, a backoff timer otherwise. */
class Peer {
  readonly id: NodeId
  address: TcpPeerAddress
  queue: Message[] = []
  /** The other queue: swapped with `queue` at each flush (no array per flush). */
  spare: Message[] = []
  /** `flush` bound to this peer, queued as a microtask. */
  flushSoon: () => void = () => undefined
  /** `flush` bound to this peer, for the end of the turn (only empty AppendEntries queued). */
  flushLater: () => void = () => undefined
  /** A `flushLater` is pending. */
  later = false
  socket: net.Socket | undefined
  connected = false
  /** Wall-clock ms when the current connection was established; undefined while down. */
  connectedAt: number | undefined
  /** Waiting for 'drain' before writing more. */
  blocked = false
  scheduled = false
  timer: NodeJS.Timeout | undefined
  failures = 0
  removed = false

  constructor(id: NodeId, address: TcpPeerAddress) {
    this.id = id
    this.address = address
  }
}

export class TcpTransport {
  readonly id: NodeId
  private readonly server: net.Server
  private readonly handlers: TcpTransportHandlers
  private readonly peers = new Map<NodeId, Peer>()
  private readonly inbound = new Set<net.Socket>()
  private readonly writer = new BinaryWriter(64 * 1024)
  private readonly maxFrameBytes: number
  private readonly batchBytes: number
  private readonly maxQueued: number
  private readonly backoffInitialMs: number
  private readonly backoffMaxMs: number
  private readonly keepConnected: boolean
  private readonly counters: Counters = {
    messagesSent: 0,
    framesSent: 0,
    messagesReceived: 0,
    framesReceived: 0,
    dropped: 0,
    coalesced: 0,
    connects: 0,
  }
  private closed = false
  private queryHandler: QueryHandler | undefined
  /** Per peer, the highest term of a message (not a pre-vote) received from it. */
  private readonly heard = new Map<NodeId, number>()

  private constructor(
    options: TcpTransportOptions,
    server: net.Server,
    handlers: TcpTransportHandlers,
  ) {
    this.id = options.id
    this.server = server
    this.handlers = handlers
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024
    this.batchBytes = options.batchBytes ?? 1024 * 1024
    this.maxQueued = options.maxQueuedMessages ?? 10_000
    this.backoffInitialMs = options.backoffInitialMs ?? 20
    this.backoffMaxMs = Math.max(options.backoffMaxMs ?? 1000, this.backoffInitialMs)
    this.keepConnected = options.keepConnected ?? false
    for (const [id, address] of Object.entries(options.peers ?? {})) this.setPeer(id, address)
  }

  /** Validates the options, listens, and returns the running transport. */
  static async listen(
    options: TcpTransportOptions,
    handlers: TcpTransportHandlers,
  ): Promise<TcpTransport> {
    let opts: TcpTransportOptions
    try {
      opts = Schema.decodeUnknownSync(TcpTransportOptions)(options)
    } catch (e) {
      throw new TcpTransportError({ operation: "options", reason: (e as Error).message })
    }
    const server = net.createServer({ noDelay: true })
    const transport = new TcpTransport(opts, server, handlers)
    server.on("connection", (socket) => transport.accept(socket))
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) =>
        reject(new TcpTransportError({ operation: "listen", reason: e.message }))
      server.once("error", onError)
      server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
        server.off("error", onError)
        resolve()
      })
    })
    return transport
  }

  /** The address the server listens on (with the chosen port when 0 was asked). */
  address(): TcpPeerAddress {
    const a = this.server.address() as net.AddressInfo
    return { host: a.address, port: a.port }
  }

  /** Adds a peer or changes its address (its connection is re-established). */
  setPeer(id: NodeId, address: TcpPeerAddress): void {
    const peer = this.peers.get(id)
    if (peer === undefined) {
      const p = new Peer(id, address)
      p.flushSoon = () => this.flush(p)
      p.flushLater = () => {
        p.later = false
        this.flush(p)
      }
      this.peers.set(id, p)
      if (this.keepConnected) this.connect(p)
      return
    }
    if (peer.address.host === address.host && peer.address.port === address.port) return
    peer.address = address
    peer.socket?.destroy()
  }

  /**
   * Answers peers' queries (see `queryPeer`) with `handler` from now on;
   * undefined stops answering. Until a handler is set, queries are closed
   * unanswered (the asker hears nothing, as from a node that is still starting).
   */
  onQuery(handler: QueryHandler | undefined): void {
    this.queryHandler = handler
  }

  /**
   * The highest term of a Raft message other than a pre-vote (request or
   * response) received from `id` since this transport started; 0 if none.
   * Such a message shows its sender ran with durable state (a term, a vote,
   * entries), which a pre-vote does not.
   */
  heardFrom(id: NodeId): number {
    return this.heard.get(id) ?? 0
  }

  /**
   * When (wall-clock ms, `Date.now()`) this node's current connection to
   * `id` was established; undefined while it is not connected or `id` is not
   * a peer. Complete only with `keepConnected` (otherwise a peer this node
   * never sends to is never dialled).
   */
  connectedSince(id: NodeId): number | undefined {
    return this.peers.get(id)?.connectedAt
  }

  private noteHeard(from: NodeId, term: number): number {
    const max = Math.max(this.heard.get(from) ?? 0, term)
    this.heard.set(from, max)
    return max
  }

  /** Forgets a peer: its queue is dropped and its connection closed. */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id)
    if (peer === undefined) return
    this.peers.delete(id)
    peer.removed = true
    this.counters.dropped += peer.queue.length
    peer.queue = []
    if (peer.timer !== undefined) clearTimeout(peer.timer)
    peer.socket?.destroy()
  }

  /** Queues `message` for `message.to`; it leaves with the next flush. */
  send(message: Message): void {
    const peer = this.peers.get(message.to)
    if (peer === undefined || this.closed) {
      this.counters.dropped++
      return
    }
    peer.queue.push(message)
    if (peer.queue.length > this.maxQueued) {
      // Raft recovers lost messages; keep the newest.
      const excess = peer.queue.length - this.maxQueued
      peer.queue.splice(0, excess)
      this.counters.dropped += excess
    }
    if (peer.connected) {
      if (peer.scheduled || peer.blocked) return
      if (isEmptyAppend(message)) {
        // Only a commitIndex (or a probe): wait for the end of the turn, when a
        // proposal taken meanwhile may have queued an AppendEntries that says more.
        if (!peer.later) {
          peer.later = true
          setImmediate(peer.flushLater)
        }
      } else {
        peer.scheduled = true
        queueMicrotask(peer.flushSoon)
      }
    } else if (peer.socket === undefined && peer.timer === undefined) this.connect(peer)
  }

  /**
   * Writes now what is queued for peers whose flush is scheduled (a
   * microtask away), instead of after the microtasks queued before it. An
   * empty AppendEntries alone still waits for the end of the turn (see `send`).
   */
  flushScheduled(): void {
    for (const peer of this.peers.values()) if (peer.scheduled) this.flush(peer)
  }

  stats(): TcpTransportStats {
    return { ...this.counters }
  }

  /** Stops listening, closes every connection and drops queued messages. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const peer of [...this.peers.keys()]) this.removePeer(peer)
    for (const socket of this.inbound) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private flush(peer: Peer): void {
    peer.scheduled = false
    const socket = peer.socket
    if (!peer.connected || socket === undefined || peer.blocked || peer.queue.length === 0) return
    let queue = peer.queue
    peer.queue = peer.spare
    if (queue.length > 1) this.counters.coalesced += coalesceAppends(queue)
    let frames: Uint8Array[]
    try {
      frames = encodeBatches(queue, 0, queue.length, this.batchBytes, this.writer, bufferOf)
    } catch {
      // A message the codec refuses is a bug in the sender: drop it (loudly)
      // and send the rest.
      queue = queue.filter((m) => {
        try {
          encodeWireMessage(m)
          return true
        } catch (e) {
          this.counters.dropped++
          if (e instanceof RaftCodecError) this.handlers.onProtocolError?.(e, `to ${peer.id}`)
          return false
        }
      })
      frames = encodeBatches(queue, 0, queue.length, this.batchBytes, this.writer, bufferOf)
    }
    // A frame the peer would refuse would only break the connection, again and again.
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i]!
      if (f.length - 4 <= this.maxFrameBytes) continue
      frames.splice(i, 1)
      this.counters.dropped++
      this.handlers.onProtocolError?.(
        new RaftCodecError({
          field: "frame.length",
          reason: `${f.length - 4} bytes exceeds the limit of ${this.maxFrameBytes}`,
          offset: -1,
        }),
        `to ${peer.id}`,
      )
    }
    // The messages are encoded: their array is the next spare.
    const sent = queue.length
    clearArray(queue)
    peer.spare = queue
    if (frames.length === 0) return
    let ok = true
    if (frames.length === 1) ok = socket.write(frames[0]!)
    else {
      socket.cork()
      for (const f of frames) ok = socket.write(f)
      socket.uncork()
    }
    this.counters.framesSent += frames.length
    this.counters.messagesSent += sent
    if (!ok) peer.blocked = true
  }

  private connect(peer: Peer): void {
    if (this.closed || peer.removed) return
    const socket = net.createConnection({
      host: peer.address.host,
      port: peer.address.port,
      noDelay: true,
    })
    peer.socket = socket
    socket.on("connect", () => {
      peer.connected = true
      peer.connectedAt = Date.now()
      peer.failures = 0
      this.counters.connects++
      socket.write(encodeHello(this.id, peer.id))
      this.flush(peer)
    })
    socket.on("drain", () => {
      peer.blocked = false
      this.flush(peer)
    })
    // Nothing is expected from the accepting side; reading keeps 'end' flowing.
    socket.on("data", () => undefined)
    socket.on("error", () => undefined)
    socket.on("close", () => {
      const wasCurrent = peer.socket === socket
      if (!wasCurrent) return
      peer.socket = undefined
      peer.connected = false
      peer.connectedAt = undefined
      peer.blocked = false
      if (this.closed || peer.removed) return
      peer.failures++
      this.handlers.onUnreachable?.(peer.id)
      const delay = Math.min(
        this.backoffMaxMs,
        this.backoffInitialMs * 2 ** Math.min(peer.failures - 1, 30),
      )
      peer.timer = setTimeout(() => {
        peer.timer = undefined
        // Reconnect when there is something to say (`send` dials otherwise), or always
        // with `keepConnected`.
        if (peer.queue.length > 0 || this.keepConnected) this.connect(peer)
      }, delay)
    })
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    this.inbound.add(socket)
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    const decoder = new FrameDecoder(this.maxFrameBytes)
    let from: NodeId | undefined
    /** The highest term noted for `from` (compared per message: one number, no lookup). */
    let heard = 0
    const fail = (e: unknown) => {
      if (e instanceof RaftCodecError) this.handlers.onProtocolError?.(e, remote)
      socket.destroy()
    }
    socket.on("data", (chunk: Buffer) => {
      let payloads: Uint8Array[]
      try {
        payloads = decoder.push(chunk)
      } catch (e) {
        fail(e)
        return
      }
      let delivered = false
      for (let p = 0; p < payloads.length; p++) {
        const payload = payloads[p]!
        try {
          if (from === undefined) {
            if (payload[0] === FRAME_QUERY) {
              this.answer(socket, decodeQuery(payload))
              return
            }
            const hello = decodeHello(payload)
            if (hello.to !== this.id)
              throw new RaftCodecError({
                field: "hello.to",
                reason: `addressed to ${JSON.stringify(hello.to)}, this node is ${JSON.stringify(this.id)}`,
                offset: 0,
              })
            from = hello.from
            heard = this.heard.get(from) ?? 0
            continue
          }
          const messages = decodeBatch(payload)
          this.counters.framesReceived++
          for (let i = 0; i < messages.length; i++) {
            const m = messages[i]!
            // A peer speaks only for itself, and only to us.
            if (m.to !== this.id || m.from !== from) {
              this.counters.dropped++
              continue
            }
            this.counters.messagesReceived++
            if (m.term > heard && !isPreVote(m)) heard = this.noteHeard(from, m.term)
            this.handlers.onMessage(m)
            delivered = true
          }
        } catch (e) {
          fail(e)
          return
        }
      }
      if (delivered) this.handlers.onReadEnd?.()
    })
    socket.on("error", () => undefined)
    socket.on("close", () => this.inbound.delete(socket))
  }

  /** One query, one answer (or none), then the connection closes. */
  private answer(
    socket: net.Socket,
    query: { readonly from: string; readonly to: string; readonly body: Uint8Array },
  ): void {
    socket.removeAllListeners("data")
    let answer: Uint8Array | undefined
    if (query.to === this.id && this.queryHandler !== undefined) {
      try {
        answer = this.queryHandler(query.from, query.body)
      } catch {
        answer = undefined
      }
    }
    if (answer === undefined || answer.length + 1 > this.maxFrameBytes) socket.end()
    else socket.end(encodeAnswer(answer))
  }
}

/**
 * A frame as a Buffer: `socket.write` takes it as it is (a plain Uint8Array
 * is wrapped in a new Buffer on every write), and a small one is carved out
 * of Node's shared pool instead of getting an ArrayBuffer of its own.
 */
const bufferOf = (view: Uint8Array): Uint8Array => {
  const b = Buffer.allocUnsafe(view.length)
  b.set(view)
  return b
}

/** A pre-vote request or response: it changes no state on either side. */
const isPreVote = (m: Message): boolean =>
  (m.type === "RequestVote" || m.type === "RequestVoteResponse") && m.preVote

// ---------------------------------------------------------------------------
// Effect service

export class RaftTcpTransport extends Context.Service<
  RaftTcpTransport,
  {
    readonly address: TcpPeerAddress
    /** Queues a message for its `to` (never fails: Raft tolerates loss). */
    readonly send: (message: Message) => Effect.Effect<void>
    /** Messages from peers, in arrival order. Consume from one fiber. */
    readonly incoming: Stream.Stream<Message>
    /** Peers whose connection failed (feed to the core as ReportUnreachable). */
    readonly unreachable: Stream.Stream<NodeId>
    /**
     * Hands messages and unreachable peers to plain callbacks instead of the
     * streams, for the Scope's lifetime (a Raft node's hot path).
     */
    readonly listen: (receiver: {
      readonly onMessage: (message: Message) => void
      readonly onUnreachable: (peer: NodeId) => void
      readonly onReadEnd?: () => void
    }) => Effect.Effect<void, never, Scope.Scope>
    readonly setPeer: (id: NodeId, address: TcpPeerAddress) => Effect.Effect<void>
    readonly removePeer: (id: NodeId) => Effect.Effect<void>
    /** The plain transport, for hot paths (do not close it: the layer does). */
    readonly unsafe: TcpTransport
  }
>()("@flotilla/raft/transport/RaftTcpTransport") {
  /** Listens for the lifetime of the layer; closing its Scope closes every connection. */
  static readonly layer = (
    options: TcpTransportOptions,
  ): Layer.Layer<RaftTcpTransport, TcpTransportError> =>
    Layer.effect(RaftTcpTransport, make(options))
}

export const make = Effect.fnUntraced(function* (options: TcpTransportOptions) {
  const incoming = yield* Queue.unbounded<Message>()
  const unreachable = yield* Queue.sliding<NodeId>(1024)
  let receiver:
    | {
        readonly onMessage: (message: Message) => void
        readonly onUnreachable: (peer: NodeId) => void
        readonly onReadEnd?: () => void
      }
    | undefined
  const transport = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        TcpTransport.listen(options, {
          onMessage: (m) => {
            if (receiver !== undefined) receiver.onMessage(m)
            else Queue.offerUnsafe(incoming, m)
          },
          onUnreachable: (peer) => {
            if (receiver !== undefined) receiver.onUnreachable(peer)
            else Queue.offerUnsafe(unreachable, peer)
          },
          onReadEnd: () => receiver?.onReadEnd?.(),
        }),
      catch: (e) =>
        e instanceof TcpTransportError
          ? e
          : new TcpTransportError({ operation: "listen", reason: String(e) }),
    }),
    (t) => Effect.promise(() => t.close()),
  )
  return RaftTcpTransport.of({
    address: transport.address(),
    send: (m) => Effect.sync(() => transport.send(m)),
    incoming: Stream.fromQueue(incoming),
    unreachable: Stream.fromQueue(unreachable),
    listen: (r) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          receiver = r
        }),
        () =>
          Effect.sync(() => {
            if (receiver === r) receiver = undefined
          }),
      ),
    setPeer: (id, address) => Effect.sync(() => transport.setPeer(id, address)),
    removePeer: (id) => Effect.sync(() => transport.removePeer(id)),
    unsafe: transport,
  })
})
