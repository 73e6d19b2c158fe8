import { HostPortInfo } from "./hostports.ts"
import { addResource, emptyResource, type Resource } from "./resource.ts"
import type { ImageStateSummary, NodeFacts, PodInfo } from "./types.ts"

/**
 * Kubernetes' NodeInfo: a node plus the pods assigned (or assumed) to it and
 * aggregates kept incrementally: requested resources, non-zero requests for
 * scoring, used host ports, pods with (anti-)affinity, and image states.
 *
 * Invariant: `requested`, `nonZero*`, `usedPorts` and the affinity lists always
 * equal what recomputing them from `pods` would give (checked by tests).
 */
export class NodeInfo {
  readonly name: string
  /** Undefined while pods reference a node the cache has not seen (or that was deleted). */
  facts: NodeFacts | undefined
  readonly pods: Array<PodInfo> = []
  readonly podsWithAffinity: Array<PodInfo> = []
  readonly podsWithRequiredAntiAffinity: Array<PodInfo> = []
  readonly requested: Resource = emptyResource()
  nonZeroMilliCPU = 0
  nonZeroMemory = 0
  readonly usedPorts = new HostPortInfo()
  /** Image name -> state; rebuilt when the node's image list changes. */
  imageStates: Map<string, ImageStateSummary> = new Map()
  /** Bumped on every change, so scorers and snapshots can tell what moved. */
  generation = 0
  /** Position in the cache's node list, or -1 when not listed. */
  index = -1

  constructor(name: string) {
    this.name = name
  }

  get allocatable(): Resource {
    return this.facts!.allocatable
  }

  addPod(pod: PodInfo): void {
    this.pods.push(pod)
    const a = pod.affinity
    if (a !== undefined) {
      this.podsWithAffinity.push(pod)
      if (a.requiredAntiAffinity.length > 0) this.podsWithRequiredAntiAffinity.push(pod)
    }
    addResource(this.requested, pod.request, 1)
    this.nonZeroMilliCPU += pod.nonZeroMilliCPU
    this.nonZeroMemory += pod.nonZeroMemory
    for (const p of pod.hostPorts) this.usedPorts.add(p)
    this.generation++
  }

  /** Removes the pod with this key; false when it is not here. */
  removePod(key: string): boolean {
    const i = indexOfKey(this.pods, key)
    if (i < 0) return false
    const pod = this.pods[i]!
    swapRemove(this.pods, i)
    const j = indexOfKey(this.podsWithAffinity, key)
    if (j >= 0) swapRemove(this.podsWithAffinity, j)
    const k = indexOfKey(this.podsWithRequiredAntiAffinity, key)
    if (k >= 0) swapRemove(this.podsWithRequiredAntiAffinity, k)
    addResource(this.requested, pod.request, -1)
    this.nonZeroMilliCPU -= pod.nonZeroMilliCPU
    this.nonZeroMemory -= pod.nonZeroMemory
    for (const p of pod.hostPorts) this.usedPorts.remove(p)
    this.generation++
    return true
  }
}

const indexOfKey = (pods: ReadonlyArray<PodInfo>, key: string): number => {
  for (let i = 0; i < pods.length; i++) if (pods[i]!.key === key) return i
  return -1
}

const swapRemove = <T>(xs: Array<T>, i: number): void => {
  const last = xs.length - 1
  if (i !== last) xs[i] = xs[last]!
  xs.pop()
}
