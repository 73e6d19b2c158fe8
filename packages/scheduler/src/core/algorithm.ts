import type { Cache } from "./cache.ts"
import { FitError } from "./fit-error.ts"
import type { CycleState } from "./framework.ts"
import type { NodeInfo } from "./nodeinfo.ts"
import { MaxNodeScore, MinNodeScore } from "./normalize.ts"
import type { Profile } from "./profile.ts"
import type { Rng } from "./rng.ts"
import { numFeasibleNodesToFind, selectHost } from "./select.ts"
import { Code, type Status } from "./status.ts"
import type { PodInfo } from "./types.ts"

/** Kubernetes' `ErrNoNodesAvailable`. */
export const ErrNoNodesAvailable = "no nodes available to schedule pods"

export interface ScheduleResult {
  readonly suggestedHost: string
  /** Nodes examined by the filters. */
  readonly evaluatedNodes: number
  readonly feasibleNodes: number
}

/** An internal failure (a plugin error); not a FitError. */
export class ScheduleError {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

/**
 * The scheduling algorithm (Kubernetes' genericScheduler): filter, starting
 * where the previous cycle stopped and stopping once enough feasible nodes are
 * found (percentageOfNodesToScore), then score, normalize, weight, sum and
 * pick a top node with seeded reservoir sampling.
 *
 * The loops are plain TypeScript over reused typed arrays: a cycle allocates
 * the CycleState entries its plugins write, the failure map and little else.
 */
export class GenericScheduler {
  private readonly cache: Cache
  private readonly rng: Rng
  percentageOfNodesToScore: number
  /** Where the next cycle's filtering starts (Kubernetes' nextStartNodeIndex). */
  nextStartNodeIndex = 0
  private feasible: Array<NodeInfo> = []
  private scores = new Float64Array(0)
  private totals = new Float64Array(0)

  constructor(cache: Cache, rng: Rng, percentageOfNodesToScore = 0) {
    this.cache = cache
    this.rng = rng
    this.percentageOfNodesToScore = percentageOfNodesToScore
  }

  schedule(
    profile: Profile,
    state: CycleState,
    pod: PodInfo,
  ): ScheduleResult | FitError | ScheduleError {
    const nodes = this.cache.nodeInfoList()
    const n = nodes.length
    if (n === 0) return new ScheduleError(ErrNoNodesAvailable)

    const pre = profile.runPreFilterPlugins(state, pod)
    if (pre !== undefined) {
      if (pre.code === Code.Error) return new ScheduleError(pre.reasons.join(", "))
      // Rejected before filtering: every node shares the PreFilter's status.
      const statuses = new Map<string, Status>()
      for (const node of nodes) statuses.set(node.name, pre)
      return new FitError(n, statuses)
    }

    const feasible = this.feasible
    feasible.length = 0
    const statuses = new Map<string, Status>()
    const numToFind = numFeasibleNodesToFind(n, this.percentageOfNodesToScore)
    const start = this.nextStartNodeIndex % n
    let processed = 0
    for (let i = 0; i < n; i++) {
      const node = nodes[(start + i) % n]!
      processed++
      const s = profile.runFilterPlugins(state, pod, node)
      if (s === undefined) {
        feasible.push(node)
        if (feasible.length >= numToFind) break
      } else if (s.code === Code.Error) {
        return new ScheduleError(s.reasons.join(", "))
      } else {
        statuses.set(node.name, s)
      }
    }
    this.nextStartNodeIndex = (start + processed) % n
    const evaluatedNodes = processed
    if (feasible.length === 0) return new FitError(n, statuses)
    if (feasible.length === 1)
      return { suggestedHost: feasible[0]!.name, evaluatedNodes, feasibleNodes: 1 }

    const m = feasible.length
    const totals = this.prioritize(profile, state, pod, feasible)
    if (totals instanceof ScheduleError) return totals
    const pick = selectHost(totals, m, this.rng)
    return { suggestedHost: feasible[pick]!.name, evaluatedNodes, feasibleNodes: m }
  }

  /** Weighted sum of normalized scores per feasible node; a view valid until the next cycle. */
  prioritize(
    profile: Profile,
    state: CycleState,
    pod: PodInfo,
    nodes: ReadonlyArray<NodeInfo>,
  ): Float64Array | ScheduleError {
    const m = nodes.length
    if (this.totals.length < m) {
      this.totals = new Float64Array(Math.max(m, this.totals.length * 2))
      this.scores = new Float64Array(this.totals.length)
    }
    const totals = this.totals.subarray(0, m)
    if (profile.score.length === 0) {
      totals.fill(1)
      return totals
    }
    totals.fill(0)
    const pre = profile.runPreScorePlugins(state, pod, nodes)
    if (pre !== undefined) return new ScheduleError(pre.reasons.join(", "))
    const scores = this.scores.subarray(0, m)
    const skip = state.skipScorePlugins
    for (const { plugin, weight, normalize } of profile.score) {
      if (skip.size > 0 && skip.has(plugin.name)) continue
      try {
        for (let i = 0; i < m; i++) scores[i] = plugin.score(state, pod, nodes[i]!)
      } catch (e) {
        return new ScheduleError(
          `running Score plugin "${plugin.name}": ${e instanceof Error ? e.message : String(e)}`,
        )
      }
      if (normalize !== undefined) {
        const s = normalize.normalizeScore(state, pod, nodes, scores)
        if (s !== undefined && s.code !== Code.Success) {
          return new ScheduleError(
            `running Normalize on Score plugin "${plugin.name}": ${s.reasons.join(", ")}`,
          )
        }
      }
      for (let i = 0; i < m; i++) {
        const s = scores[i]!
        if (!(s >= MinNodeScore && s <= MaxNodeScore)) {
          return new ScheduleError(
            `plugin "${plugin.name}" returns an invalid score ${s}, it should in the range of [${MinNodeScore}, ${MaxNodeScore}] after normalizing`,
          )
        }
        totals[i]! += s * weight
      }
    }
    return totals
  }
}
