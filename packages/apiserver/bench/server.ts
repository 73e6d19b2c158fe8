// The benchmark's server process: the API server on the embedded store
// (in-memory, or 3 Raft members with `raft`), printing its URL.
import { KV } from "@flotilla/store"
import { Context, Effect, Layer } from "effect"
import { serve } from "../src/server.ts"

const mode = process.argv[2] ?? "memory"
// A clean exit on SIGINT lets `node --cpu-prof` write its profile.
process.on("SIGINT", () => process.exit(0))
const program = Effect.scoped(
  Effect.gen(function* () {
    const layer = mode === "raft" ? KV.layerRaft({ members: 3 }) : KV.layerMemory()
    const context = yield* Layer.build(layer as Layer.Layer<KV>)
    const server = yield* serve(Context.get(context, KV), { port: 0 })
    process.stdout.write(`${server.url}\n`)
    yield* Effect.never
  }),
)
Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
