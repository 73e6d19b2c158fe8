// The Effect runtime around the pure core: one Raft member as a service.
//
// The hot path is plain TypeScript: every proposal, message and write crosses
// it, so it takes no fiber hop, no queue and no Deferred. One `Runner` owns
// the core state and three loops that share the event loop:
// - the driver: inputs (messages, ticks, acknowledgements, client requests)
//   pile up in an inbox and one microtask steps the core over all of them
//   (client proposals batched into one Propose), sending messages at once;
//   a transport that says when a read is over (`onReadEnd`) has the read's
//   messages stepped right then instead;
// - the writer: the writes a drain produced go to storage as one batch (one
//   sync, group commit); when durable, the messages that waited for them
//   leave (flushed at once) and the acknowledgements go back to the driver;
// - the applier: committed entries reach the state machine in a microtask
//   after the drain (after the transport flushed what the drain sent), which
//   resolves the proposals and reads waiting for them, and every
//   `snapshotEvery` entries it captures a snapshot, encoded beside the apply
//   path, that then compacts the log.
// Effect is the boundary: the service, its layer and scope, a ticker fiber,
// requests as `Effect.callback`, `applied` and `leadership` as Streams.
//
// Requests that wait on another node (a proposal forwarded to the leader, a
// ReadIndex asked of it) fail when the leader or term changes and after
// `requestTicks` ticks without an answer, so a lost message leaks nothing.
import { Context, Effect, Layer, PubSub, Schema, Stream } from "effect"
import { clearArray } from "../core/arrays.ts"
import { createNode, RaftInputError, type Status, status as statusOf, step } from "../core/raft.ts"
import type { RaftState, Role } from "../core/state.ts"
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
  /**
   * Ticks a request waiting on another node (a forwarded proposal, a
   * ReadIndex, a leadership transfer) may wait for its answer (default: the
   * election timeout, `raft.electionTick`).
   */
  requestTicks: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
})
export type RaftNodeOptions = typeof RaftNodeOptions.Type & {
  readonly raft?: Partial<Omit<RaftOptions, "id">>
}

/** What the state machine was handed, as published on `applied`. */
export type Applied =
  | { readonly type: "Entries"; readonly entries: ReadonlyArray<Entry> }
  | { readonly type: "Snapshot"; readonly snapshot: Snapshot }

/** This node's view of leadership, as published on `leadership`. */
export interface Leadership {
  readonly role: Role
  readonly term: number
  /** The leader of `term` if known (this node's id when it leads). */
  readonly leader: NodeId | null
}

/** How a plain-callback request ends: `error` undefined on success. */
export type Done<A> = (error: RequestError | undefined, value: A) => void

export class RaftNode extends Context.Service<
  RaftNode,
  {
    readonly id: NodeId
    /** Appends `data` through the leader; succeeds with its index once applied here. */
    readonly propose: (data: Uint8Array) => Effect.Effect<number, RequestError>
    /**
     * `propose` without Effect, for hot paths: `done` is called once, with the
     * error or the index (possibly before this returns, when the node has stopped).
     */
    readonly proposeUnsafe: (data: Uint8Array, done: Done<number>) => void
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
    /** The current leadership, then every change of role, term or leader. */
    readonly leadership: Stream.Stream<Leadership>
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

type ApplyItem = Extract<Command, { type: "Apply" | "ApplySnapshot" }>

/** A request waiting on the node, with the tick it started at (for its deadline). */
interface Waiter<A> {
  readonly done: Done<A>
  readonly tick: number
}

/** Terms of recently applied entries (a ring), so late-placed proposals can still be matched. */
const RECENT_TERMS = 65_536

const TICK: Input = { type: "Tick" }

/** The plain machinery of one node (see the top of this file). */
class Runner {
  readonly s: RaftState
  stopped: Stopped | null = null
  private readonly storage: LogStorage["Service"]
  private readonly transport: Transport["Service"]
  private readonly sm: StateMachine["Service"]
  private readonly snapshotEvery: number
  private readonly requestTicks: number
  private readonly published: PubSub.PubSub<Applied>
  private readonly leadershipPubSub: PubSub.PubSub<Leadership>
  private readonly runSnapshot: (
    data: Effect.Effect<Uint8Array>,
    onExit: (data: Uint8Array | undefined, failure: unknown) => void,
  ) => void

  // Driver
  private inbox: Input[] = []
  private spare: Input[] = []
  private proposals: Proposal[] = []
  private scheduled = false
  private draining = false
  private nextId = 0
  private ticks = 0
  private role: Role
  private term: number
  private leader: NodeId | null

  // Waiters
  /** Proposals waiting for the leader to place them, by proposal id (insertion = age order). */
  private readonly placing = new Map<number, Waiter<number>>()
  /** Placed proposals waiting to be applied, by index. */
  private readonly applying = new Map<number, { term: number; waiter: Waiter<number> }>()
  /** ReadIndex requests waiting for the read index, by context (age order). */
  private readonly reading = new Map<number, Waiter<number>>()
  /** Reads whose index is known, waiting for it to be applied (ascending index). */
  private readonly readsWaiting: { index: number; waiter: Waiter<number> }[] = []
  private readonly transfers: { to: NodeId; waiter: Waiter<void> }[] = []

  // Writer
  private writes: Persist[] = []
  private inFlight: Persist[] | null = null
  private readonly written = (failure: StorageFailure | undefined): void => this.onWritten(failure)

  // Applier
  private applies: ApplyItem[] = []
  private applyScheduled = false
  /** Last index the state machine was handed. */
  appliedIndex = 0
  private readonly recentTerms = new Float64Array(RECENT_TERMS)
  /** First index `recentTerms` knows (0: none yet); earlier ones came in a snapshot. */
  private termsFrom = 0
  private lastSnapshotIndex: number
  private snapshotting = false

  /** The scheduled drain (it may have run already, from onReadEnd). */
  private readonly drainBound = (): void => {
    if (this.scheduled) this.drain()
  }
  private readonly applyBound = (): void => this.applyPhase()

  constructor(
    s: RaftState,
    deps: {
      readonly storage: LogStorage["Service"]
      readonly transport: Transport["Service"]
      readonly sm: StateMachine["Service"]
      readonly snapshotEvery: number
      readonly requestTicks: number
      readonly published: PubSub.PubSub<Applied>
      readonly leadership: PubSub.PubSub<Leadership>
      readonly runSnapshot: Runner["runSnapshot"]
    },
  ) {
    this.s = s
    this.storage = deps.storage
    this.transport = deps.transport
    this.sm = deps.sm
    this.snapshotEvery = deps.snapshotEvery
    this.requestTicks = deps.requestTicks
    this.published = deps.published
    this.leadershipPubSub = deps.leadership
    this.runSnapshot = deps.runSnapshot
    this.lastSnapshotIndex = s.snapshot.index
    this.appliedIndex = Math.max(0, s.appliedIndex)
    this.role = s.role
    this.term = s.term
    this.leader = s.leader
    PubSub.publishUnsafe(this.leadershipPubSub, { role: s.role, term: s.term, leader: s.leader })
  }

  // -------------------------------------------------------------------------
  // Inputs

  private schedule(): void {
    if (this.scheduled || this.draining) return
    this.scheduled = true
    queueMicrotask(this.drainBound)
  }

  input(input: Input): void {
    if (this.stopped !== null) return
    this.inbox.push(input)
    this.schedule()
  }

  readonly onMessage = (m: Message): void => this.input(m)
  /** A transport's read is over: step what it delivered now (no microtask hop on the commit path). */
  readonly onReadEnd = (): void => {
    if (this.scheduled && !this.draining) this.drain()
  }
  readonly onUnreachable = (node: NodeId): void => this.input({ type: "ReportUnreachable", node })

  tick(): void {
    if (this.stopped !== null) return
    this.ticks++
    this.expire()
    this.input(TICK)
  }

  propose(proposal: Proposal, done: Done<number>): void {
    if (this.stopped !== null) {
      done(this.stopped, 0)
      return
    }
    this.placing.set(proposal.id, { done, tick: this.ticks })
    this.proposals.push(proposal)
    this.schedule()
  }

  newProposalId(): number {
    return ++this.nextId
  }

  read(done: Done<number>): void {
    if (this.stopped !== null) {
      done(this.stopped, 0)
      return
    }
    const context = ++this.nextId
    this.reading.set(context, { done, tick: this.ticks })
    this.input({ type: "ReadIndex", context })
  }

  transfer(to: NodeId, done: Done<void>): void {
    if (this.stopped !== null || this.s.role !== "Leader") {
      done(this.stopped ?? new NotLeader({ leaderHint: this.s.leader }), undefined)
      return
    }
    this.transfers.push({ to, waiter: { done, tick: this.ticks } })
    this.input({ type: "TransferLeadership", to })
  }

  // -------------------------------------------------------------------------
  // Driver

  private drain(): void {
    this.scheduled = false
    if (this.stopped !== null) return
    this.draining = true
    try {
      for (;;) {
        if (this.inbox.length > 0) {
          const batch = this.inbox
          this.inbox = this.spare
          for (let i = 0; i < batch.length; i++) this.handle(step(this.s, batch[i]!))
          clearArray(batch)
          this.spare = batch
          continue
        }
        if (this.proposals.length > 0) {
          // Everything proposed meanwhile goes in as one batch: one append, one write.
          const proposals = this.proposals
          this.proposals = []
          this.handle(step(this.s, { type: "Propose", proposals }))
          continue
        }
        // Acknowledgements of a synchronous storage come back into the inbox.
        if (this.writes.length > 0 && this.inFlight === null) {
          this.startWrite()
          continue
        }
        break
      }
      this.afterDrain()
    } catch (e) {
      this.stop(`driver failed: ${String(e)}`)
    } finally {
      this.draining = false
    }
    if (this.inbox.length > 0 || this.proposals.length > 0) this.schedule()
  }

  private handle(cmds: ReadonlyArray<Command>): void {
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[i]!
      switch (c.type) {
        case "Send":
          this.transport.send(c.message)
          break
        case "Persist":
          this.writes.push(c)
          break
        case "Apply":
        case "ApplySnapshot":
          this.applies.push(c)
          break
        case "ProposalAccepted": {
          const w = this.placing.get(c.id)
          if (w !== undefined) {
            this.placing.delete(c.id)
            this.placed(w, c.index, c.term)
          }
          break
        }
        case "ProposalDropped": {
          const w = this.placing.get(c.id)
          if (w !== undefined) {
            this.placing.delete(c.id)
            w.done(
              c.reason === "NotLeader"
                ? new NotLeader({ leaderHint: c.leaderHint })
                : new Dropped({ reason: c.reason, outcome: "NotApplied" }),
              0,
            )
          }
          break
        }
        case "ReadReady": {
          const w = this.reading.get(c.context)
          if (w === undefined) break
          this.reading.delete(c.context)
          if (c.index <= this.appliedIndex) w.done(undefined, c.index)
          else {
            const waiting = this.readsWaiting
            let i = waiting.length
            while (i > 0 && waiting[i - 1]!.index > c.index) i--
            waiting.splice(i, 0, { index: c.index, waiter: w })
          }
          break
        }
        case "ReadDropped": {
          const w = this.reading.get(c.context)
          if (w !== undefined) {
            this.reading.delete(c.context)
            w.done(new NotLeader({ leaderHint: c.leaderHint }), 0)
          }
          break
        }
      }
    }
  }

  /** A proposal placed at (index, term): resolve it now if already applied, else wait. */
  private placed(w: Waiter<number>, index: number, term: number): void {
    if (index > this.appliedIndex) {
      this.applying.set(index, { term, waiter: w })
      return
    }
    if (this.termsFrom === 0 || index < this.termsFrom || index <= this.appliedIndex - RECENT_TERMS)
      w.done(new Dropped({ reason: "applied too long ago to match", outcome: "Unknown" }), 0)
    else if (this.recentTerms[index % RECENT_TERMS] === term) w.done(undefined, index)
    else w.done(new Dropped({ reason: "overwritten by a later leader", outcome: "NotApplied" }), 0)
  }

  private afterDrain(): void {
    const s = this.s
    if (s.term !== this.term || s.leader !== this.leader || s.role !== this.role) {
      // Requests sent to the previous leader will never be answered by the next.
      if (s.term !== this.term || s.leader !== this.leader) this.abandonForwarded()
      this.role = s.role
      this.term = s.term
      this.leader = s.leader
      PubSub.publishUnsafe(this.leadershipPubSub, { role: s.role, term: s.term, leader: s.leader })
    }
    if (this.transfers.length > 0) this.checkTransfers()
    if (this.applies.length > 0 && !this.applyScheduled) {
      // After the transport's flushes, which the drain queued first.
      this.applyScheduled = true
      queueMicrotask(this.applyBound)
    }
  }

  private abandonForwarded(): void {
    for (const w of this.placing.values())
      w.done(new Dropped({ reason: "the leader changed before answering", outcome: "Unknown" }), 0)
    this.placing.clear()
    for (const w of this.reading.values())
      w.done(new NotLeader({ leaderHint: this.s.role === "Leader" ? null : this.s.leader }), 0)
    this.reading.clear()
  }

  private checkTransfers(): void {
    const s = this.s
    const transfers = this.transfers
    for (let i = transfers.length - 1; i >= 0; i--) {
      const t = transfers[i]!
      if (s.leader === t.to) t.waiter.done(undefined, undefined)
      else if (
        (s.role === "Leader" && s.leadTransferee === null) ||
        (s.role !== "Leader" && s.leader !== null)
      )
        // Abandoned by the core (timed out), or another node took over.
        t.waiter.done(
          new Dropped({ reason: `transfer to ${t.to} abandoned`, outcome: "NotApplied" }),
          undefined,
        )
      else continue
      transfers.splice(i, 1)
    }
  }

  /** Requests that waited `requestTicks` ticks on another node give up. */
  private expire(): void {
    const oldest = this.ticks - this.requestTicks
    for (const [id, w] of this.placing) {
      if (w.tick > oldest) break
      this.placing.delete(id)
      w.done(new Dropped({ reason: "no answer from the leader", outcome: "Unknown" }), 0)
    }
    for (const [context, w] of this.reading) {
      if (w.tick > oldest) break
      this.reading.delete(context)
      w.done(new Dropped({ reason: "no answer to the read index", outcome: "NotApplied" }), 0)
    }
    const transfers = this.transfers
    for (let i = transfers.length - 1; i >= 0; i--) {
      const t = transfers[i]!
      if (t.waiter.tick > oldest) continue
      transfers.splice(i, 1)
      t.waiter.done(
        new Dropped({ reason: `transfer to ${t.to} timed out`, outcome: "NotApplied" }),
        undefined,
      )
    }
  }

  // -------------------------------------------------------------------------
  // Writer

  private startWrite(): void {
    const batch = this.writes
    this.writes = []
    this.inFlight = batch
    // Messages already queued never wait for a write (the ordering contract):
    // they leave first, so a leader's AppendEntries are on the wire while its
    // own write is made durable (a small one on this thread, blocking it).
    this.transport.flush?.()
    this.storage.persist(batch, this.written)
  }

  private onWritten(failure: StorageFailure | undefined): void {
    const batch = this.inFlight
    this.inFlight = null
    if (batch === null || this.stopped !== null) return
    if (failure !== undefined) {
      this.stop(`writer: ${failure.message}`)
      return
    }
    let sent = false
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!
      for (let j = 0; j < p.after.length; j++) this.transport.send(p.after[j]!)
      if (p.after.length > 0) sent = true
      if (p.ack !== null)
        this.inbox.push({ type: "Persisted", index: p.ack.index, term: p.ack.term })
    }
    // What waited for this write (a follower's acknowledgement: the leader's
    // next commit) leaves now, not after the applier queued before it.
    if (sent) this.transport.flush?.()
    if (this.writes.length > 0) this.startWrite()
    this.schedule()
  }

  // -------------------------------------------------------------------------
  // Applier

  private applyPhase(): void {
    this.applyScheduled = false
    if (this.stopped !== null) return
    const items = this.applies
    this.applies = []
    try {
      for (const item of items) {
        if (item.type === "ApplySnapshot") this.applySnapshot(item.snapshot)
        else this.applyEntries(item.entries)
        const waiting = this.readsWaiting
        if (waiting.length > 0 && waiting[0]!.index <= this.appliedIndex) {
          let n = 0
          while (n < waiting.length && waiting[n]!.index <= this.appliedIndex) n++
          for (const r of waiting.splice(0, n)) r.waiter.done(undefined, this.appliedIndex)
        }
      }
    } catch (e) {
      this.stop(`applier failed: ${String(e)}`)
      return
    }
    this.maybeSnapshot()
  }

  private applySnapshot(snapshot: Snapshot): void {
    this.sm.restore(snapshot)
    this.appliedIndex = snapshot.index
    this.termsFrom = snapshot.index + 1
    if (snapshot.index > this.lastSnapshotIndex) this.lastSnapshotIndex = snapshot.index
    // Placed proposals the snapshot covers: their fate is unknown here.
    for (const [index, x] of this.applying)
      if (index <= snapshot.index) {
        this.applying.delete(index)
        x.waiter.done(
          new Dropped({ reason: "covered by a snapshot from the leader", outcome: "Unknown" }),
          0,
        )
      }
    PubSub.publishUnsafe(this.published, { type: "Snapshot", snapshot })
  }

  private applyEntries(entries: ReadonlyArray<Entry>): void {
    if (entries.length === 0) return
    this.sm.apply(entries)
    if (this.termsFrom === 0) this.termsFrom = entries[0]!.index
    const applying = this.applying
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      this.recentTerms[e.index % RECENT_TERMS] = e.term
      if (applying.size === 0) continue
      const x = applying.get(e.index)
      if (x === undefined) continue
      applying.delete(e.index)
      if (x.term === e.term) x.waiter.done(undefined, e.index)
      else
        x.waiter.done(
          new Dropped({ reason: "overwritten by a later leader", outcome: "NotApplied" }),
          0,
        )
    }
    this.appliedIndex = entries[entries.length - 1]!.index
    PubSub.publishUnsafe(this.published, { type: "Entries", entries })
  }

  /** Every `snapshotEvery` entries: capture now, encode beside the apply path, then compact. */
  private maybeSnapshot(): void {
    if (this.snapshotting || this.appliedIndex - this.lastSnapshotIndex < this.snapshotEvery) return
    const { index, data } = this.sm.snapshot()
    this.lastSnapshotIndex = index
    if (index <= 0) return
    this.snapshotting = true
    this.runSnapshot(data, (bytes, failure) => {
      this.snapshotting = false
      if (bytes === undefined) {
        this.stop(`snapshot failed: ${String(failure)}`)
        return
      }
      // The core keeps it and drops the log up to it.
      this.input({ type: "Compact", index, data: bytes })
    })
  }

  // -------------------------------------------------------------------------

  start(): void {
    // A first step with nothing to do (an old acknowledgement, ignored) hands
    // the state machine what is already due: a base snapshot with data, and
    // the committed entries a restarted node replays.
    this.input({ type: "Persisted", index: 0, term: 0 })
  }

  stop(reason: string): void {
    if (this.stopped !== null) return
    const err = new Stopped({ reason })
    this.stopped = err
    for (const w of this.placing.values()) w.done(err, 0)
    for (const x of this.applying.values()) x.waiter.done(err, 0)
    for (const w of this.reading.values()) w.done(err, 0)
    for (const r of this.readsWaiting) r.waiter.done(err, 0)
    for (const t of this.transfers) t.waiter.done(err, undefined)
    this.placing.clear()
    this.applying.clear()
    this.reading.clear()
    this.readsWaiting.length = 0
    this.transfers.length = 0
    this.inbox.length = 0
    this.proposals.length = 0
    this.writes.length = 0
    this.applies.length = 0
  }
}

const toEffect = <A>(register: (done: Done<A>) => void): Effect.Effect<A, RequestError> =>
  Effect.callback<A, RequestError>((resume) => {
    register((error, value) =>
      resume(error === undefined ? Effect.succeed(value) : Effect.fail(error)),
    )
  })

export const make = Effect.fnUntraced(function* (options: RaftNodeOptions) {
  const o = yield* Schema.decodeUnknownEffect(RaftNodeOptions)(options).pipe(
    Effect.mapError((e) => new RaftConfigError({ field: "options", reason: e.message })),
  )
  const tickMs = o.tickMs ?? 100
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
  const published = yield* PubSub.unbounded<Applied>()
  const leadership = yield* PubSub.unbounded<Leadership>({ replay: 1 })
  const runCallback = Effect.runCallbackWith(yield* Effect.context<never>())
  const runner = new Runner(s, {
    storage,
    transport,
    sm,
    snapshotEvery: o.snapshotEvery ?? 10_000,
    requestTicks: o.requestTicks ?? s.options.electionTick,
    published,
    leadership,
    runSnapshot: (data, onExit) => {
      runCallback(data, {
        onExit: (exit) =>
          exit._tag === "Success" ? onExit(exit.value, undefined) : onExit(undefined, exit.cause),
      })
    },
  })

  yield* Effect.addFinalizer(() => Effect.sync(() => runner.stop("the node's scope closed")))
  yield* transport.listen(runner)
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.andThen(
        Effect.sleep(tickMs),
        Effect.sync(() => runner.tick()),
      ),
    ),
  )
  runner.start()

  return RaftNode.of({
    id: o.id,
    propose: (data) =>
      toEffect<number>((done) =>
        runner.propose({ id: runner.newProposalId(), type: "Normal", data }, done),
      ),
    proposeUnsafe: (data, done) =>
      runner.propose({ id: runner.newProposalId(), type: "Normal", data }, done),
    changeMembership: (change) =>
      toEffect<number>((done) =>
        runner.propose({ id: runner.newProposalId(), type: "ConfChange", change }, done),
      ),
    readIndex: toEffect<number>((done) => runner.read(done)),
    status: Effect.sync(() => statusOf(s)),
    transferLeadership: (to) => toEffect<void>((done) => runner.transfer(to, done)),
    campaign: Effect.suspend(() => {
      if (runner.stopped !== null) return Effect.fail(runner.stopped)
      runner.input({ type: "Campaign" })
      return Effect.void
    }),
    applied: Stream.fromPubSub(published),
    leadership: Stream.fromPubSub(leadership),
  })
})
