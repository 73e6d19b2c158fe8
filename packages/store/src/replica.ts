// One member's copy of the replicated state: the MVCC store, the membership
// and the watch hub, applied from a Raft node's committed entries.
//
// `ReplicatedStore` is plain TypeScript (the apply path is hot); the `Replica`
// layer puts it behind the Raft runtime's `StateMachine`. A member starts
// empty: Raft hands it the base snapshot (index 0, the initial membership),
// its own or, for a member joining a running cluster, the leader's.
import { type Entry, type Snapshot, StateMachine } from "@flotilla/raft"
import { Context, Effect, Layer } from "effect"
import { runSteps } from "./core/codec.ts"
import {
  decodeEntry,
  decodeReplicaSnapshot,
  entriesOf,
  replicaSnapshotSteps,
} from "./core/entry.ts"
import { type EtcdFailure, invalidArgument } from "./core/errors.ts"
import { Membership } from "./core/members.ts"
import { MvccStore, type StoreConfig } from "./core/mvcc.ts"
import type { InternalResponse, WatchRequest, WatchResponse } from "./core/types.ts"
import { WatchHub, type WatchHubOptions } from "./core/watch.ts"

/** What applying one entry gave: a store response or failure; `null` for an accepted member change. */
export type ApplyResult = InternalResponse | EtcdFailure | null

export interface ReplicaOptions {
  readonly store?: Partial<StoreConfig>
  readonly watch?: WatchHubOptions
}

interface Waiting {
  index: number
  result: ApplyResult
}

export class ReplicatedStore {
  store: MvccStore
  membership: Membership
  readonly hub: WatchHub
  /** Index of the last entry applied (or of the snapshot restored). */
  appliedIndex = 0
  /** Term of that entry (or snapshot). */
  appliedTerm = 0
  private readonly options: ReplicaOptions
  private readonly routes = new Map<number, (r: WatchResponse) => void>()
  /**
   * This member's proposals, by request ID: where and with what result they
   * were applied (`index` 0 until then). The proposer checks the index Raft
   * reports, so an older entry with the same ID cannot answer it.
   */
  private readonly waiting = new Map<number, Waiting>()
  private readonly listeners = new Set<() => void>()
  private readonly termListeners = new Set<() => void>()

  /** An empty replica at index 0 (Raft restores the base snapshot into it). */
  constructor(options: ReplicaOptions = {}) {
    this.options = options
    this.store = new MvccStore(options.store)
    this.membership = new Membership()
    this.hub = new WatchHub(this.store, (stream, r) => this.routes.get(stream)?.(r), options.watch)
  }

  /** Calls `f` after every change of the membership (applied or restored). */
  onMembershipChange(f: () => void): () => void {
    this.listeners.add(f)
    return () => this.listeners.delete(f)
  }

  /**
   * Calls `f` after applying a Raft configuration change or the first entry
   * of a new term, and after a restore (what the leader's membership duties
   * wait for).
   */
  onTermOrConfChange(f: () => void): () => void {
    this.termListeners.add(f)
    return () => this.termListeners.delete(f)
  }

  /** A proposal with request ID `id` is about to be made by this member. */
  expect(id: number): void {
    this.waiting.set(id, { index: 0, result: null })
  }

  /** The result of the proposal `id` if it was applied at `index`; forgets it. */
  take(id: number, index: number): { readonly result: ApplyResult } | undefined {
    const w = this.waiting.get(id)
    this.waiting.delete(id)
    return w !== undefined && w.index === index ? { result: w.result } : undefined
  }

  /** Gives up on the proposal `id` (failed or timed out). */
  forget(id: number): void {
    this.waiting.delete(id)
  }

  /** Applies committed entries in order; watchers see the changes once per call. */
  apply(entries: ReadonlyArray<Entry>): void {
    let membershipChanged = false
    const term = this.appliedTerm
    let confChanged = false
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      this.appliedIndex = e.index
      this.appliedTerm = e.term
      this.store.appliedIndex = e.index
      // Configuration changes are Raft's; no-ops carry nothing.
      if (e.type !== "Normal") confChanged = true
      if (e.type !== "Normal" || e.data.length === 0) continue
      let parts: Uint8Array[]
      try {
        parts = entriesOf(e.data)
      } catch {
        // Every replica refuses the same bytes the same way: a no-op. Only a
        // bug in a proposer can put such an entry in the log.
        continue
      }
      for (let j = 0; j < parts.length; j++) {
        if (this.applyOne(e.index, parts[j]!)) membershipChanged = true
      }
    }
    this.hub.sync()
    if (membershipChanged) for (const f of this.listeners) f()
    if (confChanged || this.appliedTerm !== term) for (const f of this.termListeners) f()
  }

  /** Applies one request of the entry at `index`; whether the membership changed. */
  private applyOne(index: number, data: Uint8Array): boolean {
    let result: ApplyResult
    let id: number
    let changed = false
    try {
      const cmd = decodeEntry(data)
      if (cmd.kind === "store") {
        id = cmd.request.header.ID
        result = this.store.apply(cmd.request)
      } else {
        id = cmd.header.ID
        result = this.membership.apply(cmd.op) ?? null
        changed = result === null
      }
    } catch (err) {
      // Refused alike everywhere (see above); tell the proposer if it is ours.
      const peeked = this.waiting.size > 0 ? peekId(data) : undefined
      if (peeked === undefined) return false
      id = peeked
      result = invalidArgument("log entry", String(err))
    }
    const w = this.waiting.get(id)
    if (w !== undefined) {
      w.index = index
      w.result = result
    }
    return changed
  }

  /** The whole state as snapshot bytes. */
  snapshot(): Uint8Array {
    return runSteps(this.snapshotSteps().steps)
  }

  /**
   * The state as it is now, captured (O(leases), or O(keys) after a
   * compaction), and the steps that encode it: they may run while later
   * entries are applied.
   */
  snapshotSteps(): { readonly index: number; readonly steps: Generator<void, Uint8Array, void> } {
    return {
      index: this.appliedIndex,
      // Every byte gets written: no need to zero-fill a buffer of hundreds of MB first.
      steps: replicaSnapshotSteps(this.membership, this.store, (n) => Buffer.allocUnsafeSlow(n)),
    }
  }

  /** Replaces the state with a snapshot's; watchers catch up from it or are cancelled. */
  restore(index: number, term: number, data: Uint8Array): void {
    if (data.length === 0) {
      this.store = new MvccStore(this.options.store)
      this.membership = new Membership()
    } else {
      const s = decodeReplicaSnapshot(data, this.options.store)
      this.store = s.store
      this.membership = s.membership
    }
    this.appliedIndex = index
    this.appliedTerm = term
    this.store.appliedIndex = index
    this.hub.restore(this.store)
    for (const f of this.listeners) f()
    for (const f of this.termListeners) f()
  }

  // Watches (local to this member).

  openWatch(sink: (r: WatchResponse) => void): number {
    const id = this.hub.openStream()
    this.routes.set(id, sink)
    return id
  }

  watchRequest(stream: number, req: WatchRequest): void {
    this.hub.request(stream, req)
  }

  closeWatch(stream: number): void {
    this.hub.closeStream(stream)
    this.routes.delete(stream)
  }
}

/** The request ID of an entry whose body is damaged (kind byte, then the ID varint). */
const peekId = (b: Uint8Array): number | undefined => {
  let v = 0
  let mul = 1
  for (let i = 1; i < b.length && i < 9; i++) {
    v += (b[i]! & 0x7f) * mul
    if (b[i]! < 0x80) return v
    mul *= 0x80
  }
  return undefined
}

/**
 * Runs encoding steps one per turn of the event loop (setImmediate), so that
 * I/O and the apply path run between them: a large snapshot costs many short
 * pauses instead of one long stall.
 */
export const stepsInTurns = <A>(steps: Generator<void, A, void>): Effect.Effect<A> =>
  Effect.callback<A>((resume) => {
    let cancelled = false
    const turn = (): void => {
      if (cancelled) return
      let r: IteratorResult<void, A>
      try {
        r = steps.next()
      } catch (e) {
        resume(Effect.die(e))
        return
      }
      if (r.done === true) resume(Effect.succeed(r.value))
      else setImmediate(turn)
    }
    setImmediate(turn)
    return Effect.sync(() => {
      cancelled = true
    })
  })

export class Replica extends Context.Service<Replica, ReplicatedStore>()(
  "@flotilla/store/Replica",
) {
  /** The replica of a member, and the `StateMachine` a `RaftNode` applies to it. */
  static layer(options: ReplicaOptions = {}): Layer.Layer<Replica | StateMachine> {
    return Layer.effectContext(
      Effect.sync(() => {
        const replica = new ReplicatedStore(options)
        const sm = StateMachine.of({
          // The replica lives in memory: a restart rebuilds it from the snapshot and the log.
          appliedIndex: Effect.succeed(0),
          apply: (entries) => replica.apply(entries),
          snapshot: () => {
            const { index, steps } = replica.snapshotSteps()
            return { index, data: stepsInTurns(steps) }
          },
          restore: (snapshot: Snapshot) =>
            replica.restore(snapshot.index, snapshot.term, snapshot.data),
        })
        return Context.make(Replica, replica).pipe(Context.add(StateMachine, sm))
      }),
    )
  }
}
