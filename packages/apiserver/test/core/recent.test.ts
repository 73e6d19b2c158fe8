import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RecentMap } from "../../src/core/recent.ts"

type Step =
  | { readonly op: "set"; readonly key: number; readonly value: number }
  | { readonly op: "get"; readonly key: number }
  | { readonly op: "delete"; readonly key: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), key: fc.nat(12), value: fc.integer() }),
  fc.record({ op: fc.constant("get" as const), key: fc.nat(12) }),
  fc.record({ op: fc.constant("delete" as const), key: fc.nat(12) }),
)

describe("RecentMap", () => {
  it("finds every entry used within the last `capacity` distinct keys, never a wrong or deleted one, and holds at most twice the capacity (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(step, { maxLength: 80 }),
        (capacity, steps) => {
          const map = new RecentMap<number, number>(capacity)
          // The model: every live key's value, and the keys in order of last use (most recent last).
          const values = new Map<number, number>()
          let order: Array<number> = []
          const use = (key: number) => {
            order = [...order.filter((k) => k !== key), key]
          }
          for (const s of steps) {
            if (s.op === "set") {
              map.set(s.key, s.value)
              values.set(s.key, s.value)
              use(s.key)
            } else if (s.op === "delete") {
              map.delete(s.key)
              values.delete(s.key)
              order = order.filter((k) => k !== s.key)
            } else {
              const got = map.get(s.key)
              // Found: the last value set; never a deleted key's.
              if (got !== undefined) {
                expect(values.get(s.key)).toBe(got)
                use(s.key)
              } else {
                // Missed: only a key not used within the last `capacity` distinct keys.
                const recent = order.slice(-capacity)
                expect(recent).not.toContain(s.key)
                order = order.filter((k) => k !== s.key)
              }
            }
            expect(map.size).toBeLessThanOrEqual(2 * capacity)
            for (const k of order.slice(-capacity)) expect(map.get(k)).toBe(values.get(k))
          }
        },
      ),
    )
  })

  it("rejects a capacity below one", () => {
    expect(() => new RecentMap(0)).toThrow(/capacity: must be at least 1, got 0/)
  })
})
