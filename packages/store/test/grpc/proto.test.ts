// The hand-written protobuf codecs against protobufjs (through proto-loader,
// from our .proto files): requests protobufjs encodes decode to what wire.ts
// makes of protobufjs's own decoding; responses we encode decode, with
// protobufjs, to what protobufjs makes of its own encoding.
import * as protoLoader from "@grpc/proto-loader"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type {
  Compare,
  Event,
  KeyValue,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
} from "../../src/core/types.ts"
import {
  frameDeleteResponse,
  frameKeepAliveResponse,
  framePutResponse,
  frameRangeResponse,
  frameTxnResponse,
  frameWatchResponse,
  ProtoReader,
  readDelete,
  readLeaseId,
  readPut,
  readRange,
  readTxn,
} from "../../src/grpc/proto.ts"
import { PROTO_OPTIONS } from "../../src/grpc/server.ts"
import { decodeDelete, decodePut, decodeRange, decodeTxn, WireError } from "../../src/grpc/wire.ts"

interface Codec {
  readonly requestSerialize: (v: unknown) => Buffer
  readonly requestDeserialize: (b: Buffer) => Record<string, unknown>
  readonly responseSerialize: (v: unknown) => Buffer
  readonly responseDeserialize: (b: Buffer) => unknown
}
const def = protoLoader.loadSync("etcdserverpb/rpc.proto", PROTO_OPTIONS) as unknown as Record<
  string,
  Record<string, Codec>
>
const codec = (service: string, method: string): Codec => def[`etcdserverpb.${service}`]![method]!

/** Comparable form: bytes as hex, bigints and int64 strings as strings. */
const norm = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`
  if (typeof v === "bigint") return v.toString()
  if (typeof v === "number") return String(v)
  if (Array.isArray(v)) return v.map(norm)
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = norm(x)
    return out
  }
  return v
}

/** protobufjs's input form: bigints as decimal strings. */
const wire = (v: unknown): unknown => {
  if (typeof v === "bigint") return v.toString()
  if (v instanceof Uint8Array) return v
  if (Array.isArray(v)) return v.map(wire)
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = wire(x)
    return out
  }
  return v
}

const bytes = fc.uint8Array({ maxLength: 12 })
const int64 = fc.oneof(
  fc.constantFrom(0, 1, -1, 127, 128, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1),
  fc.integer(),
)
const uint64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n),
  fc.bigInt(0n, 2n ** 64n - 1n),
)
const positive = fc.oneof(fc.constantFrom(0, 1, 2 ** 53 - 1), fc.nat())

const range = fc.record({
  key: bytes,
  range_end: bytes,
  limit: int64,
  revision: int64,
  sort_order: fc.constantFrom("NONE", "ASCEND", "DESCEND" as const),
  sort_target: fc.constantFrom("KEY", "VERSION", "CREATE", "MOD", "VALUE" as const),
  serializable: fc.boolean(),
  keys_only: fc.boolean(),
  count_only: fc.boolean(),
  min_mod_revision: int64,
  max_mod_revision: int64,
  min_create_revision: int64,
  max_create_revision: int64,
})
const put = fc.record({
  key: bytes,
  value: bytes,
  lease: int64,
  prev_kv: fc.boolean(),
  ignore_value: fc.boolean(),
  ignore_lease: fc.boolean(),
})
const del = fc.record({ key: bytes, range_end: bytes, prev_kv: fc.boolean() })
const compare: fc.Arbitrary<Compare> = fc.record({
  result: fc.constantFrom("EQUAL", "GREATER", "LESS", "NOT_EQUAL" as const),
  target: fc.constantFrom("VERSION", "CREATE", "MOD", "VALUE", "LEASE" as const),
  key: bytes,
  range_end: bytes,
  version: int64,
  create_revision: int64,
  mod_revision: int64,
  value: bytes,
  lease: int64,
})
const { txn } = fc.letrec<{
  txn: { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }
  op: RequestOp
}>((tie) => ({
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 2 }),
    success: fc.array(tie("op"), { maxLength: 2 }),
    failure: fc.array(tie("op"), { maxLength: 2 }),
  }),
  op: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    range.map((r) => ({ request_range: r })),
    put.map((p) => ({ request_put: p })),
    del.map((d) => ({ request_delete_range: d })),
    tie("txn").map((t) => ({ request_txn: t })),
  ),
}))

const header: fc.Arbitrary<ResponseHeader> = fc.record({
  cluster_id: uint64,
  member_id: uint64,
  revision: positive,
  raft_term: positive,
})
const kv: fc.Arbitrary<KeyValue> = fc.record({
  key: bytes,
  create_revision: positive,
  mod_revision: positive,
  version: positive,
  value: bytes,
  lease: positive,
})
const rangeResponse = fc.record({
  header,
  kvs: fc.array(kv, { maxLength: 3 }),
  more: fc.boolean(),
  count: positive,
})
const putResponse = fc
  .record({ header }, { requiredKeys: ["header"] })
  .chain((r) =>
    fc
      .option(kv, { nil: undefined })
      .map((prev_kv) => (prev_kv === undefined ? r : { ...r, prev_kv })),
  )
const deleteResponse = fc.record({
  header,
  deleted: positive,
  prev_kvs: fc.array(kv, { maxLength: 2 }),
})
const { txnResponse } = fc.letrec<{ txnResponse: TxnResponse; op: ResponseOp }>((tie) => ({
  txnResponse: fc.record({
    header,
    succeeded: fc.boolean(),
    responses: fc.array(tie("op"), { maxLength: 3 }),
  }),
  op: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    rangeResponse.map((r) => ({ response_range: r })),
    putResponse.map((r) => ({ response_put: r })),
    deleteResponse.map((r) => ({ response_delete_range: r })),
    tie("txnResponse").map((r) => ({ response_txn: r })),
  ),
}))
const event: fc.Arbitrary<Event> = fc
  .tuple(fc.constantFrom("PUT", "DELETE" as const), kv, fc.option(kv, { nil: undefined }))
  .map(([type, k, prev]) => (prev === undefined ? { type, kv: k } : { type, kv: k, prev_kv: prev }))
const watchResponse = fc.record({
  header,
  watch_id: fc.oneof(fc.constant(-1), positive),
  created: fc.boolean(),
  canceled: fc.boolean(),
  compact_revision: positive,
  cancel_reason: fc.oneof(fc.constant(""), fc.string({ maxLength: 8 })),
  fragment: fc.boolean(),
  events: fc.array(event, { maxLength: 3 }),
})

/** protobufjs decodes our frame as it decodes its own encoding of the same message. */
const sameAsProtobufjs = (c: Codec, ours: Buffer, message: unknown): void => {
  expect(ours.readUInt32BE(1)).toBe(ours.length - 5)
  const theirs = c.responseSerialize(wire(message))
  expect(norm(c.responseDeserialize(ours.subarray(5)))).toEqual(norm(c.responseDeserialize(theirs)))
}

const reader = (b: Uint8Array) => new ProtoReader(b)

describe("hand-written protobuf codecs", () => {
  it("decode requests as protobufjs and wire.ts do", () => {
    const kv = (m: string) => codec("KV", m)
    fc.assert(
      fc.property(range, put, del, txn, (r, p, d, t) => {
        const rb = kv("Range").requestSerialize(r)
        expect(norm(readRange(reader(rb)))).toEqual(
          norm(decodeRange(kv("Range").requestDeserialize(rb))),
        )
        const pb = kv("Put").requestSerialize(p)
        expect(norm(readPut(reader(pb)))).toEqual(norm(decodePut(kv("Put").requestDeserialize(pb))))
        const db = kv("DeleteRange").requestSerialize(d)
        expect(norm(readDelete(reader(db)))).toEqual(
          norm(decodeDelete(kv("DeleteRange").requestDeserialize(db))),
        )
        const tb = kv("Txn").requestSerialize(t)
        expect(norm(readTxn(reader(tb)))).toEqual(norm(decodeTxn(kv("Txn").requestDeserialize(tb))))
      }),
      { numRuns: 300 },
    )
  })

  it("encode responses that protobufjs reads back", () => {
    const kv = (m: string) => codec("KV", m)
    fc.assert(
      fc.property(
        rangeResponse,
        putResponse,
        deleteResponse,
        txnResponse,
        watchResponse,
        (r, p, d, t, w) => {
          sameAsProtobufjs(kv("Range"), frameRangeResponse(r), r)
          sameAsProtobufjs(kv("Put"), framePutResponse(p), p)
          sameAsProtobufjs(kv("DeleteRange"), frameDeleteResponse(d), d)
          sameAsProtobufjs(kv("Txn"), frameTxnResponse(t), t)
          sameAsProtobufjs(codec("Watch", "Watch"), frameWatchResponse(w), w)
        },
      ),
      { numRuns: 300 },
    )
    const keepAlive = { header: { revision: 3, member_id: 9n }, ID: 2 ** 40, TTL: 60 }
    sameAsProtobufjs(codec("Lease", "LeaseKeepAlive"), frameKeepAliveResponse(keepAlive), keepAlive)
  })

  it("skips unknown fields and refuses bad ones, naming them", () => {
    // PutRequest: key "k" (field 1), then an unknown varint field 9 and an unknown bytes field 10.
    const withUnknown = new Uint8Array([0x0a, 1, 0x6b, 0x48, 0x96, 0x01, 0x52, 2, 0xff, 0xff])
    expect(readPut(reader(withUnknown)).key).toEqual(new Uint8Array([0x6b]))
    const refused = (b: number[], read: (r: ProtoReader) => unknown): string => {
      try {
        read(reader(new Uint8Array(b)))
      } catch (e) {
        if (e instanceof WireError) return e.message
        throw e
      }
      throw new Error("accepted")
    }
    // limit = 2^53 (not a safe integer).
    expect(refused([0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], readRange)).toBe(
      "etcdserver: invalid limit: 9007199254740992 is not an integer below 2^53",
    )
    expect(refused([0x28, 7], readRange)).toBe("etcdserver: invalid sort_order: unknown value 7")
    expect(refused([0x0a, 5, 0x6b], readPut)).toBe("etcdserver: invalid key: truncated bytes")
    expect(refused([0x08, 0x80], readLeaseId)).toBe("etcdserver: invalid ID: truncated varint")
    expect(refused([0x0a, 1, 0x6b, 0x19], readDelete)).toBe(
      "etcdserver: invalid prev_kv: wire type 1, expected 0",
    )
    expect(refused([0x12, 2, 0x0a, 5], readTxn)).toBe(
      "etcdserver: invalid success[0].request_range: truncated message",
    )
  })
})
