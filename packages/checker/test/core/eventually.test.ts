import { describe, expect, it } from "vitest"
import { checkEventually } from "../../src/core/eventually.ts"
import { eventually, type Model } from "../../src/core/model.ts"
import { statesAlong } from "../../src/core/trace.ts"
import { twoPhaseCommit } from "../../src/models/two-phase-commit.ts"
import { chain, clock, counters } from "./models.ts"

const first = <S, A>(model: Model<S, A>) => model.properties.find((p) => p.kind === "eventually")!

describe("eventually", () => {
  it("holds when every path reaches the goal", () => {
    const model = clock(5, 3)
    const r = checkEventually(model, first(model))
    expect(r.status).toBe("holds")
    expect(r.complete).toBe(true)
    // The search only walks the states before the goal: 0, 1, 2.
    expect(r.visited).toBe(3)
  })

  it("finds a cycle that avoids the goal forever", () => {
    const model = clock(4, 7)
    const r = checkEventually(model, first(model))
    expect(r.status).toBe("violated")
    expect(r.ending).toBe("cycle")
    expect(r.path).toEqual({ init: 0, actions: [0, 0, 0, 0], loopAt: 0 })
  })

  it("finds a terminal state that was reached without the goal", () => {
    const model = chain(3, 9)
    const r = checkEventually(model, first(model))
    expect(r.status).toBe("violated")
    expect(r.ending).toBe("terminal")
    expect(statesAlong(model, r.path!).at(-1)).toBe(3)
  })

  it("does not count a state where the goal held earlier on the path", () => {
    // 0 -> 1 -> 2 -> 0 ... with the goal at 1: every path passes 1.
    const model = clock(3, 1)
    expect(checkEventually(model, first(model)).status).toBe("holds")
    // The goal holding only in the initial state satisfies every behaviour.
    const atStart = clock(3, 0)
    expect(checkEventually(atStart, first(atStart)).status).toBe("holds")
  })

  it("is violated when some branch escapes the goal, even if others reach it", () => {
    // From 0 choose 1 (goal) or 2 (terminal without goal).
    const model: Model<number, number> = {
      name: "fork",
      initialStates: [0],
      actions: (s, out) => {
        if (s === 0) out.push(1, 2)
      },
      next: (_, a) => a,
      properties: [eventually("reaches 1", (s) => s === 1)],
    }
    const r = checkEventually(model, first(model))
    expect(r.status).toBe("violated")
    expect(statesAlong(model, r.path!)).toEqual([0, 2])
  })

  it("treats self-loops as no transition and cut states as unknown, not terminal", () => {
    const stutter: Model<number, "stay"> = {
      name: "stutter",
      initialStates: [0],
      actions: (_, out) => {
        out.push("stay")
      },
      next: () => undefined,
      properties: [eventually("moves", (s) => s > 0)],
    }
    const r = checkEventually(stutter, first(stutter))
    expect(r.status).toBe("violated")
    expect(r.ending).toBe("terminal")
    // A depth bound cuts the chain before its terminal state: no violation can be claimed.
    const model = chain(10, 99)
    const bounded = checkEventually(model, first(model), { maxDepth: 5 })
    expect(bounded.status).toBe("holds")
    expect(bounded.complete).toBe(false)
  })

  it("holds for two-phase commit (every RM decides), with and without symmetry", () => {
    const model = twoPhaseCommit({ rms: 3 })
    const p = first(model)
    expect(checkEventually(model, p, { symmetry: false }).status).toBe("holds")
    expect(checkEventually(model, p, { symmetry: true }).status).toBe("holds")
  })

  it("holds for counters that must move", () => {
    const model = counters(3, 2)
    expect(checkEventually(model, first(model)).status).toBe("holds")
  })
})
