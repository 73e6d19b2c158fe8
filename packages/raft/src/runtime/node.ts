// The Effect runtime around the pure core: one Raft member as a service.
//
// Four fibers share the node, scoped to its layer:
// - the driver owns the core state: it takes every queued input at once
//   (messages, ticks, acknowledgements, client requests; client proposals are
//   batched into one Propose), steps the core, sends messages, and hands writes
//   and applies to the two fibers below;
// - the writer makes batches of writes durable (one sync per batch, group
//   commit), then sends the messages that waited for them and acknowledges;
// - the applier hands committed entries to the state machine, resolves the
//   proposals and reads waiting for them, publishes them on `applied`, and
//   pulls a snapshot from the state machine every `snapshotEvery` entries;
// - a ticker turns the clock into Tick inputs; transport streams feed the driver.
import { Cause, Context, Deferred, Effect, Layer, PubSub, Queue, Schema, Stream } from "effect"
import { createNode, RaftInputError, type Status, status as statusOf, step } from "../core/raft.ts"
import type { RaftState } from "../core/state.ts"
import type {
  Command,
  ConfChange,
  Entry,
  Input,
  Message,
  NodeId,
  Persist,
  Proposal,
  RaftOptions,
  Snapshot,
} from "../core/types.ts"
import {
  Dropped,
  NotLeader,
  RaftConfigError,
  type RequestError,
  Stopped,
  type StorageFailure,
} from "./errors.ts"
import { StateMachine } from "./state-machine.ts"
import { LogStorage } from "./storage.ts"
import { Transport } from "./transport.ts"

/** Options of the runtime; `raft` holds the core's (ticks, limits, pre-vote, ...). */
export const RaftNodeOptions = Schema.Struct({
  /** This member's id. */
  id: Schema.NonEmptyString,
  /** Milliseconds per core tick (election and heartbeat timeouts are counted in ticks). */
  tickMs: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  /** Entries applied between two snapshots pulled from the state machine. */
  snapshotEvery: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
})
export type RaftNodeOptions = typeof RaftNodeOptions.Type & {
  readonly raft?: Partial<Omit<RaftOptions, "id">>
}

/** What the state machine was handed, as published on `applied`. */
export type Applied =
  | { readonly type: "Entries"; readonly entries: ReadonlyArray<Entry> }
  | { readonly type: "Snapshot"; readonly snapshot: Snapshot }

export class RaftNode extends Context.Service<
  RaftNode,
  {
    readonly id: NodeId
    /** Appends `data` through the leader; succeeds with its index once applied here. */
    readonly propose: (data: Uint8Array) => Effect.Effect<number, RequestError>
    /** Proposes a membership change; succeeds with its index once applied here. */
    readonly changeMembership: (change: ConfChange) => Effect.Effect<number, RequestError>
    /** A linearizable read point: succeeds with an index once applied here (read the state machine then). */
    readonly readIndex: Effect.Effect<number, RequestError>
    readonly status: Effect.Effect<Status>
    /** Hands leadership to `to`; succeeds once this node sees `to` lead. */
    readonly transferLeadership: (to: NodeId) => Effect.Effect<void, RequestError>
    /** Starts an election now. */
    readonly campaign: Effect.Effect<void, Stopped>
    /** Everything handed to the state machine from now on. */
    readonly applied: Stream.Stream<Applied>
  }
>()("@flotilla/raft/runtime/RaftNode") {
  /** A member for the layer's lifetime, over the provided storage, transport and state machine. */
  static readonly layer = (
    options: RaftNodeOptions,
  ): Layer.Layer<
    RaftNode,
    RaftConfigError | StorageFailure,
    LogStorage | Transport | StateMachine
  > => Layer.effect(RaftNode, make(options))
}

type Event =
  | { readonly kind: "input"; readonly input: Input }
  | {
      readonly kind: "propose"
      readonly proposal: Proposal
      readonly done: Deferred.Deferred<number, RequestError>
    }
  | { readonly kind: "read"; readonly done: Deferred.Deferred<number, RequestError> }
  | {
      readonly kind: "transfer"
      readonly to: NodeId
      readonly done: Deferred.Deferred<void, RequestError>
    }

type ApplyItem = Extract<Command, { type: "Apply" | "ApplySnapshot" }>

const succeed = <A>(d: Deferred.Deferred<A, RequestError>, a: A): void => {
  Deferred.doneUnsafe(d, Effect.succeed(a))
}
const fail = <A>(d: Deferred.Deferred<A, RequestError>, e: RequestError): void => {
  Deferred.doneUnsafe(d, Effect.fail(e))
}

/** Terms of recently applied entries, so late-registered proposals can still be matched. */
const RECENT_TERMS = 65_536

export const make = Effect.fnUntraced(function* (options: RaftNodeOptions) {
  const o = yield* Schema.decodeUnknownEffect(RaftNodeOptions)(options).pipe(
    Effect.mapError((e) => new RaftConfigError({ field: "options", reason: e.message })),
  )
  const tickMs = o.tickMs ?? 100
  const snapshotEvery = o.snapshotEvery ?? 10_000
  const storage = yield* LogStorage
  const transport = yield* Transport
  const sm = yield* StateMachine
  const durable = yield* storage.load
  const smIndex = yield* sm.appliedIndex
  const s: RaftState = yield* Effect.try({
    try: () =>
      createNode(
        { ...(options.raft ?? {}), id: o.id },
        durable,
        Math.min(smIndex, durable.snapshot.index + durable.entries.length),
      ),
    catch: (e) =>
      e instanceof RaftInputError
        ? new RaftConfigError({ field: e.field, reason: e.reason })
        : new RaftConfigError({ field: "raft", reason: String(e) }),
  })

  const mailbox = yield* Queue.unbounded<Event>()
  const writes = yield* Queue.unbounded<Persist>()
  const applies = yield* Queue.unbounded<ApplyItem>()
  const published = yield* PubSub.unbounded<Applied>()

  let stopped: Stopped | null = null
  let nextId = 0
  /** Proposals waiting for the leader to place them, by proposal id. */
  const placing = new Map<number, Deferred.Deferred<number, RequestError>>()
  /** Placed proposals waiting to be applied, by index. */
  const applying = new Map<
    number,
    { term: number; done: Deferred.Deferred<number, RequestError> }
  >()
  /** ReadIndex requests waiting for the read index, by context. */
  const reading = new Map<number, Deferred.Deferred<number, RequestError>>()
  /** Reads whose index is known, waiting for it to be applied (ascending index). */
  const readsWaiting: { index: number; done: Deferred.Deferred<number, RequestError> }[] = []
  const transfers: { to: NodeId; done: Deferred.Deferred<void, RequestError> }[] = []
  const recentTerms = new Map<number, number>()
  let appliedIndex = 0
  let lastSnapshotIndex = durable.snapshot.index

  const stop = (reason: string): void => {
    if (stopped !== null) return
    stopped = new Stopped({ reason })
    const err = stopped
    for (const d of placing.values()) fail(d, err)
    for (const x of applying.values()) fail(x.done, err)
    for (const d of reading.values()) fail(d, err)
    for (const r of readsWaiting) fail(r.done, err)
    for (const t of transfers) fail(t.done, err)
    placing.clear()
    applying.clear()
    reading.clear()
    readsWaiting.length = 0
    transfers.length = 0
  }

  /** A proposal placed at (index, term): resolve it now if already applied, else wait. */
  const placed = (
    done: Deferred.Deferred<number, RequestError>,
    index: number,
    term: number,
  ): void => {
    if (index <= appliedIndex) {
      const t = recentTerms.get(index)
      if (t === term) succeed(done, index)
      else
        fail(
          done,
          new Dropped({
            reason:
              t === undefined ? "outcome unknown (compacted)" : "overwritten by a later leader",
          }),
        )
      return
    }
    applying.set(index, { term, done })
  }

  // -------------------------------------------------------------------------
  // Driver

  const outgoing: Message[] = []
  const handle = (cmds: ReadonlyArray<Command>): void => {
    for (const c of cmds) {
      switch (c.type) {
        case "Send":
          outgoing.push(c.message)
          break
        case "Persist":
          Queue.offerUnsafe(writes, c)
          break
        case "Apply":
        case "ApplySnapshot":
          Queue.offerUnsafe(applies, c)
          break
        case "ProposalAccepted": {
          const d = placing.get(c.id)
          if (d !== undefined) {
            placing.delete(c.id)
            placed(d, c.index, c.term)
          }
          break
        }
        case "ProposalDropped": {
          const d = placing.get(c.id)
          if (d !== undefined) {
            placing.delete(c.id)
            fail(
              d,
              c.reason === "NotLeader"
                ? new NotLeader({ leaderHint: c.leaderHint })
                : new Dropped({ reason: c.reason }),
            )
          }
          break
        }
        case "ReadReady": {
          const d = reading.get(c.context)
          if (d === undefined) break
          reading.delete(c.context)
          if (c.index <= appliedIndex) succeed(d, c.index)
          else {
            let i = readsWaiting.length
            while (i > 0 && readsWaiting[i - 1]!.index > c.index) i--
            readsWaiting.splice(i, 0, { index: c.index, done: d })
          }
          break
        }
        case "ReadDropped": {
          const d = reading.get(c.context)
          if (d !== undefined) {
            reading.delete(c.context)
            fail(d, new NotLeader({ leaderHint: c.leaderHint }))
          }
          break
        }
      }
    }
  }

  const checkTransfers = (): void => {
    for (let i = transfers.length - 1; i >= 0; i--) {
      const t = transfers[i]!
      if (s.leader === t.to) succeed(t.done, undefined)
      else if (s.role === "Leader" && s.leadTransferee === null)
        fail(t.done, new Dropped({ reason: `transfer to ${t.to} abandoned` }))
      else continue
      transfers.splice(i, 1)
    }
  }

  const driver = Effect.gen(function* () {
    for (;;) {
      const events = yield* Queue.takeAll(mailbox)
      if (stopped !== null) return
      const proposals: Proposal[] = []
      for (const ev of events) {
        switch (ev.kind) {
          case "input":
            handle(step(s, ev.input))
            break
          case "propose":
            placing.set(ev.proposal.id, ev.done)
            proposals.push(ev.proposal)
            break
          case "read": {
            const context = ++nextId
            reading.set(context, ev.done)
            handle(step(s, { type: "ReadIndex", context }))
            break
          }
          case "transfer":
            if (s.role !== "Leader") {
              fail(ev.done, new NotLeader({ leaderHint: s.leader }))
              break
            }
            transfers.push({ to: ev.to, done: ev.done })
            handle(step(s, { type: "TransferLeadership", to: ev.to }))
            break
        }
      }
      // Everything proposed meanwhile goes in as one batch: one append, one write.
      if (proposals.length > 0) handle(step(s, { type: "Propose", proposals }))
      if (transfers.length > 0) checkTransfers()
      if (outgoing.length > 0) {
        const batch = outgoing.splice(0, outgoing.length)
        for (const m of batch) yield* transport.send(m)
      }
    }
  })

  // -------------------------------------------------------------------------
  // Writer

  const writer = Effect.gen(function* () {
    for (;;) {
      const batch = yield* Queue.takeAll(writes)
      yield* storage.persist(batch)
      for (const p of batch) {
        for (const m of p.after) yield* transport.send(m)
        if (p.ack !== null)
          Queue.offerUnsafe(mailbox, { kind: "input", input: { type: "Persisted", ...p.ack } })
      }
    }
  })

  // -------------------------------------------------------------------------
  // Applier

  const applier = Effect.gen(function* () {
    for (;;) {
      const items = yield* Queue.takeAll(applies)
      for (const item of items) {
        if (item.type === "ApplySnapshot") {
          yield* sm.restore(item.snapshot)
          appliedIndex = item.snapshot.index
          lastSnapshotIndex = Math.max(lastSnapshotIndex, item.snapshot.index)
          // Placed proposals the snapshot covers: their fate is unknown here.
          for (const [index, x] of applying)
            if (index <= appliedIndex) {
              applying.delete(index)
              fail(x.done, new Dropped({ reason: "outcome unknown (covered by a snapshot)" }))
            }
          yield* PubSub.publish(published, { type: "Snapshot", snapshot: item.snapshot })
        } else {
          yield* sm.apply(item.entries)
          for (const e of item.entries) {
            appliedIndex = e.index
            recentTerms.set(e.index, e.term)
            recentTerms.delete(e.index - RECENT_TERMS)
            const x = applying.get(e.index)
            if (x !== undefined) {
              applying.delete(e.index)
              if (x.term === e.term) succeed(x.done, e.index)
              else fail(x.done, new Dropped({ reason: "overwritten by a later leader" }))
            }
          }
          yield* PubSub.publish(published, { type: "Entries", entries: item.entries })
        }
        while (readsWaiting.length > 0 && readsWaiting[0]!.index <= appliedIndex)
          succeed(readsWaiting.shift()!.done, appliedIndex)
      }
      if (appliedIndex - lastSnapshotIndex >= snapshotEvery) {
        // The state machine's state so far; the core keeps it and drops the log up to it.
        const snap = yield* sm.snapshot
        lastSnapshotIndex = snap.index
        if (snap.index > 0)
          Queue.offerUnsafe(mailbox, {
            kind: "input",
            input: { type: "Compact", index: snap.index, data: snap.data },
          })
      }
    }
  })

  const ticker = Effect.forever(
    Effect.sleep(tickMs).pipe(
      Effect.andThen(
        Effect.sync(() => Queue.offerUnsafe(mailbox, { kind: "input", input: { type: "Tick" } })),
      ),
    ),
  )
  const receiver = Stream.runForEach(transport.incoming, (m) =>
    Effect.sync(() => {
      Queue.offerUnsafe(mailbox, { kind: "input", input: m })
    }),
  )
  const unreachable = Stream.runForEach(transport.unreachable, (node) =>
    Effect.sync(() => {
      Queue.offerUnsafe(mailbox, { kind: "input", input: { type: "ReportUnreachable", node } })
    }),
  )

  // A storage failure stops the node: it can no longer keep its promises.
  const guard = <E extends { readonly message: string }>(
    name: string,
    e: Effect.Effect<unknown, E>,
  ) => e.pipe(Effect.catch((err: E) => Effect.sync(() => stop(`${name}: ${err.message}`))))

  // A defect (a broken invariant in the core, a state machine that throws)
  // stops the node too, so that no request waits forever.
  const fatal = (name: string, e: Effect.Effect<unknown>) =>
    e.pipe(
      Effect.catchCause((cause) =>
        Effect.sync(() => stop(`${name} failed: ${String(Cause.squash(cause))}`)),
      ),
    )

  yield* Effect.addFinalizer(() => Effect.sync(() => stop("the node's scope closed")))
  yield* Effect.forkScoped(fatal("writer", guard("writer", writer)))
  yield* Effect.forkScoped(fatal("applier", applier))
  yield* Effect.forkScoped(fatal("driver", driver))
  yield* Effect.forkScoped(ticker)
  yield* Effect.forkScoped(receiver)
  yield* Effect.forkScoped(unreachable)
  // A first step with nothing to do (an old acknowledgement, ignored) hands
  // the state machine what is already due: a base snapshot with data, and
  // the committed entries a restarted node replays.
  Queue.offerUnsafe(mailbox, { kind: "input", input: { type: "Persisted", index: 0, term: 0 } })

  const request = <A>(
    make: (done: Deferred.Deferred<A, RequestError>) => Event,
  ): Effect.Effect<A, RequestError> =>
    Effect.suspend(() => {
      if (stopped !== null) return Effect.fail(stopped)
      const done = Deferred.makeUnsafe<A, RequestError>()
      Queue.offerUnsafe(mailbox, make(done))
      return Deferred.await(done)
    })

  return RaftNode.of({
    id: o.id,
    propose: (data) =>
      request<number>((done) => ({
        kind: "propose",
        proposal: { id: ++nextId, type: "Normal", data },
        done,
      })),
    changeMembership: (change) =>
      request<number>((done) => ({
        kind: "propose",
        proposal: { id: ++nextId, type: "ConfChange", change },
        done,
      })),
    readIndex: request<number>((done) => ({ kind: "read", done })),
    status: Effect.sync(() => statusOf(s)),
    transferLeadership: (to) => request<void>((done) => ({ kind: "transfer", to, done })),
    campaign: Effect.suspend(() => {
      if (stopped !== null) return Effect.fail(stopped)
      Queue.offerUnsafe(mailbox, { kind: "input", input: { type: "Campaign" } })
      return Effect.void
    }),
    applied: Stream.fromPubSub(published),
  })
})
