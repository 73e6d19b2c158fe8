import type { Event, Node, Pod, ReplicaSet, Service } from "@flotilla/api"
import { Effect, Layer } from "effect"
import type { PodRef } from "./core/scheduler.ts"
import { BindingError, ClusterSource, type SourceEvent } from "./source.ts"
import { makeSpreadSelectors } from "./spread.ts"

const podKey = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? "default"}/${name ?? ""}`

/**
 * An in-memory cluster for running and testing the scheduler without an API
 * server: pods, nodes, Services and ReplicaSets, event handlers called
 * synchronously on every change (like an informer's), bindings that set
 * `spec.nodeName` the way `pods/binding` does, and the Events recorded.
 */
export class InMemoryCluster {
  readonly pods = new Map<string, Pod>()
  readonly nodes = new Map<string, Node>()
  readonly services = new Map<string, Service>()
  readonly replicaSets = new Map<string, ReplicaSet>()
  /** Every binding made, in order. */
  readonly bindings: Array<{ readonly pod: string; readonly node: string }> = []
  /** Every Event recorded, in order. */
  readonly events: Array<Event> = []
  /** When set, a binding for which it returns a message fails with that message. */
  rejectBinding: ((pod: string, node: string) => string | undefined) | undefined
  private readonly handlers = new Set<(e: SourceEvent) => void>()

  private emit(e: SourceEvent): void {
    for (const h of this.handlers) h(e)
  }

  createNode(node: Node): this {
    const name = node.metadata.name ?? ""
    const existed = this.nodes.has(name)
    this.nodes.set(name, node)
    this.emit(existed ? { type: "NodeUpdated", node } : { type: "NodeAdded", node })
    return this
  }

  updateNode(node: Node): this {
    return this.createNode(node)
  }

  deleteNode(name: string): this {
    const node = this.nodes.get(name)
    if (node === undefined) return this
    this.nodes.delete(name)
    this.emit({ type: "NodeDeleted", node })
    return this
  }

  createPod(pod: Pod): this {
    const key = podKey(pod.metadata.namespace, pod.metadata.name)
    const existed = this.pods.has(key)
    this.pods.set(key, pod)
    this.emit(existed ? { type: "PodUpdated", pod } : { type: "PodAdded", pod })
    return this
  }

  updatePod(pod: Pod): this {
    return this.createPod(pod)
  }

  deletePod(namespace: string, name: string): this {
    const key = podKey(namespace, name)
    const pod = this.pods.get(key)
    if (pod === undefined) return this
    this.pods.delete(key)
    this.emit({ type: "PodDeleted", pod })
    return this
  }

  createService(service: Service): this {
    this.services.set(podKey(service.metadata.namespace, service.metadata.name), service)
    this.emit({ type: "ServiceChanged" })
    return this
  }

  createReplicaSet(rs: ReplicaSet): this {
    this.replicaSets.set(podKey(rs.metadata.namespace, rs.metadata.name), rs)
    this.emit({ type: "ServiceChanged" })
    return this
  }

  /** `spec.nodeName` of a pod, or undefined when it is unknown or pending. */
  nodeOf(namespace: string, name: string): string | undefined {
    const n = this.pods.get(podKey(namespace, name))?.spec.nodeName
    return n === undefined || n === "" ? undefined : n
  }

  /** Binds like the API server's `pods/binding`: the pod must exist and be unassigned. */
  bind(ref: PodRef, nodeName: string): Effect.Effect<void, BindingError> {
    return Effect.suspend(() => {
      const key = podKey(ref.namespace, ref.name)
      const pod = this.pods.get(key)
      const fail = (message: string) =>
        Effect.fail(new BindingError({ pod: key, node: nodeName, message }))
      if (pod === undefined || (ref.uid !== "" && pod.metadata.uid !== ref.uid)) {
        return fail(`pods "${ref.name}" not found`)
      }
      if ((pod.spec.nodeName ?? "") !== "") {
        return fail(`pod ${ref.name} is already assigned to node "${pod.spec.nodeName}"`)
      }
      const rejected = this.rejectBinding?.(key, nodeName)
      if (rejected !== undefined) return fail(rejected)
      this.bindings.push({ pod: key, node: nodeName })
      this.updatePod({ ...pod, spec: { ...pod.spec, nodeName } })
      return Effect.void
    })
  }

  /** The ClusterSource over this cluster. */
  get source(): ClusterSource["Service"] {
    return ClusterSource.of({
      addEventHandler: (handler) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            // Like an informer's initial list: what exists is delivered as added.
            for (const node of this.nodes.values()) handler({ type: "NodeAdded", node })
            for (const pod of this.pods.values()) handler({ type: "PodAdded", pod })
            this.handlers.add(handler)
          }),
          () => Effect.sync(() => this.handlers.delete(handler)),
        ),
      bind: (ref, nodeName) => this.bind(ref, nodeName),
      recordEvent: (event) =>
        Effect.sync(() => {
          this.events.push(event)
        }),
      updatePodCondition: (ref, condition) =>
        Effect.sync(() => {
          const pod = this.pods.get(podKey(ref.namespace, ref.name))
          if (pod === undefined) return
          const others = (pod.status.conditions ?? []).filter((c) => c.type !== condition.type)
          this.updatePod({ ...pod, status: { ...pod.status, conditions: [...others, condition] } })
        }),
      spreadSelectors: makeSpreadSelectors(() => ({
        services: this.services.values(),
        replicaSets: this.replicaSets.values(),
      })),
    })
  }

  /** A layer providing this cluster as the ClusterSource. */
  get layer(): Layer.Layer<ClusterSource> {
    return Layer.succeed(ClusterSource, this.source)
  }
}
