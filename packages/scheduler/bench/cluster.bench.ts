/**
 * The scheduler end to end over HTTP: an API server on an in-memory store in
 * this process, nodes registered through the API, then pods created by
 * `--writers` concurrent clients while the informer-backed scheduler binds
 * them through `pods/binding` and records a Scheduled Event for each. Measures
 * pods bound per second (first create to last binding seen by a watch) and
 * the latency from a pod's create response to its binding being observed.
 * The API server, the scheduler and the load generator share this process
 * (and its one JavaScript thread), so this is a floor, not the scheduler's
 * own speed (see scheduler.bench.ts for that).
 *
 *   npm run bench:cluster -w @flotilla/scheduler [-- --nodes 100 --pods 2000 --writers 16]
 */
import type { Node, Pod } from "@flotilla/api"
import { serve } from "@flotilla/apiserver"
import { makeClient, makeInformer } from "@flotilla/client"
import { KV } from "@flotilla/store"
import { Context, Deferred, Effect, Layer } from "effect"
import { Scheduler } from "../src/index.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const NODES = arg("nodes", 100)
const PODS = arg("pods", 2000)
const WRITERS = arg("writers", 16)

const node = (i: number): Node =>
  ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: `node-${i}`, labels: { "kubernetes.io/hostname": `node-${i}` } },
    status: {
      capacity: { cpu: "4", memory: "32Gi", pods: "110" },
      allocatable: { cpu: "4", memory: "32Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  }) as unknown as Node

const pod = (i: number): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}` },
    spec: {
      containers: [
        {
          name: "pause",
          image: "registry.k8s.io/pause:3.10",
          resources: { requests: { cpu: "100m", memory: "500Mi" } },
        },
      ],
    },
  }) as unknown as Pod

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

const program = Effect.gen(function* () {
  const kv = Context.get(yield* Layer.build(KV.layerMemory()), KV)
  const server = yield* serve(kv, {})
  const client = makeClient({ server: server.url, userAgent: "scheduler-bench/0" })
  yield* Effect.forEach(
    Array.from({ length: NODES }, (_, i) => i),
    (i) => client.nodes.create("", node(i)),
  )
  yield* Layer.build(Scheduler.layerClient(client, { seed: 1 }))

  // A watcher of our own sees each binding arrive.
  const created = new Map<string, number>()
  const latencies: Array<number> = []
  const done = yield* Deferred.make<number>()
  const watcher = yield* makeInformer(client.pods)
  yield* watcher.addEventHandler({
    onUpdate: (old, p) => {
      if ((old.spec.nodeName ?? "") !== "" || (p.spec.nodeName ?? "") === "") return
      const at = performance.now()
      const start = created.get(p.metadata.name ?? "")
      if (start !== undefined) latencies.push(at - start)
      if (latencies.length === PODS) Deferred.doneUnsafe(done, Effect.succeed(at))
    },
  })
  yield* watcher.waitForSync

  const t0 = performance.now()
  let next = 0
  const writer = Effect.gen(function* () {
    while (next < PODS) {
      const i = next++
      yield* client.pods.create("default", pod(i))
      created.set(`pod-${i}`, performance.now())
    }
  })
  yield* Effect.all(
    Array.from({ length: WRITERS }, () => writer),
    { concurrency: "unbounded" },
  )
  const createdAt = performance.now()
  const end = yield* Deferred.await(done)
  latencies.sort((a, b) => a - b)
  // A healthy run has none (a failed binding would requeue a pod with backoff).
  const failed = yield* client.events.list("default", { fieldSelector: "reason=FailedScheduling" })
  const seconds = (end - t0) / 1000
  const result = {
    nodes: NODES,
    pods: PODS,
    writers: WRITERS,
    createdPerSec: Math.round(PODS / ((createdAt - t0) / 1000)),
    boundPerSec: Math.round(PODS / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(1)),
    p99Ms: Number(percentile(latencies, 99).toFixed(1)),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    failedScheduling: failed.items.length,
  }
  console.log("nodes  pods   writers  created/s  bound/s  p50 ms  p99 ms  RSS MiB")
  console.log(
    [
      String(NODES).padEnd(6),
      String(PODS).padEnd(6),
      String(WRITERS).padEnd(8),
      String(result.createdPerSec).padEnd(10),
      String(result.boundPerSec).padEnd(8),
      String(result.p50Ms).padEnd(7),
      String(result.p99Ms).padEnd(7),
      String(result.rssMiB),
    ].join(" "),
  )
  console.log(
    `node ${process.version}, ${process.arch}; API server, scheduler and load in one process`,
  )
  console.log(JSON.stringify({ benchmark: "scheduler-cluster", node: process.version, result }))
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
