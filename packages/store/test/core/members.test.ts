// The replicated membership, the log entries and snapshots of a replicated
// store, and the decoding of etcd's flags.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeRequest, encodeRequest, encodeSnapshot } from "../../src/core/codec.ts"
import { decodeMemberConfig, FlagError } from "../../src/core/config.ts"
import {
  decodeEntry,
  decodeReplicaSnapshot,
  encodeBatchEntry,
  encodeMemberEntry,
  encodeReplicaSnapshot,
  encodeStoreEntry,
  entriesOf,
} from "../../src/core/entry.ts"
import {
  checkConnected,
  checkMoveLeader,
  checkPromote,
  checkStartedQuorum,
  clusterIdFor,
  HEALTH_INTERVAL_MS,
  LEARNER_READY_FRACTION,
  type MemberOp,
  Membership,
  memberIdFor,
  memberIdOfNode,
  raftNodeId,
} from "../../src/core/members.ts"
import { MvccStore } from "../../src/core/mvcc.ts"
import type { Member } from "../../src/core/types.ts"

const urls = fc.constantFrom(
  "http://127.0.0.1:2380",
  "http://127.0.0.1:2381",
  "http://10.0.0.2:2380",
  "https://n4:2380",
)
const id = fc.constantFrom(1n, 2n, 3n, 2n ** 64n - 1n)
const op: fc.Arbitrary<MemberOp> = fc.oneof(
  fc.record({
    type: fc.constant("add" as const),
    ID: id,
    peerURLs: fc.uniqueArray(urls, { minLength: 0, maxLength: 2 }),
    isLearner: fc.boolean(),
  }),
  fc.record({ type: fc.constant("remove" as const), ID: id }),
  fc.record({
    type: fc.constant("attributes" as const),
    ID: id,
    name: fc.string({ maxLength: 4 }),
    clientURLs: fc.array(urls, { maxLength: 2 }),
  }),
  fc.record({ type: fc.constant("promote" as const), ID: id }),
  fc.record({
    type: fc.constant("update" as const),
    ID: id,
    peerURLs: fc.uniqueArray(urls, { minLength: 0, maxLength: 2 }),
  }),
)

/** A reference registry: a plain list, checked the obvious way. */
const reference = (ops: ReadonlyArray<MemberOp>) => {
  let members: Member[] = []
  const removed = new Set<bigint>()
  const results: string[] = []
  for (const o of ops) {
    const m = members.find((x) => x.ID === o.ID)
    let error = ""
    if (o.type === "add") {
      if (o.peerURLs.length === 0) error = "bad"
      else if (removed.has(o.ID)) error = "removed"
      else if (m !== undefined) error = "exists"
      else if (members.some((x) => x.peerURLs.some((u) => o.peerURLs.includes(u)))) error = "url"
      else if (o.isLearner && members.some((x) => x.isLearner)) error = "learners"
      else
        members.push({
          ID: o.ID,
          name: "",
          peerURLs: o.peerURLs,
          clientURLs: [],
          isLearner: o.isLearner,
        })
    } else if (o.type === "update" && o.peerURLs.length === 0) error = "bad"
    else if (m === undefined) error = "missing"
    else if (o.type === "remove") {
      members = members.filter((x) => x !== m)
      removed.add(o.ID)
    } else if (o.type === "attributes") {
      members = members.map((x) => (x === m ? { ...x, name: o.name, clientURLs: o.clientURLs } : x))
    } else if (o.type === "update") {
      if (members.some((x) => x !== m && x.peerURLs.some((u) => o.peerURLs.includes(u))))
        error = "url"
      else members = members.map((x) => (x === m ? { ...x, peerURLs: o.peerURLs } : x))
    } else if (!m.isLearner) error = "voter"
    else members = members.map((x) => (x === m ? { ...x, isLearner: false } : x))
    results.push(error)
  }
  members.sort((a, b) => (a.ID < b.ID ? -1 : 1))
  return { members, removed: [...removed].sort((a, b) => (a < b ? -1 : 1)), results }
}

describe("membership", () => {
  it("derives member IDs from peer URLs and the token, the cluster ID from the members", () => {
    const a = memberIdFor(["http://127.0.0.1:2380"], "t")
    expect(memberIdFor(["http://127.0.0.1:2380"], "t")).toBe(a)
    expect(memberIdFor(["http://127.0.0.1:2380"], "u")).not.toBe(a)
    expect(memberIdFor(["http://b:1", "http://a:1"], "t")).toBe(
      memberIdFor(["http://a:1", "http://b:1"], "t"),
    )
    expect(clusterIdFor([3n, 1n], "t")).toBe(clusterIdFor([1n, 3n], "t"))
    expect(memberIdOfNode(raftNodeId(a))).toBe(a)
    expect(memberIdOfNode("n1")).toBeUndefined()
  })

  it("applies random changes as the reference does; snapshots and log entries round-trip", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), (ops) => {
        const m = new Membership({ clusterId: 7n, members: [], removed: [] })
        const results = ops.map((o) => {
          // Through the log encoding, as a replica sees it.
          const decoded = decodeEntry(encodeMemberEntry({ ID: 1, now: 2 }, o))
          expect(decoded).toEqual({ kind: "member", header: { ID: 1, now: 2 }, op: o })
          const before = m.version
          const r = m.apply(o)
          expect(m.version).toBe(r === undefined ? before + 1 : before)
          return r
        })
        const ref = reference(ops)
        expect(results.map((r) => r !== undefined)).toEqual(ref.results.map((e) => e !== ""))
        expect(m.state()).toEqual({ clusterId: 7n, members: ref.members, removed: ref.removed })
        const back = decodeReplicaSnapshot(
          encodeReplicaSnapshot(m, encodeSnapshot(new MvccStore())),
        )
        expect(back.membership.state()).toEqual(m.state())
      }),
    )
  })

  it("refuses with etcd's errors", () => {
    const m = Membership.initial([{ name: "a", peerURLs: ["http://127.0.0.1:2380"] }], "t")
    const [a] = m.members
    expect(
      m.check({ type: "add", ID: 9n, peerURLs: ["ftp://x:1"], isLearner: false })?.message,
    ).toBe("etcdserver: given member URLs are invalid")
    expect(
      m.check({ type: "add", ID: 9n, peerURLs: ["http://127.0.0.1:2380"], isLearner: false })
        ?.message,
    ).toBe("etcdserver: Peer URLs already exists")
    expect(
      m.check({ type: "add", ID: a!.ID, peerURLs: ["http://x:1"], isLearner: false })?.message,
    ).toBe("etcdserver: member ID already exist")
    // The same URLs again (so the same ID, as IDs derive from URLs): the URLs are named.
    expect(
      m.check({ type: "add", ID: a!.ID, peerURLs: ["http://127.0.0.1:2380"], isLearner: false })
        ?.message,
    ).toBe("etcdserver: Peer URLs already exists")
    expect(m.check({ type: "promote", ID: a!.ID })?.message).toBe(
      "etcdserver: can only promote a learner member",
    )
    // One learner at a time (etcd's maxLearners).
    expect(m.apply({ type: "add", ID: 7n, peerURLs: ["http://l:1"], isLearner: true })).toBe(
      undefined,
    )
    expect(
      m.check({ type: "add", ID: 8n, peerURLs: ["http://l:2"], isLearner: true })?.message,
    ).toBe("etcdserver: too many learner members in cluster")
    expect(m.check({ type: "add", ID: 8n, peerURLs: ["http://l:2"], isLearner: false })).toBe(
      undefined,
    )
    expect(m.apply({ type: "remove", ID: a!.ID })).toBeUndefined()
    expect(m.check({ type: "remove", ID: a!.ID })?.message).toBe("etcdserver: member not found")
    expect(
      m.check({ type: "add", ID: a!.ID, peerURLs: ["http://127.0.0.1:2380"], isLearner: false })
        ?.message,
    ).toMatch(/belonged to a removed member/)
  })
})

describe("the leader's admin decisions", () => {
  const voter = (ID: bigint, name: string): Member => ({
    ID,
    name,
    peerURLs: [`http://v${ID}:2380`],
    clientURLs: [],
    isLearner: false,
  })
  const learner: Member = { ...voter(9n, ""), isLearner: true }

  it("promotes a learner whose match index is at least 90 % of the leader's (etcd's readyPercent)", () => {
    const m = new Membership({ clusterId: 1n, members: [voter(1n, "a"), learner], removed: [] })
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.option(fc.nat({ max: 1_000_000 }), { nil: undefined }),
        (leaderMatch, learnerMatch) => {
          const r = checkPromote(m, 9n, { leaderMatch, learnerMatch })
          const ready =
            learnerMatch !== undefined && learnerMatch >= leaderMatch * LEARNER_READY_FRACTION
          expect(r?.message).toBe(
            ready
              ? undefined
              : "etcdserver: can only promote a learner member which is in sync with leader",
          )
        },
      ),
    )
    expect(checkPromote(m, 9n, { leaderMatch: 100, learnerMatch: 90 })).toBeUndefined()
    expect(checkPromote(m, 9n, { leaderMatch: 100, learnerMatch: 89 })?.code).toBe(9)
  })

  it("refuses to promote unknown IDs, voters, and without a quorum of started voters after it", () => {
    const synced = { leaderMatch: 10, learnerMatch: 10 }
    const m = new Membership({ clusterId: 1n, members: [voter(1n, "a"), learner], removed: [] })
    expect(checkPromote(m, 5n, synced)?.message).toBe("etcdserver: member not found")
    expect(checkPromote(m, 1n, synced)?.message).toBe(
      "etcdserver: can only promote a learner member",
    )
    // Voters a (started), b and c (started or not) and the learner: quorum 3 of 4.
    const withB = (b: string) =>
      new Membership({
        clusterId: 1n,
        members: [voter(1n, "a"), voter(2n, b), voter(3n, ""), learner],
        removed: [],
      })
    expect(checkPromote(withB(""), 9n, synced)?.message).toBe(
      "etcdserver: re-configuration failed due to not enough started members",
    )
    expect(checkPromote(withB("b"), 9n, synced)).toBeUndefined()
  })

  it("adds and removes voters only when a quorum of started voters remains (strict reconfig check)", () => {
    const NOT_ENOUGH = "etcdserver: re-configuration failed due to not enough started members"
    // Cases as etcd 3.4's IsReadyToAddVotingMember / IsReadyToRemoveVotingMember read.
    const of = (...ms: Member[]) => new Membership({ clusterId: 1n, members: ms, removed: [] })
    const add = { type: "add", isLearner: false } as const
    // One started member: a second may join (etcd's restore case), a third not yet.
    expect(checkStartedQuorum(of(voter(1n, "a")), add)).toBeUndefined()
    expect(checkStartedQuorum(of(voter(1n, "a"), voter(2n, "")), add)?.message).toBe(NOT_ENOUGH)
    // 3 started + 2 not: a 6th voter needs 4 started.
    const five = of(voter(1n, "a"), voter(2n, "b"), voter(3n, "c"), voter(4n, ""), voter(5n, ""))
    expect(checkStartedQuorum(five, add)?.message).toBe(NOT_ENOUGH)
    expect(checkStartedQuorum(five, add)?.code).toBe(9)
    // A learner may always be added, and removed.
    expect(checkStartedQuorum(five, { type: "add", isLearner: true })).toBeUndefined()
    expect(
      checkStartedQuorum(of(voter(1n, "a"), learner), { type: "remove", ID: 9n }),
    ).toBeUndefined()
    // Removing a started voter leaves 2 of 4 started: refused; an unstarted one: 3 of 4.
    expect(checkStartedQuorum(five, { type: "remove", ID: 1n })?.message).toBe(NOT_ENOUGH)
    expect(checkStartedQuorum(five, { type: "remove", ID: 4n })).toBeUndefined()
    // Removing the last member leaves no voters: etcd's count gives quorum 1 of 0 started.
    expect(checkStartedQuorum(of(voter(1n, "a")), { type: "remove", ID: 1n })?.message).toBe(
      NOT_ENOUGH,
    )
    // Every membership: refused exactly when the voters after the change lack a started quorum.
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 8 }),
        fc.boolean(),
        fc.nat({ max: 9 }),
        (shape, learnerOp, target) => {
          const ms = shape.map(([started, isLearner], i) => ({
            ...voter(BigInt(i + 1), started ? `m${i}` : ""),
            isLearner,
          }))
          const m = of(...ms)
          const voters = ms.filter((x) => !x.isLearner)
          const startedOf = (xs: Member[]) => xs.filter((x) => x.name !== "").length
          const addOk =
            learnerOp ||
            (startedOf(voters) === 1 && voters.length === 1) ||
            startedOf(voters) > (voters.length + 1) / 2
          expect(checkStartedQuorum(m, { type: "add", isLearner: learnerOp }) === undefined).toBe(
            addOk,
          )
          const ID = BigInt(target)
          const after = voters.filter((x) => x.ID !== ID)
          const removeOk = m.member(ID)?.isLearner === true || startedOf(after) > after.length / 2
          expect(checkStartedQuorum(m, { type: "remove", ID }) === undefined).toBe(removeOk)
        },
      ),
    )
  })

  it("adds and removes members only while connected to the voters long enough (etcd's unhealthy cluster check)", () => {
    const UNHEALTHY = "etcdserver: unhealthy cluster"
    const of = (...ms: Member[]) => new Membership({ clusterId: 1n, members: ms, removed: [] })
    const now = 100_000
    const long = now - HEALTH_INTERVAL_MS
    const three = of(voter(1n, "a"), voter(2n, "b"), voter(3n, "c"), learner)
    const since =
      (table: Record<string, number | undefined>) =>
      (id: bigint): number | undefined =>
        table[id.toString()]
    const add = { type: "add", isLearner: false } as const
    const addLearner = { type: "add", isLearner: true } as const
    // Self is 1n: its own connection is never asked; learners' are not either.
    const healthy = since({ "2": long, "3": long - 1 })
    expect(checkConnected(three, add, 1n, healthy, now)).toBeUndefined()
    expect(checkConnected(three, addLearner, 1n, healthy, now)).toBeUndefined()
    // One voter connected for less than the interval, or not at all: refused, learners too.
    for (const t of [long + 1, undefined]) {
      const c = since({ "2": long, "3": t })
      expect(checkConnected(three, add, 1n, c, now)?.message).toBe(UNHEALTHY)
      expect(checkConnected(three, add, 1n, c, now)?.code).toBe(14)
      expect(checkConnected(three, addLearner, 1n, c, now)?.message).toBe(UNHEALTHY)
    }
    // Removing: a voter this member is not connected to (down) may go.
    const threeDown = since({ "2": long, "3": undefined })
    expect(checkConnected(three, { type: "remove", ID: 3n }, 1n, threeDown, now)).toBeUndefined()
    // ... but not one it is connected to: 2 active of 3, less the removed one, is below 2.
    expect(checkConnected(three, { type: "remove", ID: 2n }, 1n, threeDown, now)?.message).toBe(
      UNHEALTHY,
    )
    // A recent connection does not count as active, yet it is not "down" either.
    const threeRecent = since({ "2": long, "3": now - 10 })
    expect(checkConnected(three, { type: "remove", ID: 3n }, 1n, threeRecent, now)?.message).toBe(
      UNHEALTHY,
    )
    // All connected: any voter may go, this member included; learners always.
    for (const ID of [1n, 2n, 3n, 9n])
      expect(checkConnected(three, { type: "remove", ID }, 1n, healthy, now)).toBeUndefined()
    expect(checkConnected(three, { type: "remove", ID: 9n }, 1n, since({}), now)).toBeUndefined()
    // Removing itself while another voter is down: 2 - 1 active of 3.
    expect(checkConnected(three, { type: "remove", ID: 1n }, 1n, threeDown, now)?.message).toBe(
      UNHEALTHY,
    )

    // Connecting more peers, or for longer, never turns an allowed change into a refusal.
    const times = fc.option(fc.integer({ min: now - 3 * HEALTH_INTERVAL_MS, max: now }), {
      nil: undefined,
    })
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), times, times), { minLength: 1, maxLength: 7 }),
        fc.nat({ max: 8 }),
        fc.nat({ max: 8 }),
        fc.boolean(),
        (shape, selfIndex, target, isLearner) => {
          const m = of(
            ...shape.map(([l], i) => ({ ...voter(BigInt(i + 1), `m${i}`), isLearner: l })),
          )
          const self = BigInt((selfIndex % shape.length) + 1)
          // `better`: each peer connected at least as long as in `worse` (earlier or equal).
          const worse = (id: bigint) => shape[Number(id) - 1]?.[1]
          const better = (id: bigint) => {
            const [, a, b] = shape[Number(id) - 1] ?? [false, undefined, undefined]
            return a === undefined ? b : b === undefined ? a : Math.min(a, b)
          }
          const o = { type: "add", isLearner } as const
          if (checkConnected(m, o, self, worse, now) === undefined)
            expect(checkConnected(m, o, self, better, now)).toBeUndefined()
          // A remove: more connections can make a "down" target active, so only the
          // quorum part is monotone; compare when the target's own state is the same.
          const ID = BigInt(target + 1)
          const sameTarget = (id: bigint) => (id === ID ? worse(id) : better(id))
          if (checkConnected(m, { type: "remove", ID }, self, worse, now) === undefined)
            expect(checkConnected(m, { type: "remove", ID }, self, sameTarget, now)).toBeUndefined()
        },
      ),
    )
  })

  it("moves leadership only to a voting member", () => {
    const m = new Membership({ clusterId: 1n, members: [voter(1n, "a"), learner], removed: [] })
    expect(checkMoveLeader(m, 1n)).toBeUndefined()
    expect(checkMoveLeader(m, 9n)?.message).toBe("etcdserver: bad leader transferee")
    expect(checkMoveLeader(m, 4n)?.message).toBe("etcdserver: bad leader transferee")
    expect(checkMoveLeader(m, 4n)?.code).toBe(9)
  })
})

describe("log entries and snapshots", () => {
  it("batches requests and member changes into one entry and reads them back in order", () => {
    const put = encodeStoreEntry({
      header: { ID: 5, now: 9 },
      put: { key: new Uint8Array([1]), value: new Uint8Array([2]) },
    })
    const member = encodeMemberEntry({ ID: 6, now: 9 }, { type: "remove", ID: 3n })
    const parts = entriesOf(encodeBatchEntry([put, member, put]))
    expect(parts.map((p) => decodeEntry(p).kind)).toEqual(["store", "member", "store"])
    const first = decodeEntry(parts[0]!)
    expect(first.kind === "store" && decodeRequest(encodeRequest(first.request))).toEqual(
      first.kind === "store" && first.request,
    )
    expect(entriesOf(put)).toEqual([put])
    expect(() => entriesOf(encodeBatchEntry([encodeBatchEntry([put])]))).toThrow("a nested batch")
    expect(() => decodeEntry(new Uint8Array([9]))).toThrow("log entry kind: unknown value 9")
    expect(() => decodeEntry(new Uint8Array(0))).toThrow("empty log entry")
  })

  it("refuses a damaged snapshot", () => {
    const m = Membership.initial([{ name: "a", peerURLs: ["http://127.0.0.1:2380"] }], "t")
    const s = new MvccStore()
    s.apply({
      header: { ID: 1, now: 1 },
      put: { key: new Uint8Array([1]), value: new Uint8Array([2]) },
    })
    const bytes = encodeReplicaSnapshot(m, encodeSnapshot(s))
    const back = decodeReplicaSnapshot(bytes)
    expect(back.store.rev).toBe(2)
    expect(back.membership.members).toEqual(m.members)
    const damaged = bytes.slice()
    damaged[6] = damaged[6]! ^ 0xff
    expect(() => decodeReplicaSnapshot(damaged)).toThrow()
    expect(() => decodeReplicaSnapshot(bytes.subarray(0, 3))).toThrow("replica snapshot too short")
  })
})

describe("etcd's flags", () => {
  const cluster = "n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2381"
  const base = {
    name: "n1",
    "initial-advertise-peer-urls": "http://127.0.0.1:2380",
    "initial-cluster": cluster,
  }

  it("decodes a member's flags with etcd's defaults", () => {
    const c = decodeMemberConfig(base)
    expect(c.dataDir).toBe("n1.etcd")
    expect(c.initialClusterState).toBe("new")
    expect(c.initialClusterToken).toBe("etcd-cluster")
    expect(c.snapshotCount).toBe(100_000)
    expect(c.heartbeatMs).toBe(100)
    expect(c.electionMs).toBe(1000)
    expect(c.advertiseClientURLs).toEqual(["http://localhost:2379"])
    expect(c.initialCluster).toEqual([
      { name: "n1", peerURLs: ["http://127.0.0.1:2380"] },
      { name: "n2", peerURLs: ["http://127.0.0.1:2381"] },
    ])
    expect(decodeMemberConfig({}).initialCluster).toEqual([
      { name: "default", peerURLs: ["http://localhost:2380"] },
    ])
  })

  it.each([
    [
      { "initial-cluster-state": "maybe" },
      '--initial-cluster-state: expected new or existing, got "maybe"',
    ],
    [{ name: "n3" }, '--initial-cluster: has no entry for this member\'s --name "n3"'],
    [
      { "initial-advertise-peer-urls": "http://127.0.0.1:9" },
      "--initial-cluster: n1=http://127.0.0.1:2380 does not match --initial-advertise-peer-urls http://127.0.0.1:9",
    ],
    [
      { "initial-cluster": "n1=http://127.0.0.1:2380,n1x" },
      '--initial-cluster: "n1x" is not name=URL',
    ],
    [
      { "initial-cluster": "n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2380" },
      "--initial-cluster: http://127.0.0.1:2380 is given to both n1 and n2",
    ],
    [
      { "listen-client-urls": "https://127.0.0.1:2379" },
      '--listen-client-urls: "https://127.0.0.1:2379": TLS is not supported yet',
    ],
    [
      { "listen-client-urls": "http://127.0.0.1" },
      '--listen-client-urls: "http://127.0.0.1" has no port',
    ],
    [{ "listen-peer-urls": "nonsense" }, '--listen-peer-urls: "nonsense" is not a URL'],
    [{ "snapshot-count": "0" }, '--snapshot-count: expected a positive integer, got "0"'],
    [
      { "listen-client-urls": "http://127.0.0.1:99999" },
      '--listen-client-urls: "http://127.0.0.1:99999": port 99999 is out of range (0-65535)',
    ],
    [
      {
        "listen-client-urls": "http://127.0.0.1:2380",
        "listen-peer-urls": "http://127.0.0.1:2380",
      },
      "--listen-client-urls: 127.0.0.1:2380 is also the --listen-peer-urls address",
    ],
    [
      { "election-timeout": "1000000000" },
      "--election-timeout: 1000000000 ms is too long, and should be set less than 50000 ms",
    ],
    [
      { "heartbeat-interval": "100", "election-timeout": "300" },
      "--election-timeout: 300 ms should be at least 5 times --heartbeat-interval (100 ms)",
    ],
  ])("refuses %o naming the flag", (flags, message) => {
    let error: unknown
    try {
      decodeMemberConfig({ ...base, ...flags })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(FlagError)
    expect((error as FlagError).message).toBe(message)
  })
})
