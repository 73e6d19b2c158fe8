// Replication mechanics beyond the paper: flow control (probe / replicate /
// snapshot), pipelining and batching, loss recovery, proposals on followers.
import { describe, expect, it } from "vitest"
import { findProgress, type Message, step } from "../../src/index.ts"
import { commandsOf, messagesOf, SyncNetwork } from "../../src/testing/sync-network.ts"
import { appendOk, makeDurableLeader, node, stepDurable } from "./helpers.ts"

const ids = ["1", "2", "3"]
const data = (s: string) => new TextEncoder().encode(s)
const propose = (n: number, size = 1) =>
  ({
    type: "Propose",
    proposals: Array.from({ length: n }, (_, i) => ({
      id: i,
      type: "Normal" as const,
      data: new Uint8Array(size),
    })),
  }) as const

const appendsTo = (msgs: Message[], to: string) =>
  msgs.filter((m) => m.type === "AppendEntries" && m.to === to)

describe("flow control", () => {
  it("a new leader probes each follower with one message until it answers, then pipelines", () => {
    const s = node("1", ids)
    makeDurableLeader(s, ["2"])
    expect(findProgress(s, "2")!.state).toBe("Probe")
    // While the probe is unanswered, further proposals do not go to that follower.
    const out = messagesOf(stepDurable(s, propose(1)))
    expect(appendsTo(out, "2")).toHaveLength(0)
    stepDurable(s, appendOk("2", "1", 1, 1))
    expect(findProgress(s, "2")!.state).toBe("Replicate")
    const more = messagesOf(stepDurable(s, propose(1)))
    expect(appendsTo(more, "2")).toHaveLength(1)
  })

  it("pipelining stops at maxInflightMsgs and resumes as acknowledgements free the window", () => {
    const s = node("1", ids, { maxInflightMsgs: 3 })
    makeDurableLeader(s, ["2"])
    stepDurable(s, appendOk("2", "1", 1, 1))
    let sentTo2 = 0
    for (let i = 0; i < 6; i++)
      sentTo2 += appendsTo(messagesOf(stepDurable(s, propose(1))), "2").length
    expect(sentTo2).toBe(3)
    expect(findProgress(s, "2")!.inflight).toHaveLength(3)
    // Acknowledging the first two frees two slots; the backlog goes out in one message.
    const resumed = messagesOf(stepDurable(s, appendOk("2", "1", 1, 3)))
    const apps = appendsTo(resumed, "2")
    expect(apps).toHaveLength(1)
    expect(apps[0]!.type === "AppendEntries" && apps[0]!.entries.map((e) => e.index)).toEqual([
      5, 6, 7,
    ])
  })

  it("maxInflightBytes bounds the bytes in flight", () => {
    const s = node("1", ids, { maxInflightBytes: 1000, maxMsgBytes: 600 })
    makeDurableLeader(s, ["2"])
    stepDurable(s, appendOk("2", "1", 1, 1))
    let sentTo2 = 0
    for (let i = 0; i < 10; i++)
      sentTo2 += appendsTo(messagesOf(stepDurable(s, propose(1, 400))), "2").length
    // Each message carries 424 counted bytes: the third crosses 1000 and pauses the follower.
    expect(sentTo2).toBe(3)
  })

  it("batches: one Propose of many entries is one AppendEntries per follower", () => {
    const net = new SyncNetwork(ids)
    expect(net.elect("1")).toBe(true)
    net.tickAll(1)
    net.deliver()
    const out = messagesOf(net.step("1", propose(50)))
    expect(appendsTo(out, "2")).toHaveLength(1)
    expect(appendsTo(out, "3")).toHaveLength(1)
  })

  it("a lagging follower catches up in messages of at most maxMsgBytes (at least one entry)", () => {
    const net = new SyncNetwork(ids, { options: { maxMsgBytes: 200 } })
    expect(net.elect("1")).toBe(true)
    net.isolate("3")
    for (let i = 0; i < 20; i++) net.step("1", propose(1, 50))
    net.deliver()
    net.heal()
    net.filter = (m) => {
      if (m.type === "AppendEntries" && m.to === "3") {
        let bytes = 0
        for (const e of m.entries) bytes += 24 + (e.type === "Normal" ? e.data.byteLength : 0)
        expect(m.entries.length === 1 || bytes <= 200).toBe(true)
      }
      return true
    }
    // The leader notices the lost messages after a heartbeat interval without acknowledgement.
    for (let i = 0; i < 3; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(net.state("3").entries).toHaveLength(net.state("1").entries.length)
  })

  it("a stale rejection (of an index already matched) is ignored", () => {
    const s = node("1", ids)
    makeDurableLeader(s, ["2"])
    stepDurable(s, appendOk("2", "1", 1, 1))
    stepDurable(s, propose(3))
    stepDurable(s, appendOk("2", "1", 1, 4))
    const pr = findProgress(s, "2")!
    const before = { ...pr, inflight: [...pr.inflight] }
    const out = stepDurable(s, {
      type: "AppendEntriesResponse",
      from: "2",
      to: "1",
      term: 1,
      success: false,
      matchIndex: 0,
      prevLogIndex: 2,
      conflictIndex: 2,
      conflictTerm: 0,
    })
    expect(messagesOf(out)).toHaveLength(0)
    expect(pr.state).toBe(before.state)
    expect(pr.next).toBe(before.next)
  })

  it("lost AppendEntries are detected after a heartbeat interval without acknowledgement and resent", () => {
    const net = new SyncNetwork(ids, { options: { heartbeatTick: 1 } })
    expect(net.elect("1")).toBe(true)
    net.tickAll(1)
    net.deliver()
    net.propose("1", "lost")
    // Drop what is queued (the AppendEntries carrying "lost").
    net.drain()
    expect(findProgress(net.state("1"), "2")!.inflight.length).toBeGreaterThan(0)
    for (let i = 0; i < 3; i++) {
      net.tick("1")
      net.deliver()
    }
    for (const id of ids) expect(net.appliedData(id)).toEqual(["lost"])
  })

  it("followers learn a new commitIndex without waiting for a heartbeat when nothing else is in flight", () => {
    const net = new SyncNetwork(ids)
    expect(net.elect("1")).toBe(true)
    net.tickAll(1)
    net.deliver()
    net.propose("1", "x")
    net.deliver()
    for (const id of ids) expect(net.appliedData(id)).toEqual(["x"])
  })
})

describe("proposals on followers", () => {
  it("are refused with the leader's id by default", () => {
    const net = new SyncNetwork(ids)
    expect(net.elect("1")).toBe(true)
    const cmds = net.propose("2", "x", 42)
    expect(commandsOf(cmds, "ProposalDropped")).toEqual([
      { type: "ProposalDropped", id: 42, reason: "NotLeader", leaderHint: "1" },
    ])
  })

  it("are forwarded to the leader when forwardProposals is on, and the follower learns the index", () => {
    const net = new SyncNetwork(ids, { options: { forwardProposals: true } })
    expect(net.elect("1")).toBe(true)
    net.propose("2", "fwd", 7)
    net.deliver()
    const accepted = commandsOf(net.node("2").log, "ProposalAccepted")
    expect(accepted).toHaveLength(1)
    expect(accepted[0]).toMatchObject({ id: 7, term: net.state("1").term })
    net.tickAll(1)
    net.deliver()
    for (const id of ids) expect(net.appliedData(id)).toEqual(["fwd"])
  })

  it("a candidate refuses with no leader hint", () => {
    const s = node("1", ids)
    step(s, { type: "Campaign" })
    const cmds = step(s, propose(1))
    expect(commandsOf(cmds, "ProposalDropped")[0]).toMatchObject({
      reason: "NotLeader",
      leaderHint: null,
    })
  })

  it("a leader over maxUncommittedBytes refuses with Overloaded until entries commit", () => {
    const s = node("1", ids, { maxUncommittedBytes: 100 })
    makeDurableLeader(s, ["2"])
    // Each proposal counts 24 + 20 bytes: the third would pass 100.
    const out = stepDurable(s, propose(5, 20))
    expect(commandsOf(out, "ProposalAccepted")).toHaveLength(2)
    expect(commandsOf(out, "ProposalDropped").every((d) => d.reason === "Overloaded")).toBe(true)
    stepDurable(s, appendOk("2", "1", 1, 3))
    expect(s.commitIndex).toBe(3)
    expect(commandsOf(stepDurable(s, propose(1, 20)), "ProposalAccepted")).toHaveLength(1)
  })

  it("carries data unchanged from proposal to every state machine", () => {
    const net = new SyncNetwork(ids)
    expect(net.elect("1")).toBe(true)
    const bytes = data("\u0000binary\u00ff")
    net.step("1", { type: "Propose", proposals: [{ id: 1, type: "Normal", data: bytes }] })
    net.deliver()
    net.tickAll(1)
    net.deliver()
    for (const id of ids) {
      const e = net.node(id).applied.find((x) => x.type === "Normal" && x.data.byteLength > 0)
      expect(e?.type === "Normal" && [...e.data]).toEqual([...bytes])
    }
  })
})
