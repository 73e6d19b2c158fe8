// Options and stored state are external input: bad values are refused with the field and the reason.
import { describe, expect, it } from "vitest"
import {
  bootstrap,
  createNode,
  encodeState,
  makeConfig,
  RaftInputError,
  resolveOptions,
  step,
  wellFormed,
} from "../../src/index.ts"

const catchInput = (f: () => unknown): RaftInputError => {
  try {
    f()
  } catch (e) {
    if (e instanceof RaftInputError) return e
    throw e
  }
  throw new Error("expected a RaftInputError")
}

describe("options", () => {
  it("fills defaults", () => {
    const o = resolveOptions({ id: "a" })
    expect(o).toMatchObject({
      electionTick: 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
    })
    expect(o.flags.voteWithoutLogCheck).toBe(false)
  })

  it("names the field and the reason", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ id: "" }, "id", /non-empty/],
      [{ id: "a", heartbeatTick: 0 }, "heartbeatTick", /integer >= 1/],
      [{ id: "a", electionTick: 1, heartbeatTick: 1 }, "electionTick", /exceed heartbeatTick/],
      [{ id: "a", maxInflightMsgs: 1.5 }, "maxInflightMsgs", /integer/],
      [{ id: "a", maxMsgBytes: -1 }, "maxMsgBytes", /Infinity/],
      [{ id: "a", readOnly: "Fast" }, "readOnly", /"Safe" or "LeaseBased"/],
      [{ id: "a", readOnly: "LeaseBased", checkQuorum: false }, "readOnly", /checkQuorum/],
      [{ id: "a", mutations: ["Nope"] }, "mutations[0]", /unknown mutation/],
    ]
    for (const [o, field, reason] of cases) {
      const e = catchInput(() => resolveOptions(o as never))
      expect(e.field).toBe(field)
      expect(e.message).toMatch(reason)
    }
  })
})

describe("stored state", () => {
  const base = bootstrap(makeConfig(["a", "b"]))
  const entry = (index: number, term: number) => ({
    type: "Normal" as const,
    index,
    term,
    data: new Uint8Array(0),
  })

  it("accepts a consistent log", () => {
    const s = createNode(
      { id: "a" },
      {
        ...base,
        hardState: { term: 2, vote: "a", commit: 1 },
        entries: [entry(1, 1), entry(2, 2)],
      },
    )
    expect(s.commitIndex).toBe(1)
    expect(s.stableIndex).toBe(2)
  })

  it("refuses gaps, decreasing terms, a term below the log's and an applied index past it", () => {
    const cases: [Parameters<typeof createNode>[1], number, string][] = [
      [{ ...base, entries: [entry(2, 1)] }, 0, "entries[0].index"],
      [
        {
          ...base,
          hardState: { term: 3, vote: null, commit: 0 },
          entries: [entry(1, 2), entry(2, 1)],
        },
        0,
        "entries[1].term",
      ],
      [
        { ...base, hardState: { term: 1, vote: null, commit: 0 }, entries: [entry(1, 2)] },
        0,
        "hardState.term",
      ],
      [{ ...base, hardState: { term: -1, vote: null, commit: 0 } }, 0, "hardState.term"],
      [base, 5, "applied"],
    ]
    for (const [d, applied, field] of cases)
      expect(catchInput(() => createNode({ id: "a" }, d, applied)).field).toBe(field)
  })
})

describe("messages from the network", () => {
  const peers = ["a", "b", "c"]
  const entry = (index: number, term: number) => ({
    type: "Normal" as const,
    index,
    term,
    data: new Uint8Array(0),
  })
  const ae = (over: Record<string, unknown>) => ({
    type: "AppendEntries" as const,
    from: "b",
    to: "a",
    term: 2,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [entry(1, 1), entry(2, 2)],
    leaderCommit: 0,
    ...over,
  })

  it("malformed messages change nothing and get no reply", () => {
    const bad = [
      ae({ entries: [entry(1, 1), entry(3, 2)] }),
      ae({ entries: [entry(1, 2), entry(2, 1)] }),
      ae({ entries: [entry(1, 3)] }),
      ae({ prevLogIndex: -1 }),
      ae({ term: 1.5 }),
      ae({ from: "" }),
      {
        type: "RequestVote" as const,
        from: "b",
        to: "a",
        term: 3,
        lastLogIndex: -2,
        lastLogTerm: 1,
        preVote: false,
        transfer: false,
      },
    ]
    for (const m of bad) {
      expect(wellFormed(m as never)).toBe(false)
      const s = createNode({ id: "a" }, bootstrap(makeConfig(peers)))
      const before = encodeState(s)
      expect(step(s, m as never)).toEqual([])
      expect(encodeState(s)).toBe(before)
    }
    expect(wellFormed(ae({}))).toBe(true)
  })
})
