// Three RaftNode members in this process over real TCP on 127.0.0.1 with file
// WALs: the leader stops while proposals run, a new leader takes over, no
// acknowledged entry is lost, and the old leader restarts from its WAL and
// catches up. Real time: waits are conditions polled up to a deadline.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import {
  LogStorage,
  MemoryStateMachine,
  makeConfig,
  RaftNode,
  RaftTcpTransport,
  StateMachine,
  Transport,
} from "../../src/index.ts"

const ids = ["n1", "n2", "n3"]
const enc = new TextEncoder()

interface Member {
  node: RaftNode["Service"]
  tcp: RaftTcpTransport["Service"]
  sm: MemoryStateMachine
  scope: Scope.Closeable
}

const start = (id: string, dir: string, seed: number) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const tcpCtx = yield* Layer.buildWithScope(RaftTcpTransport.layer({ id, port: 0 }), scope)
    const tcp = Context.get(tcpCtx, RaftTcpTransport)
    const sm = new MemoryStateMachine()
    const layer = RaftNode.layer({
      id,
      tickMs: 20,
      raft: { electionTick: 10, heartbeatTick: 2, seed },
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
          LogStorage.layerWal({ dir, bootstrapConfig: makeConfig(ids) }),
          Transport.layerFromTcp.pipe(Layer.provide(Layer.succeed(RaftTcpTransport, tcp))),
          StateMachine.layerMemory(sm),
        ),
      ),
    )
    const ctx = yield* Layer.buildWithScope(layer, scope)
    return { node: Context.get(ctx, RaftNode), tcp, sm, scope } satisfies Member
  })

/** Polls `cond` every 10 ms until it holds or `ms` pass. */
const until = (what: string, cond: Effect.Effect<boolean>, ms = 15_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (!(yield* cond)) {
      if (Date.now() > deadline)
        return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep(10)
    }
  })

const leaderOf = (members: Map<string, Member>) =>
  Effect.map(
    Effect.forEach([...members.values()], (m) => m.node.status),
    (ss) => ss.filter((s) => s.role === "Leader").map((s) => s.id),
  )

describe("a TCP + WAL cluster", () => {
  it.live(
    "loses no acknowledged entry when the leader stops, and the old leader catches up from its WAL",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const root = mkdtempSync(join(tmpdir(), "raft-cluster-"))
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => rmSync(root, { recursive: true, force: true })),
          )
          const members = new Map<string, Member>()
          const connect = () => {
            for (const [a, ma] of members)
              for (const [b, mb] of members) if (a !== b) ma.tcp.unsafe.setPeer(b, mb.tcp.address)
          }
          for (const [i, id] of ids.entries())
            members.set(id, yield* start(id, join(root, id), i + 1))
          connect()
          yield* until(
            "a leader",
            Effect.map(leaderOf(members), (l) => l.length === 1),
          )
          const acknowledged: string[] = []
          const proposeAll = (from: number, n: number) =>
            Effect.forEach(
              Array.from({ length: n }, (_, i) => `v${from + i}`),
              (v) =>
                Effect.gen(function* () {
                  // Retry against whoever leads until it is acknowledged.
                  for (;;) {
                    const [leader] = yield* leaderOf(members)
                    if (leader !== undefined) {
                      const r = yield* Effect.result(
                        members.get(leader)!.node.propose(enc.encode(v)),
                      )
                      if (r._tag === "Success") {
                        acknowledged.push(v)
                        return
                      }
                    }
                    yield* Effect.sleep(20)
                  }
                }),
              { concurrency: 16, discard: true },
            )
          yield* proposeAll(0, 200)
          // Stop the leader while more proposals run.
          const [old] = yield* leaderOf(members)
          const running = yield* Effect.forkChild(proposeAll(200, 200))
          yield* Effect.sleep(30)
          yield* Scope.close(members.get(old!)!.scope, Exit.void)
          members.delete(old!)
          yield* until(
            "a new leader",
            Effect.map(leaderOf(members), (l) => l.length === 1),
          )
          yield* Fiber.join(running)
          assert.strictEqual(acknowledged.length, 400)
          // Restart the old leader from its WAL on a new port.
          members.set(old!, yield* start(old!, join(root, old!), 42))
          connect()
          const all = () =>
            [...members.values()].every((m) =>
              acknowledged.every((v) => m.sm.strings().includes(v)),
            )
          yield* until("every member to apply every acknowledged entry", Effect.sync(all))
          const orders = [...members.values()].map((m) => m.sm.strings().join(","))
          // The old leader replays its log from scratch, so everyone holds the same sequence.
          assert.strictEqual(new Set(orders).size, 1)
          for (const m of members.values()) yield* Scope.close(m.scope, Exit.void)
        }),
      ),
    60_000,
  )
})
