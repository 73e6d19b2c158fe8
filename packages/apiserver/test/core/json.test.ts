import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { clone, deepEqual, rfc3339 } from "../../src/core/json.ts"

const direct = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`

describe("rfc3339", () => {
  it("prints metav1.Time as Kubernetes does", () => {
    expect(rfc3339(Date.UTC(2026, 10, 28, 16, 14, 50, 999))).toBe("2026-11-28T16:14:50Z")
    expect(rfc3339(-1)).toBe("1969-12-31T23:59:59Z")
    expect(rfc3339(-0.5)).toBe("1970-01-01T00:00:00Z")
    expect(() => rfc3339(Number.NaN)).toThrow(RangeError)
  })

  it("answers as a fresh Date would, whatever times came before (property)", () => {
    // Runs of nearby times (the memo's case) and far jumps, fractions, negatives.
    const time = fc.oneof(
      fc.integer({ min: -3_000, max: 3_000 }),
      fc.double({ min: -8.64e15, max: 8.64e15, noNaN: true }),
      fc.integer({ min: 1_764_000_000_000, max: 1_764_000_005_000 }),
    )
    fc.assert(
      fc.property(fc.array(time, { maxLength: 40 }), (times) => {
        for (const ms of times) expect(rfc3339(ms)).toBe(direct(ms))
      }),
    )
  })
})

/** JSON with every object's keys sorted: equal exactly when two values are structurally equal. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(",")}]`
    : typeof v === "object" && v !== null
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(",")}}`
      : JSON.stringify(v)

describe("deepEqual", () => {
  const key = fc.constantFrom("a", "b", "c", "__proto__", "constructor")
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constantFrom(null, true, false, 0, 1, "", "x"),
      fc.array(tie("value"), { maxLength: 3 }),
      fc.dictionary(key, tie("value"), { maxKeys: 4 }),
    ),
  })).value

  it("is structural equality of JSON values, whatever the key order (property)", () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(deepEqual(a, b)).toBe(canonical(a) === canonical(b))
        expect(deepEqual(a, clone(a))).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it("tells apart objects with as many keys but different ones, and an own __proto__ key from none", () => {
    expect(deepEqual({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false)
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false)
    const withProto = JSON.parse('{"__proto__":{"x":1}}')
    expect(deepEqual(withProto, {})).toBe(false)
    expect(deepEqual(withProto, JSON.parse('{"__proto__":{"x":1}}'))).toBe(true)
  })
})
