// Copying, canonical encoding and fingerprints of node states, as the model checker uses them.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  cloneState,
  encodeMessage,
  encodeState,
  fingerprintMessage,
  fingerprintState,
  type RaftState,
  statesEqual,
  step,
} from "../../src/index.ts"
import { Chaos } from "../../src/testing/chaos.ts"
import { node } from "./helpers.ts"

/** States reached by a chaos run, snapshotted after every action. */
const reachable = (seed: number, actions: number): RaftState[] => {
  const c = new Chaos({ voters: 3, spares: 1, raft: { electionTick: 2 } })
  const out: RaftState[] = []
  let x = seed + 1
  for (let i = 0; i < actions; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    c.act(x % 1000, (x >>> 7) % 100_000)
    for (const n of c.nodes) if (n.state !== null) out.push(cloneState(n.state))
  }
  return out
}

describe("state copies and fingerprints", () => {
  it("a clone encodes and fingerprints like the original, and stepping it leaves the original alone", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.nat({ max: 300 }), (seed, at) => {
        const states = reachable(seed, 300)
        const s = states[at % states.length]!
        const before = encodeState(s)
        const c = cloneState(s)
        expect(encodeState(c)).toBe(before)
        expect(fingerprintState(c)).toBe(fingerprintState(s))
        for (const input of [{ type: "Tick" } as const, { type: "Campaign" } as const])
          step(c, input)
        step(c, {
          type: "Propose",
          proposals: [{ id: 1, type: "Normal", data: new Uint8Array([1, 2]) }],
        })
        expect(encodeState(s)).toBe(before)
      }),
      { numRuns: 50 },
    )
  })

  it("equal encodings have equal fingerprints and different ones (almost surely) differ", () => {
    const byFingerprint = new Map<string, string>()
    let distinct = 0
    for (let seed = 0; seed < 20; seed++) {
      for (const s of reachable(seed, 300)) {
        const e = encodeState(s)
        const f = fingerprintState(s)
        const seen = byFingerprint.get(f)
        if (seen === undefined) {
          byFingerprint.set(f, e)
          distinct++
        } else {
          expect(seen).toBe(e)
        }
      }
    }
    expect(distinct).toBeGreaterThan(1000)
  })

  it("options are not part of a state's identity; every field that step changes is", () => {
    const a = node("1", ["1", "2", "3"], { maxMsgBytes: 10 })
    const b = node("1", ["1", "2", "3"], { maxMsgBytes: 20 })
    expect(statesEqual(a, b)).toBe(true)
    step(b, { type: "Tick" })
    expect(statesEqual(a, b)).toBe(false)
  })

  it("messages have canonical encodings and fingerprints too", () => {
    const m = {
      type: "AppendEntries",
      from: "1",
      to: "2",
      term: 3,
      prevLogIndex: 4,
      prevLogTerm: 2,
      entries: [{ type: "Normal", index: 5, term: 3, data: new Uint8Array([7]) }],
      leaderCommit: 4,
    } as const
    expect(encodeMessage(m)).toBe(encodeMessage({ ...m, entries: [...m.entries] }))
    expect(fingerprintMessage(m)).not.toBe(fingerprintMessage({ ...m, leaderCommit: 5 }))
  })
})
