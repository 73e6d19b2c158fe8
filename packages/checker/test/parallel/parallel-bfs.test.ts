import { describe, expect, it } from "vitest"
import { bfs } from "../../src/core/bfs.ts"
import { statesAlong } from "../../src/core/trace.ts"
import { twoPhaseCommit } from "../../src/models/two-phase-commit.ts"
import { parallelBfs } from "../../src/parallel/parallel-bfs.ts"
import { countersFrom } from "../core/models.ts"

const modelsModule = new URL("../core/models.ts", import.meta.url).href
const twoPhaseModule = new URL("../../src/models/two-phase-commit.ts", import.meta.url).href

describe("parallel breadth-first search", () => {
  it("finds the same unique states and depth as the single-threaded search", async () => {
    const args = { n: 4, max: 3 }
    const model = countersFrom(args)
    const single = bfs(model, { exhaustive: true })
    for (const threads of [1, 2, 3]) {
      const r = await parallelBfs({ module: modelsModule, export: "countersFrom", args }, model, {
        threads,
        exhaustive: true,
      })
      expect(r.unique).toBe(single.unique)
      expect(r.generated).toBe(single.generated)
      expect(r.maxDepth).toBe(single.maxDepth)
      expect(r.stopReason).toBe("exhausted")
    }
  })

  it("finds shortest counterexamples, with symmetry reduction too", async () => {
    const args = { rms: 3, variant: "eager-commit" } as const
    const model = twoPhaseCommit(args)
    for (const symmetry of [false, true]) {
      const single = bfs(model, { symmetry })
      const r = await parallelBfs(
        { module: twoPhaseModule, export: "twoPhaseCommit", args },
        model,
        { threads: 2, symmetry },
      )
      const p = r.properties.find((x) => x.name === "consistent")!
      expect(p.status).toBe("violated")
      expect(p.path!.actions.length).toBe(single.properties[0]!.path!.actions.length)
      const last = statesAlong(model, p.path!).at(-1)!
      expect(last.rm).toContain("committed")
      expect(last.rm).toContain("aborted")
      expect(r.stopReason).toBe("violation")
    }
  })

  it("counts the symmetric state space like the single-threaded search", async () => {
    const args = { rms: 4 } as const
    const model = twoPhaseCommit(args)
    const single = bfs(model, { exhaustive: true })
    const r = await parallelBfs({ module: twoPhaseModule, export: "twoPhaseCommit", args }, model, {
      threads: 2,
      exhaustive: true,
    })
    expect(r.unique).toBe(single.unique)
    expect(r.properties.map((p) => p.status)).toEqual(single.properties.map((p) => p.status))
  })

  it("reports a model that cannot be built", async () => {
    await expect(
      parallelBfs(
        { module: modelsModule, export: "nothing", args: {} },
        countersFrom({ n: 1, max: 1 }),
        {
          threads: 2,
        },
      ),
    ).rejects.toThrow(/no function export "nothing"/)
  })
})
