// How a Raft node exchanges messages: an in-memory network for tests (seeded
// loss, delay, duplication, reordering, partitions) or TCP between processes.
import { Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import { nextRng, seedRng } from "../core/rng.ts"
import type { Message, NodeId } from "../core/types.ts"
import {
  make as makeTcp,
  RaftTcpTransport,
  type TcpTransportError,
  type TcpTransportOptions,
} from "../transport/tcp.ts"

export class Transport extends Context.Service<
  Transport,
  {
    /** Sends a message to `message.to`; never fails (Raft tolerates loss). */
    readonly send: (message: Message) => Effect.Effect<void>
    /** Messages addressed to this node. Consumed by one fiber (the node's). */
    readonly incoming: Stream.Stream<Message>
    /** Peers found unreachable (fed to the core as ReportUnreachable). */
    readonly unreachable: Stream.Stream<NodeId>
  }
>()("@flotilla/raft/runtime/Transport") {
  /** This node's endpoint `id` on an in-memory `network`. */
  static readonly layerMemory = (network: MemoryNetwork, id: NodeId): Layer.Layer<Transport> =>
    Layer.effect(Transport, network.endpoint(id))

  /** Adapts a provided RaftTcpTransport (keep it to learn its `address` or call `setPeer`). */
  static readonly layerFromTcp: Layer.Layer<Transport, never, RaftTcpTransport> = Layer.effect(
    Transport,
    Effect.map(Effect.service(RaftTcpTransport), (t) =>
      Transport.of({ send: t.send, incoming: t.incoming, unreachable: t.unreachable }),
    ),
  )

  /** TCP (`src/transport/tcp.ts`): listens for the layer's lifetime. */
  static readonly layerTcp = (
    options: TcpTransportOptions,
  ): Layer.Layer<Transport, TcpTransportError> =>
    Layer.effect(
      Transport,
      Effect.map(makeTcp(options), (t) =>
        Transport.of({ send: t.send, incoming: t.incoming, unreachable: t.unreachable }),
      ),
    )
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
  private readonly inboxes = new Map<NodeId, Queue.Queue<Message>>()
  private readonly isolated = new Set<NodeId>()
  private groupOf: Map<NodeId, number> | null = null
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
    const inbox = this.inboxes.get(m.to)
    if (inbox === undefined || !this.linkUp(m.from, m.to)) {
      this.dropped++
      return
    }
    this.delivered++
    Queue.offerUnsafe(inbox, m)
  }

  send(m: Message): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.sent++
      if (!this.linkUp(m.from, m.to) || this.random() < this.options.dropRate) {
        this.dropped++
        return Effect.void
      }
      const copies = this.random() < this.options.duplicateRate ? 2 : 1
      const { minDelayMs, maxDelayMs } = this.options
      const later: Effect.Effect<unknown>[] = []
      for (let c = 0; c < copies; c++) {
        const delay = minDelayMs + this.random() * (maxDelayMs - minDelayMs)
        if (delay <= 0) this.deliver(m)
        else
          later.push(
            Effect.forkDetach(
              Effect.sleep(delay).pipe(Effect.andThen(Effect.sync(() => this.deliver(m)))),
            ),
          )
      }
      return later.length === 0 ? Effect.void : Effect.asVoid(Effect.all(later))
    })
  }

  /** The endpoint of `id`, registered for the current Scope. */
  endpoint(id: NodeId): Effect.Effect<Transport["Service"], never, Scope.Scope> {
    const network = this
    return Effect.gen(function* () {
      const inbox = yield* Effect.acquireRelease(Queue.unbounded<Message>(), (q) =>
        Effect.sync(() => {
          if (network.inboxes.get(id) === q) network.inboxes.delete(id)
        }).pipe(Effect.andThen(Queue.shutdown(q))),
      )
      network.inboxes.set(id, inbox)
      return Transport.of({
        send: (m) => network.send(m),
        incoming: Stream.fromQueue(inbox),
        unreachable: Stream.empty,
      })
    })
  }
}
