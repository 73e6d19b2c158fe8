// Encodings: round trips, and damaged input is refused with a reason.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  CodecError,
  decodeRequest,
  decodeSnapshot,
  encodeRequest,
  encodeSnapshot,
  encodeSnapshotSteps,
  intSize,
  MvccStore,
  Reader,
  runSteps,
  uintSize,
  utf8,
  Writer,
} from "../../src/core/index.ts"

describe("varints", () => {
  it("round-trip every safe integer", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 52), max: Number.MAX_SAFE_INTEGER })),
        fc.array(fc.maxSafeNat()),
        (signed, unsigned) => {
          const w = new Writer(4)
          for (const v of signed) w.int(v)
          for (const v of unsigned) w.uint(v)
          const r = new Reader(w.finish())
          for (const v of signed) expect(r.int("v")).toBe(v)
          for (const v of unsigned) expect(r.uint("v")).toBe(v)
          expect(r.done).toBe(true)
          // The sizes snapshots are laid out with.
          for (const v of signed) {
            const one = new Writer(1)
            one.int(v)
            expect(intSize(v)).toBe(one.view().length)
          }
          for (const v of unsigned) {
            const one = new Writer(1)
            one.uint(v)
            expect(uintSize(v)).toBe(one.view().length)
          }
        },
      ),
    )
  })

  it("refuses to write a negative or unsafe unsigned varint", () => {
    // Such a number used to be written as bytes that decode to another one
    // (-200 as the single byte 56): a compaction at -200 compacted at 56.
    for (const v of [-1, -200, 2 ** 53, 0.5, Number.NaN]) {
      expect(() => new Writer(1).uint(v)).toThrow(CodecError)
    }
    for (const v of [0.5, 2 ** 53, Number.NaN])
      expect(() => new Writer(1).int(v)).toThrow(CodecError)
    expect(() =>
      encodeRequest({ header: { ID: 1, now: 0 }, compaction: { revision: -200 } }),
    ).toThrow(CodecError)
  })

  it("refuses a varint beyond 2^53", () => {
    const r = new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))
    expect(() => r.uint("revision")).toThrow(/revision/)
  })
})

describe("log entries", () => {
  it("refuse truncation, unknown types and trailing bytes, naming the field", () => {
    const bytes = encodeRequest({
      header: { ID: 7, now: 1234 },
      put: { key: utf8("key"), value: utf8("value"), lease: 5, prev_kv: true },
    })
    expect(decodeRequest(bytes)).toMatchObject({
      header: { ID: 7, now: 1234 },
      put: { lease: 5, prev_kv: true },
    })
    expect(() => decodeRequest(bytes.subarray(0, bytes.length - 2))).toThrow(
      /truncated input reading put/,
    )
    expect(() => decodeRequest(new Uint8Array([...bytes, 0]))).toThrow(/trailing bytes/)
    const bad = bytes.slice()
    bad[3] = 99 // the request type, after a 1-byte ID and a 2-byte time
    expect(() => decodeRequest(bad)).toThrow(/request type: unknown value 99/)
    expect(() => decodeRequest(bad)).toThrow(CodecError)
  })

  it("refuses txns nested beyond the limit", () => {
    const nest = (depth: number) => {
      let txn = {}
      for (let i = 0; i < depth; i++) txn = { success: [{ request_txn: txn }] }
      return encodeRequest({ header: { ID: 1, now: 0 }, txn })
    }
    expect(() => decodeRequest(nest(300))).toThrow(/nested deeper/)
    // Every nesting the API accepts (up to etcd's 128 ops) can be logged.
    expect(decodeRequest(nest(129)).txn).toBeDefined()
  })
})

describe("snapshots", () => {
  const store = (): MvccStore => {
    const s = new MvccStore()
    s.apply({ header: { ID: 1, now: 5000 }, lease_grant: { ID: 9, TTL: 30 } })
    s.put({ key: utf8("a"), value: utf8("1"), lease: 9 })
    s.put({ key: utf8("b"), value: utf8("2") })
    s.deleteRange({ key: utf8("a") })
    s.put({ key: utf8("a"), value: utf8("3"), lease: 9 })
    s.compact({ revision: 3 })
    s.appliedIndex = 42
    return s
  }

  it("restore revisions, compaction, time, applied index, leases and their keys", () => {
    const s = store()
    const r = decodeSnapshot(encodeSnapshot(s))
    expect([r.rev, r.compactRev, r.now, r.appliedIndex]).toEqual([s.rev, s.compactRev, s.now, 42])
    expect(r.leaseTimeToLive({ ID: 9, keys: true }, 5000)).toEqual({
      header: { revision: s.rev },
      ID: 9,
      TTL: 30,
      grantedTTL: 30,
      keys: [utf8("a")],
    })
    // Revoking the restored lease deletes the restored key.
    expect(r.leaseRevoke({ ID: 9 })).toEqual({ header: { revision: s.rev + 1 } })
    expect(r.range({ key: utf8("a") })).toMatchObject({ count: 0 })
  })

  it("refuse a damaged snapshot", () => {
    const bytes = encodeSnapshot(store())
    const flipped = bytes.slice()
    flipped[10]! ^= 1
    expect(() => decodeSnapshot(flipped)).toThrow(/checksum mismatch/)
    expect(() => decodeSnapshot(bytes.subarray(0, 3))).toThrow(/too short/)
    const magic = bytes.slice()
    magic[0] = 0
    expect(() => decodeSnapshot(magic)).toThrow(/bad magic/)
  })
})

describe("snapshots in steps", () => {
  type Op =
    | { readonly op: "put"; readonly k: number; readonly v: number }
    | { readonly op: "delete"; readonly k: number }
    | { readonly op: "compact"; readonly back: number }
    | { readonly op: "lease"; readonly id: number }
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({ op: fc.constant("put" as const), k: fc.nat(40), v: fc.nat(3) }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), k: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("compact" as const), back: fc.nat(10) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("lease" as const),
        id: fc.integer({ min: 1, max: 3 }),
      }),
    },
  )
  const run = (s: MvccStore, ops: ReadonlyArray<Op>, t: number): void => {
    for (const o of ops) {
      if (o.op === "put") s.put({ key: utf8(`k${o.k}`), value: utf8(`v${o.v}`) })
      else if (o.op === "delete") s.deleteRange({ key: utf8(`k${o.k}`) })
      else if (o.op === "compact") {
        if (s.rev - o.back > s.compactRev) s.compact({ revision: s.rev - o.back })
      } else if (s.lease(o.id) === undefined)
        s.apply({ header: { ID: 1, now: t }, lease_grant: { ID: o.id, TTL: 30 } })
      else s.apply({ header: { ID: 1, now: t }, lease_keep_alive: { ID: o.id } })
    }
  }

  it("encode the state captured when they start, whatever is written or compacted meanwhile", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120 }),
        fc.array(op, { maxLength: 120 }),
        (before, after) => {
          const s = new MvccStore()
          run(s, before, 1000)
          const expected = encodeSnapshot(s)
          // Captured now; nothing is encoded before the writes below.
          const steps = encodeSnapshotSteps(s.exportState())
          run(s, after, 2000)
          expect(runSteps(steps)).toEqual(expected)
          expect(encodeSnapshot(decodeSnapshot(expected))).toEqual(expected)
        },
      ),
      { numRuns: 200 },
    )
  })

  it("spread a large snapshot over many short steps, with the caller's header in front", () => {
    const s = new MvccStore()
    for (let i = 0; i < 50_000; i++) s.put({ key: utf8(`k${i % 5000}`), value: utf8("x") })
    const steps = encodeSnapshotSteps(s.exportState(), (n) => Uint8Array.of(1, 2, n & 0xff))
    let yields = 0
    let r = steps.next()
    while (r.done !== true) {
      yields++
      r = steps.next()
    }
    const plain = encodeSnapshot(s)
    expect(yields).toBeGreaterThanOrEqual(6)
    expect(r.value.subarray(0, 3)).toEqual(Uint8Array.of(1, 2, plain.length & 0xff))
    expect(r.value.subarray(3)).toEqual(plain)
  })
})
