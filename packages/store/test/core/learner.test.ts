import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ErrNotSupportedForLearner, GrpcCode } from "../../src/core/errors.ts"
import {
  learnerRefusal,
  learnerServesStream,
  learnerServesUnary,
  learnerStreamRefusal,
} from "../../src/core/learner.ts"

const UNARY = [
  "/etcdserverpb.KV/Range",
  "/etcdserverpb.KV/Put",
  "/etcdserverpb.KV/DeleteRange",
  "/etcdserverpb.KV/Txn",
  "/etcdserverpb.KV/Compact",
  "/etcdserverpb.Lease/LeaseGrant",
  "/etcdserverpb.Lease/LeaseRevoke",
  "/etcdserverpb.Lease/LeaseTimeToLive",
  "/etcdserverpb.Lease/LeaseLeases",
  "/etcdserverpb.Cluster/MemberList",
  "/etcdserverpb.Cluster/MemberAdd",
  "/etcdserverpb.Cluster/MemberRemove",
  "/etcdserverpb.Cluster/MemberUpdate",
  "/etcdserverpb.Cluster/MemberPromote",
  "/etcdserverpb.Maintenance/Status",
  "/etcdserverpb.Maintenance/Alarm",
  "/etcdserverpb.Maintenance/HashKV",
  "/etcdserverpb.Maintenance/Hash",
  "/etcdserverpb.Maintenance/Defragment",
  "/etcdserverpb.Maintenance/MoveLeader",
]

describe("what a learner serves (etcd's isRPCSupportedForLearner)", () => {
  it("serves Status and serializable Range only, among the unary calls", () => {
    const served = UNARY.flatMap((p) =>
      [false, true].filter((s) => learnerServesUnary(p, s)).map((s) => `${p} ${s}`),
    )
    expect(served).toEqual([
      "/etcdserverpb.KV/Range true",
      "/etcdserverpb.Maintenance/Status false",
      "/etcdserverpb.Maintenance/Status true",
    ])
  })

  it("refuses every stream but Snapshot", () => {
    expect(learnerServesStream("/etcdserverpb.Watch/Watch")).toBe(false)
    expect(learnerServesStream("/etcdserverpb.Lease/LeaseKeepAlive")).toBe(false)
    expect(learnerServesStream("/etcdserverpb.Maintenance/Snapshot")).toBe(true)
    // Our server answers Snapshot's one request at once, through the unary path.
    expect(learnerServesUnary("/etcdserverpb.Maintenance/Snapshot", false)).toBe(true)
  })

  it("refuses with etcd's UNAVAILABLE message, and only on a learner", () => {
    expect(ErrNotSupportedForLearner.code).toBe(GrpcCode.UNAVAILABLE)
    expect(ErrNotSupportedForLearner.message).toBe("etcdserver: rpc not supported for learner")
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...UNARY), fc.string()),
        fc.boolean(),
        fc.boolean(),
        (path, learner, serializable) => {
          const refused = learnerRefusal(learner, path, serializable)
          expect(refused).toBe(
            learner && !learnerServesUnary(path, serializable)
              ? ErrNotSupportedForLearner
              : undefined,
          )
          // A voter (or a member not yet in the membership) is never refused.
          if (!learner) expect(refused).toBeUndefined()
          const stream = learnerStreamRefusal(learner, path)
          expect(stream === undefined).toBe(!learner || learnerServesStream(path))
        },
      ),
    )
  })
})
