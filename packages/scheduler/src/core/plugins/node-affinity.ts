import type { CycleState, FilterPlugin, NormalizeScorePlugin, ScorePlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import { matchNodeSelectorTerms, requirementsMatch } from "../nodeselector.ts"
import { defaultNormalizeScore, MaxNodeScore } from "../normalize.ts"
import * as S from "../status.ts"
import type { Labels, PodInfo } from "../types.ts"

export const NodeAffinityName = "NodeAffinity"
/** Kubernetes v1.18 `nodeaffinity.ErrReason` (legacy MatchNodeSelector). */
export const NodeAffinityErrReason = "node(s) didn't match node selector"
const failure = S.unresolvable(NodeAffinityErrReason)

/**
 * Kubernetes' `PodMatchesNodeSelectorAndAffinityTerms`: every `nodeSelector`
 * pair is a node label, and when required node affinity is set, at least one
 * of its terms matches (labels and `metadata.name`).
 */
export const podMatchesNodeSelectorAndAffinityTerms = (
  pod: PodInfo,
  labels: Labels,
  nodeName: string,
): boolean => {
  for (const [k, v] of pod.nodeSelector)
    if (labels[k] !== v || !Object.hasOwn(labels, k)) return false
  const required = pod.requiredNodeAffinity
  return required === undefined || matchNodeSelectorTerms(required, labels, nodeName)
}

/**
 * Filter (legacy MatchNodeSelector) on `nodeSelector` and required node
 * affinity. Score (legacy NodeAffinityPriority): the sum of the weights of the
 * preferred terms whose match expressions the node satisfies, normalized so
 * the best node gets 100.
 */
export class NodeAffinity implements FilterPlugin, ScorePlugin, NormalizeScorePlugin {
  readonly name = NodeAffinityName

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    if (pod.nodeSelector.length === 0 && pod.requiredNodeAffinity === undefined) return undefined
    return podMatchesNodeSelectorAndAffinityTerms(pod, node.facts!.labels, node.name)
      ? undefined
      : failure
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    let count = 0
    const labels = node.facts!.labels
    for (const p of pod.preferredNodeAffinity) {
      if (p.weight === 0) continue
      if (p.term.error !== undefined) throw new Error(p.term.error)
      // Kubernetes v1.18 scores preferred terms on their match expressions only.
      if (requirementsMatch(p.term.labels, labels)) count += p.weight
    }
    return count
  }

  normalizeScore(
    _s: CycleState,
    _p: PodInfo,
    _n: ReadonlyArray<NodeInfo>,
    scores: Float64Array,
  ): S.Result {
    defaultNormalizeScore(MaxNodeScore, false, scores)
    return undefined
  }
}
