import type { HostPort } from "./hostports.ts"
import type { CompiledTerm } from "./nodeselector.ts"
import type { Resource } from "./resource.ts"
import type { TaintView, TolerationView } from "./taints.ts"

export type Labels = Readonly<Record<string, string>>

/**
 * A compiled label selector. `matches` must not allocate; `empty` is
 * Kubernetes' `Selector.Empty()` (no requirements: matches everything).
 */
export interface LabelMatcher {
  readonly empty: boolean
  matches(labels: Labels): boolean
}

/** Kubernetes' processed `PodAffinityTerm`: namespaces (never empty), selector, topology key. */
export interface AffinityTerm {
  readonly namespaces: ReadonlySet<string>
  readonly selector: LabelMatcher
  readonly topologyKey: string
  /**
   * Equal for terms that select the same pods in the same domains (namespaces,
   * selector, topology key), so existing pods' terms can be counted in groups.
   */
  readonly signature: string
}

export interface WeightedAffinityTerm extends AffinityTerm {
  readonly weight: number
}

/** The pod's inter-pod affinity, present when `spec.affinity.podAffinity` or `podAntiAffinity` is. */
export interface PodAffinityInfo {
  readonly hasPodAffinity: boolean
  readonly hasPodAntiAffinity: boolean
  readonly requiredAffinity: ReadonlyArray<AffinityTerm>
  readonly requiredAntiAffinity: ReadonlyArray<AffinityTerm>
  readonly preferredAffinity: ReadonlyArray<WeightedAffinityTerm>
  readonly preferredAntiAffinity: ReadonlyArray<WeightedAffinityTerm>
}

export interface PreferredNodeTerm {
  readonly weight: number
  readonly term: CompiledTerm
}

/**
 * Everything the scheduler reads from a pod, computed once when the pod is
 * seen (Kubernetes recomputes much of it per cycle or per node). `P` is the
 * original object, kept for binding and events.
 */
export interface PodInfo<P = unknown> {
  /** `namespace/name`. */
  readonly key: string
  readonly uid: string
  readonly namespace: string
  readonly name: string
  readonly labels: Labels
  /** `spec.priority`, 0 when unset. */
  readonly priority: number
  /** `spec.nodeName`, "" while unassigned. */
  readonly nodeName: string
  readonly schedulerName: string
  /** `metadata.deletionTimestamp` is set. */
  readonly deleting: boolean
  /** Fit request: max(Σ containers, each init container) + overhead. */
  readonly request: Resource
  /** True when the fit request is all zero (NodeResourcesFit then checks only the pod count). */
  readonly zeroRequest: boolean
  /** Non-zero CPU/memory for node accounting (init containers included, 100m / 200Mi defaults). */
  readonly nonZeroMilliCPU: number
  readonly nonZeroMemory: number
  /** Non-zero CPU/memory of the incoming pod for scoring (containers + overhead). */
  readonly scoreMilliCPU: number
  readonly scoreMemory: number
  readonly hostPorts: ReadonlyArray<HostPort>
  readonly tolerations: ReadonlyArray<TolerationView>
  /** `spec.nodeSelector` as pairs. */
  readonly nodeSelector: ReadonlyArray<readonly [string, string]>
  /** Required node affinity terms; undefined when there is no required node affinity. */
  readonly requiredNodeAffinity: ReadonlyArray<CompiledTerm> | undefined
  readonly preferredNodeAffinity: ReadonlyArray<PreferredNodeTerm>
  readonly affinity: PodAffinityInfo | undefined
  /** Container images, normalized (`:latest` added when untagged). */
  readonly images: ReadonlyArray<string>
  /** QoS class BestEffort: no CPU or memory request or limit on any container. */
  readonly bestEffort: boolean
  readonly hasTopologySpreadConstraints: boolean
  readonly pod: P
}

/** The node conditions the legacy predicates read, by type. */
export interface NodeConditionView {
  readonly type: string
  readonly status: string
}

/** Image state shared across nodes: how many nodes have the image. */
export interface ImageSpread {
  readonly nodes: Set<string>
}

/** Kubernetes' ImageStateSummary: the size this node reports plus the cluster-wide spread. */
export interface ImageStateSummary {
  readonly size: number
  readonly spread: ImageSpread
}

/** What the scheduler reads from a node, compiled when the node changes. */
export interface NodeFacts<N = unknown> {
  readonly name: string
  readonly labels: Labels
  readonly taints: ReadonlyArray<TaintView>
  readonly unschedulable: boolean
  readonly conditions: ReadonlyArray<NodeConditionView>
  readonly allocatable: Resource
  /** `status.images`: every name of an image with its size in bytes. */
  readonly images: ReadonlyArray<readonly [string, number]>
  /** Kubernetes' `GetZoneKey` ("" when the node has no region or zone label). */
  readonly zone: string
  readonly node: N
}
