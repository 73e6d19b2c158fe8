import { AffinityIndex } from "./affinity-index.ts"
import { NodeInfo } from "./nodeinfo.ts"
import type { ImageSpread, NodeFacts, PodInfo } from "./types.ts"

interface PodState {
  pod: PodInfo
  /** Assumed by the scheduler but not yet confirmed by an informer event. */
  assumed: boolean
  bindingFinished: boolean
  /** When an assumed pod whose binding finished expires (ms). */
  deadline: number | undefined
}

export class CacheError extends Error {
  override readonly name = "CacheError"
}

export interface CacheOptions {
  /** How long an assumed pod may wait for its informer confirmation after binding (Kubernetes: 30 s). */
  readonly assumedPodTtlMs?: number
}

/**
 * The scheduler cache (Kubernetes' `internal/cache`), maintained incrementally
 * from node and pod events and from the scheduler's own assumptions. It is
 * also the snapshot the algorithm reads: cycles run serially between events,
 * so there is nothing to copy.
 *
 * The node list is ordered like Kubernetes' NodeTree: zones in order of first
 * appearance, nodes interleaved round-robin across zones, so consecutive nodes
 * tend to be in different zones.
 */
export class Cache {
  readonly assumedPodTtlMs: number
  private readonly nodes = new Map<string, NodeInfo>()
  private readonly podStates = new Map<string, PodState>()
  /** zone -> node names in insertion order. */
  private readonly zones = new Map<string, Array<string>>()
  private list: Array<NodeInfo> = []
  private listDirty = false
  private readonly images = new Map<string, ImageSpread>()
  /** Nodes with at least one pod with inter-pod (anti-)affinity. */
  private readonly affinityNodes = new Set<NodeInfo>()
  private readonly antiAffinityNodes = new Set<NodeInfo>()
  /** Pods by label and existing pods' affinity terms by topology value (InterPodAffinity). */
  readonly affinityIndex = new AffinityIndex()

  constructor(options: CacheOptions = {}) {
    this.assumedPodTtlMs = options.assumedPodTtlMs ?? 30_000
  }

  /** Listed nodes (those with a Node object), in NodeTree order. */
  nodeInfoList(): ReadonlyArray<NodeInfo> {
    if (this.listDirty) this.rebuildList()
    return this.list
  }

  get numNodes(): number {
    return this.nodeInfoList().length
  }

  /** Nodes hosting a pod with inter-pod affinity or anti-affinity. */
  havePodsWithAffinity(): ReadonlySet<NodeInfo> {
    return this.affinityNodes
  }

  havePodsWithRequiredAntiAffinity(): ReadonlySet<NodeInfo> {
    return this.antiAffinityNodes
  }

  getNode(name: string): NodeInfo | undefined {
    const n = this.nodes.get(name)
    return n?.facts === undefined ? undefined : n
  }

  getPod(key: string): PodInfo | undefined {
    return this.podStates.get(key)?.pod
  }

  isAssumed(key: string): boolean {
    return this.podStates.get(key)?.assumed ?? false
  }

  get podCount(): number {
    return this.podStates.size
  }

  /** Adds or replaces a node. */
  addNode(facts: NodeFacts): void {
    let info = this.nodes.get(facts.name)
    if (info === undefined) {
      info = new NodeInfo(facts.name)
      this.nodes.set(facts.name, info)
    }
    const old = info.facts
    if (old === undefined || old.zone !== facts.zone) {
      if (old !== undefined) this.removeFromZone(old.zone, facts.name)
      this.addToZone(facts.zone, facts.name)
    }
    if (old !== undefined) this.removeImages(info, old)
    if (old === undefined || old.labels !== facts.labels) {
      for (const p of info.podsWithAffinity) {
        this.affinityIndex.addTerms(p, old?.labels, -1)
        this.affinityIndex.addTerms(p, facts.labels, 1)
      }
    }
    info.facts = facts
    this.addImages(info, facts)
    info.generation++
  }

  updateNode(facts: NodeFacts): void {
    this.addNode(facts)
  }

  removeNode(name: string): void {
    const info = this.nodes.get(name)
    if (info?.facts === undefined) return
    this.removeFromZone(info.facts.zone, name)
    this.removeImages(info, info.facts)
    for (const p of info.podsWithAffinity) {
      this.affinityIndex.addTerms(p, info.facts.labels, -1)
      this.affinityIndex.addTerms(p, undefined, 1)
    }
    info.facts = undefined
    info.generation++
    // Pods may still reference the node until their deletions arrive.
    if (info.pods.length === 0) this.nodes.delete(name)
  }

  /** An assigned pod seen by the informer (confirms an assumed pod). */
  addPod(pod: PodInfo): void {
    if (pod.nodeName === "") throw new CacheError(`pod ${pod.key} is not assigned to a node`)
    const state = this.podStates.get(pod.key)
    if (state?.assumed) {
      if (state.pod.nodeName !== pod.nodeName) {
        // Bound somewhere other than assumed: move it.
        this.removePodFromNode(state.pod)
        this.addPodToNode(pod)
      } else {
        this.replacePodOnNode(state.pod, pod)
      }
      state.pod = pod
      state.assumed = false
      state.deadline = undefined
      return
    }
    if (state !== undefined) {
      this.updatePod(state.pod, pod)
      return
    }
    this.addPodToNode(pod)
    this.podStates.set(pod.key, {
      pod,
      assumed: false,
      bindingFinished: false,
      deadline: undefined,
    })
  }

  updatePod(_old: PodInfo, pod: PodInfo): void {
    const state = this.podStates.get(pod.key)
    if (state === undefined) {
      this.addPod(pod)
      return
    }
    if (state.assumed) {
      // An update of an assumed pod is its confirmation.
      this.addPod(pod)
      return
    }
    this.removePodFromNode(state.pod)
    this.addPodToNode(pod)
    state.pod = pod
  }

  removePod(key: string): void {
    const state = this.podStates.get(key)
    if (state === undefined) return
    this.removePodFromNode(state.pod)
    this.podStates.delete(key)
  }

  /** Reserves the pod on the node before binding, so the next cycles see it. */
  assumePod(pod: PodInfo, nodeName: string): PodInfo {
    if (this.podStates.has(pod.key))
      throw new CacheError(`pod ${pod.key} is in the cache, so can't be assumed`)
    const assumed: PodInfo = pod.nodeName === nodeName ? pod : { ...pod, nodeName }
    this.addPodToNode(assumed)
    this.podStates.set(pod.key, {
      pod: assumed,
      assumed: true,
      bindingFinished: false,
      deadline: undefined,
    })
    return assumed
  }

  /** Binding succeeded: the assumed pod now expires if no confirmation arrives within the TTL. */
  finishBinding(key: string, now: number): void {
    const state = this.podStates.get(key)
    if (state === undefined || !state.assumed) return
    state.bindingFinished = true
    state.deadline = now + this.assumedPodTtlMs
  }

  /** Binding failed: the assumption is undone. */
  forgetPod(key: string): void {
    const state = this.podStates.get(key)
    if (state === undefined) return
    if (!state.assumed) throw new CacheError(`pod ${key} wasn't assumed so cannot be forgotten`)
    this.removePodFromNode(state.pod)
    this.podStates.delete(key)
  }

  /** Drops assumed pods whose binding finished but were never confirmed; returns their keys. */
  cleanupExpiredAssumedPods(now: number): Array<string> {
    const expired: Array<string> = []
    for (const [key, state] of this.podStates) {
      if (
        state.assumed &&
        state.bindingFinished &&
        state.deadline !== undefined &&
        now >= state.deadline
      ) {
        expired.push(key)
      }
    }
    for (const key of expired) this.forgetPod(key)
    return expired
  }

  private nodeFor(name: string): NodeInfo {
    let info = this.nodes.get(name)
    if (info === undefined) {
      info = new NodeInfo(name)
      this.nodes.set(name, info)
    }
    return info
  }

  private addPodToNode(pod: PodInfo): void {
    const info = this.nodeFor(pod.nodeName)
    info.addPod(pod)
    this.affinityIndex.addPod(pod)
    this.affinityIndex.addTerms(pod, info.facts?.labels, 1)
    this.trackAffinity(info)
  }

  private removePodFromNode(pod: PodInfo): void {
    const info = this.nodes.get(pod.nodeName)
    if (info === undefined) return
    if (!info.removePod(pod.key)) return
    this.affinityIndex.removePod(pod)
    this.affinityIndex.addTerms(pod, info.facts?.labels, -1)
    this.trackAffinity(info)
    if (info.facts === undefined && info.pods.length === 0) this.nodes.delete(info.name)
  }

  private replacePodOnNode(old: PodInfo, pod: PodInfo): void {
    if (old === pod) return
    this.removePodFromNode(old)
    this.addPodToNode(pod)
  }

  private trackAffinity(info: NodeInfo): void {
    if (info.podsWithAffinity.length > 0) this.affinityNodes.add(info)
    else this.affinityNodes.delete(info)
    if (info.podsWithRequiredAntiAffinity.length > 0) this.antiAffinityNodes.add(info)
    else this.antiAffinityNodes.delete(info)
  }

  private addToZone(zone: string, name: string): void {
    const names = this.zones.get(zone)
    if (names === undefined) this.zones.set(zone, [name])
    else if (!names.includes(name)) names.push(name)
    this.listDirty = true
  }

  private removeFromZone(zone: string, name: string): void {
    const names = this.zones.get(zone)
    if (names === undefined) return
    const i = names.indexOf(name)
    if (i >= 0) names.splice(i, 1)
    if (names.length === 0) this.zones.delete(zone)
    this.listDirty = true
  }

  private rebuildList(): void {
    const zoneLists = [...this.zones.values()]
    const out: Array<NodeInfo> = []
    for (let i = 0; ; i++) {
      let any = false
      for (const names of zoneLists) {
        const name = names[i]
        if (name === undefined) continue
        any = true
        const info = this.nodes.get(name)!
        info.index = out.length
        out.push(info)
      }
      if (!any) break
    }
    for (const info of this.list) if (info.facts === undefined) info.index = -1
    this.list = out
    this.listDirty = false
  }

  private addImages(info: NodeInfo, facts: NodeFacts): void {
    const states = new Map<string, { size: number; spread: ImageSpread }>()
    for (const [name, size] of facts.images) {
      let spread = this.images.get(name)
      if (spread === undefined) {
        spread = { nodes: new Set() }
        this.images.set(name, spread)
      }
      spread.nodes.add(info.name)
      states.set(name, { size, spread })
    }
    info.imageStates = states
  }

  private removeImages(info: NodeInfo, facts: NodeFacts): void {
    for (const [name] of facts.images) {
      const spread = this.images.get(name)
      if (spread === undefined) continue
      spread.nodes.delete(info.name)
      if (spread.nodes.size === 0) this.images.delete(name)
    }
    info.imageStates = new Map()
  }
}
