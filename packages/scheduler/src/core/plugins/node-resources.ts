import type { CycleState, FilterPlugin, ScorePlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import { MaxNodeScore } from "../normalize.ts"
import {
  isExtendedResourceName,
  ResourceCPU,
  ResourceEphemeralStorage,
  ResourceMemory,
} from "../resource.ts"
import * as S from "../status.ts"
import type { PodInfo } from "../types.ts"

export const NodeResourcesFitName = "NodeResourcesFit"
export const NodeResourcesLeastAllocatedName = "NodeResourcesLeastAllocated"
export const NodeResourcesMostAllocatedName = "NodeResourcesMostAllocated"
export const NodeResourcesBalancedAllocationName = "NodeResourcesBalancedAllocation"

/** Kubernetes v1.18 reasons (`Insufficient %v`; the pod count is "Too many pods"). */
export const ReasonTooManyPods = "Too many pods"
export const insufficient = (resource: string): string => `Insufficient ${resource}`

const tooManyPods = S.unschedulable(ReasonTooManyPods)
const cpuOnly = S.unschedulable(insufficient(ResourceCPU))
const memoryOnly = S.unschedulable(insufficient(ResourceMemory))
const cpuAndMemory = S.unschedulable(insufficient(ResourceCPU), insufficient(ResourceMemory))

export interface FitArgs {
  /** Extended resources the filter ignores. */
  readonly ignoredResources: ReadonlyArray<string>
}

/**
 * Filter (legacy PodFitsResources): the node must have room for one more pod
 * (`pods`), and, when the pod requests anything, allocatable >= requested on
 * the node + the pod's request for CPU, memory, ephemeral storage and every
 * scalar resource. The pod's request is max(Σ containers, each init
 * container) + overhead. Every insufficient resource adds its reason.
 */
export class NodeResourcesFit implements FilterPlugin {
  readonly name = NodeResourcesFitName
  private readonly ignored: ReadonlySet<string>

  constructor(args: FitArgs = { ignoredResources: [] }) {
    this.ignored = new Set(args.ignoredResources)
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    const alloc = node.allocatable
    const podsFull = node.pods.length + 1 > alloc.allowedPodNumber
    if (pod.zeroRequest) return podsFull ? tooManyPods : undefined
    const req = pod.request
    const used = node.requested
    const cpu = alloc.milliCPU < req.milliCPU + used.milliCPU
    const mem = alloc.memory < req.memory + used.memory
    const eph = alloc.ephemeralStorage < req.ephemeralStorage + used.ephemeralStorage
    let scalarFail: Array<string> | undefined
    if (req.scalar !== undefined) {
      for (const [name, q] of req.scalar) {
        if (this.ignored.has(name) && isExtendedResourceName(name)) continue
        if ((alloc.scalar?.get(name) ?? 0) < q + (used.scalar?.get(name) ?? 0)) {
          ;(scalarFail ??= []).push(insufficient(name))
        }
      }
    }
    if (!podsFull && !cpu && !mem && !eph && scalarFail === undefined) return undefined
    // Shared statuses for the common failures keep the filter loop allocation-free.
    if (!eph && scalarFail === undefined) {
      if (!podsFull) return cpu ? (mem ? cpuAndMemory : cpuOnly) : memoryOnly
      if (!cpu && !mem) return tooManyPods
    }
    const reasons: Array<string> = []
    if (podsFull) reasons.push(ReasonTooManyPods)
    if (cpu) reasons.push(insufficient(ResourceCPU))
    if (mem) reasons.push(insufficient(ResourceMemory))
    if (eph) reasons.push(insufficient(ResourceEphemeralStorage))
    if (scalarFail !== undefined) reasons.push(...scalarFail)
    return S.unschedulable(...reasons)
  }
}

export interface ResourceSpec {
  readonly name: string
  readonly weight: number
}

export interface LeastAllocatedArgs {
  readonly resources: ReadonlyArray<ResourceSpec>
}

export const defaultResourceSpecs: ReadonlyArray<ResourceSpec> = [
  { name: ResourceCPU, weight: 1 },
  { name: ResourceMemory, weight: 1 },
]

/**
 * The (allocatable, requested) pair a resource-allocation scorer uses: CPU and
 * memory count the node's non-zero requests plus the incoming pod's non-zero
 * request (100m / 200Mi for containers that request nothing); other resources
 * count real requests. Kubernetes' `calculateResourceAllocatableRequest`.
 */
const allocatableRequested = (
  node: NodeInfo,
  pod: PodInfo,
  resource: string,
  out: Float64Array,
): void => {
  const alloc = node.allocatable
  switch (resource) {
    case ResourceCPU:
      out[0] = alloc.milliCPU
      out[1] = node.nonZeroMilliCPU + pod.scoreMilliCPU
      return
    case ResourceMemory:
      out[0] = alloc.memory
      out[1] = node.nonZeroMemory + pod.scoreMemory
      return
    case ResourceEphemeralStorage:
      out[0] = alloc.ephemeralStorage
      out[1] = node.requested.ephemeralStorage + pod.request.ephemeralStorage
      return
    default:
      out[0] = alloc.scalar?.get(resource) ?? 0
      out[1] =
        (node.requested.scalar?.get(resource) ?? 0) + (pod.request.scalar?.get(resource) ?? 0)
  }
}

/** `((capacity - requested) * 100) / capacity`, 0 when capacity is 0 or exceeded. */
export const leastRequestedScore = (requested: number, capacity: number): number => {
  if (capacity === 0 || requested > capacity) return 0
  return Math.trunc(((capacity - requested) * MaxNodeScore) / capacity)
}

/** `(requested * 100) / capacity`, 0 when capacity is 0 or exceeded. */
export const mostRequestedScore = (requested: number, capacity: number): number => {
  if (capacity === 0 || requested > capacity) return 0
  return Math.trunc((requested * MaxNodeScore) / capacity)
}

/**
 * Score (legacy LeastRequestedPriority): favours nodes with more free
 * capacity, `Σ_r w_r * leastRequested(r) / Σ_r w_r` with integer maths. For
 * the worked example (4000m allocatable, 1000m requested, the pod asks 500m)
 * the CPU part is (4000-1500)*100/4000 = 62.
 */
export class NodeResourcesLeastAllocated implements ScorePlugin {
  readonly name: string = NodeResourcesLeastAllocatedName
  private readonly resources: ReadonlyArray<ResourceSpec>
  private readonly pair = new Float64Array(2)
  protected readonly perResource: (requested: number, capacity: number) => number =
    leastRequestedScore

  constructor(args: LeastAllocatedArgs = { resources: defaultResourceSpecs }) {
    this.resources = args.resources
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    let nodeScore = 0
    let weightSum = 0
    for (const r of this.resources) {
      allocatableRequested(node, pod, r.name, this.pair)
      nodeScore += this.perResource(this.pair[1]!, this.pair[0]!) * r.weight
      weightSum += r.weight
    }
    return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum)
  }
}

/** Score: favours fuller nodes (bin packing), the mirror of LeastAllocated. */
export class NodeResourcesMostAllocated extends NodeResourcesLeastAllocated {
  override readonly name: string = NodeResourcesMostAllocatedName
  protected override readonly perResource = mostRequestedScore
}

const fractionOfCapacity = (requested: number, capacity: number): number =>
  capacity === 0 ? 1 : requested / capacity

/**
 * Score (legacy BalancedResourceAllocation, Kubernetes v1.18): with
 * cpuFraction and memoryFraction of (node non-zero requests + pod) over
 * allocatable, 0 when either is >= 1, else `int((1 - |cpu - mem|) * 100)`.
 */
export class NodeResourcesBalancedAllocation implements ScorePlugin {
  readonly name = NodeResourcesBalancedAllocationName

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const alloc = node.allocatable
    const cpuFraction = fractionOfCapacity(node.nonZeroMilliCPU + pod.scoreMilliCPU, alloc.milliCPU)
    const memoryFraction = fractionOfCapacity(node.nonZeroMemory + pod.scoreMemory, alloc.memory)
    if (cpuFraction >= 1 || memoryFraction >= 1) return 0
    return Math.trunc((1 - Math.abs(cpuFraction - memoryFraction)) * MaxNodeScore)
  }
}
