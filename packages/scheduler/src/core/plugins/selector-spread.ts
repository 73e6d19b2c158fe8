import { AffinityIndex } from "../affinity-index.ts"
import type {
  CycleState,
  Handle,
  NormalizeScorePlugin,
  PreScorePlugin,
  ScorePlugin,
} from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import { MaxNodeScore } from "../normalize.ts"
import type * as S from "../status.ts"
import type { LabelMatcher, PodInfo } from "../types.ts"

/** The v1.18 plugin name; `SelectorSpread` (v1.19+) and `SelectorSpreadPriority` are aliases. */
export const DefaultPodTopologySpreadName = "DefaultPodTopologySpread"
const preScoreKey = `PreScore${DefaultPodTopologySpreadName}`
/** With zone labels present, 2/3 of the weight goes to spreading across zones. */
const zoneWeighting = 2.0 / 3.0

interface PreScoreState {
  readonly selector: LabelMatcher
  /** Matching pods per node name, when the selector pins a label (then computed from the index). */
  readonly counts: Map<string, number> | undefined
}

/** Pods on the node in `namespace`, not being deleted, matching `selector`. */
export const countMatchingPods = (
  namespace: string,
  selector: LabelMatcher,
  node: NodeInfo,
): number => {
  if (node.pods.length === 0 || selector.empty) return 0
  let count = 0
  for (const p of node.pods) {
    if (p.namespace === namespace && !p.deleting && selector.matches(p.labels)) count++
  }
  return count
}

/**
 * Score (legacy SelectorSpreadPriority): spreads the pods of one Service /
 * ReplicaSet / StatefulSet / ReplicationController across nodes and zones.
 * Raw score: matching pods on the node. Normalized: `100 * (max - count) / max`
 * per node (100 when max is 0), blended 1/3 node + 2/3 zone when nodes carry
 * zone labels; floating point as in Kubernetes, truncated to an integer.
 * Pods with topologySpreadConstraints are left to PodTopologySpread.
 */
export class DefaultPodTopologySpread implements PreScorePlugin, ScorePlugin, NormalizeScorePlugin {
  readonly name = DefaultPodTopologySpreadName
  private readonly handle: Handle
  private readonly countsByZone = new Map<string, number>()

  constructor(handle: Handle) {
    this.handle = handle
  }

  preScore(state: CycleState, pod: PodInfo, _nodes: ReadonlyArray<NodeInfo>): S.Result {
    const selector = this.handle.spreadSelectors.selectorFor(pod)
    let counts: Map<string, number> | undefined
    if (!selector.empty && AffinityIndex.pins(selector)) {
      // Count from the pods the selector can match instead of scanning every node's pods.
      const byNode = new Map<string, number>()
      this.handle.snapshot.affinityIndex.candidatesFor([pod.namespace], selector, (p) => {
        if (!p.deleting && selector.matches(p.labels))
          byNode.set(p.nodeName, (byNode.get(p.nodeName) ?? 0) + 1)
      })
      counts = byNode
    }
    const s: PreScoreState = { selector, counts }
    state.write(preScoreKey, s)
    return undefined
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): number {
    if (pod.hasTopologySpreadConstraints) return 0
    const s = state.read<PreScoreState>(preScoreKey)
    if (s === undefined) throw new Error(`Error reading "${preScoreKey}" from cycleState`)
    if (s.counts !== undefined) return s.counts.get(node.name) ?? 0
    return countMatchingPods(pod.namespace, s.selector, node)
  }

  normalizeScore(
    _s: CycleState,
    pod: PodInfo,
    nodes: ReadonlyArray<NodeInfo>,
    scores: Float64Array,
  ): S.Result {
    if (pod.hasTopologySpreadConstraints) return undefined
    const countsByZone = this.countsByZone
    countsByZone.clear()
    let maxCountByNodeName = 0
    const n = nodes.length
    for (let i = 0; i < n; i++) {
      const s = scores[i]!
      if (s > maxCountByNodeName) maxCountByNodeName = s
      const zone = nodes[i]!.facts!.zone
      if (zone === "") continue
      countsByZone.set(zone, (countsByZone.get(zone) ?? 0) + s)
    }
    let maxCountByZone = 0
    for (const c of countsByZone.values()) if (c > maxCountByZone) maxCountByZone = c
    const haveZones = countsByZone.size !== 0
    for (let i = 0; i < n; i++) {
      let fScore = MaxNodeScore
      if (maxCountByNodeName > 0)
        fScore = MaxNodeScore * ((maxCountByNodeName - scores[i]!) / maxCountByNodeName)
      if (haveZones) {
        const zone = nodes[i]!.facts!.zone
        if (zone !== "") {
          let zoneScore = MaxNodeScore
          if (maxCountByZone > 0)
            zoneScore = MaxNodeScore * ((maxCountByZone - countsByZone.get(zone)!) / maxCountByZone)
          fScore = fScore * (1.0 - zoneWeighting) + zoneWeighting * zoneScore
        }
      }
      scores[i] = Math.trunc(fScore)
    }
    return undefined
  }
}
