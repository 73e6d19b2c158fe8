import type { CycleState, FilterPlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import * as S from "../status.ts"
import type { PodInfo } from "../types.ts"

/**
 * The legacy node-condition predicates (Kubernetes before TaintNodesByCondition
 * replaced them with taints). Not in the default profile, as in v1.18; enable
 * them for clusters whose node controller does not taint nodes by condition.
 */

export const ErrNodeNotReady = "node(s) were not ready"
export const ErrNodeOutOfDisk = "node(s) were out of disk space"
export const ErrNodeNetworkUnavailable = "node(s) had unavailable network"
export const ErrNodeUnschedulable = "node(s) were unschedulable"
export const ErrNodeUnderMemoryPressure = "node(s) had memory pressure"
export const ErrNodeUnderDiskPressure = "node(s) had disk pressure"
export const ErrNodeUnderPIDPressure = "node(s) had pid pressure"

export const NodeConditionName = "NodeCondition"
export const NodeMemoryPressureName = "NodeMemoryPressure"
export const NodeDiskPressureName = "NodeDiskPressure"
export const NodePIDPressureName = "NodePIDPressure"

const conditionStatus = (node: NodeInfo, type: string): string | undefined => {
  for (const c of node.facts!.conditions) if (c.type === type) return c.status
  return undefined
}

/**
 * CheckNodeCondition: fails when a present Ready condition is not True, a
 * present OutOfDisk or NetworkUnavailable condition is not False, or the node
 * is unschedulable; every failing check adds its reason.
 */
export class NodeCondition implements FilterPlugin {
  readonly name = NodeConditionName

  filter(_state: CycleState, _pod: PodInfo, node: NodeInfo): S.Result {
    const facts = node.facts!
    let reasons: Array<string> | undefined
    for (const c of facts.conditions) {
      let reason: string | undefined
      if (c.type === "Ready" && c.status !== "True") reason = ErrNodeNotReady
      else if (c.type === "OutOfDisk" && c.status !== "False") reason = ErrNodeOutOfDisk
      else if (c.type === "NetworkUnavailable" && c.status !== "False")
        reason = ErrNodeNetworkUnavailable
      if (reason !== undefined) (reasons ??= []).push(reason)
    }
    if (facts.unschedulable) (reasons ??= []).push(ErrNodeUnschedulable)
    return reasons === undefined ? undefined : S.unschedulable(...reasons)
  }
}

const memoryPressure = S.unschedulable(ErrNodeUnderMemoryPressure)
const diskPressure = S.unschedulable(ErrNodeUnderDiskPressure)
const pidPressure = S.unschedulable(ErrNodeUnderPIDPressure)

/** CheckNodeMemoryPressure: only BestEffort pods are kept off a node with MemoryPressure=True. */
export class NodeMemoryPressure implements FilterPlugin {
  readonly name = NodeMemoryPressureName

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    if (!pod.bestEffort) return undefined
    return conditionStatus(node, "MemoryPressure") === "True" ? memoryPressure : undefined
  }
}

/** CheckNodeDiskPressure: no pod goes to a node with DiskPressure=True. */
export class NodeDiskPressure implements FilterPlugin {
  readonly name = NodeDiskPressureName

  filter(_state: CycleState, _pod: PodInfo, node: NodeInfo): S.Result {
    return conditionStatus(node, "DiskPressure") === "True" ? diskPressure : undefined
  }
}

/** CheckNodePIDPressure: no pod goes to a node with PIDPressure=True. */
export class NodePIDPressure implements FilterPlugin {
  readonly name = NodePIDPressureName

  filter(_state: CycleState, _pod: PodInfo, node: NodeInfo): S.Result {
    return conditionStatus(node, "PIDPressure") === "True" ? pidPressure : undefined
  }
}
