/**
 * A user-written plugin: a Filter that keeps pods off nodes under maintenance
 * and a Score that prefers cheaper nodes (lower `example.com/cost` label).
 * The README shows how to register it and enable it from a configuration file.
 */
import {
  type CycleState,
  type FilterPlugin,
  type NodeInfo,
  type PodInfo,
  type ScorePlugin,
  Status,
} from "../src/index.ts"

export const NodeCostName = "NodeCost"
export const UnderMaintenance = "node(s) were under maintenance"
const maintenance = Status.unresolvable(UnderMaintenance)

export class NodeCost implements FilterPlugin, ScorePlugin {
  readonly name = NodeCostName
  private readonly maxCost: number

  constructor(args: { readonly maxCost: number }) {
    this.maxCost = args.maxCost
  }

  filter(_state: CycleState, _pod: PodInfo, node: NodeInfo): Status.Result {
    return node.facts?.labels["example.com/maintenance"] === "true" ? maintenance : undefined
  }

  /** 100 for a free node, 0 at or above `maxCost`. */
  score(_state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const cost = Number(node.facts?.labels["example.com/cost"] ?? this.maxCost)
    if (!Number.isFinite(cost) || cost >= this.maxCost) return 0
    return Math.trunc((100 * (this.maxCost - Math.max(cost, 0))) / this.maxCost)
  }
}
