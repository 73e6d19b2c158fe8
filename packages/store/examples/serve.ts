// An in-memory, single-member store speaking etcd's v3 gRPC API.
//   npx tsx --conditions=@flotilla/source examples/serve.ts [port]
//   etcdctl --endpoints=http://127.0.0.1:2379 put greeting hello
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Cluster, KV, serve } from "../src/index.ts"

const port = Number(process.argv[2] ?? 2379)
const store = Cluster.layer.pipe(
  Layer.provideMerge(KV.layerMemory({ name: "example", clientURLs: [`http://127.0.0.1:${port}`] })),
)

const program = Effect.gen(function* () {
  const server = yield* serve({ port })
  yield* Effect.log(`etcd v3 API on ${server.url}`)
  return yield* Effect.never
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(store)))
