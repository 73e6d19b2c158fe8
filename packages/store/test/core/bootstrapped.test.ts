// The "already bootstrapped?" decision: what a peer's membership says of a
// member, the wire forms of the question and answer, and the decision from
// the answers (etcd's isMemberBootstrapped).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type BootstrapAnswer,
  decideBootstrap,
  decodeBootstrapAnswer,
  decodeBootstrapQuery,
  describeReplies,
  encodeBootstrapAnswer,
  encodeBootstrapQuery,
  type MemberStanding,
  type PeerReply,
  refusalMessage,
  refuses,
  standingOf,
} from "../../src/core/bootstrapped.ts"
import { Membership, memberIdFor } from "../../src/core/members.ts"

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const standing = fc.constantFrom<MemberStanding>("unknown", "unstarted", "started", "removed")
const answer: fc.Arbitrary<BootstrapAnswer> = fc.record({
  standing,
  clusterId: u64,
  heardTerm: fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
})
const replies: fc.Arbitrary<PeerReply[]> = fc
  .uniqueArray(fc.constantFrom("n1", "n2", "n3", "n4", "n5"), { maxLength: 5 })
  .chain((peers) =>
    fc.tuple(
      ...peers.map((peer) =>
        fc.record({ peer: fc.constant(peer), answer: fc.option(answer, { nil: undefined }) }),
      ),
    ),
  )

describe("standingOf", () => {
  it("tells unknown, unstarted (added, never published), started (published) and removed apart", () => {
    const token = "tok"
    const initial = [
      { name: "n1", peerURLs: ["http://127.0.0.1:2380"] },
      { name: "n2", peerURLs: ["http://127.0.0.1:2381"] },
    ]
    const m = Membership.initial(initial, token)
    const [n1, n2] = initial.map((x) => memberIdFor(x.peerURLs, token)) as [bigint, bigint]
    const n4 = memberIdFor(["http://127.0.0.1:2384"], token)
    // The initial membership lists every initial member, none published.
    expect(standingOf(m, n1)).toBe("unstarted")
    expect(standingOf(m, n4)).toBe("unknown")
    expect(
      m.apply({ type: "attributes", ID: n1, name: "n1", clientURLs: ["http://127.0.0.1:2379"] }),
    ).toBeUndefined()
    expect(standingOf(m, n1)).toBe("started")
    expect(standingOf(m, n2)).toBe("unstarted")
    expect(
      m.apply({ type: "add", ID: n4, peerURLs: ["http://127.0.0.1:2384"], isLearner: false }),
    ).toBeUndefined()
    expect(standingOf(m, n4)).toBe("unstarted")
    expect(m.apply({ type: "remove", ID: n1 })).toBeUndefined()
    expect(standingOf(m, n1)).toBe("removed")
    // A member that has not caught up knows nobody (cluster ID 0).
    expect(standingOf(new Membership(), n2)).toBe("unknown")
  })
})

describe("bootstrap query and answer bodies", () => {
  it("round-trip", () => {
    fc.assert(
      fc.property(u64, answer, (id, a) => {
        expect(decodeBootstrapQuery(encodeBootstrapQuery(id))).toBe(id)
        expect(decodeBootstrapAnswer(encodeBootstrapAnswer(a))).toEqual(a)
      }),
    )
  })

  it("decode anything else (another question, another version, truncated, garbage) to undefined", () => {
    const q = encodeBootstrapQuery(5n)
    const a = encodeBootstrapAnswer({ standing: "started", clusterId: 7n, heardTerm: 3 })
    expect(decodeBootstrapQuery(a)).toBeUndefined()
    expect(decodeBootstrapAnswer(q)).toBeUndefined()
    expect(decodeBootstrapQuery(q.slice(0, 12))).toBeUndefined()
    expect(decodeBootstrapAnswer(Uint8Array.of(...a.slice(0, 5), 4, ...a.slice(6)))).toBeUndefined()
    expect(decodeBootstrapQuery(Uint8Array.of(...q.slice(0, 4), 2, ...q.slice(5)))).toBeUndefined()
    // A term past 2^53 - 1 cannot be a number: not an answer.
    const huge = a.slice()
    new DataView(huge.buffer).setBigUint64(14, 2n ** 53n)
    expect(decodeBootstrapAnswer(huge)).toBeUndefined()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), (bytes) => {
        // Without the "BOOT" tag nothing decodes.
        fc.pre(!(bytes[0] === 0x42 && bytes[1] === 0x4f && bytes[2] === 0x4f && bytes[3] === 0x54))
        expect(decodeBootstrapQuery(bytes)).toBeUndefined()
        expect(decodeBootstrapAnswer(bytes)).toBeUndefined()
      }),
    )
  })
})

describe("decideBootstrap", () => {
  it("refuses exactly when some peer knows the member as started or removed, or heard from it; naming the first", () => {
    fc.assert(
      fc.property(replies, (rs) => {
        const d = decideBootstrap(rs)
        const first = rs.find(
          (r) =>
            r.answer !== undefined &&
            (r.answer.standing === "started" ||
              r.answer.standing === "removed" ||
              r.answer.heardTerm > 0),
        )
        if (first === undefined) {
          expect(d).toEqual({ _tag: "Bootstrap", replies: rs })
          for (const r of rs) expect(refuses(r.answer)).toBe(false)
        } else {
          expect(d).toEqual({ _tag: "Refuse", peer: first.peer, answer: first.answer })
          expect(refuses(first.answer)).toBe(true)
        }
        // The order replies arrive in never changes whether it refuses.
        expect(decideBootstrap([...rs].reverse())._tag).toBe(d._tag)
      }),
    )
  })

  it("bootstraps when nobody answers (a whole new cluster starting) or all say unknown/unstarted", () => {
    expect(decideBootstrap([])._tag).toBe("Bootstrap")
    expect(
      decideBootstrap([
        { peer: "n1", answer: undefined },
        { peer: "n2", answer: { standing: "unstarted", clusterId: 9n, heardTerm: 0 } },
        { peer: "n3", answer: { standing: "unknown", clusterId: 0n, heardTerm: 0 } },
      ])._tag,
    ).toBe("Bootstrap")
    expect(refuses(undefined)).toBe(false)
  })
})

describe("messages", () => {
  const refusal = (answer: BootstrapAnswer) =>
    refusalMessage("n3", 0xabcn, { _tag: "Refuse", peer: "n1", answer })

  it("name the member, the peer and what to do, on one line", () => {
    const tail =
      "and its data directory is empty (it would rejoin having forgotten its log); remove it (etcdctl member remove abc), add it back under a new peer URL (etcdctl member add) and start that with an empty data directory and --initial-cluster-state existing"
    expect(refusal({ standing: "started", clusterId: 0xfeedn, heardTerm: 4 })).toBe(
      `member abc (n3) has already been bootstrapped: n1 knows it as a started member of cluster feed, ${tail}`,
    )
    // Heard from before it published (etcd would let it in).
    expect(refusal({ standing: "unstarted", clusterId: 0xfeedn, heardTerm: 4 })).toBe(
      `member abc (n3) has already been bootstrapped: n1 heard from it in term 4, ${tail}`,
    )
    expect(refusal({ standing: "removed", clusterId: 0xfeedn, heardTerm: 0 })).toBe(
      "member abc (n3) was removed from cluster feed (n1 says so) and cannot bootstrap again under its ID; add it back under a new peer URL (etcdctl member add) and start that with --initial-cluster-state existing",
    )
    expect(
      describeReplies([
        { peer: "n3", answer: { standing: "unstarted", clusterId: 1n, heardTerm: 0 } },
        { peer: "n1", answer: undefined },
      ]),
    ).toBe("n1 no answer, n3 unstarted")
    expect(describeReplies([])).toBe("no peers")
  })
})
