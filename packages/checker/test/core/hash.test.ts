import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { canonicalEncoding, fingerprintHexOf, fingerprintOf, Hasher } from "../../src/core/hash.ts"

const shuffled = <X>(xs: ReadonlyArray<X>, seed: number): Array<X> => {
  const out = xs.slice()
  let s = seed | 1
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) | 0
    const j = (s >>> 8) % (i + 1)
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

// Rebuilds a value with every object's keys, map entries and set elements in another order.
const reorder = (v: unknown, seed: number): unknown => {
  if (Array.isArray(v)) return v.map((x) => reorder(x, seed))
  if (v instanceof Map)
    return new Map(shuffled([...v], seed).map(([k, x]) => [k, reorder(x, seed)]))
  if (v instanceof Set) return new Set(shuffled([...v], seed))
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>
    return Object.fromEntries(shuffled(Object.keys(o), seed).map((k) => [k, reorder(o[k], seed)]))
  }
  return v
}

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 5 }),
    fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 5 }).map((xs) => new Set(xs)),
    fc
      .uniqueArray(fc.tuple(fc.string({ maxLength: 3 }), tie("value")), {
        maxLength: 4,
        selector: ([k]) => k,
      })
      .map((entries) => new Map(entries)),
  ),
})).value

describe("fingerprints", () => {
  it("do not depend on object key order or Map/Set insertion order", () => {
    fc.assert(
      fc.property(plain, fc.integer(), (v, seed) => {
        const a = fingerprintOf(v)
        const b = fingerprintOf(reorder(v, seed))
        expect(b).toEqual(a)
        expect(canonicalEncoding(reorder(v, seed))).toBe(canonicalEncoding(v))
      }),
    )
  })

  it("tell apart values whose canonical encodings differ", () => {
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        fc.pre(canonicalEncoding(a) !== canonicalEncoding(b))
        expect(fingerprintHexOf(a)).not.toBe(fingerprintHexOf(b))
      }),
      { numRuns: 500 },
    )
  })

  it("have no collisions among 200,000 small distinct states", () => {
    const seen = new Set<string>()
    for (let a = 0; a < 50; a++) {
      for (let b = 0; b < 40; b++) {
        for (let c = 0; c < 100; c++) seen.add(fingerprintHexOf({ a, log: [b, c], s: `n${c % 7}` }))
      }
    }
    expect(seen.size).toBe(200_000)
  })

  it("keep arrays ordered and kinds apart", () => {
    expect(fingerprintHexOf([1, 2])).not.toBe(fingerprintHexOf([2, 1]))
    expect(fingerprintHexOf(1)).not.toBe(fingerprintHexOf("1"))
    expect(fingerprintHexOf([])).not.toBe(fingerprintHexOf({}))
    expect(fingerprintHexOf(new Set([1]))).not.toBe(fingerprintHexOf([1]))
    expect(fingerprintHexOf({ a: 1, b: 2 })).not.toBe(fingerprintHexOf({ a: 2, b: 1 }))
    expect(fingerprintHexOf(0)).not.toBe(fingerprintHexOf(-0))
    expect(fingerprintHexOf(Number.NaN)).toBe(fingerprintHexOf(0 / 0))
    expect(fingerprintHexOf(1.5)).not.toBe(fingerprintHexOf(1))
    expect(fingerprintHexOf(2 ** 40)).not.toBe(fingerprintHexOf(0))
    expect(fingerprintHexOf(new Uint8Array([1, 2]))).not.toBe(
      fingerprintHexOf(new Uint8Array([2, 1])),
    )
  })

  it("skip properties whose value is undefined", () => {
    expect(fingerprintHexOf({ a: 1, b: undefined })).toBe(fingerprintHexOf({ a: 1 }))
    expect(canonicalEncoding({ a: 1, b: undefined })).toBe(canonicalEncoding({ a: 1 }))
  })

  it("stream words, strings and sub-fingerprints deterministically", () => {
    const h = new Hasher()
    const run = (): string => {
      h.reset()
      h.word(7)
      h.string("AppendEntries")
      h.int(-3)
      h.bool(true)
      h.fingerprint(0xdeadbeef, 0x12345678)
      h.finish()
      return `${h.hi}:${h.lo}`
    }
    const first = run()
    expect(run()).toBe(first)
    h.reset()
    h.word(8)
    h.finish()
    expect(`${h.hi}:${h.lo}`).not.toBe(first)
  })

  it("reject values that are not plain data", () => {
    expect(() => fingerprintOf(() => 1)).toThrow(/function/)
    expect(() => fingerprintOf(Symbol("x"))).toThrow(/symbol/)
  })
})
