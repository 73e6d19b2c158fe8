// How a Raft node exchanges messages: an in-memory network for tests (seeded
// loss, delay, duplication, reordering, partitions) or TCP between processes.
import { Context, Effect, Layer, type Scope } from "effect"
import { nextRng, seedRng } from "../core/rng.ts"
import type { Message, NodeId } from "../core/types.ts"
import {
  make as makeTcp,
  RaftTcpTransport,
  type TcpTransportError,
  type TcpTransportOptions,
} from "../transport/tcp.ts"

const fromTcp = (t: RaftTcpTransport["Service"]): Transport["Service"] =>
  Transport.of({
    send: (m) => t.unsafe.send(m),
    listen: t.listen,
    flush: () => t.unsafe.flushScheduled(),
  })

/** Where a transport hands what arrives for its node. */
export interface Receiver {
  /** A message addressed to this node (per peer, in the order it was sent). */
  readonly onMessage: (message: Message) => void
  /** A peer found unreachable (fed to the core as ReportUnreachable). */
  readonly onUnreachable: (node: NodeId) => void
  /**
   * Optional: the messages of one read were all handed over (TCP calls it
   * after each socket read), so they can be stepped now rather than in a
   * microtask, still together.
   */
  readonly onReadEnd?: () => void
}

/**
 * How a Raft node exchanges messages. Both directions are plain callbacks:
 * every message crosses them, so they allocate nothing beyond the message.
 */
export class Transport extends Context.Service<
  Transport,
  {
    /** Queues `message` for `message.to` and returns at once; never fails (Raft tolerates loss). */
    readonly send: (message: Message) => void
    /** Hands this node's messages to `receiver` for the Scope's lifetime (one receiver at a time). */
    readonly listen: (receiver: Receiver) => Effect.Effect<void, never, Scope.Scope>
    /**
     * Sends what `send` queued now rather than later in the turn (where a
     * transport batches): a node calls it for the messages that waited for a
     * write (a follower's acknowledgement), so they leave before the state
     * machine runs. Optional: without it they leave when the transport would.
     */
    readonly flush?: () => void
  }
>()("@flotilla/raft/runtime/Transport") {
  /** This node's endpoint `id` on an in-memory `network`. */
  static readonly layerMemory = (network: MemoryNetwork, id: NodeId): Layer.Layer<Transport> =>
    Layer.effect(Transport, network.endpoint(id))

  /** Adapts a provided RaftTcpTransport (keep it to learn its `address` or call `setPeer`). */
  static readonly layerFromTcp: Layer.Layer<Transport, never, RaftTcpTransport> = Layer.effect(
    Transport,
    Effect.map(Effect.service(RaftTcpTransport), fromTcp),
  )

  /** TCP (`src/transport/tcp.ts`): listens for the layer's lifetime. */
  static readonly layerTcp = (
    options: TcpTransportOptions,
  ): Layer.Layer<Transport, TcpTransportError> =>
    Layer.effect(Transport, Effect.map(makeTcp(options), fromTcp))
}

export interface MemoryNetworkOptions {
  readonly seed?: number
  /** Probability a message is lost. */
  readonly dropRate?: number
  /** Probability a message is delivered twice. */
  readonly duplicateRate?: number
  /** Delivery delay, uniform in [minDelayMs, maxDelayMs]; 0 delivers at once and in order. */
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
}

/**
 * Endpoints that deliver to each other in memory. Faults come from a seeded
 * PRNG; delays use the Effect clock (a TestClock in tests), so messages with
 * different delays reorder.
 */
export class MemoryNetwork {
  private readonly receivers = new Map<NodeId, Receiver>()
  private readonly isolated = new Set<NodeId>()
  private groupOf: Map<NodeId, number> | null = null
  private lose: ((m: Message) => boolean) | null = null
  private rng: number
  options: Required<MemoryNetworkOptions>
  sent = 0
  delivered = 0
  dropped = 0

  constructor(options: MemoryNetworkOptions = {}) {
    this.options = {
      seed: 1,
      dropRate: 0,
      duplicateRate: 0,
      minDelayMs: 0,
      maxDelayMs: 0,
      ...options,
    }
    this.rng = seedRng(this.options.seed, "memory-network")
  }

  private random(): number {
    this.rng = nextRng(this.rng)
    return this.rng / 0x1_0000_0000
  }

  /** Changes the fault model (e.g. heal an unreliable network). */
  setFaults(options: Omit<MemoryNetworkOptions, "seed">): void {
    this.options = { ...this.options, ...options }
  }

  /** Loses every message `lose` accepts (`null`: none), e.g. one message type. */
  setLoss(lose: ((m: Message) => boolean) | null): void {
    this.lose = lose
  }

  /** Cuts `id` off from everyone. */
  isolate(id: NodeId): void {
    this.isolated.add(id)
  }

  reconnect(id: NodeId): void {
    this.isolated.delete(id)
  }

  /** Only nodes in the same group talk; `null` heals. */
  partition(groups: ReadonlyArray<ReadonlyArray<NodeId>> | null): void {
    if (groups === null) {
      this.groupOf = null
      return
    }
    const m = new Map<NodeId, number>()
    groups.forEach((g, i) => {
      for (const id of g) m.set(id, i)
    })
    this.groupOf = m
  }

  private linkUp(from: NodeId, to: NodeId): boolean {
    if (this.isolated.has(from) || this.isolated.has(to)) return false
    if (this.groupOf === null) return true
    const a = this.groupOf.get(from)
    return a !== undefined && a === this.groupOf.get(to)
  }

  private deliver(m: Message): void {
    const receiver = this.receivers.get(m.to)
    if (receiver === undefined || !this.linkUp(m.from, m.to)) {
      this.dropped++
      return
    }
    this.delivered++
    receiver.onMessage(m)
  }

  /**
   * Sends `m`: lost, duplicated or delayed as the options say. Delays run on
   * the Effect clock of `fork` (a TestClock in tests), so messages with
   * different delays reorder; without delay the receiver gets it at once.
   */
  private send(m: Message, fork: (e: Effect.Effect<void>) => void): void {
    this.sent++
    if (
      !this.linkUp(m.from, m.to) ||
      this.random() < this.options.dropRate ||
      this.lose?.(m) === true
    ) {
      this.dropped++
      return
    }
    const copies = this.random() < this.options.duplicateRate ? 2 : 1
    const { minDelayMs, maxDelayMs } = this.options
    for (let c = 0; c < copies; c++) {
      const delay = minDelayMs + this.random() * (maxDelayMs - minDelayMs)
      if (delay <= 0) this.deliver(m)
      else
        fork(
          Effect.andThen(
            Effect.sleep(delay),
            Effect.sync(() => this.deliver(m)),
          ),
        )
    }
  }

  /** The endpoint of `id`, registered for the current Scope. */
  endpoint(id: NodeId): Effect.Effect<Transport["Service"], never, Scope.Scope> {
    const network = this
    return Effect.gen(function* () {
      const context = yield* Effect.context<never>()
      const runFork = Effect.runForkWith(context)
      const fork = (e: Effect.Effect<void>): void => {
        runFork(e)
      }
      return Transport.of({
        send: (m) => network.send(m, fork),
        listen: (receiver) =>
          Effect.acquireRelease(
            Effect.sync(() => network.receivers.set(id, receiver)),
            () =>
              Effect.sync(() => {
                if (network.receivers.get(id) === receiver) network.receivers.delete(id)
              }),
          ),
      })
    })
  }
}
