// The KV service over the in-process applier: full headers, checks before
// proposing, leases expired by the leader loop on the (test) clock, watches
// as Streams.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Applier } from "../src/applier.ts"
import { Cluster } from "../src/cluster.ts"
import { fromUtf8, utf8 } from "../src/core/bytes.ts"
import { KV } from "../src/kv.ts"

const layer = Cluster.layer.pipe(Layer.provideMerge(KV.layerMemory({ name: "m1" })))

describe("KV (in-process)", () => {
  it.effect("puts and gets with full response headers", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      const status = yield* (yield* Applier).status
      const put = yield* kv.put({ key: utf8("a"), value: utf8("1") })
      assert.deepStrictEqual(put.header, {
        cluster_id: status.clusterId,
        member_id: status.memberId,
        revision: 2,
        raft_term: 1,
      })
      const got = yield* kv.range({ key: utf8("a") })
      assert.strictEqual(got.count, 1)
      assert.strictEqual(fromUtf8(got.kvs[0]!.value), "1")
      assert.strictEqual(got.header.member_id, status.memberId)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("refuses bad requests before they reach the log", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      const error = yield* Effect.flip(kv.put({ key: new Uint8Array(0), value: utf8("v") }))
      assert.strictEqual(error._tag, "EtcdError")
      assert.strictEqual(error.code, 3)
      assert.strictEqual(error.message, "etcdserver: key is not provided")
      const dup = yield* Effect.flip(
        kv.txn({
          success: [{ request_put: { key: utf8("a") } }, { request_put: { key: utf8("a") } }],
        }),
      )
      assert.strictEqual(dup.message, "etcdserver: duplicate key given in txn request")
      const negative = yield* Effect.flip(kv.leaseGrant({ ID: -5, TTL: 10 }))
      assert.strictEqual(negative.message, "etcdserver: invalid ID: lease ID -5 is negative")
      const status = yield* (yield* Applier).status
      // Only the leader's promote entry was applied.
      assert.strictEqual(status.raftAppliedIndex, 1)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("serves read-only txns without a new revision", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      yield* kv.put({ key: utf8("a"), value: utf8("1") })
      const r = yield* kv.txn({
        compare: [{ key: utf8("a"), target: "VALUE", result: "EQUAL", value: utf8("1") }],
        success: [{ request_range: { key: utf8("a") } }],
      })
      assert.isTrue(r.succeeded)
      assert.strictEqual(r.header.revision, 2)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("expires a lease on the leader's clock and deletes its keys", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      const grant = yield* kv.leaseGrant({ TTL: 5 })
      assert.isAbove(grant.ID, 0)
      assert.strictEqual(grant.TTL, 5)
      yield* kv.put({ key: utf8("eph"), value: utf8("x"), lease: grant.ID })
      const deletions = yield* Effect.forkChild(
        Stream.runCollect(
          kv.watch({ key: utf8("eph") }).pipe(
            Stream.filter((r) => r.events.length > 0),
            Stream.take(1),
          ),
        ),
      )
      yield* TestClock.adjust("3 seconds")
      // A keep-alive at 3 s moves the deadline to 8 s.
      assert.strictEqual((yield* kv.leaseKeepAlive({ ID: grant.ID })).TTL, 5)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual((yield* kv.range({ key: utf8("eph") })).count, 1)
      assert.strictEqual((yield* kv.leaseTimeToLive({ ID: grant.ID })).TTL, 1)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* kv.range({ key: utf8("eph") })).count, 0)
      assert.strictEqual((yield* kv.leaseTimeToLive({ ID: grant.ID })).TTL, -1)
      const events = (yield* Fiber.join(deletions)).flatMap((r) => r.events)
      assert.deepStrictEqual(
        events.map((e) => e.type),
        ["DELETE"],
      )
    }).pipe(Effect.provide(layer)),
  )

  it.effect("ends a watch on a compacted revision with the compact revision", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      for (let i = 0; i < 4; i++) yield* kv.put({ key: utf8("k"), value: utf8(`${i}`) })
      yield* kv.compact({ revision: 4 })
      const all = yield* Stream.runCollect(kv.watch({ key: utf8("k"), start_revision: 2 }))
      assert.deepStrictEqual(
        all.map((r) => [r.created, r.canceled, r.compact_revision]),
        [
          [true, false, 0],
          [false, true, 4],
        ],
      )
    }).pipe(Effect.provide(layer)),
  )

  it.effect("refuses a compaction at a revision at or below 0 before it reaches the log", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      for (let i = 0; i < 60; i++) yield* kv.put({ key: utf8("k"), value: utf8(`${i}`) })
      const applied = (yield* (yield* Applier).status).raftAppliedIndex
      for (const revision of [-200, -1, 0]) {
        const error = yield* Effect.flip(kv.compact({ revision }))
        assert.strictEqual(error.code, 11)
        assert.strictEqual(error.message, "etcdserver: mvcc: required revision has been compacted")
      }
      // Nothing was proposed, and every revision is still readable (-200 used
      // to be logged as 56 and compact the history below it).
      assert.strictEqual((yield* (yield* Applier).status).raftAppliedIndex, applied)
      const first = yield* kv.range({ key: utf8("k"), revision: 2 })
      assert.strictEqual(fromUtf8(first.kvs[0]!.value), "0")
      // As etcd: the header carries the store's revision, not the one read at.
      assert.strictEqual(first.header.revision, 61)
    }).pipe(
      Effect.provide(
        Cluster.layer.pipe(
          Layer.provideMerge(KV.layerMemory({ name: "m1", roundTripEntries: true })),
        ),
      ),
    ),
  )

  it.effect("answers a keep-alive for an unknown lease with TTL 0 without a log entry", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      const applier = yield* Applier
      const applied = (yield* applier.status).raftAppliedIndex
      for (let i = 0; i < 50; i++) {
        const r = yield* kv.leaseKeepAlive({ ID: 424242 })
        assert.deepStrictEqual([r.ID, r.TTL], [424242, 0])
      }
      // Each used to be proposed: 50 entries for a lease that does not exist.
      assert.strictEqual((yield* applier.status).raftAppliedIndex, applied)
      // A lease that exists is still renewed through the log.
      const grant = yield* kv.leaseGrant({ TTL: 30 })
      const renewed = yield* kv.leaseKeepAlive({ ID: grant.ID })
      assert.strictEqual(renewed.TTL, 30)
      assert.strictEqual((yield* applier.status).raftAppliedIndex, applied + 2)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("multiplexes watches on a session and closes them with its scope", () =>
    Effect.gen(function* () {
      const kv = yield* KV
      const applier = yield* Applier
      const got = yield* Effect.scoped(
        Effect.gen(function* () {
          const session = yield* kv.watchSession
          yield* session.send({ create_request: { key: utf8("a") } })
          yield* session.send({ create_request: { key: utf8("b") } })
          yield* kv.put({ key: utf8("b"), value: utf8("1") })
          yield* kv.put({ key: utf8("a"), value: utf8("2") })
          return yield* Stream.runCollect(Stream.take(session.responses, 4))
        }),
      )
      assert.deepStrictEqual(
        got.map((r) => [r.watch_id, r.created, r.events.map((e) => fromUtf8(e.kv.key))]),
        [
          [0, true, []],
          [1, true, []],
          [1, false, ["b"]],
          [0, false, ["a"]],
        ],
      )
      // The session's watchers are gone with its scope: a later put reaches no one.
      const opened = yield* applier.openWatch(() => {})
      assert.strictEqual(opened, 2)
    }).pipe(Effect.provide(layer)),
  )

  it.effect("lists, adds and removes members and reports status", () =>
    Effect.gen(function* () {
      const cluster = yield* Cluster
      const list = yield* cluster.memberList
      assert.strictEqual(list.members.length, 1)
      assert.strictEqual(list.members[0]!.name, "m1")
      const added = yield* cluster.memberAdd({ peerURLs: ["http://127.0.0.1:12380"] })
      assert.strictEqual(added.member.name, "")
      assert.strictEqual(added.members.length, 2)
      const again = yield* Effect.flip(cluster.memberAdd({ peerURLs: ["http://127.0.0.1:12380"] }))
      assert.strictEqual(again.message, "etcdserver: Peer URLs already exists")
      const bad = yield* Effect.flip(cluster.memberAdd({ peerURLs: ["not a url"] }))
      assert.strictEqual(bad.message, "etcdserver: given member URLs are invalid")
      const removed = yield* cluster.memberRemove({ ID: added.member.ID })
      assert.strictEqual(removed.members.length, 1)
      const missing = yield* Effect.flip(cluster.memberRemove({ ID: 42n }))
      assert.strictEqual(missing.message, "etcdserver: member not found")
      const status = yield* cluster.status
      assert.strictEqual(status.version, "3.4.0")
      assert.strictEqual(status.leader, list.members[0]!.ID)
    }).pipe(Effect.provide(layer)),
  )
})
