import { Node, Pod } from "@flotilla/api"
import { Schema } from "effect"
import { Cache } from "../src/core/cache.ts"
import type { AffinityView } from "../src/core/compile.ts"
import { compileNode, compilePod, type NodeView } from "../src/core/compile.ts"
import {
  CycleState,
  type Handle,
  type Plugin,
  type SpreadSelectorSource,
} from "../src/core/framework.ts"
import { everything } from "../src/core/labels.ts"
import type { SchedulablePodView } from "../src/core/scheduler.ts"
import type { Result } from "../src/core/status.ts"
import type { TaintView, TolerationView } from "../src/core/taints.ts"

type Res = Record<string, string>

export interface PodOptions {
  namespace?: string
  labels?: Record<string, string>
  /** Requests of one container. */
  requests?: Res
  limits?: Res
  /** More containers' requests. */
  containers?: Array<{
    requests?: Res
    limits?: Res
    image?: string
    ports?: Array<{ hostPort: number; protocol?: string; hostIP?: string }>
  }>
  initContainers?: Array<{ requests?: Res }>
  overhead?: Res
  nodeName?: string
  nodeSelector?: Record<string, string>
  affinity?: AffinityView
  tolerations?: Array<TolerationView>
  ports?: Array<{ hostPort: number; protocol?: string; hostIP?: string }>
  image?: string
  priority?: number
  schedulerName?: string
  phase?: string
  deleting?: boolean
}

let uid = 0

const decodePod = Schema.decodeUnknownSync(Pod)
const decodeNode = Schema.decodeUnknownSync(Node)

/** A pod, written in Kubernetes' wire shape and decoded with `@flotilla/api`'s schema. */
export const pod = (name: string, o: PodOptions = {}): Pod => decodePod(podJson(name, o))

/** The same pod undecoded, for input the api would reject (the scheduler must still cope). */
export const rawPod = (name: string, o: PodOptions = {}): Pod => podJson(name, o) as Pod

const podJson = (name: string, o: PodOptions): SchedulablePodView => {
  const containers = o.containers ?? [
    {
      ...(o.requests ? { requests: o.requests } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.image !== undefined ? { image: o.image } : {}),
      ...(o.ports ? { ports: o.ports } : {}),
    },
  ]
  return {
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: `uid-${++uid}`,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.deleting ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}),
    },
    spec: {
      containers: containers.map((c, i) => ({
        name: `c${i}`,
        ...(c.requests !== undefined || c.limits !== undefined
          ? {
              resources: {
                ...(c.requests ? { requests: c.requests } : {}),
                ...(c.limits ? { limits: c.limits } : {}),
              },
            }
          : {}),
        ...(c.image !== undefined ? { image: c.image } : {}),
        ...(c.ports !== undefined ? { ports: c.ports } : {}),
      })),
      ...(o.initContainers
        ? { initContainers: o.initContainers.map((c, i) => ({ name: `i${i}`, resources: c })) }
        : {}),
      ...(o.overhead ? { overhead: o.overhead } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.schedulerName ? { schedulerName: o.schedulerName } : {}),
    },
    ...(o.phase ? { status: { phase: o.phase } } : {}),
  }
}

export interface NodeOptions {
  cpu?: string
  memory?: string
  pods?: string
  allocatable?: Res
  labels?: Record<string, string>
  taints?: Array<TaintView>
  unschedulable?: boolean
  conditions?: Array<{ type: string; status: string }>
  images?: Array<{ names: Array<string>; sizeBytes: number }>
}

/** A node (4 CPUs, 32Gi, 110 pods unless told), decoded with `@flotilla/api`'s schema. */
export const node = (name: string, o: NodeOptions = {}): Node => decodeNode(nodeJson(name, o))

const nodeJson = (name: string, o: NodeOptions): NodeView => ({
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
  spec: {
    ...(o.unschedulable ? { unschedulable: true } : {}),
    ...(o.taints ? { taints: o.taints } : {}),
  },
  status: {
    allocatable: o.allocatable ?? {
      cpu: o.cpu ?? "4",
      memory: o.memory ?? "32Gi",
      pods: o.pods ?? "110",
    },
    ...(o.conditions ? { conditions: o.conditions } : {}),
    ...(o.images ? { images: o.images } : {}),
  },
})

/** A cache and handle to run single plugins against. */
export class Cluster {
  readonly cache = new Cache()
  readonly handle: Handle

  constructor(spread: SpreadSelectorSource = { selectorFor: () => everything }) {
    this.handle = { snapshot: this.cache, spreadSelectors: spread }
  }

  addNode(n: Node): this {
    this.cache.addNode(compileNode(n))
    return this
  }

  /** Adds a pod already placed on `nodeName`. */
  place(p: Pod, nodeName: string): this {
    this.cache.addPod(compilePod({ ...p, spec: { ...p.spec, nodeName } }))
    return this
  }

  /** Runs the plugin's PreFilter (if any) and Filter on one node. */
  filter(plugin: Plugin, p: Pod, nodeName: string): Result {
    const state = new CycleState()
    const info = compilePod(p)
    const pf = (plugin as { preFilter?: (s: CycleState, p: unknown) => Result }).preFilter
    if (pf) {
      const s = pf.call(plugin, state, info)
      if (s !== undefined) return s
    }
    const f = (plugin as unknown as { filter: (s: CycleState, p: unknown, n: unknown) => Result })
      .filter
    return f.call(plugin, state, info, this.cache.getNode(nodeName)!)
  }

  /** Runs PreScore, Score and NormalizeScore over every node; returns name -> score. */
  scores(plugin: Plugin, p: Pod): Record<string, number> {
    const state = new CycleState()
    const info = compilePod(p)
    const nodes = this.cache.nodeInfoList()
    const pl = plugin as unknown as {
      preScore?: (s: CycleState, p: unknown, n: unknown) => Result
      score: (s: CycleState, p: unknown, n: unknown) => number
      normalizeScore?: (s: CycleState, p: unknown, n: unknown, sc: Float64Array) => Result
    }
    pl.preScore?.call(plugin, state, info, nodes)
    const scores = Float64Array.from(nodes.map((n) => pl.score.call(plugin, state, info, n)))
    pl.normalizeScore?.call(plugin, state, info, nodes, scores)
    const out: Record<string, number> = {}
    nodes.forEach((n, i) => {
      out[n.name] = scores[i]!
    })
    return out
  }
}
