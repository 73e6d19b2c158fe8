/**
 * Scheduler throughput, modelled on Kubernetes' scheduler_perf
 * SchedulingBasic (5000 nodes, 1000 initial pods, 10,000 measured pods; nodes
 * with 4 CPUs / 32Gi / 110 pods, pods requesting 100m / 500Mi) and a variant
 * with node affinity, pod anti-affinity and Service spreading across zones.
 *
 * Each pod goes through the whole core: queue pop, filter, score, assume,
 * bind command, binding success and the informer's confirmation. Runs on one
 * core (the core is single-threaded). Prints a table, then one JSON line.
 *
 *   npm run bench -w @flotilla/scheduler [-- --nodes 5000 --pods 10000]
 */

import { Node, Pod } from "@flotilla/api"
import { Schema } from "effect"
import type { SpreadSelectorSource } from "../src/core/framework.ts"
import { SchedulerCore } from "../src/core/scheduler.ts"
import {
  andMatchers,
  defaultConfiguration,
  defaultRegistry,
  selectorFromSet,
} from "../src/index.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const NODES = arg("nodes", 5000)
const INIT_PODS = arg("init", 1000)
const PODS = arg("pods", 10_000)
const ZONES = 10
const APPS = 200

const nodeView = (i: number, zoned: boolean): Node =>
  Schema.decodeUnknownSync(Node)({
    metadata: {
      name: `node-${i}`,
      labels: {
        "kubernetes.io/hostname": `node-${i}`,
        ...(zoned ? { "topology.kubernetes.io/zone": `zone-${i % ZONES}` } : {}),
      },
    },
    spec: {},
    status: {
      allocatable: { cpu: "4", memory: "32Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  })

const decodePod = Schema.decodeUnknownSync(Pod)
const basicPod = (name: string): Pod =>
  decodePod({
    metadata: { name, namespace: "default", uid: name },
    spec: {
      containers: [
        {
          name: "pause",
          image: "registry.k8s.io/pause:3.10",
          resources: {
            requests: { cpu: "100m", memory: "500Mi" },
            limits: { cpu: "100m", memory: "500Mi" },
          },
        },
      ],
    },
  })

/** Node affinity (required: 8 of 10 zones; preferred: 2 zones), hostname anti-affinity per app, Service spreading. */
const affinityPod = (name: string, i: number): Pod => {
  const app = `app-${i % APPS}`
  const base = basicPod(name)
  return decodePod({
    metadata: { ...base.metadata, labels: { app } },
    spec: {
      ...base.spec,
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  {
                    key: "topology.kubernetes.io/zone",
                    operator: "NotIn",
                    values: [`zone-${i % ZONES}`, `zone-${(i + 5) % ZONES}`],
                  },
                ],
              },
            ],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 10,
              preference: {
                matchExpressions: [
                  {
                    key: "topology.kubernetes.io/zone",
                    operator: "In",
                    values: [`zone-${(i + 1) % ZONES}`, `zone-${(i + 2) % ZONES}`],
                  },
                ],
              },
            },
          ],
        },
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app } }, topologyKey: "kubernetes.io/hostname" },
          ],
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 5,
              podAffinityTerm: {
                labelSelector: { matchLabels: { app } },
                topologyKey: "topology.kubernetes.io/zone",
              },
            },
          ],
        },
      },
    },
  })
}

/** One Service per app selecting `app=<name>` (SelectorSpread's input). */
const serviceSpread: SpreadSelectorSource = {
  selectorFor: (pod) => {
    const app = pod.labels.app
    return app === undefined ? andMatchers([]) : andMatchers([selectorFromSet({ app })])
  },
}

interface Figures {
  readonly case: string
  readonly nodes: number
  readonly pods: number
  readonly scheduled: number
  readonly failed: number
  readonly podsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly peakRssMiB: number
  readonly peakHeapMiB: number
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const run = (name: string, variant: boolean): Figures => {
  const registry = defaultRegistry()
  const core = new SchedulerCore({
    registry,
    configuration: defaultConfiguration(registry),
    seed: 42,
    ...(variant ? { spreadSelectors: serviceSpread } : {}),
  })
  let now = 0
  for (let i = 0; i < NODES; i++) core.onNodeAdd(nodeView(i, variant), now)
  const makePod = (n: string, i: number) => (variant ? affinityPod(n, i) : basicPod(n))
  const podsByKey = new Map<string, Pod>()
  let scheduled = 0
  let failed = 0
  const cycle = (latencies: Float64Array | undefined, index: number): void => {
    const t0 = performance.now()
    const cmds = core.scheduleOne(now)
    const t1 = performance.now()
    if (latencies !== undefined) latencies[index] = t1 - t0
    for (const c of cmds) {
      if (c.kind === "bind") {
        core.bindingSucceeded(c.pod.key, now)
        const p = podsByKey.get(c.pod.key)!
        // The informer's update of the bound pod.
        core.onPodUpdate({ ...p, spec: { ...p.spec, nodeName: c.nodeName } }, now)
        scheduled++
      } else if (c.kind === "event" && c.reason === "FailedScheduling") failed++
    }
  }
  // Initial pods (not measured), as scheduler_perf's initPods.
  for (let i = 0; i < INIT_PODS; i++) {
    const p = makePod(`init-${i}`, i)
    podsByKey.set(`default/${p.metadata.name}`, p)
    core.onPodAdd(p, now)
  }
  while (core.hasActivePods) cycle(undefined, 0)
  scheduled = 0
  failed = 0
  let peakRss = process.memoryUsage().rss
  let peakHeap = process.memoryUsage().heapUsed
  const latencies = new Float64Array(PODS)
  const pods: Array<Pod> = []
  for (let i = 0; i < PODS; i++) pods.push(makePod(`pod-${i}`, INIT_PODS + i))
  const start = performance.now()
  for (let i = 0; i < PODS; i++) {
    const p = pods[i]!
    podsByKey.set(`default/${p.metadata.name}`, p)
    now += 1
    core.onPodAdd(p, now)
    cycle(latencies, i)
    if ((i & 255) === 0) {
      const m = process.memoryUsage()
      if (m.rss > peakRss) peakRss = m.rss
      if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
    }
  }
  const elapsed = (performance.now() - start) / 1000
  const m = process.memoryUsage()
  peakRss = Math.max(peakRss, m.rss)
  peakHeap = Math.max(peakHeap, m.heapUsed)
  latencies.sort()
  return {
    case: name,
    nodes: NODES,
    pods: PODS,
    scheduled,
    failed,
    podsPerSecond: Math.round(PODS / elapsed),
    p50Ms: Number(percentile(latencies, 50).toFixed(3)),
    p99Ms: Number(percentile(latencies, 99).toFixed(3)),
    peakRssMiB: Math.round(peakRss / 1024 / 1024),
    peakHeapMiB: Math.round(peakHeap / 1024 / 1024),
  }
}

const only = process.argv.includes("--variant")
  ? [run("AffinityAntiAffinitySpread", true)]
  : process.argv.includes("--basic")
    ? [run("SchedulingBasic", false)]
    : undefined
const results = only ?? [run("SchedulingBasic", false), run("AffinityAntiAffinitySpread", true)]
const pad = (s: string | number, n: number) => String(s).padStart(n)
console.log(
  `${"case".padEnd(28)}${pad("nodes", 7)}${pad("pods", 7)}${pad("placed", 8)}${pad("pods/s", 9)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("rss MiB", 9)}${pad("heap MiB", 10)}`,
)
for (const r of results) {
  console.log(
    `${r.case.padEnd(28)}${pad(r.nodes, 7)}${pad(r.pods, 7)}${pad(r.scheduled, 8)}${pad(r.podsPerSecond, 9)}${pad(r.p50Ms, 9)}${pad(r.p99Ms, 9)}${pad(r.peakRssMiB, 9)}${pad(r.peakHeapMiB, 10)}`,
  )
}
console.log(`node ${process.version}, ${process.arch}, one core (single-threaded core)`)
console.log(JSON.stringify({ benchmark: "scheduler", node: process.version, results }))
