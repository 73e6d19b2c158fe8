// The key tree against a sorted array: inserts and deletes in any order keep
// the keys ordered, across many chunk splits and removals.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeSnapshot,
  encodeSnapshot,
  fromBinary,
  KeyIndex,
  KeyTree,
  MvccStore,
} from "../../src/core/index.ts"

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

describe("counting ranges from chunk summaries", () => {
  const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
  const keyOf = (n: number) => `k${n.toString(36).padStart(3, "0")}`
  type Op =
    | { readonly op: "put"; readonly k: number }
    | { readonly op: "delete"; readonly k: number; readonly span: number }
    | { readonly op: "compact"; readonly back: number }
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 12, arbitrary: fc.nat(3000).map((k) => ({ op: "put" as const, k })) },
    {
      weight: 3,
      arbitrary: fc.record({ k: fc.nat(3000), span: fc.nat(40) }).map((d) => ({
        op: "delete" as const,
        ...d,
      })),
    },
    { weight: 1, arbitrary: fc.nat(50).map((back) => ({ op: "compact" as const, back })) },
  )

  /** What a range must say: the live keys at `rev` found by visiting every key. */
  const check = (store: MvccStore, lo: number, hi: number, limit: number, back: number) => {
    const rev = Math.max(store.compactRev, store.rev - back)
    const range = { key: enc(keyOf(lo)), range_end: enc(keyOf(hi)), revision: rev }
    const all = store.range(range)
    if ("code" in all) throw new Error(all.message)
    const limited = store.range({ ...range, limit })
    const counted = store.range({ ...range, count_only: true })
    const open = store.range({ ...range, range_end: enc("\0"), limit })
    const openAll = store.range({ ...range, range_end: enc("\0") })
    if ("code" in limited || "code" in counted || "code" in open || "code" in openAll)
      throw new Error("range failed")
    expect(limited.count).toBe(all.kvs.length)
    expect(counted.count).toBe(all.kvs.length)
    expect(limited.kvs).toEqual(all.kvs.slice(0, limit))
    expect(limited.more).toBe(all.kvs.length > limit)
    expect(open.count).toBe(openAll.kvs.length)
    expect(open.more).toBe(openAll.kvs.length > limit)
  }

  it("count and more equal a full scan's at any revision, across writes, compactions and a snapshot", () => {
    fc.assert(
      fc.property(
        // Enough keys for several chunks (of at most 512).
        fc.array(op, { minLength: 1500, maxLength: 3000, size: "max" }),
        fc.array(
          fc.record({
            a: fc.oneof(fc.constant(0), fc.nat(3000)),
            b: fc.oneof(fc.constant(3001), fc.nat(3000)),
            limit: fc.integer({ min: 1, max: 700 }),
            // Half at the head revision, where whole chunks count from their summaries.
            back: fc.oneof(fc.constant(0), fc.nat(60)),
          }),
          { minLength: 5, maxLength: 10 },
        ),
        (ops, ranges) => {
          const store = new MvccStore()
          for (const o of ops) {
            if (o.op === "put") store.put({ key: enc(keyOf(o.k)), value: enc("v") })
            else if (o.op === "delete")
              store.deleteRange({ key: enc(keyOf(o.k)), range_end: enc(keyOf(o.k + o.span)) })
            else if (store.rev - o.back > store.compactRev)
              store.compact({ revision: store.rev - o.back })
          }
          const restored = decodeSnapshot(encodeSnapshot(store))
          for (const { a, b, limit, back } of ranges) {
            const [lo, hi] = a < b ? [a, b] : [b, a + 1]
            check(store, lo, hi, limit, back)
            check(restored, lo, hi, limit, back)
          }
        },
      ),
      { numRuns: 15 },
    )
  })
})
