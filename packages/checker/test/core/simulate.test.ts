import { describe, expect, it } from "vitest"
import { simulate } from "../../src/core/simulate.ts"
import { statesAlong } from "../../src/core/trace.ts"
import { twoPhaseCommit } from "../../src/models/two-phase-commit.ts"
import { chain, clock, counters } from "./models.ts"

describe("random simulation", () => {
  it("is deterministic for a seed", () => {
    const model = counters(4, 4, { limit: 9 })
    const a = simulate(model, { seed: 42, walks: 50, stopOnViolation: false })
    const b = simulate(model, { seed: 42, walks: 50, stopOnViolation: false })
    expect(b).toEqual(a)
  })

  it("shrinks a failing walk to a minimal counterexample", () => {
    const model = counters(4, 4, { limit: 9 })
    for (const seed of [1, 2, 3]) {
      const r = simulate(model, { seed, walks: 50 })
      const safety = r.properties.find((p) => p.name === "sum below limit")!
      expect(safety.status).toBe("violated")
      // Any walk violating it needs 9 increments; shrinking removes every detour
      // and moves every choice to the first enabled action (index 0 is the
      // first counter still below its maximum).
      expect(safety.path!.actions).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0])
      const states = statesAlong(model, safety.path!)
      expect(states.at(-1)!.reduce((x, y) => x + y, 0)).toBe(9)
    }
  })

  it("keeps unshrunk walks when asked", () => {
    const model = counters(4, 4, { limit: 9 })
    const r = simulate(model, { seed: 1, walks: 50, shrink: false })
    const path = r.properties.find((p) => p.name === "sum below limit")!.path!
    expect(path.actions).toHaveLength(9)
    expect(path.actions).not.toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0])
  })

  it("finds examples of sometimes properties and reports unreached goals", () => {
    const r = simulate(counters(2, 2), { seed: 5, walks: 20 })
    expect(r.properties.map((p) => p.status)).toEqual(["holds", "reached", "holds"])
    const none = simulate(
      { ...counters(2, 2), within: (s: ReadonlyArray<number>) => s[0]! < 2 },
      { seed: 5, walks: 20 },
    )
    expect(none.properties[1]!.status).toBe("unreached")
    expect(none.complete).toBe(false)
  })

  it("checks eventually on walks that end or loop", () => {
    const looping = simulate(clock(4, 9), { seed: 0, walks: 5 })
    expect(looping.properties[0]).toMatchObject({ status: "violated", ending: "cycle" })
    expect(looping.properties[0]!.path).toEqual({ init: 0, actions: [0, 0, 0, 0], loopAt: 0 })
    const ending = simulate(chain(5, 9), { seed: 0, walks: 5 })
    expect(ending.properties[0]).toMatchObject({ status: "violated", ending: "terminal" })
    const fine = simulate(twoPhaseCommit({ rms: 3 }), { seed: 9, walks: 200 })
    expect(fine.properties.find((p) => p.kind === "eventually")!.status).toBe("holds")
  })

  it("finds the eager-commit bug of two-phase commit and shrinks it", () => {
    const model = twoPhaseCommit({ rms: 3, variant: "eager-commit" })
    const r = simulate(model, { seed: 11, walks: 500 })
    const p = r.properties.find((x) => x.name === "consistent")!
    expect(p.status).toBe("violated")
    const last = statesAlong(model, p.path!).at(-1)!
    expect(last.rm).toContain("committed")
    expect(last.rm).toContain("aborted")
    // The shortest possible: prepare, TM records it, TM commits, RM receives it, another aborts.
    expect(p.path!.actions).toHaveLength(5)
  })
})
