// The RaftNode service over the in-memory network, in virtual time.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { Message } from "../../src/core/types.ts"
import {
  Dropped,
  LogStorage,
  MemoryNetwork,
  MemoryStateMachine,
  makeConfig,
  makeMemoryStore,
  NotLeader,
  RaftNode,
  StateMachine,
  Stopped,
  Transport,
} from "../../src/index.ts"
import type { Receiver } from "../../src/runtime/transport.ts"
import { leaders, makeCluster, TICK_MS, waitFor } from "./harness.ts"

const enc = new TextEncoder()
const ids = ["a", "b", "c"]

const electedCluster = (net = new MemoryNetwork(), options = {}) =>
  Effect.gen(function* () {
    const c = yield* makeCluster(ids, net, options)
    yield* waitFor(
      "a leader",
      Effect.map(leaders(c.members), (l) => l.length === 1),
    )
    const [leaderId] = yield* leaders(c.members)
    return { ...c, leader: c.byId(leaderId!) }
  })

/**
 * A transport that batches as TCP does (a flush a microtask after the first
 * send, or at once on `flush`) and records in `events` what reaches the wire.
 */
const batchingTransport = (events: string[]) => {
  let receiver: Receiver | undefined
  const queued: Message[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    for (const m of queued.splice(0)) events.push(`wire ${m.type} ${m.to}`)
  }
  const transport = Transport.of({
    send: (m) => {
      queued.push(m)
      if (!scheduled) {
        scheduled = true
        queueMicrotask(flush)
      }
    },
    listen: (r) =>
      Effect.sync(() => {
        receiver = r
      }),
    flush,
  })
  return { transport, receiver: () => receiver! }
}

describe("RaftNode", () => {
  it.effect(
    "elects a leader, and a proposal resolves with its index once applied on the leader",
    () =>
      Effect.gen(function* () {
        const c = yield* electedCluster()
        const index = yield* c.leader.node.propose(enc.encode("x"))
        assert.isAbove(index, 0)
        assert.deepStrictEqual(c.leader.sm.strings(), ["x"])
        yield* waitFor(
          "followers to apply",
          Effect.sync(() => c.members.every((m) => m.sm.strings().join() === "x")),
        )
        const st = yield* c.leader.node.status
        assert.strictEqual(st.commitIndex, index)
        yield* c.stopAll
      }),
  )

  it.effect("concurrent proposals are batched and all resolve, in order", () =>
    Effect.gen(function* () {
      const c = yield* electedCluster()
      const indexes = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => c.leader.node.propose(enc.encode(`v${i}`)),
        { concurrency: "unbounded" },
      )
      assert.strictEqual(new Set(indexes).size, 50)
      assert.deepStrictEqual(
        c.leader.sm.strings(),
        Array.from({ length: 50 }, (_, i) => `v${i}`),
      )
      // 50 proposals went in as a handful of writes.
      assert.isBelow(c.leader.store.syncs, 20)
      yield* c.stopAll
    }),
  )

  it.effect("a follower refuses proposals with the leader's id", () =>
    Effect.gen(function* () {
      const c = yield* electedCluster()
      const follower = c.members.find((m) => m.id !== c.leader.id)!
      const err = yield* Effect.flip(follower.node.propose(enc.encode("x")))
      assert.instanceOf(err, NotLeader)
      assert.strictEqual((err as NotLeader).leaderHint, c.leader.id)
      yield* c.stopAll
    }),
  )

  it.effect(
    "linearizable reads: readIndex on leader and followers returns an applied index covering acknowledged writes",
    () =>
      Effect.gen(function* () {
        const c = yield* electedCluster()
        const written = yield* c.leader.node.propose(enc.encode("w"))
        for (const m of c.members) {
          const fiber = yield* Effect.forkChild(m.node.readIndex)
          yield* waitFor(
            "the read",
            Effect.map(Fiber.await(fiber).pipe(Effect.timeoutOption(0)), (o) => o._tag === "Some"),
          )
          const index = yield* Fiber.join(fiber)
          assert.isAtLeast(index, written)
          assert.include(m.sm.strings(), "w")
        }
        yield* c.stopAll
      }),
  )

  it.effect("hands leadership over on request", () =>
    Effect.gen(function* () {
      const c = yield* electedCluster()
      const target = c.members.find((m) => m.id !== c.leader.id)!
      yield* c.leader.node.transferLeadership(target.id)
      yield* waitFor(
        "the new leader",
        Effect.map(leaders(c.members), (l) => l.join() === target.id),
      )
      const err = yield* Effect.flip(c.leader.node.transferLeadership(target.id))
      assert.instanceOf(err, NotLeader)
      yield* c.stopAll
    }),
  )

  it.effect("membership: a new member joins as a learner, is promoted, and receives the log", () =>
    Effect.gen(function* () {
      const net = new MemoryNetwork()
      const c = yield* electedCluster(net)
      yield* c.leader.node.propose(enc.encode("before"))
      yield* c.add("d")
      yield* c.leader.node.changeMembership({
        changes: [{ type: "AddLearner", node: "d" }],
        transition: "Auto",
      })
      yield* c.leader.node.changeMembership({
        changes: [{ type: "AddVoter", node: "d" }],
        transition: "Auto",
      })
      yield* waitFor(
        "d to catch up",
        Effect.sync(() => c.byId("d").sm.strings().includes("before")),
      )
      const st = yield* c.byId("d").node.status
      assert.deepStrictEqual([...st.config.voters], ["a", "b", "c", "d"])
      yield* c.stopAll
    }),
  )

  it.effect(
    "a crashed follower restarts from its storage and catches up; a restarted node replays its log",
    () =>
      Effect.gen(function* () {
        const c = yield* electedCluster()
        const follower = c.members.find((m) => m.id !== c.leader.id)!
        yield* c.leader.node.propose(enc.encode("1"))
        yield* c.crash(follower.id)
        yield* c.leader.node.propose(enc.encode("2"))
        yield* c.restart(follower.id)
        yield* waitFor(
          "the follower to catch up",
          Effect.sync(() => follower.sm.strings().join() === "1,2"),
        )
        yield* c.stopAll
      }),
  )

  it.effect(
    "snapshots are pulled from the state machine and compact the log; a new member installs one",
    () =>
      Effect.gen(function* () {
        const net = new MemoryNetwork()
        const c = yield* electedCluster(net, { snapshotEvery: 10 })
        for (let i = 0; i < 25; i++) yield* c.leader.node.propose(enc.encode(`e${i}`))
        yield* waitFor(
          "a snapshot",
          Effect.map(c.leader.node.status, (s) => s.snapshotIndex > 0),
        )
        yield* c.add("d")
        const applied = yield* Effect.forkChild(
          c.byId("d").node.applied.pipe(
            Stream.filter((a) => a.type === "Snapshot"),
            Stream.take(1),
            Stream.runCollect,
          ),
        )
        yield* c.leader.node.changeMembership({
          changes: [{ type: "AddLearner", node: "d" }],
          transition: "Auto",
        })
        yield* waitFor(
          "d to catch up",
          Effect.sync(() => c.byId("d").sm.strings().length === 25),
        )
        const got = yield* Fiber.join(applied)
        assert.strictEqual(got.length, 1)
        assert.deepStrictEqual(
          c.byId("d").sm.strings(),
          Array.from({ length: 25 }, (_, i) => `e${i}`),
        )
        yield* c.stopAll
      }),
  )

  it.effect("survives an unreliable network (loss, duplicates, reordering)", () =>
    Effect.gen(function* () {
      const net = new MemoryNetwork({
        seed: 7,
        dropRate: 0.1,
        duplicateRate: 0.05,
        minDelayMs: 0,
        maxDelayMs: 25,
      })
      const c = yield* makeCluster(ids, net)
      const results: number[] = []
      for (let i = 0; i < 10; i++) {
        for (;;) {
          const [leader] = yield* leaders(c.members)
          if (leader === undefined) {
            yield* TestClock.adjust(TICK_MS)
            continue
          }
          const fiber = yield* Effect.forkChild(
            c
              .byId(leader)
              .node.propose(enc.encode(`u${i}`))
              .pipe(Effect.timeoutOption(2_000)),
          )
          yield* waitFor(
            "the proposal",
            Effect.map(Fiber.await(fiber).pipe(Effect.timeoutOption(0)), (o) => o._tag === "Some"),
            400,
          )
          const r = yield* Fiber.join(fiber).pipe(Effect.option)
          if (r._tag === "Some" && r.value._tag === "Some") {
            results.push(r.value.value)
            break
          }
        }
      }
      assert.strictEqual(results.length, 10)
      net.setFaults({ dropRate: 0, duplicateRate: 0 })
      yield* waitFor(
        "everyone to apply",
        Effect.sync(() =>
          c.members.every((m) => m.sm.strings().filter((v) => v.startsWith("u")).length >= 10),
        ),
      )
      const first = c.members[0]!.sm.strings()
      for (const m of c.members) assert.deepStrictEqual(m.sm.strings(), first)
      yield* c.stopAll
    }),
  )

  it.effect(
    "a state machine that throws stops the node: requests fail with Stopped instead of hanging",
    () =>
      Effect.gen(function* () {
        const net = new MemoryNetwork()
        const broken = StateMachine.of({
          appliedIndex: Effect.succeed(0),
          apply: () => {
            throw new Error("disk full")
          },
          snapshot: () => ({ index: 0, data: Effect.succeed(new Uint8Array(0)) }),
          restore: () => undefined,
        })
        const layer = RaftNode.layer({ id: "solo", tickMs: TICK_MS }).pipe(
          Layer.provide(
            Layer.mergeAll(
              LogStorage.layerMemory(makeMemoryStore(makeConfig(["solo"]))),
              Transport.layerMemory(net, "solo"),
              Layer.succeed(StateMachine, broken),
            ),
          ),
        )
        const scope = yield* Scope.make()
        const node = Context.get(yield* Layer.buildWithScope(layer, scope), RaftNode)
        yield* node.campaign
        const err = yield* Effect.flip(node.propose(enc.encode("x")))
        assert.instanceOf(err, Stopped)
        assert.include((err as Stopped).reason, "disk full")
        yield* Scope.close(scope, Exit.void)
      }),
  )

  it.effect("requests fail with Stopped once the node's scope closes", () =>
    Effect.gen(function* () {
      const c = yield* electedCluster()
      yield* c.crash(c.leader.id)
      const err = yield* Effect.flip(c.leader.node.propose(enc.encode("late")))
      assert.instanceOf(err, Stopped)
      yield* c.stopAll
    }),
  )

  it.effect("a proposal placed by a deposed leader and overwritten fails with Dropped", () =>
    Effect.gen(function* () {
      const net = new MemoryNetwork()
      const c = yield* electedCluster(net)
      yield* c.leader.node.propose(enc.encode("ok"))
      net.isolate(c.leader.id)
      const lost = yield* Effect.forkChild(c.leader.node.propose(enc.encode("lost")))
      const others = c.members.filter((m) => m.id !== c.leader.id)
      yield* waitFor(
        "a new leader",
        Effect.map(leaders(others), (l) => l.length === 1),
      )
      const [newLeader] = yield* leaders(others)
      yield* c.byId(newLeader!).node.propose(enc.encode("new"))
      net.reconnect(c.leader.id)
      yield* waitFor(
        "the old leader's fate",
        Effect.map(Fiber.await(lost).pipe(Effect.timeoutOption(0)), (o) => o._tag === "Some"),
      )
      const err = yield* Effect.flip(Fiber.join(lost))
      assert.instanceOf(err, Dropped)
      // Overwritten: it will never be applied, so it is safe to retry.
      assert.strictEqual((err as Dropped).outcome, "NotApplied")
      yield* c.stopAll
    }),
  )

  it.effect(
    "a proposal whose ForwardProposals is lost fails after requestTicks ticks, with an unknown outcome",
    () =>
      Effect.gen(function* () {
        const net = new MemoryNetwork()
        const c = yield* electedCluster(net, {
          requestTicks: 5,
          raft: { forwardProposals: true },
        })
        const follower = c.members.find((m) => m.id !== c.leader.id)!
        net.setLoss((m) => m.type === "ForwardProposals")
        const fiber = yield* Effect.forkChild(Effect.flip(follower.node.propose(enc.encode("x"))))
        let ticks = 0
        yield* waitFor(
          "the proposal to give up",
          Effect.map(Fiber.await(fiber).pipe(Effect.timeoutOption(0)), (o) => {
            ticks++
            return o._tag === "Some"
          }),
        )
        const err = yield* Fiber.join(fiber)
        assert.instanceOf(err, Dropped)
        assert.strictEqual((err as Dropped).outcome, "Unknown")
        // Within the budget (5 ticks, counted from the next tick), not at once.
        assert.isAtLeast(ticks, 4)
        assert.isAtMost(ticks, 8)
        // The leader did not change: the deadline did it.
        assert.strictEqual((yield* follower.node.status).leader, c.leader.id)
        // Forwarding works again once messages get through.
        net.setLoss(null)
        const index = yield* follower.node.propose(enc.encode("y"))
        assert.isAbove(index, 0)
        yield* c.stopAll
      }),
  )

  it.effect("a follower's read whose ReadIndexRequest is lost fails after requestTicks ticks", () =>
    Effect.gen(function* () {
      const net = new MemoryNetwork()
      const c = yield* electedCluster(net, { requestTicks: 5 })
      const follower = c.members.find((m) => m.id !== c.leader.id)!
      net.setLoss((m) => m.type === "ReadIndexRequest")
      const fiber = yield* Effect.forkChild(Effect.flip(follower.node.readIndex))
      yield* waitFor(
        "the read to give up",
        Effect.map(Fiber.await(fiber).pipe(Effect.timeoutOption(0)), (o) => o._tag === "Some"),
        20,
      )
      const err = yield* Fiber.join(fiber)
      assert.instanceOf(err, Dropped)
      assert.strictEqual((err as Dropped).outcome, "NotApplied")
      net.setLoss(null)
      assert.isAbove(yield* follower.node.readIndex, 0)
      yield* c.stopAll
    }),
  )

  it.effect(
    "requests waiting on the leader fail as soon as the leader changes, whatever their deadline",
    () =>
      Effect.gen(function* () {
        const net = new MemoryNetwork()
        const c = yield* electedCluster(net, {
          requestTicks: 10_000,
          raft: { forwardProposals: true },
        })
        const [follower, other] = c.members.filter((m) => m.id !== c.leader.id)
        // The leader's answers to this follower are lost: its requests wait.
        net.setLoss(
          (m) =>
            m.to === follower!.id &&
            (m.type === "ForwardProposalsResponse" || m.type === "ReadIndexResponse"),
        )
        const proposal = yield* Effect.forkChild(
          Effect.flip(follower!.node.propose(enc.encode("x"))),
        )
        const read = yield* Effect.forkChild(Effect.flip(follower!.node.readIndex))
        yield* TestClock.adjust(TICK_MS * 3)
        assert.isTrue(Option.isNone(yield* Fiber.await(proposal).pipe(Effect.timeoutOption(0))))
        yield* c.leader.node.transferLeadership(other!.id)
        yield* waitFor(
          "the follower to see the new leader",
          Effect.map(follower!.node.status, (st) => st.leader === other!.id),
        )
        const err = yield* Fiber.join(proposal)
        assert.instanceOf(err, Dropped)
        // The old leader may have placed it: retrying could apply it twice.
        assert.strictEqual((err as Dropped).outcome, "Unknown")
        const readErr = yield* Fiber.join(read)
        assert.isTrue(readErr instanceof NotLeader || readErr instanceof Dropped)
        yield* c.stopAll
      }),
  )

  it.effect(
    "a follower steps a read's messages when the read ends, and its acknowledgement reaches the wire when its write is durable, before the state machine runs",
    () =>
      Effect.gen(function* () {
        // A transport that batches as TCP does (a flush a microtask after the
        // first send) and records what reaches the wire, a storage that
        // completes a microtask after each write (as the WAL), and a state
        // machine that records when it runs.
        const events: string[] = []
        const { transport, receiver } = batchingTransport(events)
        const store = makeMemoryStore(makeConfig(ids))
        const storage = LogStorage.of({
          load: Effect.sync(() => ({ ...store.durable, entries: [...store.durable.entries] })),
          persist: (_writes, done) => {
            events.push("persist")
            queueMicrotask(() => {
              events.push("durable")
              done(undefined)
            })
          },
        })
        const sm = StateMachine.of({
          appliedIndex: Effect.succeed(0),
          apply: (entries) => {
            for (const e of entries) events.push(`apply ${e.index}`)
          },
          restore: () => undefined,
          snapshot: () => ({ index: 0, data: Effect.succeed(new Uint8Array(0)) }),
        })
        const scope = yield* Scope.make()
        yield* Layer.buildWithScope(
          RaftNode.layer({ id: "b", tickMs: TICK_MS, raft: { electionTick: 10, seed: 2 } }).pipe(
            Layer.provide(
              Layer.mergeAll(
                Layer.succeed(LogStorage, storage),
                Layer.succeed(Transport, transport),
                Layer.succeed(StateMachine, sm),
              ),
            ),
          ),
          scope,
        )
        const append = (index: number, leaderCommit: number): Message => ({
          type: "AppendEntries",
          from: "a",
          to: "b",
          term: 1,
          prevLogIndex: index - 1,
          prevLogTerm: index === 1 ? 0 : 1,
          entries: [{ type: "Normal", index, term: 1, data: enc.encode(`e${index}`) }],
          leaderCommit,
        })
        // Everything here runs in microtasks: the next macrotask sees it all done.
        const settled = Effect.promise(() => new Promise((r) => setImmediate(r)))
        receiver().onMessage(append(1, 0))
        yield* settled
        events.length = 0
        // Entry 2 arrives with entry 1 committed: entry 1 is applied in the
        // same turn as entry 2's write completes.
        receiver().onMessage(append(2, 1))
        // The end of a read steps what it delivered at once: the write is under
        // way before this turn's microtasks run.
        receiver().onReadEnd?.()
        assert.deepStrictEqual(events, ["persist"])
        yield* settled
        assert.deepStrictEqual(events, [
          "persist",
          "durable",
          "wire AppendEntriesResponse a",
          "apply 1",
        ])
        yield* Scope.close(scope, Exit.void)
      }),
  )

  it.effect(
    "a leader's AppendEntries for a proposal are on the wire before its own write of the entry starts",
    () =>
      Effect.gen(function* () {
        const events: string[] = []
        const { transport, receiver } = batchingTransport(events)
        const store = makeMemoryStore(makeConfig(["a", "b"]))
        const storage = LogStorage.of({
          load: Effect.sync(() => ({ ...store.durable, entries: [...store.durable.entries] })),
          persist: (writes, done) => {
            for (const w of writes)
              events.push(`persist ${w.entries.map((e) => e.index).join(",") || "-"}`)
            done(undefined)
          },
        })
        const scope = yield* Scope.make()
        const ctx = yield* Layer.buildWithScope(
          RaftNode.layer({
            id: "b",
            tickMs: TICK_MS,
            raft: { electionTick: 10, seed: 2, preVote: false },
          }).pipe(
            Layer.provide(
              Layer.mergeAll(
                Layer.succeed(LogStorage, storage),
                Layer.succeed(Transport, transport),
                StateMachine.layerMemory(new MemoryStateMachine()),
              ),
            ),
          ),
          scope,
        )
        const node = Context.get(ctx, RaftNode)
        const settled = Effect.promise(() => new Promise((r) => setImmediate(r)))
        yield* node.campaign
        yield* settled
        const vote = events.findIndex((e) => e.startsWith("wire RequestVote "))
        assert.isAbove(
          vote,
          events.indexOf("persist -"),
          "the vote is durable before it is asked for",
        )
        receiver().onMessage({
          type: "RequestVoteResponse",
          from: "a",
          to: "b",
          term: 1,
          voteGranted: true,
          preVote: false,
        })
        yield* settled
        assert.strictEqual((yield* node.status).role, "Leader")
        // The follower acknowledges everything so far (the leader's empty entry).
        const last = (yield* node.status).lastIndex
        receiver().onMessage({
          type: "AppendEntriesResponse",
          from: "a",
          to: "b",
          term: 1,
          success: true,
          matchIndex: last,
          prevLogIndex: last - 1,
          conflictIndex: 0,
          conflictTerm: 0,
        })
        yield* settled
        events.length = 0
        node.proposeUnsafe(enc.encode("x"), () => undefined)
        yield* settled
        const next = last + 1
        assert.isAtLeast(events.indexOf(`persist ${next}`), 0)
        assert.isBelow(events.indexOf("wire AppendEntries a"), events.indexOf(`persist ${next}`))
        yield* Scope.close(scope, Exit.void)
      }),
  )

  it.effect("leadership: the current role, term and leader, then every change", () =>
    Effect.gen(function* () {
      const c = yield* electedCluster()
      const target = c.members.find((m) => m.id !== c.leader.id)!
      const seen = yield* Effect.forkChild(
        c.leader.node.leadership.pipe(
          Stream.takeUntil((l) => l.leader === target.id),
          Stream.runCollect,
        ),
      )
      yield* TestClock.adjust(TICK_MS)
      const before = yield* c.leader.node.status
      yield* c.leader.node.transferLeadership(target.id)
      yield* waitFor(
        "the new leader",
        Effect.map(leaders(c.members), (l) => l.join() === target.id),
      )
      yield* waitFor(
        "the old leader to follow the new one",
        Effect.map(c.leader.node.status, (st) => st.leader === target.id),
      )
      const changes = yield* Fiber.join(seen)
      assert.deepStrictEqual(changes[0], {
        role: "Leader",
        term: before.term,
        leader: c.leader.id,
      })
      const last = changes.at(-1)!
      assert.strictEqual(last.role, "Follower")
      assert.strictEqual(last.leader, target.id)
      assert.isAbove(last.term, before.term)
      // Consecutive values always differ.
      for (let i = 1; i < changes.length; i++) assert.notDeepEqual(changes[i], changes[i - 1])
      yield* c.stopAll
    }),
  )
})
