// Every error the store answers with: etcd's gRPC code and exact message, for
// the request that provokes it.
import { describe, expect, it } from "vitest"
import {
  checkDeleteRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxn,
  ErrCompacted,
  ErrDuplicateKey,
  ErrEmptyKey,
  ErrFutureRev,
  ErrKeyNotFound,
  ErrLeaseExist,
  ErrLeaseNotFound,
  ErrLeaseProvided,
  ErrLeaseTTLTooLarge,
  ErrTooManyOps,
  ErrValueProvided,
  type EtcdFailure,
  GrpcCode,
  MvccStore,
  utf8,
} from "../../src/core/index.ts"
import type { RequestOp, TxnRequest } from "../../src/core/types.ts"

const k = utf8
const put = (key: string): RequestOp => ({ request_put: { key: k(key) } })
const del = (key: string, end?: string): RequestOp => ({
  request_delete_range: end === undefined ? { key: k(key) } : { key: k(key), range_end: k(end) },
})
const txn = (t: TxnRequest): RequestOp => ({ request_txn: t })

describe("etcd's error codes and messages", () => {
  it.each<[string, EtcdFailure, number, string]>([
    ["empty key", ErrEmptyKey, GrpcCode.INVALID_ARGUMENT, "etcdserver: key is not provided"],
    ["key not found", ErrKeyNotFound, GrpcCode.INVALID_ARGUMENT, "etcdserver: key not found"],
    [
      "value provided",
      ErrValueProvided,
      GrpcCode.INVALID_ARGUMENT,
      "etcdserver: value is provided",
    ],
    [
      "lease provided",
      ErrLeaseProvided,
      GrpcCode.INVALID_ARGUMENT,
      "etcdserver: lease is provided",
    ],
    [
      "too many ops",
      ErrTooManyOps,
      GrpcCode.INVALID_ARGUMENT,
      "etcdserver: too many operations in txn request",
    ],
    [
      "duplicate key",
      ErrDuplicateKey,
      GrpcCode.INVALID_ARGUMENT,
      "etcdserver: duplicate key given in txn request",
    ],
    [
      "compacted",
      ErrCompacted,
      GrpcCode.OUT_OF_RANGE,
      "etcdserver: mvcc: required revision has been compacted",
    ],
    [
      "future revision",
      ErrFutureRev,
      GrpcCode.OUT_OF_RANGE,
      "etcdserver: mvcc: required revision is a future revision",
    ],
    [
      "lease not found",
      ErrLeaseNotFound,
      GrpcCode.NOT_FOUND,
      "etcdserver: requested lease not found",
    ],
    [
      "lease exists",
      ErrLeaseExist,
      GrpcCode.FAILED_PRECONDITION,
      "etcdserver: lease already exists",
    ],
    [
      "lease TTL too large",
      ErrLeaseTTLTooLarge,
      GrpcCode.OUT_OF_RANGE,
      "etcdserver: too large lease TTL",
    ],
  ])("%s", (_, failure, code, message) => {
    expect(failure.code).toBe(code)
    expect(failure.message).toBe(message)
  })
})

describe("stateless request checks", () => {
  it.each<[string, EtcdFailure | undefined, EtcdFailure | undefined]>([
    ["range with a key", checkRangeRequest({ key: k("a") }), undefined],
    ["range without a key", checkRangeRequest({ key: new Uint8Array(0) }), ErrEmptyKey],
    ["put without a key", checkPutRequest({ key: new Uint8Array(0), value: k("v") }), ErrEmptyKey],
    [
      "put ignoring a value it provides",
      checkPutRequest({ key: k("a"), value: k("v"), ignore_value: true }),
      ErrValueProvided,
    ],
    [
      "put ignoring a lease it provides",
      checkPutRequest({ key: k("a"), lease: 7, ignore_lease: true }),
      ErrLeaseProvided,
    ],
    [
      "put ignoring both, providing neither",
      checkPutRequest({ key: k("a"), ignore_value: true, ignore_lease: true }),
      undefined,
    ],
    ["delete without a key", checkDeleteRequest({ key: new Uint8Array(0) }), ErrEmptyKey],
  ])("%s", (_, actual, expected) => {
    expect(actual).toBe(expected)
  })
})

describe("txn checks (etcd's checkTxnRequest and checkIntervals)", () => {
  it.each<[string, TxnRequest, EtcdFailure | undefined]>([
    ["two puts of one key", { success: [put("a"), put("a")] }, ErrDuplicateKey],
    ["puts of two keys", { success: [put("a"), put("b")] }, undefined],
    [
      "the same key in success and failure",
      { success: [put("a")], failure: [put("a")] },
      undefined,
    ],
    ["put and delete of one key", { success: [del("a"), put("a")] }, ErrDuplicateKey],
    ["put inside a deleted range", { success: [put("b"), del("a", "c")] }, ErrDuplicateKey],
    ["put outside a deleted range", { success: [put("c"), del("a", "c")] }, undefined],
    ["two deletes of one key", { success: [del("a"), del("a")] }, undefined],
    [
      "a nested put of a key the parent puts",
      { success: [put("a"), txn({ success: [put("a")] })] },
      ErrDuplicateKey,
    ],
    [
      "a nested put of a key the parent deletes",
      { success: [del("a"), txn({ failure: [put("a")] })] },
      ErrDuplicateKey,
    ],
    [
      "a parent put of a key a nested txn deletes",
      { success: [txn({ success: [del("a")] }), put("a")] },
      ErrDuplicateKey,
    ],
    [
      "then and else of a nested txn put the same key",
      { success: [txn({ success: [put("a")], failure: [put("a")] })] },
      undefined,
    ],
    [
      "two sibling nested txns put the same key",
      { success: [txn({ success: [put("a")] }), txn({ failure: [put("a")] })] },
      ErrDuplicateKey,
    ],
    [
      "a later sibling's else put of an earlier sibling's then put",
      {
        success: [txn({ success: [put("a")] }), txn({ success: [put("b")], failure: [put("a")] })],
      },
      ErrDuplicateKey,
    ],
    [
      "a sibling's put after another sibling's delete",
      { success: [txn({ success: [del("a")] }), txn({ success: [put("a")] })] },
      ErrDuplicateKey,
    ],
    ["an empty compare key", { compare: [{ key: new Uint8Array(0) }] }, ErrEmptyKey],
    ["an empty op", { success: [{} as RequestOp] }, ErrKeyNotFound],
    ["a nested empty key", { failure: [txn({ success: [put("")] })] }, ErrEmptyKey],
    ["128 ops", { success: Array.from({ length: 128 }, (_, i) => put(`k${i}`)) }, undefined],
    ["129 ops", { success: Array.from({ length: 129 }, (_, i) => put(`k${i}`)) }, ErrTooManyOps],
    [
      "a nested txn sharing the op budget",
      {
        success: [
          ...Array.from({ length: 100 }, (_, i) => put(`k${i}`)),
          txn({ success: Array.from({ length: 29 }, (_, i) => put(`n${i}`)) }),
        ],
      },
      ErrTooManyOps,
    ],
  ])("%s", (_, t, expected) => {
    expect(checkTxn(t)).toBe(expected)
  })
})

describe("state-dependent errors", () => {
  const setup = (): MvccStore => {
    const s = new MvccStore()
    s.put({ key: k("a"), value: k("1") }) // rev 2
    s.put({ key: k("a"), value: k("2") }) // rev 3
    s.put({ key: k("b"), value: k("3") }) // rev 4
    return s
  }

  it("reads below the compact revision fail, reads at it succeed", () => {
    const s = setup()
    expect(s.compact({ revision: 3 })).toEqual({ header: { revision: 4 } })
    expect(s.range({ key: k("a"), revision: 2 })).toBe(ErrCompacted)
    expect(s.range({ key: k("a"), revision: 3 })).toMatchObject({
      count: 1,
      kvs: [{ value: k("2") }],
    })
  })

  it("hashes the history: equal for equal histories, different otherwise, refused outside it", () => {
    const a = setup()
    const b = setup()
    expect(a.hashKV()).toEqual(b.hashKV())
    expect(a.hashKV(3)).not.toEqual(a.hashKV(4))
    b.put({ key: k("b"), value: k("other") })
    a.put({ key: k("b"), value: k("3") })
    expect(a.hashKV()).not.toEqual(b.hashKV())
    expect(a.hashKV(4)).toEqual(b.hashKV(4))
    expect(a.hashKV(9)).toBe(ErrFutureRev)
    a.compact({ revision: 3 })
    expect(a.hashKV(2)).toBe(ErrCompacted)
    expect(a.hashKV(3)).toMatchObject({ compactRevision: 3 })
  })

  it("reads beyond the current revision fail", () => {
    const s = setup()
    expect(s.range({ key: k("a"), revision: 5 })).toBe(ErrFutureRev)
    expect(s.range({ key: k("a"), revision: 4 })).toMatchObject({ count: 1 })
  })

  it("compaction must move forward and stay at or below the current revision", () => {
    const s = setup()
    expect(s.compact({ revision: 5 })).toBe(ErrFutureRev)
    expect(s.compact({ revision: 3 })).toEqual({ header: { revision: 4 } })
    expect(s.compact({ revision: 3 })).toBe(ErrCompacted)
    expect(s.compact({ revision: 2 })).toBe(ErrCompacted)
  })

  it("ignore_value and ignore_lease need an existing key", () => {
    const s = setup()
    expect(s.put({ key: k("zz"), ignore_value: true })).toBe(ErrKeyNotFound)
    expect(s.put({ key: k("zz"), value: k("v"), ignore_lease: true })).toBe(ErrKeyNotFound)
    expect(s.put({ key: k("a"), ignore_value: true })).toEqual({ header: { revision: 5 } })
    expect(s.range({ key: k("a") })).toMatchObject({ kvs: [{ value: k("2"), version: 3 }] })
  })

  it("puts with an unknown lease fail, inside txns too, before anything is written", () => {
    const s = setup()
    expect(s.put({ key: k("a"), value: k("v"), lease: 42 })).toBe(ErrLeaseNotFound)
    expect(s.txn({ success: [put("c"), { request_put: { key: k("d"), lease: 42 } }] })).toBe(
      ErrLeaseNotFound,
    )
    expect(s.rev).toBe(4)
    expect(s.range({ key: k("c") })).toMatchObject({ count: 0 })
  })

  it("a txn range at a future or compacted revision fails the whole txn", () => {
    const s = setup()
    s.compact({ revision: 3 })
    expect(s.txn({ success: [put("c"), { request_range: { key: k("a"), revision: 9 } }] })).toBe(
      ErrFutureRev,
    )
    expect(s.txn({ success: [put("c"), { request_range: { key: k("a"), revision: 2 } }] })).toBe(
      ErrCompacted,
    )
    expect(s.rev).toBe(4)
  })

  it("a txn range at a negative revision: current before any compaction down to -1, compacted after one (as etcd 3.4.23 answers)", () => {
    const range = (revision: number): RequestOp => ({ request_range: { key: k("a"), revision } })
    const fresh = setup()
    // etcd's first revision is -1 before any compaction: -1 reads the current revision.
    const read = fresh.txn({ success: [range(-1)] })
    expect("responses" in read && read.responses[0]).toMatchObject({
      response_range: { count: 1 },
    })
    expect(fresh.txn({ success: [range(-2)] })).toBe(ErrCompacted)
    fresh.compact({ revision: 2 })
    expect(fresh.txn({ success: [range(-1)] })).toBe(ErrCompacted)
    // A plain range reads any negative revision as the current one.
    expect(fresh.range({ key: k("a"), revision: -5 })).toMatchObject({ count: 1 })
  })

  it("a put with a missing key and an unknown lease: the lease alone, the key inside a txn (etcd's orders)", () => {
    const s = setup()
    const p = { key: k("zz"), lease: 77, ignore_value: true }
    expect(s.put(p)).toBe(ErrLeaseNotFound)
    expect(s.txn({ success: [{ request_put: p }] })).toBe(ErrKeyNotFound)
  })

  it("a txn's puts are checked before its ranges, along the whole chosen path (etcd's order)", () => {
    const s = setup()
    const future = { request_range: { key: k("a"), revision: 99 } }
    const missing = { request_put: { key: k("zz"), ignore_value: true } }
    expect(s.txn({ success: [future, missing] })).toBe(ErrKeyNotFound)
    const badLease = txn({ success: [{ request_put: { key: k("zz"), lease: 77 } }] })
    expect(s.txn({ success: [future, badLease] })).toBe(ErrLeaseNotFound)
    expect(s.rev).toBe(4)
  })

  it("leases: unknown ID, existing ID, TTL too large, ID 0", () => {
    const s = setup()
    expect(s.leaseRevoke({ ID: 5 })).toBe(ErrLeaseNotFound)
    expect(s.leaseGrant({ ID: 5, TTL: 10 })).toMatchObject({ ID: 5, TTL: 10, error: "" })
    expect(s.leaseGrant({ ID: 5, TTL: 10 })).toBe(ErrLeaseExist)
    expect(s.leaseGrant({ ID: 6, TTL: 9_000_000_001 })).toBe(ErrLeaseTTLTooLarge)
    expect(s.leaseGrant({ ID: 0, TTL: 10 })).toBe(ErrLeaseNotFound)
    // Unknown leases in keep-alive and time-to-live are answers, not errors (as etcd).
    expect(s.leaseKeepAlive({ ID: 9 })).toMatchObject({ ID: 9, TTL: 0 })
    expect(s.leaseTimeToLive({ ID: 9 })).toMatchObject({ ID: 9, TTL: -1 })
  })

  it("a txn that breaks the duplicate-key rule is refused by the state machine too", () => {
    const s = setup()
    expect(s.txn({ success: [put("a"), put("a")] })).toBe(ErrDuplicateKey)
    expect(s.rev).toBe(4)
  })
})

describe("a txn that puts and then deletes a key (allowed by etcd's checks)", () => {
  it("keeps the same history after compaction and after a snapshot restore", async () => {
    const { decodeSnapshot, encodeSnapshot } = await import("../../src/core/index.ts")
    const s = new MvccStore()
    // Sibling nested txns: the first puts d, the second (failing compare on a missing key) deletes it.
    const r = s.txn({
      success: [
        txn({ success: [put("d")] }),
        txn({ compare: [{ key: k("a"), target: "VALUE", value: k("") }], failure: [del("d")] }),
      ],
    })
    expect(r).toMatchObject({ succeeded: true, header: { revision: 2 } })
    expect(s.range({ key: k("d") })).toMatchObject({ count: 0 })
    s.compact({ revision: 2 })
    const restored = decodeSnapshot(encodeSnapshot(s))
    expect(restored.hashKV()).toEqual(s.hashKV())
    expect(encodeSnapshot(restored)).toEqual(encodeSnapshot(s))
  })
})
