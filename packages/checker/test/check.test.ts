import { describe, expect, it } from "vitest"
import { check, formatSummary } from "../src/check.ts"
import { formatTrace, replayTrace } from "../src/core/trace.ts"
import { buildModel, models } from "../src/models/registry.ts"
import { parseTrace, stringifyTrace } from "../src/trace-file.ts"

describe("check", () => {
  it("runs every strategy on a registered model and agrees on the outcome", async () => {
    const built = await buildModel("two-phase-commit", { rms: "3" })
    const results = await Promise.all([
      check(built.model, { strategy: "bfs" }, built),
      check(built.model, { strategy: "dfs" }, built),
      check(built.model, { strategy: "bfs", threads: 2 }, built),
      check(built.model, { strategy: "simulate", seed: 1, walks: 300 }, built),
    ])
    for (const r of results) {
      expect(r.ok).toBe(true)
      expect(r.properties.map((p) => p.status)).toEqual(["holds", "reached", "reached", "holds"])
    }
    // Exhaustive strategies see the same state space (80 states up to symmetry).
    expect(results.slice(0, 3).map((r) => r.unique)).toEqual([80, 80, 80])
    expect(results[3]!.complete).toBe(false)
    const summary = formatSummary(results[0]!)
    expect(summary).toContain("model two-phase-commit --rms 3 --variant textbook (bfs)")
    expect(summary).toContain('✓ eventually "every RM decides"  holds')
  })

  it("fails with a replayable counterexample that survives a round trip through JSON", async () => {
    const built = await buildModel("naive-replication", { scenario: "partition" })
    const r = await check(built.model, {}, built)
    expect(r.ok).toBe(false)
    const p = r.properties.find((x) => x.status === "violated")!
    const text = stringifyTrace(p.trace!)
    const trace = parseTrace(text)
    expect(trace.options).toEqual({ servers: "3", scenario: "partition" })
    const again = await buildModel(trace.model, trace.options)
    expect(replayTrace(again.model, trace).ok).toBe(true)
    expect(formatTrace(trace)).toContain("partition heals")
  })

  it("decides eventually properties by the cycle search, and reports unreached goals", async () => {
    const built = await buildModel("two-phase-commit", { rms: "2", variant: "eager-commit" })
    const r = await check(built.model, { stopOnViolation: false }, built)
    expect(r.properties.map((p) => p.status)).toEqual(["violated", "reached", "reached", "holds"])
    const bounded = await check(built.model, { maxDepth: 1 }, built)
    expect(
      bounded.properties.find((p) => p.kind === "sometimes" && p.name === "all committed")!.status,
    ).toBe("unreached")
    expect(bounded.ok).toBe(false)
  })

  it("rejects bad model options by name", async () => {
    await expect(buildModel("two-phase-commit", { rms: "0" })).rejects.toThrow(
      "--rms: expected an integer from 1 to 9, got 0",
    )
    await expect(buildModel("two-phase-commit", { servers: "3" })).rejects.toThrow(
      "--servers: not an option of model two-phase-commit",
    )
    await expect(buildModel("nope")).rejects.toThrow('unknown model "nope"')
    expect(models().map((m) => m.name)).toContain("naive-replication")
  })

  it("rejects malformed trace files, naming the field", () => {
    expect(() => parseTrace("{")).toThrow(/not JSON/)
    expect(() =>
      parseTrace(
        JSON.stringify({ format: "flotilla-trace/1", model: "m", options: {}, symmetry: true }),
      ),
    ).toThrow(/property: Missing key/)
  })
})
