// The remote KV layer, through gRPC to the server, against the in-process
// layer: random operations give the same responses and errors (headers
// compared by revision), and watches the same events. This round-trips every
// request and response message through our .proto files both ways.
import { Cause, Effect, Exit, Layer, ManagedRuntime, Stream } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { utf8 } from "../../src/core/bytes.ts"
import { GrpcCode } from "../../src/core/errors.ts"
import type { RequestOp, TxnRequest } from "../../src/core/types.ts"
import type { EtcdError } from "../../src/errors.ts"
import { KV, type KVShape } from "../../src/kv.ts"
import { endpointHosts } from "../../src/remote.ts"
import { startServer } from "../support/server.ts"

const key = fc.constantFrom("a", "b", "c", "d").map(utf8)
const value = fc.constantFrom("", "1", "22").map(utf8)
const end = fc
  .option(fc.constantFrom("\0", "c", "z"), { nil: undefined })
  .map((e) => (e === undefined ? {} : { range_end: e === "\0" ? new Uint8Array([0]) : utf8(e) }))
const lease = fc.constantFrom(0, 0, 0, 7, 8)

const put = fc.record({ key, value, lease, prev_kv: fc.boolean() })
const del = fc.tuple(key, end, fc.boolean()).map(([k, e, prev_kv]) => ({ key: k, ...e, prev_kv }))
const range = fc
  .tuple(
    key,
    end,
    fc.constantFrom(0, 1, 2),
    fc.constantFrom(0, 2, 3),
    fc.boolean(),
    fc.constantFrom("NONE", "DESCEND" as const),
  )
  .map(([k, e, limit, revision, keys_only, sort_order]) => ({
    key: k,
    ...e,
    limit,
    revision,
    keys_only,
    sort_order,
  }))
const op: fc.Arbitrary<RequestOp> = fc.oneof(
  range.map((r) => ({ request_range: r })),
  put.map((p) => ({ request_put: p })),
  del.map((d) => ({ request_delete_range: d })),
)
const txn: fc.Arbitrary<TxnRequest> = fc.record({
  compare: fc.array(
    fc.record({
      key,
      target: fc.constantFrom("VERSION", "VALUE", "MOD" as const),
      result: fc.constantFrom("EQUAL", "GREATER", "NOT_EQUAL" as const),
      version: fc.constantFrom(0, 1),
      mod_revision: fc.constantFrom(0, 3),
      value,
    }),
    { maxLength: 2 },
  ),
  success: fc.array(op, { maxLength: 3 }),
  failure: fc.array(fc.oneof(op, fc.constant<RequestOp>({ request_txn: { success: [] } })), {
    maxLength: 2,
  }),
})

type Step = (kv: KVShape) => Effect.Effect<unknown, unknown>
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: put.map(
      (p): Step =>
        (kv) =>
          kv.put(p),
    ),
  },
  {
    weight: 2,
    arbitrary: del.map(
      (d): Step =>
        (kv) =>
          kv.deleteRange(d),
    ),
  },
  {
    weight: 2,
    arbitrary: range.map(
      (r): Step =>
        (kv) =>
          kv.range(r),
    ),
  },
  {
    weight: 2,
    arbitrary: txn.map(
      (t): Step =>
        (kv) =>
          kv.txn(t),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(1, 3, 5, 50).map(
      (rev): Step =>
        (kv) =>
          kv.compact({ revision: rev }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(7, 8).map(
      (ID): Step =>
        (kv) =>
          kv.leaseGrant({ ID, TTL: 30 }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(7, 8, 9).map(
      (ID): Step =>
        (kv) =>
          kv.leaseRevoke({ ID }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(7, 9).map(
      (ID): Step =>
        (kv) =>
          kv.leaseKeepAlive({ ID }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(7, 9).map(
      (ID): Step =>
        (kv) =>
          // Remaining TTL depends on when it is asked: compare the rest.
          Effect.map(kv.leaseTimeToLive({ ID, keys: true }), ({ TTL: _, ...rest }) => rest),
    ),
  },
  { weight: 1, arbitrary: fc.constant<Step>((kv) => kv.leaseLeases) },
  {
    weight: 1,
    arbitrary: put.map(
      (p): Step =>
        (kv) =>
          kv.put({ ...p, key: new Uint8Array(0) }),
    ),
  },
)

/** Headers compared by revision only (the two stores are different members). */
const normalize = (x: unknown): unknown => {
  if (x instanceof Uint8Array) return Array.from(x)
  if (Array.isArray(x)) return x.map(normalize)
  if (x !== null && typeof x === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(x)) {
      if (k === "header") out.header = { revision: (v as { revision: number }).revision }
      else if (k === "_tag" || k === "code" || k === "message" || typeof v !== "function")
        out[k] = normalize(v)
    }
    return out
  }
  return x
}

const outcome = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return { ok: normalize(exit.value) }
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") return { defect: Cause.pretty(exit.cause) }
  const e = error.value as { _tag: string; code: number; message: string }
  return { error: { tag: e._tag, code: e.code, message: e.message } }
}

describe("KV.layerRemote against KV.layerMemory", () => {
  it("gives the same responses, errors and watch events", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        const server = await startServer()
        const memory = ManagedRuntime.make(KV.layerMemory({ name: "memory" }))
        const remote = ManagedRuntime.make(KV.layerRemote({ endpoints: [server.endpoint] }))
        try {
          const watchAll = (rt: ManagedRuntime.ManagedRuntime<KV, unknown>) =>
            rt.runPromise(
              Effect.flatMap(Effect.service(KV), (kv) =>
                Stream.runCollect(
                  kv
                    .watch({
                      key: new Uint8Array([0]),
                      range_end: new Uint8Array([0]),
                      start_revision: 1,
                      prev_kv: true,
                    })
                    .pipe(
                      Stream.takeUntil(
                        (r) => r.canceled || r.events.some((e) => e.kv.key.length === 3),
                      ),
                    ),
                ),
              ),
            )
          for (const s of steps) {
            const [a, b] = await Promise.all([
              memory.runPromiseExit(Effect.flatMap(Effect.service(KV), s)),
              remote.runPromiseExit(Effect.flatMap(Effect.service(KV), s)),
            ])
            expect(outcome(b)).toEqual(outcome(a))
          }
          // A final marker ends the watches; both replay the same history.
          for (const rt of [memory, remote]) {
            await rt.runPromise(
              Effect.flatMap(Effect.service(KV), (kv) => kv.put({ key: utf8("end") })),
            )
          }
          const [wa, wb] = await Promise.all([watchAll(memory), watchAll(remote)])
          const events = (
            rs: ReadonlyArray<{
              events: ReadonlyArray<unknown>
              canceled: boolean
              compact_revision: number
            }>,
          ) =>
            normalize(
              rs.map((r) => ({
                events: r.events,
                canceled: r.canceled,
                compact: r.compact_revision,
              })),
            )
          expect(events(wb)).toEqual(events(wa))
        } finally {
          await remote.dispose()
          await memory.dispose()
          await server.close()
        }
      }),
      { numRuns: 25 },
    )
  })
})

describe("KV.layerRemote endpoints", () => {
  it("fails the layer with INVALID_ARGUMENT naming a malformed endpoint (it threw inside the layer)", async () => {
    for (const [endpoints, reason] of [
      [["http://"], 'endpoints[0] "http://": expected host:port'],
      [["127.0.0.1:2379", "host"], 'endpoints[1] "host": expected host:port'],
      [["127.0.0.1:70000"], "port 70000 is not in 1-65535"],
      [["a b:1"], "expected host:port"],
      [[], "endpoints: none given"],
    ] as const) {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(Layer.build(KV.layerRemote({ endpoints: [...endpoints] }))),
      )
      expect(exit._tag).toBe("Failure")
      if (exit._tag === "Failure") {
        const e = Cause.squash(exit.cause) as EtcdError
        expect(e._tag).toBe("EtcdError")
        expect(e.code).toBe(GrpcCode.INVALID_ARGUMENT)
        expect(e.message).toContain(reason)
      }
    }
  })

  it("takes host:port with or without http(s)://, IPv6 in brackets and unix sockets", async () => {
    const hosts = await Effect.runPromise(
      endpointHosts([
        "127.0.0.1:2379",
        "http://etcd-0.etcd:2379/",
        "https://[::1]:2379",
        "unix:/tmp/etcd.sock",
      ]),
    )
    expect(hosts).toEqual([
      "127.0.0.1:2379",
      "etcd-0.etcd:2379",
      "[::1]:2379",
      "unix:/tmp/etcd.sock",
    ])
  })
})
