// Log compaction and InstallSnapshot (paper section 7, Figure 13), chunked.
import { describe, expect, it } from "vitest"
import { freezeDurable } from "../../src/core/durable.ts"
import {
  bootstrap,
  type Command,
  createNode,
  findProgress,
  type InstallSnapshot,
  type Message,
  makeConfig,
  type Persist,
  step,
} from "../../src/index.ts"
import { commandsOf, SyncNetwork } from "../../src/testing/sync-network.ts"

const ids = ["1", "2", "3"]
const bytes = (n: number, seed = 1) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff)

/** A leader with `n` applied entries, compacted at `at` with `data`, while node 3 was away. */
const lagging = (n: number, at: number, data: Uint8Array, chunk = 100) => {
  const net = new SyncNetwork(ids, { options: { snapshotChunkBytes: chunk } })
  expect(net.elect("1")).toBe(true)
  net.isolate("3")
  for (let i = 0; i < n; i++) net.propose("1", `e${i}`)
  net.deliver()
  const cmds = net.step("1", { type: "Compact", index: at, data })
  return { net, cmds }
}

describe("compaction", () => {
  it("keeps the snapshot, drops the log up to it, and writes both", () => {
    const { net, cmds } = lagging(10, 6, bytes(10))
    const s = net.state("1")
    expect(s.snapshot.index).toBe(6)
    expect(s.snapshot.term).toBe(1)
    expect(s.entries[0]!.index).toBe(7)
    const p = commandsOf(cmds, "Persist")
    expect(p).toHaveLength(1)
    expect(p[0]!.snapshot?.index).toBe(6)
    expect(net.node("1").durable.snapshot.index).toBe(6)
    expect(net.node("1").durable.entries[0]!.index).toBe(7)
  })

  it("ignores a snapshot beyond the applied index or behind the current one", () => {
    const { net } = lagging(4, 2, bytes(4))
    const s = net.state("1")
    expect(
      commandsOf(
        step(s, { type: "Compact", index: s.appliedIndex + 1, data: bytes(1) }),
        "Persist",
      ),
    ).toHaveLength(0)
    expect(
      commandsOf(step(s, { type: "Compact", index: 1, data: bytes(1) }), "Persist"),
    ).toHaveLength(0)
    expect(s.snapshot.index).toBe(2)
  })

  it("records the configuration in effect at the snapshot's index", () => {
    const { net } = lagging(3, 3, bytes(3))
    expect(net.state("1").snapshot.config.voters).toEqual(ids)
  })
})

describe("InstallSnapshot", () => {
  it("brings a follower past the compacted log in chunks, then replicates the rest", () => {
    const data = bytes(450)
    const { net } = lagging(10, 8, data, 100)
    const chunks: InstallSnapshot[] = []
    net.filter = (m) => {
      if (m.type === "InstallSnapshot") chunks.push(m)
      return true
    }
    net.heal()
    for (let i = 0; i < 4; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(chunks.map((c) => [c.offset, c.data.byteLength, c.done])).toEqual([
      [0, 100, false],
      [100, 100, false],
      [200, 100, false],
      [300, 100, false],
      [400, 50, true],
    ])
    const f = net.state("3")
    expect(f.snapshot.index).toBe(8)
    expect([...f.snapshot.data]).toEqual([...data])
    expect(f.entries.map((e) => e.index)).toEqual([9, 10, 11])
    const applied = commandsOf(net.node("3").log, "ApplySnapshot")
    expect(applied).toHaveLength(1)
    // Index 1 is the no-op, so e7..e9 sit at 9..11, after the snapshot.
    expect(net.appliedData("3")).toEqual(["e7", "e8", "e9"])
    expect(findProgress(net.state("1"), "3")!.state).toBe("Replicate")
  })

  it("resends a lost chunk after a heartbeat interval without an answer", () => {
    const { net } = lagging(10, 8, bytes(300), 100)
    net.heal()
    let dropped = 0
    net.filter = (m) => {
      if (m.type === "InstallSnapshot" && m.offset === 100 && dropped === 0) {
        dropped++
        return false
      }
      return true
    }
    for (let i = 0; i < 6; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(dropped).toBe(1)
    expect(net.state("3").snapshot.index).toBe(8)
  })

  it("starts over when the follower restarts in the middle of a transfer", () => {
    const { net } = lagging(10, 8, bytes(300), 100)
    net.heal()
    let restarted = false
    net.filter = (m) => {
      if (m.type === "InstallSnapshot" && m.offset === 200 && !restarted) {
        restarted = true
        net.restart("3")
      }
      return true
    }
    for (let i = 0; i < 6; i++) {
      net.tickAll(1)
      net.deliver()
    }
    expect(restarted).toBe(true)
    expect(net.state("3").snapshot.index).toBe(8)
    expect([...net.state("3").snapshot.data]).toEqual([...bytes(300)])
  })

  it("applies the snapshot only once it is durable", () => {
    const f = createNode(
      { id: "3" },
      {
        hardState: { term: 1, vote: null, commit: 0 },
        snapshot: {
          index: 0,
          term: 0,
          config: { voters: ids, outgoing: [], learners: [], learnersNext: [], autoLeave: false },
          data: new Uint8Array(0),
        },
        entries: [],
      },
    )
    const cmds = step(f, {
      type: "InstallSnapshot",
      from: "1",
      to: "3",
      term: 1,
      lastIncludedIndex: 5,
      lastIncludedTerm: 1,
      config: f.config,
      offset: 0,
      data: bytes(10),
      done: true,
    })
    expect(commandsOf(cmds, "ApplySnapshot")).toHaveLength(0)
    const [p] = commandsOf(cmds, "Persist")
    expect(p!.snapshot?.index).toBe(5)
    expect(p!.after.map((m) => m.type)).toEqual(["InstallSnapshotResponse"])
    const acked = step(f, { type: "Persisted", ...p!.ack! })
    expect(commandsOf(acked, "ApplySnapshot")).toHaveLength(1)
    expect(f.appliedIndex).toBe(5)
  })

  it("a follower that already holds the snapshot's last entry keeps its log and commits", () => {
    const net = new SyncNetwork(ids)
    expect(net.elect("1")).toBe(true)
    for (let i = 0; i < 5; i++) net.propose("1", `e${i}`)
    net.deliver()
    const f = net.state("2")
    const before = f.entries.length
    step(f, {
      type: "InstallSnapshot",
      from: "1",
      to: "2",
      term: f.term,
      lastIncludedIndex: 6,
      lastIncludedTerm: f.term,
      config: f.config,
      offset: 0,
      data: bytes(5),
      done: true,
    })
    expect(f.entries).toHaveLength(before)
    expect(f.commitIndex).toBe(6)
    expect(f.snapshot.index).toBe(0)
  })

  it("a restarted node replays: ApplySnapshot, then the committed entries after it", () => {
    const { net } = lagging(10, 6, bytes(20))
    const d = freezeDurable(net.node("1").durable)
    const s = createNode({ id: "1" }, d)
    const cmds = step(s, { type: "Tick" })
    const [snap] = commandsOf(cmds, "ApplySnapshot")
    expect(snap?.snapshot.index).toBe(6)
    const replayed = commandsOf(cmds, "Apply").flatMap((a) => a.entries.map((e) => e.index))
    expect(replayed[0]).toBe(7)
    expect(replayed.at(-1)).toBe(Math.min(d.hardState.commit, 11))
  })

  it("a joining node hands the leader's base snapshot (index 0) to its state machine once durable, before any entry", () => {
    const base = bytes(12, 5)
    const config = { voters: ["1"], outgoing: [], learners: [], learnersNext: [], autoLeave: false }
    const leader = createNode(
      { id: "1" },
      {
        hardState: { term: 0, vote: null, commit: 0 },
        snapshot: { index: 0, term: 0, config, data: base },
        entries: [],
      },
    )
    // The leader's own state machine receives its base snapshot at the first step.
    const first = step(leader, { type: "Campaign" })
    expect(commandsOf(first, "ApplySnapshot").map((c) => c.snapshot.data)).toEqual([base])
    const joiner = createNode({ id: "2" }, bootstrap(makeConfig([])))
    expect(joiner.appliedIndex).toBe(0)
    // Run both nodes: the joiner's writes complete only when `durableNow` says so.
    const inbox: Message[] = []
    const pending: Persist[] = []
    const joinerCmds: Command[] = []
    const run = (id: string, cmds: Command[]): void => {
      if (id === "2") joinerCmds.push(...cmds)
      for (const c of cmds) {
        if (c.type === "Send") inbox.push(c.message)
        else if (c.type === "Persist") {
          if (id === "2") pending.push(c)
          else {
            inbox.push(...c.after)
            if (c.ack !== null) run(id, step(leader, { type: "Persisted", ...c.ack }))
          }
        }
      }
    }
    const deliver = (): void => {
      while (inbox.length > 0) {
        const m = inbox.shift()!
        run(m.to, step(m.to === "1" ? leader : joiner, m))
      }
    }
    run("1", first)
    deliver()
    expect(leader.role).toBe("Leader")
    run(
      "1",
      step(leader, { type: "Propose", proposals: [{ id: 1, type: "Normal", data: bytes(3) }] }),
    )
    run(
      "1",
      step(leader, {
        type: "Propose",
        proposals: [
          {
            id: 2,
            type: "ConfChange",
            change: { changes: [{ type: "AddLearner", node: "2" }], transition: "Auto" },
          },
        ],
      }),
    )
    deliver()
    // A heartbeat makes the leader probe the learner, which asks for a snapshot.
    for (let i = 0; i < 3 && pending.length === 0; i++) {
      run("1", step(leader, { type: "Tick" }))
      deliver()
    }
    // The joiner has received the base snapshot but not made it durable: nothing applied yet.
    expect(joiner.snapshot.data).toEqual(base)
    expect(commandsOf(joinerCmds, "ApplySnapshot")).toHaveLength(0)
    const write = pending.find((p) => p.snapshot !== null)!
    expect(write.snapshot!.index).toBe(0)
    expect(write.ack).toEqual({ index: 0, term: 0 })
    // Its writes complete in order; the snapshot is handed over first, then the entries.
    const applied: Command[] = []
    while (pending.length > 0) {
      const p = pending.shift()!
      inbox.push(...p.after)
      if (p.ack !== null) {
        const cmds = step(joiner, { type: "Persisted", ...p.ack })
        applied.push(...cmds.filter((c) => c.type === "Apply" || c.type === "ApplySnapshot"))
        run(
          "2",
          cmds.filter((c) => c.type !== "Apply" && c.type !== "ApplySnapshot"),
        )
      }
      deliver()
    }
    expect(applied[0]?.type).toBe("ApplySnapshot")
    expect(applied[0]?.type === "ApplySnapshot" && applied[0].snapshot.data).toEqual(base)
    expect(applied.filter((c) => c.type === "ApplySnapshot")).toHaveLength(1)
    const appliedEntries = applied.flatMap((c) => (c.type === "Apply" ? c.entries : []))
    expect(appliedEntries.length).toBeGreaterThan(0)
    expect(appliedEntries[0]!.index).toBe(1)
    expect(joiner.appliedIndex).toBe(leader.commitIndex)
  })

  it("a restarted node with a base snapshot holding data hands it over again; an empty one is not", () => {
    const config = makeConfig(ids)
    const withData = createNode(
      { id: "1" },
      {
        hardState: { term: 0, vote: null, commit: 0 },
        snapshot: { index: 0, term: 0, config, data: bytes(4) },
        entries: [],
      },
    )
    expect(
      commandsOf(step(withData, { type: "Persisted", index: 0, term: 0 }), "ApplySnapshot"),
    ).toHaveLength(1)
    expect(withData.appliedIndex).toBe(0)
    const empty = createNode({ id: "1" }, bootstrap(config))
    expect(
      commandsOf(step(empty, { type: "Persisted", index: 0, term: 0 }), "ApplySnapshot"),
    ).toHaveLength(0)
  })
})
