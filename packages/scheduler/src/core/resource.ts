import { isQualifiedName } from "@flotilla/api"

/**
 * Kubernetes' scheduler `Resource`: CPU in millicores, memory and ephemeral
 * storage in bytes, the pod count, and scalar (extended, hugepages,
 * attachable-volume) resources by name. Numbers are JavaScript doubles holding
 * integers; every value Kubernetes clusters use stays below 2^53.
 */
export interface Resource {
  milliCPU: number
  memory: number
  ephemeralStorage: number
  /** Only meaningful for node allocatable (`pods`). */
  allowedPodNumber: number
  /** Scalar resources; undefined when there are none (the common case). */
  scalar: Map<string, number> | undefined
}

export const emptyResource = (): Resource => ({
  milliCPU: 0,
  memory: 0,
  ephemeralStorage: 0,
  allowedPodNumber: 0,
  scalar: undefined,
})

export const addResource = (into: Resource, r: Resource, sign: 1 | -1): void => {
  into.milliCPU += sign * r.milliCPU
  into.memory += sign * r.memory
  into.ephemeralStorage += sign * r.ephemeralStorage
  if (r.scalar !== undefined) {
    if (into.scalar === undefined) into.scalar = new Map()
    for (const [name, v] of r.scalar) into.scalar.set(name, (into.scalar.get(name) ?? 0) + sign * v)
  }
}

export const scalarOf = (r: Resource, name: string): number => r.scalar?.get(name) ?? 0

/** Resource names with their own fields rather than scalar entries. */
export const ResourceCPU = "cpu"
export const ResourceMemory = "memory"
export const ResourceEphemeralStorage = "ephemeral-storage"
export const ResourcePods = "pods"

/** Kubernetes' `util.DefaultMilliCPURequest`: a container without a CPU request counts as 100m for scoring. */
export const DefaultMilliCPURequest = 100
/** Kubernetes' `util.DefaultMemoryRequest`: 200 MiB for scoring. */
export const DefaultMemoryRequest = 200 * 1024 * 1024

/**
 * Kubernetes' `v1helper.IsScalarResourceName`: extended resources (a
 * domain-prefixed name outside `kubernetes.io/`), `hugepages-*`, native
 * `*.kubernetes.io/*`-style names and `attachable-volumes-*`.
 */
export const isScalarResourceName = (name: string): boolean =>
  isExtendedResourceName(name) ||
  name.startsWith("hugepages-") ||
  isPrefixedNativeResource(name) ||
  name.startsWith("attachable-volumes-")

/** Kubernetes' `IsPrefixedNativeResource`: the name contains `kubernetes.io/`. */
export const isPrefixedNativeResource = (name: string): boolean => name.includes("kubernetes.io/")

/**
 * Kubernetes' `IsExtendedResourceName`: not native (a native name has no `/`
 * or contains `kubernetes.io/`), not starting with `requests.`, and a
 * qualified name once prefixed with `requests.` (as quota sees it).
 */
export const isExtendedResourceName = (name: string): boolean =>
  name.includes("/") &&
  !isPrefixedNativeResource(name) &&
  !name.startsWith("requests.") &&
  isQualifiedName(`requests.${name}`).length === 0
