// The request handler without HTTP: CPU time per create, get, update and
// list on the in-memory store, one request at a time (no queueing, no
// watchers), so the server-side cost of each operation shows on its own.
// `update` adds an annotation to each pod (a new field for its manager),
// `reupdate` changes that annotation's value (as most updates of a running
// cluster do: status and lease renewals), `list` reads a namespace of 100
// pods.
//
//   node --conditions=@flotilla/source bench/handler.ts [count]
//
// With BENCH_HEAP_PROFILE=<dir>, the measured round also runs V8's sampling
// heap profiler (objects collected by either generation included) per phase:
// it prints the bytes allocated per operation and writes `<dir>/<phase>.heapprofile`
// (the CPU figures of such a run are not comparable).
import { mkdirSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import { KV } from "@flotilla/store"
import { Context, Effect, Layer } from "effect"
import { type ApiResponse, makeHandler } from "../src/handler.ts"
import { bootstrap } from "../src/server.ts"
import { makeObjectStore } from "../src/storage.ts"
import { summarize } from "./stats.ts"

const count = Number(process.argv[2] ?? 2000)
const heapDir = process.env.BENCH_HEAP_PROFILE

interface HeapNode {
  readonly selfSize: number
  readonly children: ReadonlyArray<HeapNode>
}
const totalBytes = (n: HeapNode): number =>
  n.children.reduce((s, c) => s + totalBytes(c), n.selfSize)

/** V8's sampling heap profiler, started and stopped around one phase (the session answers synchronously). */
const heapSampler = () => {
  const session = new Session()
  session.connect()
  session.post("HeapProfiler.enable")
  const call = (method: string, params?: object): unknown => {
    let out: unknown
    session.post(method, params ?? {}, (error, result) => {
      if (error !== null) throw error
      out = result
    })
    return out
  }
  return {
    start: () =>
      call("HeapProfiler.startSampling", {
        samplingInterval: 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      }),
    stop: () => (call("HeapProfiler.stopSampling") as { profile: { head: HeapNode } }).profile,
  }
}
const sampler = heapDir === undefined ? undefined : heapSampler()
if (heapDir !== undefined) mkdirSync(heapDir, { recursive: true })
const encoder = new TextEncoder()
const podBody = (name: string, namespace = "bench") =>
  encoder.encode(
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: { app: "bench" } },
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

const namespaceBody = (name: string) =>
  encoder.encode(JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }))

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
    /** Checks the answer's status; its body (decoded from bytes for a list) is read only on failure. */
    const expect = (what: string, status: number) => (r: ApiResponse) => {
      if (r._tag !== "Body" || r.status !== status)
        throw new Error(`${what}: ${r.status} ${r._tag === "Body" ? r.body : ""}`)
      return r
    }
    yield* Effect.map(
      request("POST", "/api/v1/namespaces", namespaceBody("bench")),
      expect("namespace", 201),
    )
    // The listed namespace: 100 pods, as the full benchmark's lists read.
    yield* Effect.map(
      request("POST", "/api/v1/namespaces", namespaceBody("lists")),
      expect("namespace", 201),
    )
    for (let i = 0; i < 100; i++)
      yield* Effect.map(
        request("POST", "/api/v1/namespaces/lists/pods", podBody(`l${i}`, "lists")),
        expect("create", 201),
      )
    /** Each pod as the last write answered it: an update sends it back whole, one annotation set. */
    const last = new Map<string, { metadata: { annotations?: Record<string, string> } }>()
    const updateBody = (name: string, value: string) => {
      const pod = last.get(name)
      if (pod === undefined) throw new Error(`update: ${name} was not created`)
      pod.metadata.annotations = { ...pod.metadata.annotations, "bench/update": value }
      return encoder.encode(JSON.stringify(pod))
    }
    const measure = (
      name: string,
      n: number,
      sample: boolean,
      op: (i: number) => Effect.Effect<unknown>,
    ) =>
      Effect.gen(function* () {
        const times: Array<number> = []
        if (sample) sampler?.start()
        const cpu0 = process.cpuUsage()
        for (let i = 0; i < n; i++) {
          const t = performance.now()
          yield* op(i)
          times.push((performance.now() - t) * 1000)
        }
        const cpu = process.cpuUsage(cpu0)
        const profile = sample ? sampler?.stop() : undefined
        const s = summarize(times)
        const cpuPerOp = Math.round((cpu.user + cpu.system) / n)
        const bytesPerOp = profile === undefined ? undefined : totalBytes(profile.head) / n
        if (profile !== undefined && heapDir !== undefined)
          writeFileSync(`${heapDir}/${name}.heapprofile`, JSON.stringify(profile))
        console.log(
          `${name.padEnd(8)} ${String(n).padStart(6)}  CPU ${String(cpuPerOp).padStart(5)} µs/op   wall p50 ${s.p50.toFixed(0).padStart(5)} µs  p99 ${s.p99.toFixed(0).padStart(5)} µs${bytesPerOp === undefined ? "" : `   ${(bytesPerOp / 1024).toFixed(1)} KB/op`}`,
        )
        return { cpuPerOp, bytesPerOp }
      })
    // Warm-up, then the measured round.
    for (let round = 0; round < 2; round++) {
      const sample = round === 1
      const name = (i: number) => `p${round}-${i}`
      const path = (i: number) => `/api/v1/namespaces/bench/pods/${name(i)}`
      const figures = {
        create: yield* measure("create", count, sample, (i) =>
          Effect.map(request("POST", "/api/v1/namespaces/bench/pods", podBody(name(i))), (r) =>
            last.set(name(i), JSON.parse(expect("create", 201)(r).body)),
          ),
        ),
        get: yield* measure("get", count, sample, (i) =>
          Effect.map(request("GET", path(i)), expect("get", 200)),
        ),
        update: yield* measure("update", count, sample, (i) =>
          Effect.map(request("PUT", path(i), updateBody(name(i), "1")), (r) =>
            last.set(name(i), JSON.parse(expect("update", 200)(r).body)),
          ),
        ),
        reupdate: yield* measure("reupdate", count, sample, (i) =>
          Effect.map(request("PUT", path(i), updateBody(name(i), "2")), expect("update", 200)),
        ),
        list: yield* measure("list", Math.ceil(count / 10), sample, () =>
          Effect.map(request("GET", "/api/v1/namespaces/lists/pods"), expect("list", 200)),
        ),
      }
      if (round === 1)
        console.log(
          JSON.stringify({
            cpuMicrosPerOp: Object.fromEntries(
              Object.entries(figures).map(([k, v]) => [k, v.cpuPerOp]),
            ),
            ...(heapDir === undefined
              ? {}
              : {
                  bytesPerOp: Object.fromEntries(
                    Object.entries(figures).map(([k, v]) => [k, Math.round(v.bytesPerOp ?? 0)]),
                  ),
                }),
          }),
        )
    }
  }),
)
Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
