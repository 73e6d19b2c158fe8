// Encodings: round trips, and damaged input is refused with a reason.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  CodecError,
  decodeRequest,
  decodeSnapshot,
  encodeRequest,
  encodeSnapshot,
  MvccStore,
  Reader,
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
        },
      ),
    )
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
    let txn = {}
    for (let i = 0; i < 70; i++) txn = { success: [{ request_txn: txn }] }
    const bytes = encodeRequest({ header: { ID: 1, now: 0 }, txn })
    expect(() => decodeRequest(bytes)).toThrow(/nested deeper/)
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
