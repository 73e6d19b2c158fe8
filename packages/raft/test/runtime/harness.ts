// A cluster of RaftNode services over a MemoryNetwork, driven by the TestClock.
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import {
  LogStorage,
  type MemoryNetwork,
  MemoryStateMachine,
  type MemoryStore,
  makeConfig,
  makeMemoryStore,
  RaftNode,
  type RaftNodeOptions,
  StateMachine,
  Transport,
} from "../../src/index.ts"

export const TICK_MS = 10

export interface Member {
  readonly id: string
  node: RaftNode["Service"]
  sm: MemoryStateMachine
  readonly store: MemoryStore
  scope: Scope.Closeable
}

const start = (
  id: string,
  store: MemoryStore,
  net: MemoryNetwork,
  options: Partial<RaftNodeOptions>,
  seed: number,
) =>
  Effect.gen(function* () {
    const sm = new MemoryStateMachine()
    const layer = RaftNode.layer({
      id,
      tickMs: TICK_MS,
      ...options,
      raft: { electionTick: 10, heartbeatTick: 2, seed, ...options.raft },
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
          LogStorage.layerMemory(store),
          Transport.layerMemory(net, id),
          StateMachine.layerMemory(sm),
        ),
      ),
    )
    const scope = yield* Scope.make()
    const ctx = yield* Layer.buildWithScope(layer, scope)
    return { node: Context.get(ctx, RaftNode), sm, scope }
  })

export const makeCluster = (
  ids: ReadonlyArray<string>,
  net: MemoryNetwork,
  options: Partial<RaftNodeOptions> = {},
  voters: ReadonlyArray<string> = ids,
) =>
  Effect.gen(function* () {
    const members: Member[] = []
    for (const [i, id] of ids.entries()) {
      const store = makeMemoryStore(makeConfig(voters.includes(id) ? voters : []))
      const m = yield* start(id, store, net, options, i + 1)
      members.push({ id, store, ...m })
    }
    const byId = (id: string) => members.find((m) => m.id === id)!
    return {
      members,
      byId,
      /** Stops a member; its store keeps what was durable. */
      crash: (id: string) => Scope.close(byId(id).scope, Exit.void),
      /** Starts a member again from its store, with a fresh state machine. */
      restart: (id: string, seed = 99) =>
        Effect.gen(function* () {
          const m = byId(id)
          const next = yield* start(id, m.store, net, options, seed)
          m.node = next.node
          m.sm = next.sm
          m.scope = next.scope
        }),
      /** Adds a member with no configuration (it joins through a membership change). */
      add: (id: string) =>
        Effect.gen(function* () {
          const store = makeMemoryStore(makeConfig([]))
          const m = yield* start(id, store, net, options, members.length + 1)
          members.push({ id, store, ...m })
        }),
      stopAll: Effect.forEach(members, (m) => Scope.close(m.scope, Exit.void), { discard: true }),
    }
  })

/** Advances the TestClock tick by tick until `cond` holds (fails after `maxTicks`). */
export const waitFor = (what: string, cond: Effect.Effect<boolean>, maxTicks = 500) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxTicks; i++) {
      if (yield* cond) return
      yield* TestClock.adjust(TICK_MS)
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** The members that think they lead. */
export const leaders = (members: ReadonlyArray<Member>) =>
  Effect.map(
    Effect.forEach(members, (m) => m.node.status),
    (ss) => ss.filter((s) => s.role === "Leader").map((s) => s.id),
  )
