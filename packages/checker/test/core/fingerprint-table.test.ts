import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FingerprintTable, IntColumn } from "../../src/core/fingerprint-table.ts"

describe("FingerprintTable", () => {
  it("behaves like a map from fingerprints to dense insertion-order ids, across growth", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
          {
            maxLength: 3000,
          },
        ),
        (keys) => {
          const table = new FingerprintTable(16)
          const oracle = new Map<string, number>()
          for (const [hi, lo] of keys) {
            const k = `${hi}:${lo}`
            const known = oracle.get(k)
            const r = table.add(hi, lo)
            if (known === undefined) {
              expect(r).toBe(oracle.size)
              oracle.set(k, r)
            } else expect(r).toBe(-(known + 1))
          }
          expect(table.size).toBe(oracle.size)
          for (const [k, id] of oracle) {
            const [hi, lo] = k.split(":").map(Number) as [number, number]
            expect(table.get(hi, lo)).toBe(id)
          }
          expect(table.get(99, 5)).toBe(-1)
        },
      ),
      { numRuns: 50 },
    )
  })

  it("stores the all-zero fingerprint and colliding low halves", () => {
    const table = new FingerprintTable(16)
    expect(table.add(0, 0)).toBe(0)
    expect(table.add(1, 0)).toBe(1)
    expect(table.add(0, 0)).toBe(-1)
    expect(table.get(1, 0)).toBe(1)
    expect(table.get(2, 0)).toBe(-1)
  })
})

describe("IntColumn", () => {
  it("grows to any index and keeps values", () => {
    const c = new IntColumn(4)
    c.set(0, 5)
    c.set(1000, -7)
    expect(c.get(0)).toBe(5)
    expect(c.get(1000)).toBe(-7)
    expect(c.get(500)).toBe(0)
  })
})
