import type { CycleState, FilterPlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import * as S from "../status.ts"
import {
  TaintEffectNoSchedule,
  TaintNodeUnschedulable,
  tolerationsTolerateTaint,
} from "../taints.ts"
import type { PodInfo } from "../types.ts"

export const NodeUnschedulableName = "NodeUnschedulable"
/** Kubernetes v1.18 `nodeunschedulable.ErrReasonUnschedulable`. */
export const NodeUnschedulableErrReason = "node(s) were unschedulable"
const failure = S.unresolvable(NodeUnschedulableErrReason)
const unschedulableTaint = { key: TaintNodeUnschedulable, effect: TaintEffectNoSchedule }

/**
 * Filter (legacy CheckNodeUnschedulable): a cordoned node (`spec.unschedulable`)
 * takes only pods tolerating the `node.kubernetes.io/unschedulable:NoSchedule` taint.
 */
export class NodeUnschedulable implements FilterPlugin {
  readonly name = NodeUnschedulableName

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    if (!node.facts!.unschedulable) return undefined
    return tolerationsTolerateTaint(pod.tolerations, unschedulableTaint) ? undefined : failure
  }
}
