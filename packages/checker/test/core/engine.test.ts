import { describe, expect, it } from "vitest"
import { bfs } from "../../src/core/bfs.ts"
import { dfs } from "../../src/core/dfs.ts"
import { canonicalEncoding } from "../../src/core/hash.ts"
import { always, type Model, sometimes } from "../../src/core/model.ts"
import { statesAlong } from "../../src/core/trace.ts"
import { twoPhaseCommit } from "../../src/models/two-phase-commit.ts"
import { counters, enumerate } from "./models.ts"

const binomial = (n: number, k: number): number => {
  let r = 1
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i
  return r
}

const strategies = { bfs, dfs } as const

describe("exhaustive search on models with hand-known state spaces", () => {
  for (const [name, search] of Object.entries(strategies)) {
    it(`${name}: n counters up to max have (max+1)^n states and n*max depth`, () => {
      for (const [n, max] of [
        [1, 5],
        [2, 3],
        [3, 2],
        [4, 3],
      ] as const) {
        const r = search(counters(n, max), { exhaustive: true })
        expect(r.unique).toBe((max + 1) ** n)
        expect(r.maxDepth).toBe(n * max)
        // Every state except those with all counters at max has one edge per counter below max.
        expect(r.generated).toBe(1 + n * max * (max + 1) ** (n - 1))
        expect(r.complete).toBe(true)
        expect(r.stopReason).toBe("exhausted")
      }
    })

    it(`${name}: symmetry reduction leaves one state per multiset of counter values`, () => {
      for (const [n, max] of [
        [2, 3],
        [3, 2],
        [4, 3],
      ] as const) {
        const r = search(counters(n, max, { symmetric: true }), { exhaustive: true })
        expect(r.unique).toBe(binomial(max + n, n))
        const off = search(counters(n, max, { symmetric: true }), {
          exhaustive: true,
          symmetry: false,
        })
        expect(off.unique).toBe((max + 1) ** n)
      }
    })
  }

  it("BFS and DFS find the same states as an independent naive enumeration (two-phase commit)", () => {
    for (const rms of [2, 3, 4]) {
      const model = twoPhaseCommit({ rms })
      const oracle = enumerate(model)
      const b = bfs(model, { symmetry: false, exhaustive: true })
      const d = dfs(model, { symmetry: false, exhaustive: true })
      expect(b.unique).toBe(oracle.size)
      expect(d.unique).toBe(oracle.size)
      expect(b.maxDepth).toBe(Math.max(...oracle.values()))
    }
    // The published figure for TLC on Lamport's TwoPhase with 3 RMs.
    expect(enumerate(twoPhaseCommit({ rms: 3 })).size).toBe(288)
  })

  it("symmetry reduction finds one state per orbit (two-phase commit)", () => {
    for (const rms of [2, 3, 4]) {
      const model = twoPhaseCommit({ rms })
      const orbits = new Set(
        [...enumerate(model).keys()].map((k) => {
          const state = JSON.parse(k)
          return canonicalEncoding(model.representative!(state))
        }),
      )
      for (const search of [bfs, dfs]) {
        const r = search(model, { exhaustive: true })
        expect(r.unique).toBe(orbits.size)
        expect(r.unique).toBeLessThan(enumerate(model).size)
      }
    }
  })
})

describe("properties", () => {
  it("BFS reports the shortest counterexample and a shortest example", () => {
    const model = counters(3, 3, { limit: 5 })
    const r = bfs(model, { exhaustive: true })
    const safety = r.properties.find((p) => p.name === "sum below limit")!
    expect(safety.status).toBe("violated")
    expect(safety.path!.actions).toHaveLength(5)
    const last = statesAlong(model, safety.path!).at(-1)!
    expect(last.reduce((a, b) => a + b, 0)).toBe(5)
    const goal = r.properties.find((p) => p.name === "all at max")!
    expect(goal.status).toBe("reached")
    expect(goal.path!.actions).toHaveLength(9)
  })

  it("DFS counterexamples are valid paths to a violating state", () => {
    const model = counters(3, 3, { limit: 5 })
    const r = dfs(model, { exhaustive: true })
    const safety = r.properties.find((p) => p.name === "sum below limit")!
    expect(safety.status).toBe("violated")
    const states = statesAlong(model, safety.path!)
    expect(states.at(-1)!.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5)
  })

  it("stops at the first violation by default, leaving other properties undecided", () => {
    const r = bfs(counters(3, 3, { limit: 2 }))
    expect(r.stopReason).toBe("violation")
    expect(r.complete).toBe(false)
    expect(r.properties.map((p) => p.status)).toEqual(["violated", "unknown", "unknown"])
  })

  it("a model that does nothing cannot pass: its sometimes property is unreached", () => {
    const idle: Model<number, never> = {
      name: "idle",
      initialStates: [0],
      actions: () => {},
      next: () => undefined,
      properties: [always("fine", () => true), sometimes("did something", (s) => s > 0)],
    }
    for (const search of [bfs, dfs]) {
      const r = search(idle)
      expect(r.unique).toBe(1)
      expect(r.properties.map((p) => p.status)).toEqual(["holds", "unreached"])
    }
  })

  it("symmetry reduction finds the same violations at the same depth", () => {
    const broken = twoPhaseCommit({ rms: 3, variant: "eager-commit" })
    const plain = bfs(broken, { symmetry: false })
    const reduced = bfs(broken, { symmetry: true })
    expect(plain.properties[0]!.status).toBe("violated")
    expect(reduced.properties[0]!.status).toBe("violated")
    expect(reduced.properties[0]!.path!.actions.length).toBe(
      plain.properties[0]!.path!.actions.length,
    )
    for (const r of [plain, reduced]) {
      const last = statesAlong(broken, r.properties[0]!.path!).at(-1)!
      expect(last.rm).toContain("committed")
      expect(last.rm).toContain("aborted")
    }
  })

  it("rejects two properties with the same name", () => {
    const model = {
      ...counters(1, 1),
      properties: [always("p", () => true), sometimes("p", () => true)],
    }
    expect(() => bfs(model)).toThrow(/two properties are named "p"/)
  })
})

describe("bounds", () => {
  it("max depth stops expansion at that depth", () => {
    const r = bfs(counters(2, 5), { maxDepth: 3, exhaustive: true })
    // States with sum <= 3 of two counters in 0..5: 1 + 2 + 3 + 4.
    expect(r.unique).toBe(10)
    expect(r.maxDepth).toBe(3)
    expect(r.complete).toBe(false)
    expect(r.stopReason).toBe("max-depth")
  })

  it("max states stops the search", () => {
    const r = bfs(counters(3, 5), { maxStates: 20, exhaustive: true })
    expect(r.unique).toBe(20)
    expect(r.stopReason).toBe("max-states")
    const d = dfs(counters(3, 5), { maxStates: 20, exhaustive: true })
    expect(d.unique).toBe(20)
    expect(d.stopReason).toBe("max-states")
  })

  it("the time limit is read from the injected clock", () => {
    let now = 0
    const clock = () => (now += 1)
    const r = bfs(counters(4, 5), { deadline: 3, clock, progressEvery: 10, exhaustive: true })
    expect(r.stopReason).toBe("time-limit")
    expect(r.unique).toBeLessThan(6 ** 4)
  })

  it("the boundary discards states outside it", () => {
    const bounded = { ...counters(2, 5), within: (s: ReadonlyArray<number>) => s[0]! <= 1 }
    const r = bfs(bounded, { exhaustive: true })
    expect(r.unique).toBe(12)
    expect(r.complete).toBe(true)
  })

  it("reports progress", () => {
    const seen: Array<number> = []
    bfs(counters(3, 5), {
      progressEvery: 50,
      onProgress: (p) => seen.push(p.generated),
      exhaustive: true,
    })
    expect(seen.length).toBeGreaterThan(3)
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
  })
})
