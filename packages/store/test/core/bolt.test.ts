import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { BOLT_PAGE_SIZE, BoltFormatError, readBolt, writeBolt } from "../../src/core/bolt.ts"
import { compareBytes } from "../../src/core/bytes.ts"

const sortedUnique = (keys: ReadonlyArray<Uint8Array>): Array<Uint8Array> => {
  const sorted = [...keys].sort(compareBytes)
  return sorted.filter((k, i) => i === 0 || compareBytes(sorted[i - 1] as Uint8Array, k) !== 0)
}

const bucketArb = fc
  .record({
    name: fc.uint8Array({ minLength: 1, maxLength: 12 }),
    keys: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 300 }),
    // Mostly small values, some over a page (overflow pages).
    sizes: fc.array(fc.oneof(fc.nat(64), fc.nat(3 * BOLT_PAGE_SIZE)), { maxLength: 300 }),
  })
  .map(({ name, keys, sizes }) => ({
    name,
    entries: sortedUnique(keys).map(
      (k, i) =>
        [k, new Uint8Array(sizes[i % Math.max(1, sizes.length)] ?? 0).fill(i % 251)] as const,
    ),
  }))

const bucketsArb = fc
  .array(bucketArb, { maxLength: 6 })
  .map((bs) => bs.filter((b, i) => bs.findIndex((c) => compareBytes(c.name, b.name) === 0) === i))

describe("bbolt files", () => {
  it("read back what was written: inline buckets, leaves, branches and overflow pages", () => {
    fc.assert(
      fc.property(bucketsArb, (buckets) => {
        const file = writeBolt(buckets)
        expect(file.length % BOLT_PAGE_SIZE).toBe(0)
        const sorted = [...buckets].sort((a, b) => compareBytes(a.name, b.name))
        expect(readBolt(file)).toEqual(sorted.map((b) => ({ name: b.name, entries: b.entries })))
      }),
      { numRuns: 60 },
    )
  })

  it("builds branch levels for many keys", () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => {
      const k = new Uint8Array(17)
      new DataView(k.buffer).setBigUint64(0, BigInt(i))
      return [k, new Uint8Array(30)] as const
    })
    const file = writeBolt([{ name: new TextEncoder().encode("key"), entries }])
    const [bucket] = readBolt(file)
    expect(bucket?.entries.length).toBe(20_000)
    expect(bucket?.entries[19_999]?.[0]).toEqual(entries[19_999]?.[0])
  })

  it("refuses unsorted or duplicate keys when writing", () => {
    const k = (s: string) => new TextEncoder().encode(s)
    expect(() =>
      writeBolt([
        {
          name: k("b"),
          entries: [
            [k("2"), k("")],
            [k("1"), k("")],
          ],
        },
      ]),
    ).toThrow(/sorted and unique/)
    expect(() =>
      writeBolt([
        {
          name: k("b"),
          entries: [
            [k("1"), k("")],
            [k("1"), k("")],
          ],
        },
      ]),
    ).toThrow(/sorted and unique/)
  })

  it("names what is wrong with a damaged file", () => {
    const file = writeBolt([{ name: new TextEncoder().encode("b"), entries: [] }])
    const bothMetas = file.slice()
    bothMetas[16 + 20] = (bothMetas[16 + 20] as number) ^ 1
    bothMetas[BOLT_PAGE_SIZE + 16 + 20] = (bothMetas[BOLT_PAGE_SIZE + 16 + 20] as number) ^ 1
    expect(() => readBolt(bothMetas)).toThrow(BoltFormatError)
    expect(() => readBolt(bothMetas)).toThrow(/checksum mismatch/)
    // One damaged meta: the other is used, as bbolt does.
    const oneMeta = file.slice()
    oneMeta[16 + 20] = (oneMeta[16 + 20] as number) ^ 1
    expect(readBolt(oneMeta)).toEqual(readBolt(file))
    expect(() => readBolt(new Uint8Array(100))).toThrow(/not a bbolt database/)
    expect(() => readBolt(file.subarray(0, 2 * BOLT_PAGE_SIZE))).toThrow(
      /out of range|past the end/,
    )
  })
})

describe("damaged bbolt files", () => {
  it("are read or refused with BoltFormatError, never another exception (fuzzed bytes)", () => {
    const base = writeBolt([
      {
        name: new TextEncoder().encode("key"),
        entries: Array.from({ length: 300 }, (_, i) => {
          const k = new Uint8Array(17)
          new DataView(k.buffer).setBigUint64(0, BigInt(i + 2))
          return [k, new Uint8Array(i % 7 === 0 ? 5000 : 40).fill(i)] as const
        }),
      },
      { name: new TextEncoder().encode("meta"), entries: [] },
    ])
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.option(fc.nat(base.length), { nil: undefined }),
        (edits, cut) => {
          const bytes = base.slice(0, cut ?? base.length)
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value
          try {
            readBolt(bytes)
          } catch (e) {
            expect(e).toBeInstanceOf(BoltFormatError)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
