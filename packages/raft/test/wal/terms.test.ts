import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { TermRuns } from "../../src/wal/terms.ts"

type Op =
  | { readonly op: "append"; readonly back: number; readonly term: number }
  | { readonly op: "truncate"; readonly delta: number }
  | { readonly op: "drop"; readonly back: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("append" as const),
      back: fc.nat({ max: 3 }),
      term: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("truncate" as const),
      delta: fc.integer({ min: -3, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("drop" as const), back: fc.nat({ max: 6 }) }),
  },
)

describe("TermRuns", () => {
  it("answers termAt like a map from index to term", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const runs = new TermRuns()
        const model = new Map<number, number>()
        let first = 1
        let last = 0
        for (const o of ops) {
          if (o.op === "append") {
            const at = Math.max(first, last + 1 - o.back)
            for (const k of model.keys()) if (k >= at) model.delete(k)
            model.set(at, o.term)
            runs.append(at, o.term)
            last = at
          } else if (o.op === "truncate") {
            const from = Math.max(1, last + 1 + o.delta)
            if (from > last + 1 || from <= first) {
              model.clear()
              first = from
            } else for (const k of model.keys()) if (k >= from) model.delete(k)
            runs.truncateFrom(from)
            last = from - 1
          } else {
            const below = Math.max(1, last + 1 - o.back)
            if (below > first) {
              for (const k of model.keys()) if (k < below) model.delete(k)
              first = Math.min(below, last + 1)
            }
            runs.dropBelow(below)
          }
          expect(runs.lastIndex).toBe(last)
        }
        for (let i = 0; i <= last + 2; i++) expect(runs.termAt(i)).toBe(model.get(i))
      }),
    )
  })
})
