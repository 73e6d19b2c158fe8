// One test per rule of the Raft paper (Ongaro & Ousterhout, USENIX ATC 2014,
// extended version), citing the section, in the spirit of etcd-io/raft's
// raft_paper_test.go. Pre-vote and check-quorum are off here: plain Raft.
import { describe, expect, it } from "vitest"
import {
  type AppendEntriesResponse,
  type Message,
  type RequestVoteResponse,
  step,
} from "../../src/index.ts"
import { commandsOf, messagesOf, SyncNetwork } from "../../src/testing/sync-network.ts"
import {
  appendEntries,
  appendOk,
  ents,
  heartbeat,
  logTerms,
  makeDurableLeader,
  makeLeader,
  node,
  requestVote,
  sent,
  sentDurable,
  stepDurable,
  tick,
  tickUntilCampaign,
} from "./helpers.ts"

const peers3 = ["1", "2", "3"]
const peers5 = ["1", "2", "3", "4", "5"]
const plain = { preVote: false, checkQuorum: false }

describe("§5.1 terms", () => {
  it("a server that sees a larger term adopts it and becomes follower, whatever its role", () => {
    for (const role of ["Follower", "Candidate", "Leader"] as const) {
      const s = node("1", peers3, { term: 1 })
      if (role === "Candidate") step(s, { type: "Campaign" })
      if (role === "Leader") makeLeader(s, ["2"])
      expect(s.role).toBe(role)
      step(s, appendEntries("2", "1", 5, 0, 0, []))
      expect(s.term).toBe(5)
      expect(s.role).toBe("Follower")
      expect(s.leader).toBe("2")
    }
  })

  it("a request with a stale term is rejected and the reply carries the current term", () => {
    const s = node("1", peers3, { term: 3 })
    const [reply] = sent(s, appendEntries("2", "1", 2, 0, 0, ents([2])))
    expect(reply).toMatchObject({ type: "AppendEntriesResponse", success: false, term: 3 })
    expect(s.entries).toHaveLength(0)
    const [vote] = sent(s, requestVote("2", "1", 2, 5, 2))
    expect(vote).toMatchObject({ type: "RequestVoteResponse", voteGranted: false, term: 3 })
    expect(s.vote).toBeNull()
  })
})

describe("§5.2 leader election", () => {
  it("servers start as followers", () => {
    expect(node("1", peers3).role).toBe("Follower")
  })

  it("a leader sends heartbeats to every follower each heartbeatTick", () => {
    const s = node("1", peers3, { heartbeatTick: 2, electionTick: 10 })
    makeLeader(s, ["2"])
    expect(messagesOf(tick(s, 1)).filter((m) => m.type === "Heartbeat")).toHaveLength(0)
    const beats = messagesOf(tick(s, 1)).filter((m) => m.type === "Heartbeat")
    expect(beats.map((m) => m.to).sort()).toEqual(["2", "3"])
    expect(beats.every((m) => m.term === s.term)).toBe(true)
  })

  it("a follower that hears nothing for an election timeout starts an election: term+1, votes for itself, RequestVote to all", () => {
    for (const startAsCandidate of [false, true]) {
      const s = node("1", peers3, { term: 1 })
      if (startAsCandidate) step(s, { type: "Campaign" })
      const term = s.term
      const cmds = tickUntilCampaign(s)
      expect(s.role).toBe("Candidate")
      expect(s.term).toBe(term + 1)
      expect(s.vote).toBe("1")
      const persist = commandsOf(cmds, "Persist")
      expect(persist).toHaveLength(1)
      // The new term and the self-vote are written before any RequestVote leaves.
      expect(persist[0]!.hardState).toMatchObject({ term: term + 1, vote: "1" })
      expect(commandsOf(cmds, "Send")).toHaveLength(0)
      const votes = persist[0]!.after
      expect(votes.map((m) => m.to).sort()).toEqual(["2", "3"])
      expect(votes.every((m) => m.type === "RequestVote" && m.term === term + 1)).toBe(true)
    }
  })

  it("a candidate wins with votes from a majority, loses with rejections from a majority, else waits", () => {
    const cases: [number, Record<string, boolean>, string][] = [
      [1, {}, "Leader"],
      [3, { "2": true, "3": true }, "Leader"],
      [3, { "2": true }, "Leader"],
      [5, { "2": true, "3": true, "4": true, "5": true }, "Leader"],
      [5, { "2": true, "3": true, "4": true }, "Leader"],
      [5, { "2": true, "3": true }, "Leader"],
      [3, { "2": false, "3": false }, "Follower"],
      [5, { "2": false, "3": false, "4": false, "5": false }, "Follower"],
      [5, { "2": true, "3": false, "4": false, "5": false }, "Follower"],
      [3, {}, "Candidate"],
      [5, { "2": true }, "Candidate"],
      [5, { "2": false, "3": false }, "Candidate"],
      [5, {}, "Candidate"],
    ]
    for (const [size, votes, want] of cases) {
      const s = node("1", peers5.slice(0, size))
      step(s, { type: "Campaign" })
      for (const [from, granted] of Object.entries(votes)) {
        step(s, {
          type: "RequestVoteResponse",
          from,
          to: "1",
          term: s.term,
          voteGranted: granted,
          preVote: false,
        })
      }
      expect(s.role, `${size} ${JSON.stringify(votes)}`).toBe(want)
      expect(s.term).toBe(1)
    }
  })

  it("each server votes for at most one candidate in a term, first come first served", () => {
    const cases: [string | null, string, boolean][] = [
      [null, "2", true],
      [null, "3", true],
      ["2", "2", true],
      ["3", "3", true],
      ["2", "3", false],
      ["3", "2", false],
    ]
    for (const [vote, candidate, granted] of cases) {
      const s = node("1", peers3, { term: 1, vote })
      const [r] = sent(s, requestVote(candidate, "1", 1, 0, 0))
      expect((r as RequestVoteResponse).voteGranted, `${vote} ${candidate}`).toBe(granted)
      expect(s.vote).toBe(granted ? candidate : vote)
    }
  })

  it("a candidate that hears from a leader of its term or newer returns to follower", () => {
    for (const term of [1, 2]) {
      const s = node("1", peers3)
      step(s, { type: "Campaign" })
      expect(s.term).toBe(1)
      step(s, appendEntries("2", "1", term, 0, 0, []))
      expect(s.role).toBe("Follower")
      expect(s.term).toBe(term)
      expect(s.leader).toBe("2")
    }
  })

  it("election timeouts are drawn at random from [electionTick, 2 * electionTick)", () => {
    const seen = new Set<number>()
    for (let seed = 0; seed < 200; seed++) {
      const s = node("1", peers3, { seed, electionTick: 10 })
      const before = s.term
      let ticks = 0
      while (s.term === before) {
        step(s, { type: "Tick" })
        ticks++
      }
      expect(ticks).toBeGreaterThanOrEqual(10)
      expect(ticks).toBeLessThan(20)
      seen.add(ticks)
    }
    expect(seen.size).toBe(10)
  })

  it("followers seldom time out at the same time", () => {
    let conflicts = 0
    for (let seed = 0; seed < 500; seed++) {
      const a = node("1", peers3, { seed })
      const b = node("2", peers3, { seed: seed + 1000 })
      let ta = 0
      let tb = 0
      while (a.role === "Follower") {
        step(a, { type: "Tick" })
        ta++
      }
      while (b.role === "Follower") {
        step(b, { type: "Tick" })
        tb++
      }
      if (ta === tb) conflicts++
    }
    // Uniform over 10 values: about 1 in 10 collide.
    expect(conflicts / 500).toBeLessThan(0.2)
  })
})

describe("§5.3 log replication", () => {
  it("the leader appends a proposal to its log and sends AppendEntries with prevLogIndex/prevLogTerm", () => {
    const s = node("1", peers3)
    makeDurableLeader(s, ["2"])
    // Followers acknowledge the no-op, so they are in replicate state.
    stepDurable(s, appendOk("2", "1", 1, 1))
    stepDurable(s, appendOk("3", "1", 1, 1))
    const out = sentDurable(s, {
      type: "Propose",
      proposals: [{ id: 7, type: "Normal", data: new TextEncoder().encode("x") }],
    })
    expect(s.entries.map((e) => e.index)).toEqual([1, 2])
    const apps = out.filter((m) => m.type === "AppendEntries")
    expect(apps.map((m) => m.to).sort()).toEqual(["2", "3"])
    for (const m of apps) {
      expect(m).toMatchObject({ prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 })
      if (m.type === "AppendEntries")
        expect(m.entries.map((e) => [e.index, e.term])).toEqual([[2, 1]])
    }
  })

  it("an entry is committed once stored on a majority; the leader applies it and tells followers", () => {
    const net = new SyncNetwork(peers3, { options: plain })
    net.campaign("1")
    net.propose("1", "x")
    net.deliver()
    expect(net.state("1").commitIndex).toBe(2)
    expect(net.appliedData("1")).toEqual(["x"])
    net.tickAll(1)
    net.deliver()
    for (const id of peers3) expect(net.state(id).commitIndex).toBe(2)
    for (const id of peers3) expect(net.appliedData(id)).toEqual(["x"])
  })

  it("commitment needs a majority of acknowledgements, the leader's own durable copy included", () => {
    const cases: [number, string[], boolean][] = [
      [1, [], true],
      [3, [], false],
      [3, ["2"], true],
      [3, ["2", "3"], true],
      [5, ["2"], false],
      [5, ["2", "3"], true],
      [5, ["2", "3", "4", "5"], true],
    ]
    for (const [size, acks, committed] of cases) {
      const s = node("1", peers5.slice(0, size))
      makeDurableLeader(s, peers5.slice(1, size))
      for (const a of acks) stepDurable(s, appendOk(a, "1", s.term, 1))
      expect(s.commitIndex === 1, `${size} ${acks}`).toBe(committed)
    }
  })

  it("the leader counts itself only once its own write is durable (dissertation 10.2.1)", () => {
    const s = node("1", peers3)
    makeLeader(s, ["2"]) // the no-op's write is not acknowledged
    step(s, appendOk("2", "1", 1, 1))
    // A majority holds index 1 (leader's durable copy not needed with two followers acking).
    step(s, appendOk("3", "1", 1, 1))
    expect(s.commitIndex).toBe(1)
    const t = node("1", peers3)
    makeLeader(t, ["2"])
    step(t, appendOk("2", "1", 1, 1))
    expect(t.commitIndex).toBe(0)
    step(t, { type: "Persisted", index: 1, term: 1 })
    expect(t.commitIndex).toBe(1)
  })

  it("committing an entry commits all preceding entries, including those of earlier leaders", () => {
    const s = node("1", peers3, { terms: [1, 2], term: 2 })
    makeDurableLeader(s, ["2"])
    expect(s.term).toBe(3)
    const cmds = stepDurable(s, appendOk("2", "1", 3, 3))
    expect(s.commitIndex).toBe(3)
    const applied = commandsOf(cmds, "Apply").flatMap((c) => c.entries.map((e) => e.index))
    expect(applied).toEqual([1, 2, 3])
  })

  it("a follower applies entries up to leaderCommit", () => {
    for (const leaderCommit of [1, 2, 3]) {
      const s = node("1", peers3)
      const cmds = stepDurable(s, appendEntries("2", "1", 1, 0, 0, ents([1, 1, 1]), leaderCommit))
      expect(s.commitIndex).toBe(leaderCommit)
      expect(commandsOf(cmds, "Apply").flatMap((c) => c.entries.map((e) => e.index))).toEqual(
        [1, 2, 3].slice(0, leaderCommit),
      )
    }
  })

  it("a follower refuses AppendEntries whose prevLogIndex/prevLogTerm it does not hold", () => {
    const cases: [number, number, boolean][] = [
      [0, 0, true],
      [1, 1, true],
      [2, 2, true],
      [2, 1, false],
      [3, 3, false],
      [3, 2, false],
    ]
    for (const [prevLogIndex, prevLogTerm, ok] of cases) {
      const s = node("1", peers3, { terms: [1, 2], term: 2, commit: 0 })
      const [r] = sent(s, appendEntries("2", "1", 2, prevLogIndex, prevLogTerm, []))
      expect((r as AppendEntriesResponse).success, `${prevLogIndex}/${prevLogTerm}`).toBe(ok)
    }
  })

  it("a follower deletes a conflicting entry and all that follow it, then appends the new entries", () => {
    const cases: [number, number, number[], number[]][] = [
      [2, 2, [3], [1, 2, 3]],
      [1, 1, [3, 4], [1, 3, 4]],
      [0, 0, [1], [1, 2]],
      [0, 0, [3], [3]],
    ]
    for (const [prev, prevTerm, newTerms, want] of cases) {
      const s = node("1", peers3, { terms: [1, 2], term: 2 })
      step(s, appendEntries("2", "1", 4, prev, prevTerm, ents(newTerms, prev + 1)))
      expect(logTerms(s), `${prev} ${newTerms}`).toEqual(want)
    }
  })

  it("AppendEntries is idempotent: a duplicate changes nothing", () => {
    const s = node("1", peers3)
    const m = appendEntries("2", "1", 1, 0, 0, ents([1, 1]), 1)
    stepDurable(s, m)
    const before = JSON.stringify(logTerms(s))
    const cmds = stepDurable(s, m)
    expect(JSON.stringify(logTerms(s))).toBe(before)
    expect(commandsOf(cmds, "Persist").every((p) => p.entries.length === 0)).toBe(true)
  })

  it("the leader brings each follower of Figure 7 into agreement, backing up a term at a time", () => {
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    }
    for (const [name, terms] of Object.entries(followers)) {
      const net = new SyncNetwork(peers3, { options: plain })
      net.replace("1", node("1", peers3, { terms: leaderTerms, term: 7 }))
      net.replace("2", node("2", peers3, { terms, term: 7 }))
      net.isolate("3")
      // Node 3 grants the vote by hand: the follower may refuse (its log can be longer).
      const leader = net.state("1")
      for (const c of makeLeader(leader, ["3"])) if (c.type === "Send") net.queue.push(c.message)
      expect(leader.term).toBe(8)
      net.deliver()
      net.tickAll(1)
      net.deliver()
      expect(logTerms(net.state("2")), name).toEqual(logTerms(leader))
      // Fast backup: at most one rejection per term the follower holds past the common prefix.
      const rejections = net
        .node("2")
        .log.flatMap((c) => (c.type === "Send" ? [c.message] : []))
        .filter((m: Message) => m.type === "AppendEntriesResponse" && !m.success).length
      expect(rejections, name).toBeLessThanOrEqual(new Set(terms.slice(3)).size + 1)
    }
  })
})

describe("§5.4.1 election restriction", () => {
  it("RequestVote carries the candidate's lastLogIndex and lastLogTerm", () => {
    const s = node("1", peers3, { terms: [1, 1, 2], term: 2 })
    step(s, { type: "Campaign" })
    const persist = commandsOf(step(s, { type: "Tick" }), "Persist")
    expect(persist).toHaveLength(0)
    const votes = messagesOf(
      step(node("1", peers3, { terms: [1, 1, 2], term: 2 }), { type: "Campaign" }),
    )
    for (const m of votes)
      expect(m).toMatchObject({ type: "RequestVote", term: 3, lastLogIndex: 3, lastLogTerm: 2 })
  })

  it("a voter denies its vote when its own log is more up-to-date", () => {
    const cases: [number[], number, number, boolean][] = [
      // voter log, candidate lastLogIndex, lastLogTerm, granted
      [[1, 1], 2, 1, true],
      [[1, 1], 3, 1, true],
      [[1, 1], 1, 1, false],
      [[1, 1], 1, 2, true],
      [[1, 2], 2, 2, true],
      [[1, 2], 1, 2, false],
      [[1, 2], 5, 1, false],
      [[1, 2], 1, 3, true],
    ]
    for (const [terms, lastLogIndex, lastLogTerm, granted] of cases) {
      const s = node("1", peers3, { terms, term: 3 })
      const [r] = sent(s, requestVote("2", "1", 4, lastLogIndex, lastLogTerm))
      expect(
        (r as RequestVoteResponse).voteGranted,
        `${terms} vs ${lastLogIndex}/${lastLogTerm}`,
      ).toBe(granted)
    }
  })
})

describe("§5.4.2 committing entries from previous terms", () => {
  it("a leader commits by counting replicas only entries of its own term", () => {
    // Leader of term 3 with entries of terms 1 and 2; followers ack various indexes.
    const cases: [number, number][] = [
      // acked index, expected commit
      [1, 0],
      [2, 0],
      [3, 3],
    ]
    for (const [acked, commit] of cases) {
      const s = node("1", peers3, { terms: [1, 2], term: 2 })
      makeDurableLeader(s, ["2"])
      expect(s.term).toBe(3)
      stepDurable(s, appendOk("2", "1", 3, acked))
      expect(s.commitIndex, `acked ${acked}`).toBe(commit)
    }
  })

  it("Figure 8: an older-term entry on a majority can still be overwritten; the mutant commits it anyway", () => {
    const run = (mutations: ("CommitPriorTermByCount" | never)[]) => {
      const net = new SyncNetwork(peers5, { options: { ...plain, maxMsgBytes: 1, mutations } })
      // S1 leads term 1; everyone stores its no-op.
      expect(net.elect("1")).toBe(true)
      net.tickAll(1)
      net.deliver()
      // (a) S1 stores index 2 ("old", term 1) on S2 only, then crashes.
      net.filter = (m) => !(m.from === "1" && m.type === "AppendEntries" && m.to !== "2")
      net.propose("1", "old")
      net.deliver()
      net.filter = null
      net.isolate("1")
      expect(logTerms(net.state("2"))).toEqual([1, 1])
      // (b) S5 wins term 2 with S3 and S4, appends its no-op at index 2, and crashes before sending it.
      net.filter = (m) => !(m.from === "5" && m.type === "AppendEntries")
      expect(net.elect("5")).toBe(true)
      net.filter = null
      net.heal()
      net.isolate("5")
      // (c) S1 restarts and leads term 3. It reaches S2 and S3 (not S4): S3 receives
      // index 2 of term 1 alone, acknowledges it, and S1 crashes before S3 gets index 3.
      net.restart("1")
      net.cutLink("1", "4")
      net.filter = (m) =>
        !(
          m.from === "1" &&
          m.to === "3" &&
          m.type === "AppendEntries" &&
          net.state("3").entries.length >= 2
        )
      expect(net.elect("1")).toBe(true)
      net.filter = null
      expect(logTerms(net.state("3"))).toEqual([1, 1])
      const oldCommitted = net.state("1").commitIndex >= 2
      net.heal()
      net.isolate("1")
      // (d) S5 restarts and wins term 4 with S3 and S4 (its last term 2 beats their 1) and overwrites index 2.
      net.restart("5")
      expect(net.elect("5")).toBe(true)
      net.tickAll(1)
      net.deliver()
      const at2 = (id: string) => net.node(id).applied.find((e) => e.index === 2)
      return { oldCommitted, s1: at2("1"), s5: at2("5") }
    }
    const correct = run([])
    expect(correct.oldCommitted).toBe(false)
    expect(correct.s1).toBeUndefined()
    expect(correct.s5?.term).toBe(2)
    const mutant = run(["CommitPriorTermByCount"])
    expect(mutant.oldCommitted).toBe(true)
    // State Machine Safety broken: S1 applied term 1's entry at index 2, S5 applied term 2's.
    expect(mutant.s1?.term).toBe(1)
    expect(mutant.s5?.term).toBe(2)
  })
})

describe("§5.1/§8 stale leaders and heartbeats", () => {
  it("a heartbeat from the current leader resets the election timer", () => {
    const s = node("1", peers3, { term: 1, electionTick: 10 })
    for (let i = 0; i < 50; i++) {
      step(s, { type: "Tick" })
      step(s, heartbeat("2", "1", 1))
    }
    expect(s.role).toBe("Follower")
    expect(s.term).toBe(1)
  })
})
