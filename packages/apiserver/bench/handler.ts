// The request handler without HTTP: CPU time per create, get, update and
// list on the in-memory store, one request at a time (no queueing, no
// watchers), so the server-side cost of each operation shows on its own.
//
//   node --conditions=@flotilla/source bench/handler.ts [count]
import { KV } from "@flotilla/store"
import { Context, Effect, Layer } from "effect"
import { makeHandler } from "../src/handler.ts"
import { bootstrap } from "../src/server.ts"
import { makeObjectStore } from "../src/storage.ts"
import { summarize } from "./stats.ts"

const count = Number(process.argv[2] ?? 2000)
const encoder = new TextEncoder()
const podBody = (name: string) =>
  encoder.encode(
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "bench", labels: { app: "bench" } },
      spec: {
        containers: [
          {
            name: "main",
            image: "nginx:1.27",
            resources: { requests: { cpu: "100m", memory: "64Mi" } },
          },
        ],
      },
    }),
  )

const program = Effect.scoped(
  Effect.gen(function* () {
    const context = yield* Layer.build(KV.layerMemory())
    const store = makeObjectStore(Context.get(context, KV))
    const handle = makeHandler(store, {})
    yield* bootstrap(handle, 6443)
    const request = (method: string, path: string, body?: Uint8Array) =>
      handle({
        method,
        path,
        query: new URLSearchParams(),
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "user-agent": "bench",
        },
        body: body ?? new Uint8Array(0),
      })
    yield* request(
      "POST",
      "/api/v1/namespaces",
      encoder.encode(
        JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "bench" } }),
      ),
    )
    /** Each pod as its create answered it: an update sends it back whole, one annotation changed. */
    const created = new Map<string, { metadata: { annotations?: Record<string, string> } }>()
    const updateBody = (name: string) => {
      const pod = created.get(name)
      if (pod === undefined) throw new Error(`update: ${name} was not created`)
      pod.metadata.annotations = { "bench/update": "1" }
      return encoder.encode(JSON.stringify(pod))
    }
    const measure = (name: string, n: number, op: (i: number) => Effect.Effect<unknown>) =>
      Effect.gen(function* () {
        const times: Array<number> = []
        const cpu0 = process.cpuUsage()
        for (let i = 0; i < n; i++) {
          const t = performance.now()
          yield* op(i)
          times.push((performance.now() - t) * 1000)
        }
        const cpu = process.cpuUsage(cpu0)
        const s = summarize(times)
        console.log(
          `${name.padEnd(8)} ${String(n).padStart(6)}  CPU ${Math.round((cpu.user + cpu.system) / n)
            .toString()
            .padStart(
              5,
            )} µs/op   wall p50 ${s.p50.toFixed(0).padStart(5)} µs  p99 ${s.p99.toFixed(0).padStart(5)} µs`,
        )
        return Math.round((cpu.user + cpu.system) / n)
      })
    // Warm-up, then the measured rounds.
    for (let round = 0; round < 2; round++) {
      const figures = {
        create: yield* measure("create", count, (i) =>
          Effect.map(
            request("POST", "/api/v1/namespaces/bench/pods", podBody(`p${round}-${i}`)),
            (r) => {
              if (r._tag !== "Body" || r.status !== 201) throw new Error(`create: ${r.status}`)
              created.set(`p${round}-${i}`, JSON.parse(r.body))
            },
          ),
        ),
        get: yield* measure("get", count, (i) =>
          request("GET", `/api/v1/namespaces/bench/pods/p${round}-${i}`),
        ),
        update: yield* measure("update", count, (i) =>
          Effect.map(
            request(
              "PUT",
              `/api/v1/namespaces/bench/pods/p${round}-${i}`,
              updateBody(`p${round}-${i}`),
            ),
            (r) => {
              if (r._tag !== "Body" || r.status !== 200)
                throw new Error(`update: ${r.status} ${r._tag === "Body" ? r.body : ""}`)
            },
          ),
        ),
      }
      if (round === 1) console.log(JSON.stringify({ cpuMicrosPerOp: figures }))
    }
  }),
)
Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
