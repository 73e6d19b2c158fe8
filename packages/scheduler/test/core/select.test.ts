import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FitError, fitErrorMessage } from "../../src/core/fit-error.ts"
import { defaultNormalizeScore } from "../../src/core/normalize.ts"
import { Rng } from "../../src/core/rng.ts"
import { numFeasibleNodesToFind, selectHost } from "../../src/core/select.ts"
import * as Status from "../../src/core/status.ts"

describe("numFeasibleNodesToFind", () => {
  it.each([
    [10, 0, 10],
    [99, 0, 99],
    [100, 0, 100],
    [500, 0, 230], // 50 - 500/125 = 46% of 500
    [1000, 0, 420], // 42%
    [5000, 0, 500], // 50 - 40 = 10%
    [6000, 0, 300], // floor of 5%
    [1000, 10, 100],
    [1000, 5, 100], // never below 100
    [5000, 30, 1500],
    [5000, 100, 5000],
  ])("%i nodes at %i%% -> %i", (n, pct, want) => {
    expect(numFeasibleNodesToFind(n, pct)).toBe(want)
  })
})

describe("selectHost", () => {
  it("picks the unique maximum", () => {
    expect(selectHost([3, 9, 4], 3, new Rng(1))).toBe(1)
    expect(selectHost([], 0, new Rng(1))).toBe(-1)
  })

  it("only ever picks a node with the maximum score, and every tied node can win", () => {
    const seen = new Set<number>()
    const rng = new Rng(42)
    for (let i = 0; i < 400; i++) {
      const pick = selectHost([5, 7, 1, 7, 7, 2], 6, rng)
      expect([1, 3, 4]).toContain(pick)
      seen.add(pick)
    }
    expect([...seen].sort()).toEqual([1, 3, 4])
  })

  it("is deterministic for a seed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (scores, seed) => {
          const a = selectHost(scores, scores.length, new Rng(seed))
          const b = selectHost(scores, scores.length, new Rng(seed))
          expect(a).toBe(b)
          expect(scores[a]).toBe(Math.max(...scores))
        },
      ),
    )
  })
})

describe("Rng.intn", () => {
  it("stays in range", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1_000_000 }), (seed, n) => {
        const r = new Rng(seed)
        for (let i = 0; i < 10; i++) {
          const x = r.intn(n)
          expect(x).toBeGreaterThanOrEqual(0)
          expect(x).toBeLessThan(n)
          expect(Number.isInteger(x)).toBe(true)
        }
      }),
    )
  })
})

describe("defaultNormalizeScore", () => {
  it.each([
    // [scores, reverse, want]
    [[0, 0, 0], false, [0, 0, 0]],
    [[0, 0, 0], true, [100, 100, 100]],
    [[1, 2, 3, 4], false, [25, 50, 75, 100]],
    [[1, 2, 3, 4], true, [75, 50, 25, 0]],
    [[3, 7], false, [42, 100]], // 100*3/7 = 42.8 -> 42
    [[3, 7], true, [58, 0]],
  ])("%j reverse=%s -> %j", (scores, reverse, want) => {
    const s = [...(scores as Array<number>)]
    defaultNormalizeScore(100, reverse as boolean, s)
    expect(s).toEqual(want)
  })

  it("keeps scores within 0..max", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1_000_000)), fc.boolean(), (scores, reverse) => {
        const s = Float64Array.from(scores)
        defaultNormalizeScore(100, reverse, s)
        for (const x of s) {
          expect(x).toBeGreaterThanOrEqual(0)
          expect(x).toBeLessThanOrEqual(100)
          expect(Number.isInteger(x)).toBe(true)
        }
      }),
    )
  })
})

describe("FitError", () => {
  it("prints Kubernetes' message with counts sorted as strings", () => {
    const statuses = new Map<string, Status.Status>([
      ["n1", Status.unschedulable("Insufficient cpu")],
      ["n2", Status.unresolvable("node(s) didn't match node selector")],
      ["n3", Status.unresolvable("node(s) didn't match node selector")],
    ])
    expect(new FitError(3, statuses).message).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match node selector.",
    )
  })

  it("counts every reason of a node, and sorts 10 before 2 like Go", () => {
    const h = new Map([
      ["Insufficient cpu", 2],
      ["Insufficient memory", 10],
    ])
    expect(fitErrorMessage(12, h)).toBe(
      "0/12 nodes are available: 10 Insufficient memory, 2 Insufficient cpu.",
    )
    const statuses = new Map<string, Status.Status>([
      ["a", Status.unschedulable("Insufficient cpu", "Insufficient memory")],
      ["b", Status.unschedulable("Insufficient memory")],
    ])
    expect(new FitError(2, statuses).message).toBe(
      "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.",
    )
  })
})
