// Leadership transfer (dissertation 3.10).
import { describe, expect, it } from "vitest"
import { commandsOf, SyncNetwork } from "../../src/testing/sync-network.ts"

const ids = ["1", "2", "3"]
const cluster = () => {
  const net = new SyncNetwork(ids, {
    options: { checkQuorum: true, preVote: true, electionTick: 10 },
  })
  expect(net.elect("1")).toBe(true)
  net.tickAll(1)
  net.deliver()
  return net
}

describe("leadership transfer", () => {
  it("an up-to-date target gets TimeoutNow and wins the next term at once, despite leader leases", () => {
    const net = cluster()
    const term = net.state("1").term
    net.step("1", { type: "TransferLeadership", to: "2" })
    net.deliver()
    expect(net.leaders()).toEqual(["2"])
    expect(net.state("2").term).toBe(term + 1)
    expect(net.state("1").role).toBe("Follower")
  })

  it("a lagging target is caught up first", () => {
    const net = cluster()
    net.isolate("3")
    for (let i = 0; i < 5; i++) net.propose("1", `e${i}`)
    net.deliver()
    net.heal()
    net.step("1", { type: "TransferLeadership", to: "3" })
    net.deliver()
    expect(net.leaders()).toEqual(["3"])
    expect(net.state("3").entries.length).toBeGreaterThanOrEqual(6)
  })

  it("proposals are refused while the transfer runs, and the transfer is abandoned after an election timeout", () => {
    const net = cluster()
    net.isolate("2")
    net.step("1", { type: "TransferLeadership", to: "2" })
    net.deliver()
    const refused = net.propose("1", "x", 5)
    expect(commandsOf(refused, "ProposalDropped")[0]).toMatchObject({
      id: 5,
      reason: "TransferInProgress",
    })
    for (let i = 0; i < 10; i++) {
      net.tick("1")
      net.deliver()
    }
    expect(net.state("1").leadTransferee).toBeNull()
    expect(commandsOf(net.propose("1", "y", 6), "ProposalAccepted")).toHaveLength(1)
  })

  it("ignores a transfer to itself, to a non-voter or on a follower", () => {
    const net = cluster()
    net.step("1", { type: "TransferLeadership", to: "1" })
    net.step("1", { type: "TransferLeadership", to: "9" })
    net.step("2", { type: "TransferLeadership", to: "3" })
    net.deliver()
    expect(net.leaders()).toEqual(["1"])
    expect(net.state("1").leadTransferee).toBeNull()
  })
})
