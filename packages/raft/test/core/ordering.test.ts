// The ordering contract between the core and its shell (see raft.ts and the
// README): what must be durable before which message leaves, and when entries
// may be applied.
import { describe, expect, it } from "vitest"
import { freezeDurable, mutableDurable } from "../../src/core/durable.ts"
import { createNode, step } from "../../src/index.ts"
import { Chaos } from "../../src/testing/chaos.ts"
import { commandsOf } from "../../src/testing/sync-network.ts"
import { appendEntries, appendOk, ents, makeLeader, node, requestVote } from "./helpers.ts"

const ids = ["1", "2", "3"]

describe("ordering contract", () => {
  it("a vote grant leaves only after the write holding the vote and its term", () => {
    const s = node("1", ids, { term: 1 })
    const cmds = step(s, requestVote("2", "1", 2, 0, 0))
    expect(commandsOf(cmds, "Send")).toHaveLength(0)
    const [p] = commandsOf(cmds, "Persist")
    expect(p!.hardState).toEqual({ term: 2, vote: "2", commit: 0 })
    expect(p!.after).toEqual([
      {
        type: "RequestVoteResponse",
        from: "1",
        to: "2",
        term: 2,
        voteGranted: true,
        preVote: false,
      },
    ])
  })

  it("a candidate's RequestVote waits for its term and self-vote; a pre-vote writes nothing", () => {
    const c = node("1", ids)
    const [p] = commandsOf(step(c, { type: "Campaign" }), "Persist")
    expect(p!.hardState).toMatchObject({ term: 1, vote: "1" })
    expect(p!.after.every((m) => m.type === "RequestVote" && !m.preVote)).toBe(true)
    const pre = node("1", ids, { preVote: true })
    const cmds = step(pre, { type: "Campaign" })
    expect(commandsOf(cmds, "Persist")).toHaveLength(0)
    expect(
      commandsOf(cmds, "Send").every((c) => c.message.type === "RequestVote" && c.message.preVote),
    ).toBe(true)
  })

  it("an AppendEntries success leaves after the entries are written; a duplicate waits behind a barrier", () => {
    const s = node("1", ids, { term: 1 })
    const m = appendEntries("2", "1", 1, 0, 0, ents([1, 1]))
    const [p] = commandsOf(step(s, m), "Persist")
    expect(p!.entries.map((e) => e.index)).toEqual([1, 2])
    expect(p!.after).toMatchObject([
      { type: "AppendEntriesResponse", success: true, matchIndex: 2 },
    ])
    // The same message again: nothing new to write, but the reply still waits for earlier writes.
    const [barrier] = commandsOf(step(s, m), "Persist")
    expect(barrier).toMatchObject({ entries: [], hardState: null, snapshot: null, ack: null })
    expect(barrier!.after).toMatchObject([
      { type: "AppendEntriesResponse", success: true, matchIndex: 2 },
    ])
  })

  it("a rejection leaves at once: it promises nothing", () => {
    const s = node("1", ids, { term: 1 })
    const cmds = step(s, appendEntries("2", "1", 1, 5, 1, ents([1], 6)))
    expect(commandsOf(cmds, "Send")[0]!.message).toMatchObject({ success: false })
    expect(commandsOf(cmds, "Persist")).toHaveLength(0)
  })

  it("the leader sends AppendEntries before (in parallel with) its own write", () => {
    const s = node("1", ids)
    makeLeader(s, ["2"])
    step(s, { type: "Persisted", index: 1, term: 1 })
    step(s, appendOk("2", "1", 1, 1))
    const cmds = step(s, {
      type: "Propose",
      proposals: [{ id: 1, type: "Normal", data: new Uint8Array(1) }],
    })
    const kinds = cmds.map((c) => c.type)
    expect(kinds.indexOf("Send")).toBeLessThan(kinds.indexOf("Persist"))
    expect(commandsOf(cmds, "Persist")[0]!.after).toHaveLength(0)
  })

  it("entries are applied only once committed and locally durable", () => {
    const s = node("1", ids, { term: 1 })
    const cmds = step(s, appendEntries("2", "1", 1, 0, 0, ents([1, 1]), 2))
    expect(s.commitIndex).toBe(2)
    expect(commandsOf(cmds, "Apply")).toHaveLength(0)
    const [p] = commandsOf(cmds, "Persist")
    const applied = commandsOf(step(s, { type: "Persisted", ...p!.ack! }), "Apply")
    expect(applied.flatMap((a) => a.entries.map((e) => e.index))).toEqual([1, 2])
  })

  it("an acknowledgement for entries since overwritten is ignored", () => {
    const s = node("1", ids, { term: 1 })
    step(s, appendEntries("2", "1", 1, 0, 0, ents([1, 1])))
    // A leader of term 2 overwrites index 2 before the first write completes.
    step(s, appendEntries("3", "1", 2, 1, 1, ents([2], 2)))
    step(s, { type: "Persisted", index: 2, term: 1 })
    // Nothing is credited from a write whose last entry is gone; the next ack covers it all.
    expect(s.stableIndex).toBe(0)
    step(s, { type: "Persisted", index: 2, term: 2 })
    expect(s.stableIndex).toBe(2)
  })

  it("the ReplyBeforePersist mutant lets a crash forget a vote, so two candidates win one term", () => {
    const run = (mutant: boolean) => {
      const durable = mutableDurable(
        freezeDurable(
          mutableDurable({
            hardState: { term: 1, vote: null, commit: 0 },
            snapshot: {
              index: 0,
              term: 0,
              config: {
                voters: ids,
                outgoing: [],
                learners: [],
                learnersNext: [],
                autoLeave: false,
              },
              data: new Uint8Array(0),
            },
            entries: [],
          }),
        ),
      )
      const opts = {
        id: "1",
        preVote: false,
        checkQuorum: false,
        mutations: mutant ? (["ReplyBeforePersist"] as const) : [],
      }
      const voter = createNode({ ...opts, mutations: [...opts.mutations] }, freezeDurable(durable))
      const first = step(voter, requestVote("2", "1", 2, 0, 0))
      const sentNow = commandsOf(first, "Send").map((c) => c.message)
      // Crash before the write completes: only what was already durable survives.
      const restarted = createNode(
        { ...opts, mutations: [...opts.mutations] },
        freezeDurable(durable),
      )
      const second = step(restarted, requestVote("3", "1", 2, 0, 0))
      const grants = [
        ...sentNow,
        ...commandsOf(second, "Send").map((c) => c.message),
        ...commandsOf(second, "Persist").flatMap((p) => p.after),
      ]
        .filter((m) => m.type === "RequestVoteResponse" && m.voteGranted)
        .map((m) => m.to)
      // The first step's write never reached the disk.
      expect(commandsOf(first, "Persist")).toHaveLength(1)
      return grants
    }
    // Correct core: the first grant was never sent (its write was lost), so one vote per term.
    expect(run(false)).toEqual(["3"])
    // Mutant: the first grant went out before the write, the crash forgot it: two votes in term 2.
    expect(run(true)).toEqual(["2", "3"])
  })

  it("random schedules never send a message its durable state does not justify; the mutant does", () => {
    const schedule = (seed: number) => {
      let x = seed * 2654435761 + 1
      const out: [number, number][] = []
      for (let i = 0; i < 1500; i++) {
        x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6b43a9b5) >>> 0
        const a = x
        x = (Math.imul(x ^ (x >>> 13), 0x297a2d39) + 0x7f4a7c15) >>> 0
        out.push([a % 1000, x % (1 << 20)])
      }
      return out
    }
    for (let seed = 0; seed < 20; seed++) {
      const r = new Chaos({ voters: 3, raft: { electionTick: 2, preVote: false } }).run(
        schedule(seed),
      )
      expect(r.violation).toBeNull()
    }
    let caught = 0
    for (let seed = 0; seed < 20; seed++) {
      const r = new Chaos({
        voters: 3,
        mutations: ["ReplyBeforePersist"],
        raft: { electionTick: 2, preVote: false },
      }).run(schedule(seed))
      if (r.violation?.startsWith("ordering")) caught++
    }
    expect(caught).toBeGreaterThan(0)
  })
})
