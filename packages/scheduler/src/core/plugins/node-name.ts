import type { CycleState, FilterPlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import * as S from "../status.ts"
import type { PodInfo } from "../types.ts"

export const NodeNameName = "NodeName"
/** Kubernetes v1.18 `nodename.ErrReason` (legacy predicate HostName / PodFitsHost). */
export const NodeNameErrReason = "node(s) didn't match the requested hostname"
const failure = S.unresolvable(NodeNameErrReason)

/** Filter: a pod with `spec.nodeName` set fits only that node. */
export class NodeName implements FilterPlugin {
  readonly name = NodeNameName

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    return pod.nodeName === "" || pod.nodeName === node.name ? undefined : failure
  }
}
