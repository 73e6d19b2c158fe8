import { describe, expect, it } from "vitest"
import { bfs } from "../../src/core/bfs.ts"
import { checkEventually } from "../../src/core/eventually.ts"
import { simulate } from "../../src/core/simulate.ts"
import { traceOf } from "../../src/core/trace.ts"
import { twoPhaseCommit } from "../../src/models/two-phase-commit.ts"

describe("two-phase commit", () => {
  it("is consistent and every RM decides (3 RMs: 288 states, 80 up to symmetry)", () => {
    const model = twoPhaseCommit({ rms: 3 })
    const plain = bfs(model, { symmetry: false, exhaustive: true })
    expect(plain.unique).toBe(288)
    const reduced = bfs(model, { exhaustive: true })
    expect(reduced.unique).toBe(80)
    expect(reduced.properties.map((p) => [p.name, p.status])).toEqual([
      ["consistent", "holds"],
      ["all committed", "reached"],
      ["all aborted", "reached"],
      ["every RM decides", "unknown"],
    ])
    expect(checkEventually(model, model.properties[3]!).status).toBe("holds")
  })

  it("the eager-commit variant is caught with a pinned shortest counterexample", () => {
    const model = twoPhaseCommit({ rms: 3, variant: "eager-commit" })
    const p = bfs(model).properties[0]!
    expect(p.status).toBe("violated")
    const trace = traceOf(model, { ...p, path: p.path! })
    expect(trace.steps.map((s) => s.label)).toEqual([
      "RMPrepare(rm1)",
      "TMRcvPrepared(rm1)",
      "TMCommit",
      "RMRcvCommitMsg(rm1)",
      "RMChooseToAbort(rm2)",
    ])
    // Random walks find it too; shrinking is local (fast-check), so the pinned
    // shrunk schedule is one step longer than the breadth-first one.
    const s = simulate(model, { seed: 3, walks: 500 })
    expect(s.properties[0]!.path!.actions).toEqual([3, 0, 0, 0, 0, 2])
    expect(
      traceOf(model, { ...s.properties[0]!, path: s.properties[0]!.path! }).steps.map(
        (x) => x.label,
      ),
    ).toEqual([
      "RMPrepare(rm2)",
      "TMRcvPrepared(rm2)",
      "TMCommit",
      "RMPrepare(rm1)",
      "RMRcvCommitMsg(rm1)",
      "RMChooseToAbort(rm3)",
    ])
  })
})
