// ReadIndex linearizable reads (dissertation 6.4) and lease-based reads (6.4.1).
import { describe, expect, it } from "vitest"
import { step } from "../../src/index.ts"
import { commandsOf, SyncNetwork } from "../../src/testing/sync-network.ts"
import { makeLeader, node } from "./helpers.ts"

const ids = ["1", "2", "3"]

const settled = (o = {}) => {
  const net = new SyncNetwork(ids, { options: o })
  expect(net.elect("1")).toBe(true)
  net.propose("1", "x")
  net.deliver()
  net.tickAll(1)
  net.deliver()
  return net
}

describe("ReadIndex", () => {
  it("the leader answers with its commitIndex after a quorum confirms its leadership", () => {
    const net = settled()
    const commit = net.state("1").commitIndex
    const out = net.step("1", { type: "ReadIndex", context: 9 })
    // Nothing is ready before the heartbeat round.
    expect(commandsOf(out, "ReadReady")).toHaveLength(0)
    net.deliver()
    expect(commandsOf(net.node("1").log, "ReadReady")).toEqual([
      { type: "ReadReady", context: 9, index: commit },
    ])
  })

  it("a leader cut off from the quorum never confirms; the read fails when it steps down", () => {
    const net = settled({ checkQuorum: true, electionTick: 10 })
    net.isolate("1")
    net.step("1", { type: "ReadIndex", context: 1 })
    net.deliver()
    expect(commandsOf(net.node("1").log, "ReadReady")).toHaveLength(0)
    for (let i = 0; i < 25 && net.state("1").role === "Leader"; i++) net.tick("1")
    expect(commandsOf(net.node("1").log, "ReadDropped")).toEqual([
      { type: "ReadDropped", context: 1, leaderHint: null },
    ])
  })

  it("a new leader defers reads until an entry of its term is committed", () => {
    const s = node("1", ids)
    makeLeader(s, ["2"])
    const out = step(s, { type: "ReadIndex", context: 5 })
    expect(commandsOf(out, "ReadReady")).toHaveLength(0)
    expect(s.deferredReads).toHaveLength(1)
    step(s, { type: "Persisted", index: 1, term: 1 })
    step(s, {
      type: "AppendEntriesResponse",
      from: "2",
      to: "1",
      term: 1,
      success: true,
      matchIndex: 1,
      prevLogIndex: 0,
      conflictIndex: 0,
      conflictTerm: 0,
    })
    expect(s.commitIndex).toBe(1)
    expect(s.deferredReads).toHaveLength(0)
    expect(s.pendingReads).toHaveLength(1)
    expect(s.pendingReads[0]!.index).toBe(1)
  })

  it("a follower asks the leader and learns the read index (and the leader's commit)", () => {
    const net = settled()
    net.step("2", { type: "ReadIndex", context: 3 })
    net.deliver()
    const ready = commandsOf(net.node("2").log, "ReadReady")
    expect(ready).toEqual([{ type: "ReadReady", context: 3, index: net.state("1").commitIndex }])
    expect(net.state("2").commitIndex).toBe(net.state("1").commitIndex)
  })

  it("a node that knows no leader refuses at once", () => {
    const s = node("1", ids)
    expect(commandsOf(step(s, { type: "ReadIndex", context: 1 }), "ReadDropped")).toEqual([
      { type: "ReadDropped", context: 1, leaderHint: null },
    ])
  })

  it("a single-node cluster and lease-based reads answer without a round trip", () => {
    const one = new SyncNetwork(["1"])
    expect(one.elect("1")).toBe(true)
    expect(commandsOf(one.step("1", { type: "ReadIndex", context: 1 }), "ReadReady")).toHaveLength(
      1,
    )
    const net = settled({ readOnly: "LeaseBased", checkQuorum: true })
    expect(commandsOf(net.step("1", { type: "ReadIndex", context: 2 }), "ReadReady")).toEqual([
      { type: "ReadReady", context: 2, index: net.state("1").commitIndex },
    ])
  })

  it("confirming a later read confirms the earlier ones, in order", () => {
    const net = settled()
    net.step("1", { type: "ReadIndex", context: 1 })
    net.step("1", { type: "ReadIndex", context: 2 })
    // Only the heartbeats of the second round get through.
    const q = net.drain()
    for (const m of q) if (m.type === "Heartbeat" && m.readContext === 2) net.queue.push(m)
    net.deliver()
    expect(commandsOf(net.node("1").log, "ReadReady").map((r) => r.context)).toEqual([1, 2])
  })
})
