// A learner's gRPC server refuses what etcd's interceptors refuse on a learner
// (core/learner.ts): the same server, its member switched between voter and
// learner, answers every method and stream. Real learners through etcdctl are
// in test/e2e/cluster.test.ts.
import * as http2 from "node:http2"
import * as protoLoader from "@grpc/proto-loader"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Cluster } from "../../src/cluster.ts"
import { PROTO_OPTIONS, serve } from "../../src/grpc/server.ts"
import { KV } from "../../src/kv.ts"
import { call, framed, lenField, message, openStream } from "../support/raw.ts"

interface Codec {
  readonly requestSerialize: (v: unknown) => Buffer
}
const def = protoLoader.loadSync("etcdserverpb/rpc.proto", PROTO_OPTIONS) as unknown as Record<
  string,
  Record<string, Codec>
>
const path = (service: string, method: string) => `/etcdserverpb.${service}/${method}`

let learner = false
let scope: Scope.Closeable | undefined
let session: http2.ClientHttp2Session | undefined

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  const base = Cluster.layer.pipe(Layer.provideMerge(KV.layerMemory({ name: "learner-test" })))
  // The real Cluster service, with this member's learner flag under the test's control.
  const switched = Layer.effect(
    Cluster,
    Effect.map(Effect.service(Cluster), (c) => Cluster.of({ ...c, isLearner: () => learner })),
  ).pipe(Layer.provideMerge(base))
  const server = await Effect.runPromise(
    serve().pipe(Effect.provide(switched), Scope.provide(scope)),
  )
  session = http2.connect(`http://127.0.0.1:${server.port}`)
})

afterAll(async () => {
  session?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** A valid request for each unary method (so that only the learner rule can refuse it). */
const REQUESTS: ReadonlyArray<readonly [string, string, unknown]> = [
  ["KV", "Range", { key: Buffer.from("a") }],
  ["KV", "Put", { key: Buffer.from("a"), value: Buffer.from("b") }],
  ["KV", "DeleteRange", { key: Buffer.from("zz") }],
  ["KV", "Txn", {}],
  ["Lease", "LeaseGrant", { TTL: 10 }],
  ["Lease", "LeaseTimeToLive", { ID: 1 }],
  ["Lease", "LeaseLeases", {}],
  ["Cluster", "MemberList", {}],
  ["Maintenance", "Alarm", {}],
  ["Maintenance", "HashKV", {}],
  ["Maintenance", "Defragment", {}],
  ["Maintenance", "Status", {}],
]

const unary = async (service: string, method: string, request: unknown) => {
  const bytes = def[`etcdserverpb.${service}`]![method]!.requestSerialize(request)
  const a = await call(session!, path(service, method), [framed(bytes)])
  return [a.status, a.message]
}

const REFUSED = ["14", "etcdserver: rpc not supported for learner"]

describe("a learner's gRPC server", () => {
  it("serves every call while the member votes", async () => {
    learner = false
    for (const [service, method, request] of REQUESTS) {
      const [status] = await unary(service, method, request)
      // LeaseTimeToLive of an unknown lease answers TTL -1, not an error.
      expect([method, status]).toEqual([method, "0"])
    }
    const watch = openStream(session!, path("Watch", "Watch"))
    // A create request for key "a" (WatchRequest.create_request = 1, its key = 1).
    watch.write(message(lenField(1, lenField(1, "a"))))
    expect((await watch.next()).length).toBeGreaterThan(0)
    watch.cancel()
  })

  it("refuses all but Status and serializable Range on a learner", async () => {
    learner = true
    try {
      for (const [service, method, request] of REQUESTS) {
        const answer = await unary(service, method, request)
        expect([method, ...answer]).toEqual([
          method,
          ...(method === "Status" ? ["0", undefined] : REFUSED),
        ])
      }
      expect(await unary("KV", "Range", { key: Buffer.from("a"), serializable: true })).toEqual([
        "0",
        undefined,
      ])
      // A decoding error comes first, as etcd's interceptor sees a decoded request.
      expect((await unary("KV", "Put", { value: Buffer.from("b") }))[0]).not.toBe("0")
    } finally {
      learner = false
    }
  })

  it("refuses the Watch and LeaseKeepAlive streams on a learner, at once", async () => {
    learner = true
    try {
      for (const [service, method] of [
        ["Watch", "Watch"],
        ["Lease", "LeaseKeepAlive"],
      ] as const) {
        const s = openStream(session!, path(service, method))
        const end = await s.ended
        expect([method, end.status, end.message]).toEqual([method, ...REFUSED])
      }
    } finally {
      learner = false
    }
  })
})
