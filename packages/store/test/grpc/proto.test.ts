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
  readAlarm,
  readCompaction,
  readDelete,
  readEmpty,
  readHashKV,
  readLeaseGrant,
  readLeaseId,
  readLeaseTimeToLive,
  readMemberAdd,
  readMemberId,
  readMemberUpdate,
  readMoveLeader,
  readPut,
  readRange,
  readTxn,
  readWatchRequest,
} from "../../src/grpc/proto.ts"
import { PROTO_OPTIONS } from "../../src/grpc/server.ts"
import { decodeDelete, decodePut, decodeRange, decodeTxn, WireError } from "../../src/grpc/wire.ts"
import { lenField, varint, varintField } from "../support/raw.ts"

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
    // A lease ID of 2^53 (not a safe integer: IDs must be exact).
    expect(refused([0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], readPut)).toBe(
      "etcdserver: invalid lease: 9007199254740992 is not an integer below 2^53",
    )
    expect(refused([0x28, 7], readRange)).toBe("etcdserver: invalid sort_order: unknown value 7")
    // Values as sent: -1 (sign-extended, not its low 32 bits), min int64 exactly (not a rounded double).
    expect(refused([0x28, ...varint(-1n)], readRange)).toBe(
      "etcdserver: invalid sort_order: unknown value -1",
    )
    expect(refused([0x18, ...varint(-(2n ** 63n))], readPut)).toBe(
      "etcdserver: invalid lease: -9223372036854775808 is not an integer below 2^53",
    )
    expect(refused([0x0a, 5, 0x6b], readPut)).toBe("etcdserver: invalid key: truncated bytes")
    expect(refused([0x08, 0x80], readLeaseId)).toBe("etcdserver: invalid ID: truncated varint")
    expect(refused([0x0a, 1, 0x6b, 0x19], readDelete)).toBe(
      "etcdserver: invalid prev_kv: wire type 1, expected 0",
    )
    expect(refused([0x12, 2, 0x0a, 5], readTxn)).toBe(
      "etcdserver: invalid success[0].request_range: truncated message",
    )
  })

  it("clamps revisions, limits and TTLs beyond 2^53 as etcd's int64 compares them", () => {
    const bytes = [
      ...lenField(1, [0x61]),
      ...varintField(3, 2n ** 63n - 1n), // limit: max int64
      ...varintField(4, 2n ** 60n), // revision
      ...varintField(10, -(2n ** 63n)), // min_mod_revision: min int64
    ]
    const range = readRange(reader(Uint8Array.from(bytes)))
    expect([range.limit, range.revision, range.min_mod_revision]).toEqual([
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ])
    expect(readCompaction(reader(Uint8Array.from(varintField(1, -(2n ** 60n))))).revision).toBe(
      -Number.MAX_SAFE_INTEGER,
    )
    const grant = [...varintField(1, 2n ** 62n), ...varintField(2, 7n)]
    expect(readLeaseGrant(reader(Uint8Array.from(grant))).TTL).toBe(Number.MAX_SAFE_INTEGER)
  })

  it("skips unknown groups, and refuses unterminated or unmatched ones and impossible tags", () => {
    // key "a", then group 50 holding a varint field and a nested group 51.
    const group = [0x0a, 1, 0x61, 0x93, 0x03, 0x08, 1, 0x9b, 0x03, 0x9c, 0x03, 0x94, 0x03]
    expect(readRange(reader(Uint8Array.from([...group, 0x18, 5]))).limit).toBe(5)
    const refused = (b: number[]): string => {
      try {
        readRange(reader(Uint8Array.from(b)))
      } catch (e) {
        if (e instanceof WireError) return e.message
        throw e
      }
      throw new Error("accepted")
    }
    expect(refused([0x93, 0x03, 0x08, 1])).toBe(
      "etcdserver: invalid (field 50): group without its end",
    )
    expect(refused([0x94, 0x03])).toBe(
      "etcdserver: invalid (field 50): end of a group that was not started",
    )
    expect(refused([0x93, 0x03, 0x9c, 0x03])).toBe(
      "etcdserver: invalid (field 50): end of a group that was not started",
    )
    expect(refused([0x96, 0x03])).toBe("etcdserver: invalid (field 50): wire type 6 does not exist")
    // A tag of 2^32 used to wrap to 0 ("field number 0").
    expect(refused([0x80, 0x80, 0x80, 0x80, 0x10, 0x01])).toBe(
      "etcdserver: invalid (tag): field number above 2^29 - 1",
    )
    expect(refused([0x0a, ...varint(2n ** 35n)])).toBe("etcdserver: invalid key: truncated bytes")
  })

  it("reads watch requests: packed and unpacked filters, the last of the oneof, field errors", () => {
    const body = [
      ...lenField(1, [0x61]), // key "a"
      ...varintField(3, 3n), // start_revision
      ...lenField(5, [1, 0]), // filters, packed: NODELETE, NOPUT
      ...varintField(5, 1n), // filters, unpacked: NODELETE
      ...varintField(7, 9n), // watch_id
    ]
    expect(readWatchRequest(reader(Uint8Array.from(lenField(1, body))))).toEqual({
      create_request: {
        key: new Uint8Array([0x61]),
        start_revision: 3,
        filters: ["NODELETE", "NOPUT", "NODELETE"],
        watch_id: 9,
      },
    })
    // A cancel after the create: the oneof's last member wins.
    expect(readWatchRequest(reader(Uint8Array.from([0x0a, 0, 0x12, 2, 0x08, 4])))).toEqual({
      cancel_request: { watch_id: 4 },
    })
    expect(readWatchRequest(reader(Uint8Array.from([0x1a, 0])))).toEqual({ progress_request: {} })
    expect(readWatchRequest(reader(Uint8Array.from([0x48, 1])))).toBeUndefined()
    expect(() => readWatchRequest(reader(Uint8Array.from([0x0a, 2, 0x28, 5])))).toThrow(
      "etcdserver: invalid create_request.filters[0]: unknown value 5",
    )
    expect(() => readWatchRequest(reader(Uint8Array.from([0x0a, 2, 0x08, 5])))).toThrow(
      "etcdserver: invalid create_request.key: wire type 0, expected 2",
    )
  })

  it("decode the other requests as protobufjs does", () => {
    const payload = fc.record({
      revision: int64,
      physical: fc.boolean(),
      TTL: int64,
      ID: int64,
      keys: fc.boolean(),
      member: uint64,
      peerURLs: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
      isLearner: fc.boolean(),
      action: fc.constantFrom("GET", "ACTIVATE", "DEACTIVATE" as const),
      alarm: fc.constantFrom("NONE", "NOSPACE", "CORRUPT" as const),
    })
    fc.assert(
      fc.property(payload, (q) => {
        const bytes = (service: string, method: string, v: unknown) =>
          codec(service, method).requestSerialize(wire(v))
        expect(
          readCompaction(
            reader(bytes("KV", "Compact", { revision: q.revision, physical: q.physical })),
          ),
        ).toEqual({ revision: q.revision, physical: q.physical })
        expect(
          readLeaseGrant(reader(bytes("Lease", "LeaseGrant", { TTL: q.TTL, ID: q.ID }))),
        ).toEqual({
          TTL: q.TTL,
          ID: q.ID,
        })
        expect(readLeaseId(reader(bytes("Lease", "LeaseRevoke", { ID: q.ID })))).toEqual({
          ID: q.ID,
        })
        expect(
          readLeaseTimeToLive(
            reader(bytes("Lease", "LeaseTimeToLive", { ID: q.ID, keys: q.keys })),
          ),
        ).toEqual({ ID: q.ID, keys: q.keys })
        expect(readHashKV(reader(bytes("Maintenance", "HashKV", { revision: q.revision })))).toBe(
          q.revision,
        )
        expect(
          readMemberAdd(
            reader(bytes("Cluster", "MemberAdd", { peerURLs: q.peerURLs, isLearner: q.isLearner })),
          ),
        ).toEqual({ peerURLs: q.peerURLs, isLearner: q.isLearner })
        expect(readMemberId(reader(bytes("Cluster", "MemberRemove", { ID: q.member })))).toEqual({
          ID: q.member,
        })
        expect(
          readMemberUpdate(
            reader(bytes("Cluster", "MemberUpdate", { ID: q.member, peerURLs: q.peerURLs })),
          ),
        ).toEqual({ ID: q.member, peerURLs: q.peerURLs })
        expect(readMemberId(reader(bytes("Cluster", "MemberPromote", { ID: q.member })))).toEqual({
          ID: q.member,
        })
        expect(
          readMoveLeader(reader(bytes("Maintenance", "MoveLeader", { targetID: q.member }))),
        ).toEqual({ targetID: q.member })
        expect(
          readAlarm(
            reader(
              bytes("Maintenance", "Alarm", {
                action: q.action,
                memberID: q.member,
                alarm: q.alarm,
              }),
            ),
          ),
        ).toEqual({ action: q.action, memberID: q.member, alarm: q.alarm })
        // Requests without fields of ours: any well-formed message, unknown fields and all.
        expect(
          readEmpty(reader(bytes("Lease", "LeaseTimeToLive", { ID: q.ID, keys: q.keys }))),
        ).toBe(undefined)
      }),
      { numRuns: 200 },
    )
  })
})
