/**
 * Compiles API objects into the scheduler's precomputed forms, once per
 * object version: quantities parsed to numbers, selectors and affinity terms
 * compiled, host ports sanitized. The hot filter/score loop then reads plain
 * fields only.
 */
import { parseQuantity, type Quantity } from "@flotilla/api"
import { Result } from "effect"
import { type HostPort, sanitizeHostPort } from "./hostports.ts"
import {
  compileLabelSelector,
  type LabelSelectorView,
  SelectorError,
  type SelectorMatcher,
} from "./labels.ts"
import { compileTerm, type NodeSelectorTermView } from "./nodeselector.ts"
import { normalizedImageName } from "./plugins/image-locality.ts"
import {
  DefaultMemoryRequest,
  DefaultMilliCPURequest,
  emptyResource,
  isScalarResourceName,
  type Resource,
  ResourceCPU,
  ResourceEphemeralStorage,
  ResourceMemory,
  ResourcePods,
} from "./resource.ts"
import type { TaintView, TolerationView } from "./taints.ts"
import type {
  AffinityTerm,
  NodeConditionView,
  NodeFacts,
  PodAffinityInfo,
  PodInfo,
  PreferredNodeTerm,
  WeightedAffinityTerm,
} from "./types.ts"

/** Kubernetes' `DefaultSchedulerName`. */
export const DefaultSchedulerName = "default-scheduler"

type ResourceListView = Readonly<Record<string, string>>

/** The fields of a Pod the scheduler reads (a structural subset of `@flotilla/api`'s Pod). */
export interface PodView {
  readonly metadata: {
    readonly name?: string | undefined
    readonly namespace?: string | undefined
    readonly uid?: string | undefined
    readonly labels?: Readonly<Record<string, string>> | undefined
    readonly deletionTimestamp?: string | undefined
  }
  readonly spec: {
    readonly containers: ReadonlyArray<ContainerView>
    readonly initContainers?: ReadonlyArray<ContainerView> | undefined
    readonly nodeName?: string | undefined
    readonly nodeSelector?: Readonly<Record<string, string>> | undefined
    readonly affinity?: AffinityView | undefined
    readonly tolerations?: ReadonlyArray<TolerationView> | undefined
    readonly priority?: number | undefined
    readonly schedulerName?: string | undefined
    readonly overhead?: ResourceListView | undefined
    readonly topologySpreadConstraints?: ReadonlyArray<unknown> | undefined
  }
}

export interface ContainerView {
  readonly name?: string | undefined
  readonly image?: string | undefined
  readonly ports?:
    | ReadonlyArray<{
        readonly hostPort?: number | undefined
        readonly protocol?: string | undefined
        readonly hostIP?: string | undefined
      }>
    | undefined
  readonly resources?:
    | {
        readonly requests?: ResourceListView | undefined
        readonly limits?: ResourceListView | undefined
      }
    | undefined
}

export interface PodAffinityTermView {
  readonly labelSelector?: LabelSelectorView | undefined
  readonly namespaces?: ReadonlyArray<string> | undefined
  readonly topologyKey: string
}

export interface PodAffinityView {
  readonly requiredDuringSchedulingIgnoredDuringExecution?:
    | ReadonlyArray<PodAffinityTermView>
    | undefined
  readonly preferredDuringSchedulingIgnoredDuringExecution?:
    | ReadonlyArray<{ readonly weight: number; readonly podAffinityTerm: PodAffinityTermView }>
    | undefined
}

export interface AffinityView {
  readonly nodeAffinity?:
    | {
        readonly requiredDuringSchedulingIgnoredDuringExecution?:
          | { readonly nodeSelectorTerms: ReadonlyArray<NodeSelectorTermView> }
          | undefined
        readonly preferredDuringSchedulingIgnoredDuringExecution?:
          | ReadonlyArray<{ readonly weight: number; readonly preference: NodeSelectorTermView }>
          | undefined
      }
    | undefined
  readonly podAffinity?: PodAffinityView | undefined
  readonly podAntiAffinity?: PodAffinityView | undefined
}

/** The fields of a Node the scheduler reads. */
export interface NodeView {
  readonly metadata: {
    readonly name?: string | undefined
    readonly labels?: Readonly<Record<string, string>> | undefined
  }
  readonly spec: {
    readonly unschedulable?: boolean | undefined
    readonly taints?: ReadonlyArray<TaintView> | undefined
  }
  readonly status: {
    readonly allocatable?: ResourceListView | undefined
    readonly conditions?: ReadonlyArray<NodeConditionView> | undefined
    readonly images?:
      | ReadonlyArray<{
          readonly names?: ReadonlyArray<string> | undefined
          readonly sizeBytes?: number | undefined
        }>
      | undefined
  }
}

/** An object the scheduler cannot use, with the field and the reason. */
export class CompileError extends Error {
  override readonly name = "CompileError"
  readonly field: string
  readonly reason: string

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.field = field
    this.reason = reason
  }
}

const quantity = (field: string, s: string): Quantity => {
  const r = parseQuantity(s)
  if (Result.isFailure(r))
    throw new CompileError(field, `Invalid value: "${s}": ${r.failure.message}`)
  return r.success
}

/** Kubernetes' `Resource.Add` for a ResourceList; names that are not counted are ignored. */
const addList = (into: Resource, list: ResourceListView | undefined, field: string): void => {
  if (list === undefined) return
  for (const name of Object.keys(list)) {
    const q = quantity(`${field}[${name}]`, list[name]!)
    switch (name) {
      case ResourceCPU:
        into.milliCPU += q.milliValue()
        break
      case ResourceMemory:
        into.memory += q.value()
        break
      case ResourceEphemeralStorage:
        into.ephemeralStorage += q.value()
        break
      case ResourcePods:
        into.allowedPodNumber += q.value()
        break
      default:
        if (isScalarResourceName(name)) {
          if (into.scalar === undefined) into.scalar = new Map()
          into.scalar.set(name, (into.scalar.get(name) ?? 0) + q.value())
        }
    }
  }
}

/** Kubernetes' `Resource.SetMaxResource`: element-wise max with an init container's requests. */
const maxList = (into: Resource, list: ResourceListView | undefined, field: string): void => {
  if (list === undefined) return
  for (const name of Object.keys(list)) {
    const q = quantity(`${field}[${name}]`, list[name]!)
    switch (name) {
      case ResourceCPU:
        into.milliCPU = Math.max(into.milliCPU, q.milliValue())
        break
      case ResourceMemory:
        into.memory = Math.max(into.memory, q.value())
        break
      case ResourceEphemeralStorage:
        into.ephemeralStorage = Math.max(into.ephemeralStorage, q.value())
        break
      default:
        if (isScalarResourceName(name)) {
          if (into.scalar === undefined) into.scalar = new Map()
          into.scalar.set(name, Math.max(into.scalar.get(name) ?? 0, q.value()))
        }
    }
  }
}

/** Kubernetes' `GetNonzeroRequests`: unset CPU/memory count as 100m / 200Mi; an explicit 0 stays 0. */
const nonZero = (list: ResourceListView | undefined, field: string): [number, number] => {
  const cpu = list?.[ResourceCPU]
  const mem = list?.[ResourceMemory]
  return [
    cpu === undefined ? DefaultMilliCPURequest : quantity(`${field}[cpu]`, cpu).milliValue(),
    mem === undefined ? DefaultMemoryRequest : quantity(`${field}[memory]`, mem).value(),
  ]
}

const positiveCpuOrMemory = (list: ResourceListView | undefined, field: string): boolean => {
  if (list === undefined) return false
  for (const name of [ResourceCPU, ResourceMemory]) {
    const s = list[name]
    if (s !== undefined && quantity(`${field}[${name}]`, s).sign() > 0) return true
  }
  return false
}

const compileAffinityTerm = (
  term: PodAffinityTermView,
  namespace: string,
  field: string,
): AffinityTerm => {
  let selector: SelectorMatcher
  try {
    selector = compileLabelSelector(term.labelSelector)
  } catch (e) {
    if (e instanceof SelectorError) throw new CompileError(`${field}.labelSelector`, e.message)
    throw e
  }
  const namespaces =
    term.namespaces !== undefined && term.namespaces.length > 0 ? term.namespaces : [namespace]
  const sel = selector.selector.isNothing ? "<nothing>" : selector.selector.toString()
  const signature = `${[...new Set(namespaces)].sort().join(",")}|${term.topologyKey}|${sel}`
  return { namespaces: new Set(namespaces), selector, topologyKey: term.topologyKey, signature }
}

const compilePodAffinity = (
  view: PodAffinityView | undefined,
  namespace: string,
  field: string,
): [ReadonlyArray<AffinityTerm>, ReadonlyArray<WeightedAffinityTerm>] => {
  if (view === undefined) return [[], []]
  const required = (view.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t, i) =>
    compileAffinityTerm(
      t,
      namespace,
      `${field}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`,
    ),
  )
  const preferred = (view.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w, i) => ({
    ...compileAffinityTerm(
      w.podAffinityTerm,
      namespace,
      `${field}.preferredDuringSchedulingIgnoredDuringExecution[${i}].podAffinityTerm`,
    ),
    weight: w.weight,
  }))
  return [required, preferred]
}

/** Compiles a pod; throws CompileError naming the field of a bad quantity or selector. */
export const compilePod = <P extends PodView>(pod: P): PodInfo<P> => {
  const meta = pod.metadata
  const spec = pod.spec
  const namespace = meta.namespace ?? "default"
  const name = meta.name ?? ""
  const request = emptyResource()
  let nonZeroMilliCPU = 0
  let nonZeroMemory = 0
  let bestEffort = true
  const hostPorts: Array<HostPort> = []
  const images: Array<string> = []
  spec.containers.forEach((c, i) => {
    const field = `spec.containers[${i}].resources`
    addList(request, c.resources?.requests, `${field}.requests`)
    const [cpu, mem] = nonZero(c.resources?.requests, `${field}.requests`)
    nonZeroMilliCPU += cpu
    nonZeroMemory += mem
    if (positiveCpuOrMemory(c.resources?.requests, `${field}.requests`)) bestEffort = false
    if (positiveCpuOrMemory(c.resources?.limits, `${field}.limits`)) bestEffort = false
    for (const p of c.ports ?? []) {
      const port = p.hostPort ?? 0
      if (port > 0) hostPorts.push(sanitizeHostPort(p.hostIP, p.protocol, port))
    }
    if (c.image !== undefined && c.image !== "") images.push(normalizedImageName(c.image))
  })
  // Containers' non-zero requests for scoring exclude init containers (Kubernetes v1.18).
  let scoreMilliCPU = nonZeroMilliCPU
  let scoreMemory = nonZeroMemory
  ;(spec.initContainers ?? []).forEach((c, i) => {
    const field = `spec.initContainers[${i}].resources`
    maxList(request, c.resources?.requests, `${field}.requests`)
    const [cpu, mem] = nonZero(c.resources?.requests, `${field}.requests`)
    nonZeroMilliCPU = Math.max(nonZeroMilliCPU, cpu)
    nonZeroMemory = Math.max(nonZeroMemory, mem)
    if (positiveCpuOrMemory(c.resources?.requests, `${field}.requests`)) bestEffort = false
    if (positiveCpuOrMemory(c.resources?.limits, `${field}.limits`)) bestEffort = false
  })
  if (spec.overhead !== undefined) {
    addList(request, spec.overhead, "spec.overhead")
    const cpu = spec.overhead[ResourceCPU]
    const mem = spec.overhead[ResourceMemory]
    if (cpu !== undefined) {
      const v = quantity("spec.overhead[cpu]", cpu).milliValue()
      nonZeroMilliCPU += v
      scoreMilliCPU += v
    }
    if (mem !== undefined) {
      const v = quantity("spec.overhead[memory]", mem).value()
      nonZeroMemory += v
      scoreMemory += v
    }
  }
  request.allowedPodNumber = 0
  const zeroRequest =
    request.milliCPU === 0 &&
    request.memory === 0 &&
    request.ephemeralStorage === 0 &&
    request.scalar === undefined

  const affinity = spec.affinity
  const nodeAffinity = affinity?.nodeAffinity
  const required = nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
  const preferredNodeAffinity: Array<PreferredNodeTerm> = (
    nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []
  ).map((p) => ({ weight: p.weight, term: compileTerm(p.preference) }))

  let podAffinity: PodAffinityInfo | undefined
  if (affinity?.podAffinity !== undefined || affinity?.podAntiAffinity !== undefined) {
    const [requiredAffinity, preferredAffinity] = compilePodAffinity(
      affinity.podAffinity,
      namespace,
      "spec.affinity.podAffinity",
    )
    const [requiredAntiAffinity, preferredAntiAffinity] = compilePodAffinity(
      affinity.podAntiAffinity,
      namespace,
      "spec.affinity.podAntiAffinity",
    )
    podAffinity = {
      hasPodAffinity: affinity.podAffinity !== undefined,
      hasPodAntiAffinity: affinity.podAntiAffinity !== undefined,
      requiredAffinity,
      requiredAntiAffinity,
      preferredAffinity,
      preferredAntiAffinity,
    }
  }

  return {
    key: `${namespace}/${name}`,
    uid: meta.uid ?? "",
    namespace,
    name,
    labels: meta.labels ?? {},
    priority: spec.priority ?? 0,
    nodeName: spec.nodeName ?? "",
    schedulerName: spec.schedulerName ?? DefaultSchedulerName,
    deleting: meta.deletionTimestamp !== undefined,
    request,
    zeroRequest,
    nonZeroMilliCPU,
    nonZeroMemory,
    scoreMilliCPU,
    scoreMemory,
    hostPorts,
    tolerations: spec.tolerations ?? [],
    nodeSelector: Object.entries(spec.nodeSelector ?? {}),
    requiredNodeAffinity:
      required === undefined ? undefined : required.nodeSelectorTerms.map(compileTerm),
    preferredNodeAffinity,
    affinity: podAffinity,
    images,
    bestEffort,
    hasTopologySpreadConstraints: (spec.topologySpreadConstraints?.length ?? 0) > 0,
    pod,
  }
}

export const LabelZoneFailureDomain = "failure-domain.beta.kubernetes.io/zone"
export const LabelZoneRegion = "failure-domain.beta.kubernetes.io/region"
export const LabelZoneFailureDomainStable = "topology.kubernetes.io/zone"
export const LabelZoneRegionStable = "topology.kubernetes.io/region"

/** Kubernetes' `GetZoneKey`: `region + ":\x00:" + zone`, or "" when both are empty. */
export const zoneKey = (labels: Readonly<Record<string, string>>): string => {
  const zone = labels[LabelZoneFailureDomain] ?? labels[LabelZoneFailureDomainStable] ?? ""
  const region = labels[LabelZoneRegion] ?? labels[LabelZoneRegionStable] ?? ""
  if (region === "" && zone === "") return ""
  return `${region}:\x00:${zone}`
}

/** Compiles a node; throws CompileError naming a bad allocatable quantity. */
export const compileNode = <N extends NodeView>(node: N): NodeFacts<N> => {
  const labels = node.metadata.labels ?? {}
  const allocatable = emptyResource()
  addList(allocatable, node.status.allocatable, "status.allocatable")
  const images: Array<readonly [string, number]> = []
  for (const image of node.status.images ?? []) {
    for (const name of image.names ?? []) images.push([name, image.sizeBytes ?? 0])
  }
  return {
    name: node.metadata.name ?? "",
    labels,
    taints: node.spec.taints ?? [],
    unschedulable: node.spec.unschedulable ?? false,
    conditions: node.status.conditions ?? [],
    allocatable,
    images,
    zone: zoneKey(labels),
    node,
  }
}
