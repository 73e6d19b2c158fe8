// Membership changes: one server at a time, joint consensus, learners and
// promotion (dissertation chapter 4; etcd-io/raft's ConfChangeV2 semantics).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  applyConfChange,
  type ConfChange,
  type Config,
  committedIndex,
  makeConfig,
  quorumCommitIndex,
  step,
  voteResult,
} from "../../src/index.ts"
import { Chaos } from "../../src/testing/chaos.ts"
import { commandsOf, SyncNetwork } from "../../src/testing/sync-network.ts"

const change = (
  changes: ConfChange["changes"],
  transition: ConfChange["transition"] = "Auto",
): ConfChange => ({ changes, transition })

const proposeChange = (net: SyncNetwork, leader: string, c: ConfChange, id = 1) =>
  net.step(leader, { type: "Propose", proposals: [{ id, type: "ConfChange", change: c }] })

/** Ticks and delivers until everything settles. */
const settle = (net: SyncNetwork, rounds = 5) => {
  for (let i = 0; i < rounds; i++) {
    net.tickAll(1)
    net.deliver()
  }
}

describe("configuration arithmetic", () => {
  it("a single voter change applies directly; a larger one enters a joint configuration", () => {
    const c = makeConfig(["1", "2", "3"])
    const one = applyConfChange(c, change([{ type: "AddVoter", node: "4" }])) as Config
    expect(one.voters).toEqual(["1", "2", "3", "4"])
    expect(one.outgoing).toEqual([])
    const two = applyConfChange(
      c,
      change([
        { type: "AddVoter", node: "4" },
        { type: "RemoveNode", node: "1" },
      ]),
    ) as Config
    expect(two.voters).toEqual(["2", "3", "4"])
    expect(two.outgoing).toEqual(["1", "2", "3"])
    expect(two.autoLeave).toBe(true)
    const left = applyConfChange(two, change([])) as Config
    expect(left).toEqual(makeConfig(["2", "3", "4"]))
  })

  it("rejects changes that make no sense, naming the reason", () => {
    const c = makeConfig(["1"])
    expect(applyConfChange(c, change([{ type: "RemoveNode", node: "1" }]))).toMatch(
      /removes every voter/,
    )
    expect(applyConfChange(c, change([]))).toMatch(/not in a joint/)
    const joint = applyConfChange(
      makeConfig(["1", "2"]),
      change([{ type: "AddVoter", node: "3" }], "JointExplicit"),
    )
    expect(applyConfChange(joint as Config, change([{ type: "AddVoter", node: "4" }]))).toMatch(
      /already in a joint/,
    )
  })

  it("a demoted voter waits in learnersNext until the joint configuration is left", () => {
    const c = makeConfig(["1", "2", "3"])
    const j = applyConfChange(
      c,
      change([{ type: "AddLearner", node: "3" }], "JointImplicit"),
    ) as Config
    expect(j.voters).toEqual(["1", "2"])
    expect(j.outgoing).toEqual(["1", "2", "3"])
    expect(j.learnersNext).toEqual(["3"])
    expect(j.learners).toEqual([])
    const left = applyConfChange(j, change([])) as Config
    expect(left.learners).toEqual(["3"])
    expect(left.learnersNext).toEqual([])
  })

  it("a joint decision needs majorities of both halves", () => {
    const j: Config = {
      voters: ["3", "4", "5"],
      outgoing: ["1", "2", "3"],
      learners: [],
      learnersNext: [],
      autoLeave: true,
    }
    expect(voteResult(j, ["1", "2", "3"], [])).toBe("Pending")
    expect(voteResult(j, ["3", "4", "1"], [])).toBe("Won")
    expect(voteResult(j, ["3"], ["4", "5"])).toBe("Lost")
    const match: Record<string, number> = { "1": 9, "2": 9, "3": 5, "4": 7, "5": 2 }
    expect(committedIndex(j, (id) => match[id] ?? 0)).toBe(5)
  })

  it("committedIndex is the largest index a majority stores (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 7 }), (matches) => {
        const voters = matches.map((_, i) => `n${i}`)
        const c = makeConfig(voters)
        const got = committedIndex(c, (id) => matches[Number(id.slice(1))]!)
        const q = (voters.length >> 1) + 1
        expect(matches.filter((m) => m >= got).length).toBeGreaterThanOrEqual(q)
        expect(matches.filter((m) => m >= got + 1).length).toBeLessThan(q)
      }),
    )
  })
})

describe("the leader's quorum arithmetic", () => {
  it("quorumCommitIndex (the allocation-free hot path) agrees with committedIndex on reachable leaders", () => {
    let leaders = 0
    for (let seed = 0; seed < 30; seed++) {
      const c = new Chaos({ voters: seed % 2 === 0 ? 3 : 5, spares: 2, raft: { electionTick: 2 } })
      let x = seed + 11
      for (let i = 0; i < 800; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0
        c.act(x % 1000, (x >>> 7) % 100_000)
        for (const n of c.nodes) {
          const s = n.state
          if (s === null || s.role !== "Leader") continue
          leaders++
          const match = new Map(s.progress.map((p) => [p.id, p.match]))
          expect(quorumCommitIndex(s)).toBe(committedIndex(s.config, (id) => match.get(id) ?? 0))
        }
      }
    }
    expect(leaders).toBeGreaterThan(100)
  })
})

describe("membership changes in a running cluster", () => {
  it("a learner receives the log, does not vote and does not count toward commitment; promotion makes it count", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    net.addNode("4")
    proposeChange(net, "1", change([{ type: "AddLearner", node: "4" }]))
    settle(net)
    expect(net.state("1").config.learners).toEqual(["4"])
    net.propose("1", "x")
    settle(net)
    expect(net.appliedData("4")).toEqual(["x"])
    // With 2 and 3 cut off, leader + learner are not a quorum of 3 voters.
    net.isolate("2")
    net.isolate("3")
    net.cut.delete("1->4")
    net.cut.delete("4->1")
    net.propose("1", "y")
    net.deliver()
    expect(net.appliedData("1")).toEqual(["x"])
    net.heal()
    settle(net)
    expect(net.appliedData("1")).toEqual(["x", "y"])
    // The learner never campaigns.
    for (let i = 0; i < 50; i++) net.tick("4")
    expect(net.state("4").role).toBe("Follower")
    expect(net.state("4").term).toBe(net.state("1").term)
    proposeChange(net, "1", change([{ type: "AddVoter", node: "4" }]), 2)
    settle(net)
    expect(net.state("1").config.voters).toEqual(["1", "2", "3", "4"])
    expect(net.state("4").config.voters).toEqual(["1", "2", "3", "4"])
  })

  it("only one membership change may be pending at a time", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    settle(net)
    net.isolate("2")
    net.isolate("3")
    const a = proposeChange(net, "1", change([{ type: "AddLearner", node: "4" }]), 1)
    const b = proposeChange(net, "1", change([{ type: "AddLearner", node: "5" }]), 2)
    expect(commandsOf(a, "ProposalAccepted")).toHaveLength(1)
    expect(commandsOf(b, "ProposalDropped")).toEqual([
      { type: "ProposalDropped", id: 2, reason: "ConfChangeRejected", leaderHint: "1" },
    ])
  })

  it("joint consensus replaces two voters at once and leaves the joint configuration by itself", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    net.addNode("4")
    net.addNode("5")
    proposeChange(
      net,
      "1",
      change([
        { type: "AddVoter", node: "4" },
        { type: "AddVoter", node: "5" },
        { type: "RemoveNode", node: "3" },
        { type: "RemoveNode", node: "2" },
      ]),
    )
    settle(net, 8)
    for (const id of ["1", "4", "5"]) {
      expect(net.state(id).config.voters).toEqual(["1", "4", "5"])
      expect(net.state(id).config.outgoing).toEqual([])
    }
    // The new configuration works without the removed nodes.
    net.isolate("2")
    net.isolate("3")
    net.propose("1", "after")
    settle(net)
    expect(net.appliedData("4")).toEqual(["after"])
  })

  it("an explicit joint configuration lasts until the empty change leaves it", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    net.addNode("4")
    proposeChange(net, "1", change([{ type: "AddVoter", node: "4" }], "JointExplicit"))
    settle(net)
    expect(net.state("1").config.outgoing).toEqual(["1", "2", "3"])
    proposeChange(net, "1", change([]), 2)
    settle(net)
    expect(net.state("1").config.outgoing).toEqual([])
    expect(net.state("1").config.voters).toEqual(["1", "2", "3", "4"])
  })

  it("a leader removed from the configuration steps down once the change is applied; the rest elect a leader", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    proposeChange(net, "1", change([{ type: "RemoveNode", node: "1" }]))
    net.deliver()
    expect(net.state("1").role).toBe("Follower")
    expect(net.state("1").config.voters).toEqual(["2", "3"])
    for (let i = 0; i < 40 && net.leaders().length === 0; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(net.leaders()).toHaveLength(1)
    expect(net.leaders()[0]).not.toBe("1")
  })

  it("a node joining with an empty configuration learns it from the leader", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    net.propose("1", "before")
    settle(net)
    net.step("1", {
      type: "Compact",
      index: net.state("1").appliedIndex,
      data: new Uint8Array([1]),
    })
    net.addNode("4")
    expect(net.state("4").config.voters).toEqual([])
    proposeChange(net, "1", change([{ type: "AddVoter", node: "4" }]))
    settle(net, 8)
    expect(net.state("4").config.voters).toEqual(["1", "2", "3", "4"])
    expect(net.state("4").snapshot.index).toBeGreaterThan(0)
    expect(net.state("4").commitIndex).toBe(net.state("1").commitIndex)
  })

  it("membership entries are applied in order and restarts rebuild the configuration", () => {
    const net = new SyncNetwork(["1", "2", "3"])
    expect(net.elect("1")).toBe(true)
    net.addNode("4")
    proposeChange(net, "1", change([{ type: "AddLearner", node: "4" }]))
    settle(net)
    net.restart("2")
    expect(net.state("2").config.learners).toEqual(["4"])
    const s = net.state("2")
    step(s, { type: "Tick" })
    expect(s.config.learners).toEqual(["4"])
  })
})
