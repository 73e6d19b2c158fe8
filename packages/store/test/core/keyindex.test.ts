// The key tree against a sorted array: inserts and deletes in any order keep
// the keys ordered, across many chunk splits and removals.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fromBinary, KeyIndex, KeyTree } from "../../src/core/index.ts"

const ki = (k: string): KeyIndex => new KeyIndex(k, fromBinary(k))

const keysIn = (t: KeyTree, start: string, end: string): string[] => {
  const out: string[] = []
  t.forRange(start, end, (x) => {
    out.push(x.key)
    return true
  })
  return out
}

describe("KeyTree", () => {
  it("matches a sorted array under random inserts, deletes and range scans", () => {
    const key = fc.integer({ min: 0, max: 3000 }).map((n) => `k${n.toString(36).padStart(3, "0")}`)
    const action = fc.oneof(
      { weight: 3, arbitrary: key.map((k) => ({ op: "insert" as const, k })) },
      { weight: 1, arbitrary: key.map((k) => ({ op: "delete" as const, k })) },
    )
    fc.assert(
      fc.property(
        fc.array(action, { minLength: 500, maxLength: 3000 }),
        key,
        key,
        (actions, a, b) => {
          const tree = new KeyTree()
          const ref = new Set<string>()
          for (const { op, k } of actions) {
            if (op === "insert") {
              if (!ref.has(k)) {
                tree.insert(ki(k))
                ref.add(k)
              }
            } else {
              expect(tree.delete(k)).toBe(ref.delete(k))
            }
          }
          const sorted = [...ref].sort()
          expect(tree.size).toBe(sorted.length)
          expect([...tree].map((x) => x.key)).toEqual(sorted)
          const [lo, hi] = a < b ? [a, b] : [b, a]
          expect(keysIn(tree, lo, hi)).toEqual(sorted.filter((k) => k >= lo && k < hi))
          expect(keysIn(tree, lo, "")).toEqual(sorted.filter((k) => k >= lo))
        },
      ),
      { numRuns: 40 },
    )
  })

  it("stops a scan when the callback returns false", () => {
    const tree = new KeyTree()
    for (let i = 0; i < 2000; i++) tree.insert(ki(`k${String(i).padStart(5, "0")}`))
    let seen = 0
    tree.forRange("k00100", "", () => ++seen < 700)
    expect(seen).toBe(700)
  })
})

describe("KeyIndex.at", () => {
  it("finds the version visible at every revision", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 40 }),
        (revs) => {
          const sorted = [...revs].sort((x, y) => x - y)
          const index = ki("k")
          index.revs = sorted.map((r) => ({
            key: index.bytes,
            create_revision: sorted[0]!,
            mod_revision: r,
            version: 1,
            value: new Uint8Array(0),
            lease: 0,
          }))
          for (let rev = 0; rev <= 201; rev++) {
            const expected = sorted.filter((r) => r <= rev).at(-1)
            expect(index.at(rev)?.mod_revision).toBe(expected)
          }
        },
      ),
    )
  })
})
