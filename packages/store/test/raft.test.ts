// The store replicated by Raft, in process: three members over an in-memory
// network on the test clock. Forwarded writes, linearizable reads on any
// member, crashes and restarts from storage, leases across a leader change,
// snapshots, membership changes, timeouts.

import { assert, describe, it } from "@effect/vitest"
import { RaftNode } from "@flotilla/raft"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Cluster } from "../src/cluster.ts"
import { fromUtf8, utf8 } from "../src/core/bytes.ts"
import { memberIdFor, raftNodeId } from "../src/core/members.ts"
import type { EmbeddedMember } from "../src/embedded.ts"
import { KV } from "../src/kv.ts"
import { drive, embedded, leaderOf, until } from "./support/embedded.ts"

const valueAt = (m: EmbeddedMember, key: string, serializable = false) =>
  Effect.map(m.get(KV).range({ key: utf8(key), serializable }), (r) =>
    r.kvs.length === 0 ? undefined : fromUtf8(r.kvs[0]!.value),
  )

describe("the store on Raft (embedded, test clock)", () => {
  it.effect("forwards a follower's writes and serves linearizable reads on every member", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const [f1, f2] = c.members.filter((m) => m !== leader) as [EmbeddedMember, EmbeddedMember]
      const put = yield* drive(f1.get(KV).put({ key: utf8("k"), value: utf8("from a follower") }))
      assert.strictEqual(put.header.member_id, f1.id)
      assert.isAtLeast(put.header.raft_term!, 1)
      // Linearizable: every member answers with the write, whoever applied it when.
      for (const m of c.members)
        assert.strictEqual(yield* drive(valueAt(m, "k")), "from a follower")
      const r = yield* drive(f2.get(KV).range({ key: utf8("k") }))
      assert.strictEqual(r.header.revision, put.header.revision)
      assert.strictEqual(r.header.cluster_id, put.header.cluster_id)
      assert.strictEqual(r.header.member_id, f2.id)
      // A txn (compare-and-swap) from the other follower.
      const cas = yield* drive(
        f2.get(KV).txn({
          compare: [{ key: utf8("k"), target: "MOD", mod_revision: put.header.revision }],
          success: [{ request_put: { key: utf8("k"), value: utf8("swapped") } }],
        }),
      )
      assert.isTrue(cas.succeeded)
      assert.strictEqual(yield* drive(valueAt(leader, "k")), "swapped")
    }),
  )

  it.effect("loses no acknowledged write when the leader crashes; the old leader catches up", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const kv = leader.get(KV)
      const acked: number[] = []
      for (let i = 0; i < 20; i++) {
        yield* drive(kv.put({ key: utf8(`key/${i}`), value: utf8(`v${i}`) }))
        acked.push(i)
      }
      yield* leader.stop
      const next = yield* leaderOf(c.members)
      assert.notStrictEqual(next, leader)
      for (let i = 20; i < 30; i++) {
        yield* drive(next.get(KV).put({ key: utf8(`key/${i}`), value: utf8(`v${i}`) }))
        acked.push(i)
      }
      yield* leader.start
      yield* until(
        "the old leader to catch up",
        Effect.map(valueAt(leader, "key/29", true), (v) => v === "v29"),
      )
      for (const m of c.members) {
        const all = yield* drive(
          m.get(KV).range({ key: utf8("key/"), range_end: utf8("key0"), serializable: true }),
        )
        assert.deepStrictEqual(
          all.kvs.map((kv) => fromUtf8(kv.value)).sort(),
          acked.map((i) => `v${i}`).sort(),
        )
      }
    }),
  )

  it.effect("keeps a lease's remaining TTL across a leader change; the new leader expires it", () =>
    Effect.gen(function* () {
      const c = yield* embedded({ leaseCheckInterval: 100 })
      const leader = yield* leaderOf(c.members)
      const follower = c.members.find((m) => m !== leader)!
      const grant = yield* drive(follower.get(KV).leaseGrant({ TTL: 10 }))
      yield* drive(follower.get(KV).put({ key: utf8("eph"), value: utf8("x"), lease: grant.ID }))
      const deleted = yield* Effect.forkChild(
        Stream.runHead(
          follower
            .get(KV)
            .watch({ key: utf8("eph") })
            .pipe(Stream.filter((r) => r.events.some((e) => e.type === "DELETE"))),
        ),
      )
      yield* TestClock.adjust(3_000)
      // The store's clock is the applied entries' (leaders' clocks): one write
      // now makes the 3 s count before the leader goes.
      yield* drive(follower.get(KV).put({ key: utf8("later"), value: utf8("x") }))
      yield* leader.stop
      const next = yield* leaderOf(c.members)
      const ttl = yield* drive(next.get(KV).leaseTimeToLive({ ID: grant.ID }))
      assert.strictEqual(ttl.grantedTTL, 10)
      assert.isAtMost(ttl.TTL, 7)
      assert.isAtLeast(ttl.TTL, 4)
      yield* until(
        "the lease to expire",
        Effect.map(valueAt(next, "eph", true), (v) => v === undefined),
      )
      const event = yield* Fiber.join(deleted)
      assert.strictEqual(event._tag, "Some")
      const gone = yield* drive(next.get(KV).leaseTimeToLive({ ID: grant.ID }))
      assert.strictEqual(gone.TTL, -1)
    }),
  )

  it.effect(
    "snapshots: compacted members restart from their snapshot; a joining member installs one",
    () =>
      Effect.gen(function* () {
        const c = yield* embedded({ snapshotCount: 16 })
        const leader = yield* leaderOf(c.members)
        for (let i = 0; i < 40; i++) {
          yield* drive(leader.get(KV).put({ key: utf8(`s/${i}`), value: utf8(`${i}`) }))
        }
        yield* until(
          "every member to take a snapshot",
          Effect.map(
            Effect.forEach(c.members, (m) => m.get(RaftNode).status),
            (ss) => ss.every((s) => s.snapshotIndex > 0),
          ),
        )
        const follower = c.members.find((m) => m !== leader)!
        yield* follower.stop
        yield* follower.start
        assert.strictEqual(yield* drive(valueAt(follower, "s/39")), "39")

        // A fourth member: added through the Cluster API, then started empty.
        const peerURLs = ["http://embedded-m4:2380"]
        const added = yield* drive(leader.get(Cluster).memberAdd({ peerURLs }))
        assert.strictEqual(added.member.ID, memberIdFor(peerURLs, "flotilla-embedded"))
        assert.strictEqual(added.members.length, 4)
        const m4 = yield* c.join("m4", peerURLs)
        assert.strictEqual(yield* drive(valueAt(m4, "s/39")), "39")
        // It publishes its name once it runs.
        yield* until(
          "m4 to publish its name",
          Effect.map(m4.get(Cluster).memberList, (l) =>
            l.members.some((m) => m.ID === m4.id && m.name === "m4"),
          ),
        )
        const list = yield* drive(leader.get(Cluster).memberList)
        assert.deepStrictEqual(list.members.map((m) => m.name).sort(), ["m1", "m2", "m3", "m4"])
        const voters = (yield* leader.get(RaftNode).status).config.voters
        assert.include(voters, raftNodeId(m4.id))
      }),
  )

  it.effect(
    "a member joining before any snapshot learns the initial membership from the leader's base snapshot",
    () =>
      Effect.gen(function* () {
        const c = yield* embedded()
        const leader = yield* leaderOf(c.members)
        yield* drive(leader.get(KV).put({ key: utf8("early"), value: utf8("1") }))
        assert.strictEqual((yield* leader.get(RaftNode).status).snapshotIndex, 0)
        const peerURLs = ["http://embedded-m4:2380"]
        yield* drive(leader.get(Cluster).memberAdd({ peerURLs }))
        const m4 = yield* c.join("m4", peerURLs)
        assert.strictEqual(yield* drive(valueAt(m4, "early")), "1")
        // The initial members exist only in the base snapshot's data, not in the log.
        yield* until(
          "m4 to know every member by name",
          Effect.map(m4.get(Cluster).memberList, (l) =>
            ["m1", "m2", "m3", "m4"].every((n) => l.members.some((m) => m.name === n)),
          ),
        )
        const st = yield* m4.get(RaftNode).status
        assert.strictEqual(st.snapshotIndex, 0)
      }),
  )

  it.effect("adds a member while writes keep coming", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      let written = 0
      const writer = yield* Effect.forkChild(
        Effect.forever(
          Effect.tap(
            Effect.all(
              Array.from({ length: 8 }, (_, i) =>
                leader.get(KV).put({ key: utf8(`busy/${i}`), value: utf8(`${written}`) }),
              ),
            ),
            () => Effect.sync(() => written++),
          ),
        ),
      )
      const peerURLs = ["http://embedded-m4:2380"]
      const added = yield* drive(leader.get(Cluster).memberAdd({ peerURLs }))
      assert.strictEqual(added.members.length, 4)
      yield* Fiber.interrupt(writer)
      assert.isAbove(written, 0)
      const voters = (yield* leader.get(RaftNode).status).config.voters
      assert.include(voters, raftNodeId(added.member.ID))
    }),
  )

  it.effect("removes a member: the configuration follows, the rest keeps serving", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const victim = c.members.find((m) => m !== leader)!
      const r = yield* drive(leader.get(Cluster).memberRemove({ ID: victim.id }))
      assert.deepStrictEqual(r.members.map((m) => m.ID).includes(victim.id), false)
      const st = yield* leader.get(RaftNode).status
      assert.notInclude([...st.config.voters, ...st.config.learners], victim.node)
      yield* victim.stop
      yield* drive(leader.get(KV).put({ key: utf8("after"), value: utf8("removal") }))
      const other = c.members.find((m) => m !== leader && m !== victim)!
      assert.strictEqual(yield* drive(valueAt(other, "after")), "removal")
      const again = yield* Effect.flip(drive(leader.get(Cluster).memberRemove({ ID: victim.id })))
      assert.strictEqual(again.message, "etcdserver: member not found")
      // Its peer URLs derive its ID, which may not come back.
      const back = yield* Effect.flip(
        drive(leader.get(Cluster).memberAdd({ peerURLs: [`http://embedded-${victim.name}:2380`] })),
      )
      assert.match(back.message, /belonged to a removed member/)
    }),
  )

  it.effect("times out without a quorum, with etcd's message; recovers when members return", () =>
    Effect.gen(function* () {
      const c = yield* embedded({ requestTimeout: 1_000 })
      const leader = yield* leaderOf(c.members)
      const others = c.members.filter((m) => m !== leader)
      for (const m of others) yield* m.stop
      const put = yield* Effect.flip(
        drive(leader.get(KV).put({ key: utf8("x"), value: utf8("1") })),
      )
      assert.strictEqual(put.message, "etcdserver: request timed out")
      const read = yield* Effect.flip(drive(leader.get(KV).range({ key: utf8("x") })))
      assert.strictEqual(read.message, "etcdserver: request timed out")
      for (const m of others) yield* m.start
      yield* drive(
        Effect.retry(leader.get(KV).put({ key: utf8("x"), value: utf8("2") }), { times: 20 }),
      )
      const now = yield* leaderOf(c.members)
      assert.strictEqual(yield* drive(valueAt(now, "x")), "2")
    }),
  )
})
