/**
 * Runs the scheduler against an in-memory cluster: three nodes, a Deployment's
 * worth of pods, one pod that fits nowhere, then a custom plugin enabled from
 * a configuration file.
 *
 *   npx tsx --conditions=@flotilla/source packages/scheduler/examples/quickstart.ts
 */
import { Node, Pod } from "@flotilla/api"
import { Effect, Schema } from "effect"
import { defaultRegistry, define, InMemoryCluster, Scheduler } from "../src/index.ts"
import { NodeCost, NodeCostName } from "./node-cost.ts"

const node = (name: string, cpu: string, labels: Record<string, string> = {}) =>
  Schema.decodeUnknownSync(Node)({
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
    status: { allocatable: { cpu, memory: "8Gi", pods: "110" } },
  })

const pod = (name: string, cpu: string) =>
  Schema.decodeUnknownSync(Pod)({
    metadata: { name, namespace: "default", labels: { app: "hello" } },
    spec: {
      containers: [{ name: "hello", image: "hello-kubecon:1.0", resources: { requests: { cpu } } }],
    },
  })

const schedule = (cluster: InMemoryCluster, options: Parameters<typeof Scheduler.layer>[0]) =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    for (let i = 0; i < 3; i++) cluster.createPod(pod(`hello-${i}`, "500m"))
    cluster.createPod(pod("too-big", "16"))
    yield* scheduler.idle
  }).pipe(Effect.provide(Scheduler.layerMemory(cluster, options)), Effect.scoped)

const cluster = () =>
  new InMemoryCluster()
    .createNode(node("node-1", "2", { "example.com/cost": "9" }))
    .createNode(node("node-2", "2", { "example.com/cost": "1" }))
    .createNode(node("node-3", "2", { "example.com/cost": "5", "example.com/maintenance": "true" }))

// 1. The default profile (Kubernetes v1.18's plugins).
const plain = cluster()
await Effect.runPromise(schedule(plain, { seed: 1 }))
for (const e of plain.events)
  console.log(`${(e.type ?? "").padEnd(7)} ${(e.reason ?? "").padEnd(16)} ${e.message}`)

// 2. The same cluster with a custom plugin, enabled from a KubeSchedulerConfiguration.
const registry = defaultRegistry().register(
  define({
    name: NodeCostName,
    args: Schema.Struct({ maxCost: Schema.Number }),
    defaultArgs: { maxCost: 10 },
    factory: (args) => new NodeCost(args),
  }),
)
const configuration = {
  apiVersion: "kubescheduler.config.k8s.io/v1",
  kind: "KubeSchedulerConfiguration",
  profiles: [
    {
      plugins: {
        filter: { enabled: [{ name: "NodeCost" }] },
        score: { enabled: [{ name: "NodeCost", weight: 5 }] },
      },
      pluginConfig: [{ name: "NodeCost", args: { maxCost: 10 } }],
    },
  ],
}
const custom = cluster()
await Effect.runPromise(schedule(custom, { seed: 1, registry, configuration }))
console.log("with NodeCost:")
for (const e of custom.events)
  console.log(`${(e.type ?? "").padEnd(7)} ${(e.reason ?? "").padEnd(16)} ${e.message}`)
