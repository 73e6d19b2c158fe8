// etcd's admin calls on the store replicated by Raft (embedded, test clock):
// MoveLeader, MemberPromote and MemberUpdate, with etcd's errors for every
// refusal. The same calls through etcdctl against real processes are in
// test/e2e/admin.test.ts.
import { assert, describe, it } from "@effect/vitest"
import { RaftNode } from "@flotilla/raft"
import { Effect } from "effect"
import { Applier } from "../src/applier.ts"
import { Cluster } from "../src/cluster.ts"
import { fromUtf8, utf8 } from "../src/core/bytes.ts"
import { raftNodeId } from "../src/core/members.ts"
import type { EmbeddedMember } from "../src/embedded.ts"
import type { EtcdError } from "../src/errors.ts"
import { KV } from "../src/kv.ts"
import { drive, embedded, leaderOf, until } from "./support/embedded.ts"

const message = <A>(e: Effect.Effect<A, EtcdError>) =>
  Effect.map(Effect.flip(drive(e)), (x) => x.message)

const code = <A>(e: Effect.Effect<A, EtcdError>) => Effect.map(Effect.flip(drive(e)), (x) => x.code)

describe("MoveLeader (embedded)", () => {
  it.effect("hands leadership to a voter and completes once it leads", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const target = c.members.find((m) => m !== leader)!
      for (let i = 0; i < 5; i++)
        yield* drive(leader.get(KV).put({ key: utf8(`k${i}`), value: utf8(`${i}`) }))
      const r = yield* drive(leader.get(Cluster).moveLeader({ targetID: target.id }))
      assert.strictEqual(r.header.member_id, leader.id)
      // Done means done: the target leads when the call returns.
      const st = yield* target.get(RaftNode).status
      assert.strictEqual(st.role, "Leader")
      assert.strictEqual((yield* leader.get(RaftNode).status).role, "Follower")
      // Writes go on through the new leader.
      yield* drive(target.get(KV).put({ key: utf8("after"), value: utf8("move") }))
      // Moving to the leader itself is done at once.
      yield* drive(target.get(Cluster).moveLeader({ targetID: target.id }))
      assert.strictEqual((yield* target.get(RaftNode).status).role, "Leader")
    }),
  )

  it.effect("is refused with etcd's errors: not the leader, unknown target, a learner", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const follower = c.members.find((m) => m !== leader)!
      assert.strictEqual(
        yield* message(follower.get(Cluster).moveLeader({ targetID: leader.id })),
        "etcdserver: not leader",
      )
      assert.strictEqual(
        yield* code(follower.get(Cluster).moveLeader({ targetID: leader.id })),
        9, // FAILED_PRECONDITION
      )
      // Leadership first, as etcd: a follower says so whatever the target.
      assert.strictEqual(
        yield* message(follower.get(Cluster).moveLeader({ targetID: 12345n })),
        "etcdserver: not leader",
      )
      assert.strictEqual(
        yield* message(leader.get(Cluster).moveLeader({ targetID: 12345n })),
        "etcdserver: bad leader transferee",
      )
      const learner = yield* drive(
        leader.get(Cluster).memberAdd({ peerURLs: ["http://embedded-m4:2380"], isLearner: true }),
      )
      assert.strictEqual(
        yield* message(leader.get(Cluster).moveLeader({ targetID: learner.member.ID })),
        "etcdserver: bad leader transferee",
      )
      assert.strictEqual((yield* leader.get(RaftNode).status).role, "Leader")
    }),
  )

  it.effect("times out with etcd's error when the target does not take over", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const target = c.members.find((m) => m !== leader)!
      yield* target.stop
      const e = yield* Effect.flip(drive(leader.get(Cluster).moveLeader({ targetID: target.id })))
      assert.strictEqual(e.message, "etcdserver: request timed out, leader transfer took too long")
      assert.strictEqual(e.code, 2) // UNKNOWN, as etcd (no gRPC error of its own)
      // The leader keeps leading and accepts writes again.
      yield* drive(leader.get(KV).put({ key: utf8("still"), value: utf8("here") }))
      assert.strictEqual((yield* leader.get(RaftNode).status).role, "Leader")
    }),
  )
})

describe("MemberPromote (embedded)", () => {
  it.effect("promotes a learner once it is in sync with the leader, and only then", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const cluster = leader.get(Cluster)
      for (let i = 0; i < 20; i++)
        yield* drive(leader.get(KV).put({ key: utf8(`p${i}`), value: utf8(`${i}`) }))
      const peerURLs = ["http://embedded-m4:2380"]
      const added = yield* drive(cluster.memberAdd({ peerURLs, isLearner: true }))
      const id = added.member.ID
      assert.isTrue(added.member.isLearner)
      // Not started: it holds nothing the leader has.
      assert.strictEqual(
        yield* message(cluster.memberPromote({ ID: id })),
        "etcdserver: can only promote a learner member which is in sync with leader",
      )
      // Only the leader can tell; without a client URL to ask it at, a follower says so.
      const follower = c.members.find((m) => m !== leader)!
      assert.strictEqual(
        yield* message(follower.get(Cluster).memberPromote({ ID: id })),
        "etcdserver: not leader",
      )
      const m4 = yield* c.join("m4", peerURLs)
      yield* until(
        "m4 to catch up",
        Effect.map(
          m4.get(KV).range({ key: utf8("p19"), serializable: true }),
          (r) => r.kvs.length === 1 && fromUtf8(r.kvs[0]!.value) === "19",
        ),
      )
      // A learner serves writes and linearizable reads (through the leader).
      yield* drive(m4.get(KV).put({ key: utf8("from-learner"), value: utf8("yes") }))
      const read = yield* drive(m4.get(KV).range({ key: utf8("from-learner") }))
      assert.strictEqual(fromUtf8(read.kvs[0]!.value), "yes")
      const r = yield* drive(cluster.memberPromote({ ID: id }))
      assert.isFalse(r.members.find((m) => m.ID === id)!.isLearner)
      const st = yield* leader.get(RaftNode).status
      assert.include(st.config.voters, raftNodeId(id))
      assert.notInclude(st.config.learners, raftNodeId(id))
      // Every member's registry agrees.
      for (const m of [...c.members, m4])
        yield* until(
          `${m.name} to see m4 as a voter`,
          Effect.map(m.get(Applier).members, (ms) => ms.some((x) => x.ID === id && !x.isLearner)),
        )
      // A voter now.
      assert.strictEqual(
        yield* message(cluster.memberPromote({ ID: id })),
        "etcdserver: can only promote a learner member",
      )
    }),
  )

  it.effect("refuses unknown IDs and voters with etcd's errors", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const cluster = leader.get(Cluster)
      assert.strictEqual(
        yield* message(cluster.memberPromote({ ID: 777n })),
        "etcdserver: member not found",
      )
      assert.strictEqual(yield* code(cluster.memberPromote({ ID: 777n })), 5) // NOT_FOUND
      const voter = c.members.find((m) => m !== leader)!
      assert.strictEqual(
        yield* message(cluster.memberPromote({ ID: voter.id })),
        "etcdserver: can only promote a learner member",
      )
    }),
  )
})

describe("MemberUpdate (embedded)", () => {
  it.effect("changes a member's peer URLs through the log; refuses with etcd's errors", () =>
    Effect.gen(function* () {
      const c = yield* embedded()
      const leader = yield* leaderOf(c.members)
      const [f1, f2] = c.members.filter((m) => m !== leader) as [EmbeddedMember, EmbeddedMember]
      const urls = ["http://10.0.0.9:2390", "http://10.0.0.9:2391"]
      // Through a follower: proposed like any write.
      const r = yield* drive(f1.get(Cluster).memberUpdate({ ID: f2.id, peerURLs: urls }))
      assert.deepStrictEqual(r.members.find((m) => m.ID === f2.id)!.peerURLs, urls)
      assert.strictEqual(r.members.length, 3)
      for (const m of c.members)
        yield* until(
          `${m.name} to apply the update`,
          Effect.map(m.get(Applier).members, (ms) =>
            ms.some((x) => x.ID === f2.id && x.peerURLs.join() === urls.join()),
          ),
        )
      // Its name, client URLs and vote stay.
      const after = yield* drive(leader.get(Cluster).memberList)
      assert.strictEqual(after.members.find((m) => m.ID === f2.id)!.name, f2.name)
      assert.include((yield* leader.get(RaftNode).status).config.voters, f2.node)
      // Its own URLs again: fine (etcd checks only the other members').
      yield* drive(leader.get(Cluster).memberUpdate({ ID: f2.id, peerURLs: urls }))

      const cluster = leader.get(Cluster)
      const refusals: Array<[ReadonlyArray<string>, bigint, string]> = [
        [["ftp://x:1"], f2.id, "etcdserver: given member URLs are invalid"],
        [["http://no-port"], f2.id, "etcdserver: given member URLs are invalid"],
        [[], f2.id, "etcdserver: given member URLs are invalid"],
        [["http://10.0.0.8:1"], 4242n, "etcdserver: member not found"],
        [[`http://embedded-${leader.name}:2380`], f2.id, "etcdserver: Peer URLs already exists"],
      ]
      for (const [peerURLs, ID, text] of refusals)
        assert.strictEqual(yield* message(cluster.memberUpdate({ ID, peerURLs })), text)
      // A removed member is not found either (etcd's ErrIDRemoved).
      yield* drive(cluster.memberRemove({ ID: f1.id }))
      assert.strictEqual(
        yield* message(cluster.memberUpdate({ ID: f1.id, peerURLs: ["http://10.0.0.7:1"] })),
        "etcdserver: member not found",
      )
    }),
  )
})
