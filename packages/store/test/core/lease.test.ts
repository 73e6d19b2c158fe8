// Leases: time only arrives in entry headers; the leader decides expiry and
// the log applies it; remaining TTLs survive a change of leader.
import { describe, expect, it } from "vitest"
import { fromUtf8, type InternalRequest, MvccStore, utf8 } from "../../src/core/index.ts"

let id = 0
const entry = (now: number, body: Omit<InternalRequest, "header">): InternalRequest => ({
  header: { ID: ++id, now },
  ...body,
})

describe("leases", () => {
  it("raise the TTL to the minimum and keep deadlines in entry time", () => {
    const s = new MvccStore({ minLeaseTTL: 5 })
    expect(s.apply(entry(10_000, { lease_grant: { ID: 1, TTL: 1 } }))).toMatchObject({ TTL: 5 })
    expect(s.apply(entry(10_000, { lease_grant: { ID: 2, TTL: 60 } }))).toMatchObject({ TTL: 60 })
    expect(s.lease(1)?.deadline).toBe(15_000)
    expect(s.leaseTimeToLive({ ID: 2 }, 40_500)).toMatchObject({ TTL: 29, grantedTTL: 60 })
    expect(s.nextLeaseDeadline()).toBe(15_000)
  })

  it("expire only through the log, and not when renewed in between", () => {
    const s = new MvccStore()
    s.apply(entry(0, { lease_grant: { ID: 7, TTL: 10 } }))
    s.apply(entry(0, { put: { key: utf8("k"), value: utf8("v"), lease: 7 } }))
    // The leader sees the lease due at 10 s and proposes its expiry...
    expect(s.expiredLeases(9_999)).toEqual([])
    expect(s.expiredLeases(10_000)).toEqual([7])
    // ...but a keep-alive is applied first: the expiry entry is a no-op.
    s.apply(entry(9_000, { lease_keep_alive: { ID: 7 } }))
    expect(s.apply(entry(10_000, { lease_expire: { IDs: [7] } }))).toEqual({
      header: { revision: 2 },
      expired: [],
    })
    expect(s.range({ key: utf8("k") })).toMatchObject({ count: 1 })
    expect(s.apply(entry(19_000, { lease_expire: { IDs: [7] } }))).toEqual({
      header: { revision: 3 },
      expired: [7],
    })
    expect(s.range({ key: utf8("k") })).toMatchObject({ count: 0 })
    expect(s.lease(7)).toBeUndefined()
  })

  it("keep their remaining TTL across a leader change, whatever the new leader's clock", () => {
    const s = new MvccStore()
    s.apply(entry(1_000_000, { lease_grant: { ID: 1, TTL: 30 } }))
    s.apply(entry(1_012_000, { put: { key: utf8("x") } })) // 18 s left
    // The new leader's clock reads 5,000 ms: it promotes, and the lease still has 18 s.
    s.apply(entry(5_000, { lease_promote: {} }))
    expect(s.now).toBe(5_000)
    expect(s.leaseTimeToLive({ ID: 1 }, 5_000)).toMatchObject({ TTL: 18 })
    expect(s.expiredLeases(22_999)).toEqual([])
    expect(s.expiredLeases(23_000)).toEqual([1])
  })

  it("revoke deletes the attached keys in one revision, in key order", () => {
    const s = new MvccStore()
    s.apply(entry(0, { lease_grant: { ID: 3, TTL: 10 } }))
    for (const k of ["c", "a", "b"]) s.put({ key: utf8(k), lease: 3 })
    s.put({ key: utf8("d") })
    expect(s.leaseTimeToLive({ ID: 3, keys: true }).keys.map(fromUtf8)).toEqual(["a", "b", "c"])
    expect(s.leaseRevoke({ ID: 3 })).toEqual({ header: { revision: 6 } })
    const log = Array.from({ length: s.logLength }, (_, i) => s.logEntry(i))
    expect(log.filter((kv) => kv.mod_revision === 6).map((kv) => fromUtf8(kv.key))).toEqual([
      "a",
      "b",
      "c",
    ])
    expect(s.range({ key: utf8("\0"), range_end: utf8("\0") })).toMatchObject({ count: 1 })
  })

  it("follow their keys: a put moves a key between leases, a delete detaches it", () => {
    const s = new MvccStore()
    s.apply(entry(0, { lease_grant: { ID: 1, TTL: 10 } }))
    s.apply(entry(0, { lease_grant: { ID: 2, TTL: 10 } }))
    s.put({ key: utf8("k"), lease: 1 })
    s.put({ key: utf8("k"), lease: 2 })
    s.put({ key: utf8("j"), lease: 1 })
    s.deleteRange({ key: utf8("j") })
    expect(s.leaseTimeToLive({ ID: 1, keys: true }).keys).toEqual([])
    expect(s.leaseTimeToLive({ ID: 2, keys: true }).keys.map(fromUtf8)).toEqual(["k"])
    s.leaseRevoke({ ID: 1 })
    expect(s.range({ key: utf8("k") })).toMatchObject({ count: 1 })
    expect(s.leaseLeases().leases).toEqual([{ ID: 2 }])
  })
})
