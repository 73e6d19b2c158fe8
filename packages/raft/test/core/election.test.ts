// Pre-vote (dissertation 9.6), check-quorum and the leader lease (4.2.3, 6.2).
import { describe, expect, it } from "vitest"
import { step } from "../../src/index.ts"
import { SyncNetwork } from "../../src/testing/sync-network.ts"
import { node, requestVote, sent } from "./helpers.ts"

const ids = ["1", "2", "3"]

describe("pre-vote", () => {
  it("a partitioned node does not raise its term, so rejoining does not depose the leader", () => {
    const net = new SyncNetwork(ids, { options: { preVote: true, checkQuorum: true } })
    expect(net.elect("1")).toBe(true)
    const term = net.state("1").term
    net.isolate("3")
    for (let i = 0; i < 100; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(net.state("3").term).toBe(term)
    expect(net.state("3").role).toBe("PreCandidate")
    net.heal()
    net.tickAll(1)
    net.deliver()
    expect(net.leaders()).toEqual(["1"])
    expect(net.state("1").term).toBe(term)
    expect(net.state("3").role).toBe("Follower")
    expect(net.state("3").leader).toBe("1")
  })

  it("without pre-vote the same partition inflates the term and disrupts the leader", () => {
    const net = new SyncNetwork(ids, { options: { preVote: false, checkQuorum: false } })
    expect(net.elect("1")).toBe(true)
    const term = net.state("1").term
    net.isolate("3")
    for (let i = 0; i < 100; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(net.state("3").term).toBeGreaterThan(term + 2)
    net.heal()
    net.tickAll(1)
    net.deliver()
    expect(net.state("1").term).toBeGreaterThan(term)
  })

  it("a pre-vote changes neither the voter's term nor its vote", () => {
    const s = node("1", ids, { term: 2, preVote: true })
    const [r] = sent(s, requestVote("2", "1", 3, 0, 0, true))
    expect(r).toMatchObject({
      type: "RequestVoteResponse",
      voteGranted: true,
      preVote: true,
      term: 3,
    })
    expect(s.term).toBe(2)
    expect(s.vote).toBeNull()
  })

  it("a pre-candidate that wins the pre-vote runs a real election in the next term", () => {
    const net = new SyncNetwork(ids, { options: { preVote: true } })
    net.step("2", { type: "Campaign" })
    expect(net.state("2").role).toBe("PreCandidate")
    expect(net.state("2").term).toBe(0)
    net.deliver()
    expect(net.state("2").role).toBe("Leader")
    expect(net.state("2").term).toBe(1)
  })

  it("a pre-vote is refused while the voter hears from a leader", () => {
    const net = new SyncNetwork(ids, { options: { preVote: true, checkQuorum: false } })
    expect(net.elect("1")).toBe(true)
    const [r] = sent(net.state("2"), requestVote("3", "2", 2, 100, 100, true))
    expect(r).toMatchObject({ voteGranted: false })
  })
})

describe("check-quorum", () => {
  it("a leader that cannot reach a quorum for an election timeout steps down", () => {
    const net = new SyncNetwork(ids, { options: { checkQuorum: true, electionTick: 10 } })
    expect(net.elect("1")).toBe(true)
    net.isolate("1")
    for (let i = 0; i < 25 && net.state("1").role === "Leader"; i++) net.tick("1")
    expect(net.state("1").role).toBe("Follower")
    expect(net.state("1").leader).toBeNull()
  })

  it("a leader that hears from a quorum keeps leading", () => {
    const net = new SyncNetwork(ids, { options: { checkQuorum: true, electionTick: 10 } })
    expect(net.elect("1")).toBe(true)
    net.isolate("3")
    for (let i = 0; i < 50; i++) {
      net.tick("1")
      net.deliver()
    }
    expect(net.state("1").role).toBe("Leader")
  })

  it("a follower in its leader's lease ignores RequestVote from a higher term", () => {
    const net = new SyncNetwork(ids, { options: { checkQuorum: true, preVote: false } })
    expect(net.elect("1")).toBe(true)
    const f = net.state("2")
    const term = f.term
    const out = sent(f, requestVote("3", "2", term + 1, 100, 100))
    expect(out).toHaveLength(0)
    expect(f.term).toBe(term)
    expect(f.vote).toBe("1")
  })

  it("a lease-ignoring follower still votes once the lease expires", () => {
    const s = node("2", ids, { term: 1, checkQuorum: true, electionTick: 10 })
    step(s, { type: "Heartbeat", from: "1", to: "2", term: 1, leaderCommit: 0, readContext: 0 })
    for (let i = 0; i < 10; i++) {
      if (s.role !== "Follower") break
      step(s, { type: "Tick" })
    }
    const [r] = sent(s, requestVote("3", "2", 5, 0, 0))
    expect(r).toMatchObject({ voteGranted: true, term: 5 })
  })
})

describe("leader completeness under elections", () => {
  it("a node with a stale log cannot become leader while a majority holds newer entries", () => {
    const net = new SyncNetwork(ids, { options: { preVote: false } })
    expect(net.elect("1")).toBe(true)
    net.isolate("3")
    net.propose("1", "x")
    net.deliver()
    net.heal()
    net.isolate("1")
    expect(net.elect("3", 3)).toBe(false)
    expect(net.elect("2")).toBe(true)
    expect(
      net
        .state("2")
        .entries.some((e) => e.type === "Normal" && new TextDecoder().decode(e.data) === "x"),
    ).toBe(true)
  })
})
