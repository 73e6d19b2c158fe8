// The KV service in-process: put, get, a compare-and-swap txn, a watch and a lease.
//   npx tsx --conditions=@flotilla/source examples/kv.ts
import { fileURLToPath } from "node:url"
import { Effect, Fiber, Stream } from "effect"
import { fromUtf8, KV, utf8 } from "../src/index.ts"

export const program = Effect.gen(function* () {
  const kv = yield* KV
  const lines: string[] = []

  // Watch the "config/" prefix from the next revision on, in the background.
  const watching = yield* Effect.forkChild(
    Stream.runCollect(
      kv.watch({ key: utf8("config/"), range_end: utf8("config0") }).pipe(
        Stream.flatMap((r) => Stream.fromIterable(r.events)),
        Stream.take(2),
      ),
    ),
  )
  yield* Effect.yieldNow

  const put = yield* kv.put({ key: utf8("config/mode"), value: utf8("fast") })
  lines.push(`put at revision ${put.header.revision}`)

  // Compare-and-swap: change the value only if nobody changed it since our put.
  const cas = yield* kv.txn({
    compare: [
      {
        key: utf8("config/mode"),
        target: "MOD",
        result: "EQUAL",
        mod_revision: put.header.revision,
      },
    ],
    success: [{ request_put: { key: utf8("config/mode"), value: utf8("safe") } }],
  })
  lines.push(`cas succeeded: ${cas.succeeded}`)

  const got = yield* kv.range({ key: utf8("config/"), range_end: utf8("config0") })
  for (const e of got.kvs)
    lines.push(`${fromUtf8(e.key)} = ${fromUtf8(e.value)} (version ${e.version})`)

  const events = yield* Fiber.join(watching)
  for (const e of events)
    lines.push(`watch: ${e.type} ${fromUtf8(e.kv.key)} = ${fromUtf8(e.kv.value)}`)

  // A lease: keys attached to it go when it is revoked (or expires).
  const lease = yield* kv.leaseGrant({ TTL: 10 })
  yield* kv.put({ key: utf8("session/me"), value: utf8("here"), lease: lease.ID })
  yield* kv.leaseRevoke({ ID: lease.ID })
  const session = yield* kv.range({ key: utf8("session/me") })
  lines.push(`after revoke: ${session.count} key`)
  return lines
})

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lines = await Effect.runPromise(program.pipe(Effect.provide(KV.layerMemory())))
  for (const line of lines) console.log(line)
}
