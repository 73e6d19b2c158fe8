import type { CycleState, FilterPlugin } from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import * as S from "../status.ts"
import type { PodInfo } from "../types.ts"

export const NodePortsName = "NodePorts"
/** Kubernetes v1.18 `nodeports.ErrReason` (legacy PodFitsHostPorts). */
export const NodePortsErrReason = "node(s) didn't have free ports for the requested pod ports"
const failure = S.unschedulable(NodePortsErrReason)

/**
 * Filter: every host port the pod wants (protocol, IP, port; IP 0.0.0.0 and
 * protocol TCP by default) must be free on the node.
 */
export class NodePorts implements FilterPlugin {
  readonly name = NodePortsName

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    const wanted = pod.hostPorts
    if (wanted.length === 0) return undefined
    for (const p of wanted) if (node.usedPorts.checkConflict(p)) return failure
    return undefined
  }
}
