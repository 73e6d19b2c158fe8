// The etcd v3 gRPC server against requests no generated client sends: each
// method reads its request field by field and answers etcd's status, or
// INVALID_ARGUMENT naming the field; streams end on a malformed request;
// nothing is proposed for a refused request. Inputs found by attacking a
// running member and compared with etcd 3.4.
import * as protoLoader from "@grpc/proto-loader"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { PROTO_OPTIONS } from "../../src/grpc/server.ts"
import {
  framed,
  lenField,
  message,
  messagesOf,
  openStream,
  call as rawCall,
  varint,
  varintField,
} from "../support/raw.ts"
import { useServerSession } from "../support/server.ts"

const shared = useServerSession()
const session = () => shared.session()
const server = () => shared.server()

interface Codec {
  readonly requestSerialize: (v: unknown) => Buffer
  readonly responseDeserialize: (b: Buffer) => Record<string, unknown>
}
const def = protoLoader.loadSync("etcdserverpb/rpc.proto", PROTO_OPTIONS) as unknown as Record<
  string,
  Record<string, Codec>
>
const SERVICES = {
  KV: ["Range", "Put", "DeleteRange", "Txn", "Compact"],
  Lease: ["LeaseGrant", "LeaseRevoke", "LeaseTimeToLive", "LeaseLeases"],
  Cluster: ["MemberList", "MemberAdd", "MemberRemove", "MemberUpdate", "MemberPromote"],
  Maintenance: ["Status", "Alarm", "HashKV", "Hash", "Defragment", "MoveLeader"],
} as const
const codec = (service: string, method: string): Codec => def[`etcdserverpb.${service}`]![method]!
const path = (service: string, method: string) => `/etcdserverpb.${service}/${method}`

const unary = (service: string, method: string, m: Uint8Array) =>
  rawCall(session(), path(service, method), [framed(m)])

/** The response of a successful unary call, decoded by protobufjs. */
const ok = async (service: string, method: string, m: Uint8Array) => {
  const a = await unary(service, method, m)
  expect([a.status, a.message]).toEqual(["0", undefined])
  return codec(service, method).responseDeserialize(messagesOf(a.body)[0]!)
}

const refused = async (service: string, method: string, m: Uint8Array) => {
  const a = await unary(service, method, m)
  return [a.status, a.message]
}

const revision = async (): Promise<number> =>
  Number(
    ((await ok("KV", "Range", message(lenField(1, "a")))).header as { revision: string }).revision,
  )

describe("etcd gRPC server: bad input", () => {
  it("reads every method's request field by field (protobufjs used to accept wrong wire types and throw RangeErrors)", async () => {
    const before = await revision()
    // CompactionRequest.revision sent as bytes: once misread by protobufjs as some revision.
    expect(await refused("KV", "Compact", message(lenField(1, "xx")))).toEqual([
      "3",
      "etcdserver: invalid revision: wire type 2, expected 0",
    ])
    // Truncated messages were "invalid request: RangeError: index out of range: 1 + 1 > 1".
    expect(await refused("Lease", "LeaseGrant", Uint8Array.of(0x08))).toEqual([
      "3",
      "etcdserver: invalid TTL: truncated varint",
    ])
    expect(await refused("Maintenance", "HashKV", Uint8Array.of(0x08))).toEqual([
      "3",
      "etcdserver: invalid revision: truncated varint",
    ])
    expect(await refused("Cluster", "MemberList", Uint8Array.of(0x0a, 0x55))).toEqual([
      "3",
      "etcdserver: invalid (field 1): truncated field",
    ])
    expect(await refused("Cluster", "MemberAdd", message(lenField(1, [0xff, 0xfe])))).toEqual([
      "3",
      "etcdserver: invalid peerURLs[0]: not UTF-8",
    ])
    expect(await refused("Cluster", "MemberRemove", message(lenField(1, "x")))).toEqual([
      "3",
      "etcdserver: invalid ID: wire type 2, expected 0",
    ])
    expect(
      await refused("Cluster", "MemberUpdate", message(varintField(1, 7), lenField(2, [0xc3]))),
    ).toEqual(["3", "etcdserver: invalid peerURLs[0]: not UTF-8"])
    expect(await refused("Cluster", "MemberUpdate", message(lenField(1, "x")))).toEqual([
      "3",
      "etcdserver: invalid ID: wire type 2, expected 0",
    ])
    expect(await refused("Cluster", "MemberPromote", Uint8Array.of(0x08))).toEqual([
      "3",
      "etcdserver: invalid ID: truncated varint",
    ])
    expect(await refused("Maintenance", "MoveLeader", message(lenField(1, "x")))).toEqual([
      "3",
      "etcdserver: invalid targetID: wire type 2, expected 0",
    ])
    // Well-formed: etcd's refusals (this member is alone; no member 7 here).
    expect(await refused("Maintenance", "MoveLeader", message(varintField(1, 7)))).toEqual([
      "9",
      "etcdserver: bad leader transferee",
    ])
    expect(await refused("Cluster", "MemberPromote", message(varintField(1, 7)))).toEqual([
      "5",
      "etcdserver: member not found",
    ])
    expect(
      await refused(
        "Cluster",
        "MemberUpdate",
        message(varintField(1, 7), lenField(2, "http://h:1")),
      ),
    ).toEqual(["5", "etcdserver: member not found"])
    // Alarms: an unknown action crashes etcd 3.4.23 (nil response); ours is refused.
    expect(await refused("Maintenance", "Alarm", message(varintField(1, 9)))).toEqual([
      "3",
      "etcdserver: invalid action: unknown value 9",
    ])
    // Raised by hand as etcd allows (it was refused: "raising alarms is not
    // supported"), listed, and cleared again (a raised NOSPACE refuses writes).
    const nospace = [{ memberID: "7", alarm: "NOSPACE" }]
    const alarm = (action: number, type?: number) =>
      ok(
        "Maintenance",
        "Alarm",
        message(
          varintField(1, action),
          varintField(2, 7),
          ...(type === undefined ? [] : [varintField(3, type)]),
        ),
      )
    expect((await alarm(1, 1)).alarms).toEqual(nospace)
    expect((await alarm(1, 1)).alarms).toEqual([])
    expect((await alarm(0)).alarms).toEqual(nospace)
    expect((await alarm(2, 1)).alarms).toEqual(nospace)
    expect((await alarm(0)).alarms).toEqual([])
    expect(await revision()).toBe(before)
  })

  it("takes any int64 where etcd does: limits and revisions beyond 2^53 are clamped, not refused", async () => {
    await ok("KV", "Put", message(lenField(1, "a"), lenField(2, "1")))
    const maxInt64 = 2n ** 63n - 1n
    const all = await ok(
      "KV",
      "Range",
      message(lenField(1, "a"), lenField(2, [0]), varintField(3, maxInt64)),
    )
    expect(all.count).toBe("1")
    expect(
      await refused("KV", "Range", message(lenField(1, "a"), varintField(4, 2n ** 60n))),
    ).toEqual(["11", "etcdserver: mvcc: required revision is a future revision"])
    expect(await refused("KV", "Compact", message(varintField(1, 2n ** 60n)))).toEqual([
      "11",
      "etcdserver: mvcc: required revision is a future revision",
    ])
    expect(await refused("Lease", "LeaseGrant", message(varintField(1, 2n ** 62n)))).toEqual([
      "11",
      "etcdserver: too large lease TTL",
    ])
    // IDs must be exact: a lease ID beyond 2^53 is still refused, naming it.
    expect(
      await refused("KV", "Put", message(lenField(1, "a"), varintField(3, 2n ** 62n))),
    ).toEqual(["3", "etcdserver: invalid lease: 4611686018427387904 is not an integer below 2^53"])
  })

  it("refuses writes larger than --max-request-bytes, txns included (only puts were checked)", async () => {
    const before = await revision()
    const big = lenField(2, new Uint8Array(1.6 * 1024 * 1024))
    const txn = message(lenField(2, lenField(2, [...lenField(1, "big"), ...big])))
    expect(await refused("KV", "Txn", txn)).toEqual(["3", "etcdserver: request is too large"])
    // Ten puts of 200 KiB: each small, together over the limit.
    const value = lenField(2, new Uint8Array(200 * 1024))
    const puts = Array.from({ length: 10 }, (_, i) =>
      lenField(2, lenField(2, [...lenField(1, `b${i}`), ...value])),
    )
    const many = message(...puts)
    expect(await refused("KV", "Txn", many)).toEqual(["3", "etcdserver: request is too large"])
    expect(await revision()).toBe(before)
  })

  it("bounds txn nesting with etcd's answer: 'too many operations', not a 1.5 KB field path", async () => {
    const nest = (depth: number): Uint8Array => {
      let m = Buffer.from(lenField(2, lenField(1, lenField(1, "a"))))
      // success[0].request_txn = m, built outwards (Buffers: a deep message is long).
      for (let i = 0; i < depth; i++) {
        const op = Buffer.concat([Buffer.from([0x22, ...varint(m.length)]), m])
        m = Buffer.concat([Buffer.from([0x12, ...varint(op.length)]), op])
      }
      return m
    }
    // etcd serves nesting up to its op budget (128 ops, one per level).
    // (protobufjs cannot decode a response this deep: the status is the answer.)
    expect(await refused("KV", "Txn", nest(100))).toEqual(["0", undefined])
    for (const depth of [128, 129, 5000]) {
      expect(await refused("KV", "Txn", nest(depth))).toEqual([
        "3",
        "etcdserver: too many operations in txn request",
      ])
    }
  })

  it("ends a watch stream on a malformed request with INVALID_ARGUMENT naming the field", async () => {
    // These used to end the stream with grpc-status "undefined" and a RangeError,
    // or (unknown filter, start revision beyond 2^53) to be dropped: no "created" ever came.
    const cases: Array<[Uint8Array, string]> = [
      [Uint8Array.of(0xff, 0xff), "etcdserver: invalid (tag): truncated varint"],
      [
        message(lenField(1, varintField(1, 5))),
        "etcdserver: invalid create_request.key: wire type 0, expected 2",
      ],
      [
        message(lenField(1, [...lenField(1, "a"), ...varintField(5, 5)])),
        "etcdserver: invalid create_request.filters[0]: unknown value 5",
      ],
    ]
    for (const [m, reason] of cases) {
      const s = openStream(session(), path("Watch", "Watch"))
      s.write(m)
      const end = await s.ended
      expect([end.status, end.message]).toEqual(["3", reason])
    }
    const s = openStream(session(), path("Watch", "Watch"))
    s.write(message(lenField(1, [...lenField(1, "a"), ...varintField(3, 2n ** 62n)])))
    const created = codec("Watch", "Watch").responseDeserialize(await s.next())
    expect([created.created, created.canceled]).toEqual([true, false])
    s.cancel()
  })

  it("ends a keep-alive stream on a malformed request (it was dropped without an answer)", async () => {
    const s = openStream(session(), path("Lease", "LeaseKeepAlive"))
    s.write(message(lenField(1, "x")))
    const end = await s.ended
    expect([end.status, end.message]).toEqual([
      "3",
      "etcdserver: invalid ID: wire type 2, expected 0",
    ])
  })
})

// Field numbers of each method's request, for mutations that keep the tags plausible.
const methods = Object.entries(SERVICES).flatMap(([service, ms]) =>
  ms.map((m) => ({ service, method: m })),
)

/** Every reason a field may be refused for: each error says what is wrong in known words. */
const REASONS = [
  /^truncated (varint|bytes|message|field)$/,
  /^varint too long$/,
  /^wire type \d, expected \d$/,
  /^wire type \d does not exist$/,
  /^field number (0|above 2\^29 - 1)$/,
  /^unknown value -?\d+$/,
  /^-?\d+ is not an integer below 2\^53$/,
  /^not UTF-8$/,
  /^group without its end$/,
  /^end of a group that was not started$/,
  /^groups nested deeper than 64$/,
  /^lease ID -?\d+ is negative$/,
]

/** etcd's own refusals a request may meet (core/errors.ts), by message. */
const ETCD_MESSAGES = new Set([
  "etcdserver: key is not provided",
  "etcdserver: key not found",
  "etcdserver: value is provided",
  "etcdserver: lease is provided",
  "etcdserver: too many operations in txn request",
  "etcdserver: duplicate key given in txn request",
  "etcdserver: mvcc: required revision has been compacted",
  "etcdserver: mvcc: required revision is a future revision",
  "etcdserver: requested lease not found",
  "etcdserver: lease already exists",
  "etcdserver: too large lease TTL",
  "etcdserver: request is too large",
  "etcdserver: member not found",
  "etcdserver: member ID already exist",
  "etcdserver: Peer URLs already exists",
  "etcdserver: given member URLs are invalid",
  "etcdserver: mvcc: database space exceeded",
  "etcdserver: can only promote a learner member",
  "etcdserver: can only promote a learner member which is in sync with leader",
  "etcdserver: bad leader transferee",
])

const explained = (message: string | undefined): boolean => {
  if (message === undefined) return false
  if (ETCD_MESSAGES.has(message)) return true
  const m = /^etcdserver: invalid ([^:]+): (.*)$/.exec(message)
  return m !== null && m[1] !== "request" && REASONS.some((r) => r.test(m[2]!))
}

/** A well-formed request of the method (protobufjs encoding of random fields), to mutate. */
const seed = fc.record({
  key: fc.constantFrom("a", "b", "", "\u0000"),
  n: fc.oneof(fc.integer({ min: -3, max: 40 }), fc.constant(-(2 ** 40))),
  flag: fc.boolean(),
})

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant("garbage" as const), bytes: fc.uint8Array({ maxLength: 24 }) }),
)

const mutate = (
  m: Uint8Array,
  x: typeof mutation extends fc.Arbitrary<infer T> ? T : never,
): Uint8Array => {
  switch (x.kind) {
    case "truncate":
      return m.subarray(0, m.length === 0 ? 0 : x.at % m.length)
    case "flip": {
      if (m.length === 0) return Uint8Array.of(x.byte)
      const out = m.slice()
      out[x.at % m.length] = x.byte
      return out
    }
    case "insert": {
      const at = m.length === 0 ? 0 : x.at % (m.length + 1)
      return Uint8Array.from([...m.subarray(0, at), ...x.bytes, ...m.subarray(at)])
    }
    case "garbage":
      return x.bytes
  }
}

/** A request object for protobufjs with the seed's values in the method's fields. */
const requestOf = (method: string, s: { key: string; n: number; flag: boolean }): unknown => {
  const key = Buffer.from(s.key)
  switch (method) {
    case "Range":
      return { key, range_end: Buffer.from([0]), limit: s.n, revision: s.n, keys_only: s.flag }
    case "Put":
      return { key, value: Buffer.from("v"), prev_kv: s.flag, ignore_value: !s.flag }
    case "DeleteRange":
      return { key, range_end: s.flag ? Buffer.from("z") : Buffer.alloc(0), prev_kv: true }
    case "Txn":
      return {
        compare: [{ key, target: "MOD", result: "LESS", mod_revision: s.n }],
        success: [{ request_put: { key, value: key } }],
        failure: [{ request_range: { key, revision: s.n } }],
      }
    case "Compact":
      return { revision: s.n, physical: s.flag }
    case "LeaseGrant":
      return { TTL: s.n, ID: s.n }
    case "MemberAdd":
      return { peerURLs: [`http://127.0.0.1:${40000 + Math.abs(s.n)}`], isLearner: s.flag }
    case "Alarm":
      return { action: s.flag ? "GET" : "DEACTIVATE", memberID: String(Math.abs(s.n)) }
    case "MemberUpdate":
      return { ID: String(Math.abs(s.n)), peerURLs: [`http://127.0.0.1:${40000 + Math.abs(s.n)}`] }
    case "MoveLeader":
      return { targetID: String(Math.abs(s.n)) }
    default:
      return { ID: s.n, revision: s.n, keys: s.flag }
  }
}

describe("etcd gRPC server: mutated requests (fast-check)", () => {
  it("answer every mutated request of every method with a status that says what is wrong, and change nothing when refused", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), seed, mutation, async (target, s, x) => {
        const c = codec(target.service, target.method)
        const m = mutate(c.requestSerialize(requestOf(target.method, s)), x)
        const before = await revision()
        const a = await unary(target.service, target.method, m)
        // Never INTERNAL, UNKNOWN or a status that is not one (the old watch path sent "undefined").
        // 8: a mutated Alarm request may raise NOSPACE (as on etcd); writes are then refused.
        expect(["0", "3", "5", "8", "9", "11", "12"]).toContain(a.status)
        if (a.status !== "0") {
          expect(explained(a.message), `${target.method}: ${a.message}`).toBe(true)
          expect(await revision()).toBe(before)
        }
        // Cleared again, so that the next runs can write.
        const raised = codec("Maintenance", "Alarm").responseDeserialize(
          messagesOf((await unary("Maintenance", "Alarm", message(varintField(1, 0)))).body)[0]!,
        ).alarms as Array<{ memberID: string; alarm: string }>
        for (const r of raised) {
          const type = r.alarm === "NOSPACE" ? 1 : 2
          await unary(
            "Maintenance",
            "Alarm",
            message(varintField(1, 2), varintField(2, BigInt(r.memberID)), varintField(3, type)),
          )
        }
      }),
      { numRuns: 250 },
    )
    // The member still serves, and a watch stream still opens.
    const w = openStream(session(), path("Watch", "Watch"))
    w.write(message(lenField(1, lenField(1, "a"))))
    expect(codec("Watch", "Watch").responseDeserialize(await w.next()).created).toBe(true)
    w.cancel()
  })

  it("end every stream given a mutated request cleanly: OK, or INVALID_ARGUMENT saying what is wrong", async () => {
    const watch = (s: { key: string; n: number; flag: boolean }) => ({
      create_request: {
        key: Buffer.from(s.key),
        range_end: s.flag ? Buffer.from([0]) : Buffer.alloc(0),
        start_revision: s.n,
        prev_kv: s.flag,
        filters: s.flag ? ["NODELETE"] : [],
        watch_id: s.n,
      },
    })
    const streams = [
      { service: "Watch", method: "Watch", request: watch },
      { service: "Lease", method: "LeaseKeepAlive", request: (s: { n: number }) => ({ ID: s.n }) },
    ]
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...streams), seed, mutation, async (target, s, x) => {
        const c = codec(target.service, target.method)
        const st = openStream(session(), path(target.service, target.method))
        st.write(mutate(c.requestSerialize(target.request(s)), x))
        st.end()
        const end = await st.ended
        expect(["0", "3"]).toContain(end.status)
        if (end.status === "3") expect(explained(end.message), end.message).toBe(true)
      }),
      { numRuns: 150 },
    )
    // Every stream's watchers go with it (its scope closes just after its end: polled, with a deadline).
    const deadline = performance.now() + 10_000
    let stats = await server().watchStats()
    while (stats.streams > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10))
      stats = await server().watchStats()
    }
    expect(stats).toEqual({ streams: 0, watchers: 0 })
  })
})
