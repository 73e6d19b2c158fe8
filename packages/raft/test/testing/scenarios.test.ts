// The 28 MIT 6.5840 Raft scenarios, each over 20 seeds (simulated time, so the
// whole file takes seconds). `npm run soak -w @flotilla/raft` runs thousands.
import { describe, expect, it } from "vitest"
import { scenarios } from "../../src/testing/scenarios.ts"

const SEEDS = 20

describe("MIT 6.5840 scenarios", () => {
  it("has all 28 scenarios", () => {
    expect(scenarios.map((s) => s.name)).toHaveLength(28)
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(28)
  })

  for (const sc of scenarios) {
    it(`${sc.name} over ${SEEDS} seeds`, () => {
      let simulated = 0
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = sc.run(seed)
        expect(r.simulatedMs).toBeGreaterThan(0)
        simulated += r.simulatedMs
      }
      expect(simulated).toBeGreaterThan(0)
    })
  }
})
