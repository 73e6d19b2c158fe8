import type {
  CycleState,
  FilterPlugin,
  NormalizeScorePlugin,
  PreScorePlugin,
  ScorePlugin,
} from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import { defaultNormalizeScore, MaxNodeScore } from "../normalize.ts"
import * as S from "../status.ts"
import {
  findMatchingUntoleratedTaint,
  TaintEffectNoExecute,
  TaintEffectNoSchedule,
  TaintEffectPreferNoSchedule,
  type TaintView,
  type TolerationView,
  tolerationsTolerateTaint,
} from "../taints.ts"
import type { PodInfo } from "../types.ts"

export const TaintTolerationName = "TaintToleration"
const preScoreKey = `PreScore${TaintTolerationName}`

/** Kubernetes v1.18's filter reason names the first untolerated taint. */
export const untoleratedTaintReason = (taint: TaintView): string =>
  `node(s) had taint {${taint.key}: ${taint.value ?? ""}}, that the pod didn't tolerate`

const noScheduleOrNoExecute = (t: TaintView): boolean =>
  t.effect === TaintEffectNoSchedule || t.effect === TaintEffectNoExecute

/**
 * Filter (legacy PodToleratesNodeTaints): every NoSchedule and NoExecute taint
 * must be tolerated (PreferNoSchedule is for scoring). Score (legacy
 * TaintTolerationPriority): the number of PreferNoSchedule taints the pod does
 * not tolerate, normalized in reverse so fewer is better.
 */
export class TaintToleration
  implements FilterPlugin, PreScorePlugin, ScorePlugin, NormalizeScorePlugin
{
  readonly name = TaintTolerationName
  /** Statuses by reason, so repeated failures on the same taint allocate once. */
  private readonly failures = new Map<string, S.Status>()

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    const taints = node.facts!.taints
    if (taints.length === 0) return undefined
    const taint = findMatchingUntoleratedTaint(taints, pod.tolerations, noScheduleOrNoExecute)
    if (taint === undefined) return undefined
    const reason = untoleratedTaintReason(taint)
    let status = this.failures.get(reason)
    if (status === undefined) {
      status = S.unresolvable(reason)
      if (this.failures.size < 1024) this.failures.set(reason, status)
    }
    return status
  }

  preScore(state: CycleState, pod: PodInfo, nodes: ReadonlyArray<NodeInfo>): S.Result {
    if (nodes.length === 0) return undefined
    // An empty effect matches every effect, PreferNoSchedule included.
    const tolerations: Array<TolerationView> = []
    for (const t of pod.tolerations) {
      if (t.effect === undefined || t.effect === "" || t.effect === TaintEffectPreferNoSchedule)
        tolerations.push(t)
    }
    state.write(preScoreKey, tolerations)
    return undefined
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const tolerations = state.read<ReadonlyArray<TolerationView>>(preScoreKey)
    if (tolerations === undefined) throw new Error(`error reading "${preScoreKey}" from cycleState`)
    let intolerable = 0
    for (const taint of node.facts!.taints) {
      if (taint.effect !== TaintEffectPreferNoSchedule) continue
      if (!tolerationsTolerateTaint(tolerations, taint)) intolerable++
    }
    return intolerable
  }

  normalizeScore(
    _s: CycleState,
    _p: PodInfo,
    _n: ReadonlyArray<NodeInfo>,
    scores: Float64Array,
  ): S.Result {
    defaultNormalizeScore(MaxNodeScore, true, scores)
    return undefined
  }
}
