// MemberPromote on a member that does not lead: it asks the leader over gRPC
// at the client URL the leader published, asks again while there is no
// leader, and passes the leader's own answer on. The "leader" here is an
// in-process server; the asking member is an Applier that never leads.
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Applier, type ApplierShape, type RaftStatus } from "../../src/applier.ts"
import { Cluster } from "../../src/cluster.ts"
import { ErrNotLeader } from "../../src/core/errors.ts"
import type { Member } from "../../src/core/types.ts"
import { EtcdError } from "../../src/errors.ts"
import { startServer, type TestServer } from "../support/server.ts"

let leaderServer: TestServer
beforeAll(async () => {
  leaderServer = await startServer()
})
afterAll(async () => {
  await leaderServer?.close()
})

const LEADER = 77n
const SELF = 5n

/** A member that never leads; it learns the leader (at `url`) after `unknownFor` status reads. */
const follower = (url: string | undefined, unknownFor: number) => {
  let reads = 0
  const status = (): RaftStatus => ({
    clusterId: 1n,
    memberId: SELF,
    leader: reads++ < unknownFor ? 0n : LEADER,
    raftTerm: 2,
    raftIndex: 10,
    raftAppliedIndex: 10,
    isLearner: false,
  })
  const members: Member[] = [
    {
      ID: LEADER,
      name: "l",
      peerURLs: ["http://127.0.0.1:1"],
      clientURLs: url === undefined ? [] : [url],
      isLearner: false,
    },
  ]
  const applier = {
    promoteMember: () => Effect.fail(EtcdError.fromFailure(ErrNotLeader)),
    status: Effect.sync(status),
    members: Effect.succeed(members),
    read: () => Effect.succeed(0),
  } as unknown as ApplierShape
  return {
    layer: Cluster.layer.pipe(Layer.provide(Layer.succeed(Applier, applier))),
    reads: () => reads,
  }
}

const promote = (layer: Layer.Layer<Cluster>, ID: bigint) =>
  Effect.runPromise(
    Effect.flip(Effect.flatMap(Effect.service(Cluster), (c) => c.memberPromote({ ID }))).pipe(
      Effect.provide(layer),
    ),
  )

describe("MemberPromote on a member that does not lead", () => {
  it("asks the leader at its client URL and passes its answer on", async () => {
    const f = follower(leaderServer.url, 0)
    const e = await promote(f.layer, 4242n)
    // The leader's own answer (this one does not know the member), code and all.
    expect([e.code, e.message]).toEqual([5, "etcdserver: member not found"])
  })

  it("asks again while there is no leader, then asks the leader", async () => {
    const f = follower(leaderServer.url, 3)
    const e = await promote(f.layer, 4242n)
    expect(e.message).toBe("etcdserver: member not found")
    expect(f.reads()).toBeGreaterThanOrEqual(4)
  })

  it("says it is not the leader when the leader published no client URL", async () => {
    const f = follower(undefined, 0)
    const e = await promote(f.layer, 4242n)
    expect([e.code, e.message]).toEqual([9, "etcdserver: not leader"])
    expect(f.reads()).toBe(1)
  })
})
