import {
  type BindPlugin,
  type CycleState,
  type FilterPlugin,
  isWait,
  type NormalizeScorePlugin,
  type PermitPlugin,
  type PermitResult,
  type PostFilterPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type QueueSortPlugin,
  type ReservePlugin,
  type ScorePlugin,
} from "./framework.ts"
import type { NodeInfo } from "./nodeinfo.ts"
import { Code, error, type Result, type Status } from "./status.ts"
import type { PodInfo } from "./types.ts"

export interface WeightedScorePlugin {
  readonly plugin: ScorePlugin
  readonly weight: number
  /** The same plugin when it implements NormalizeScore. */
  readonly normalize: NormalizeScorePlugin | undefined
}

export interface ProfilePlugins {
  readonly queueSort: QueueSortPlugin
  readonly preFilter: ReadonlyArray<PreFilterPlugin>
  readonly filter: ReadonlyArray<FilterPlugin>
  readonly postFilter: ReadonlyArray<PostFilterPlugin>
  readonly preScore: ReadonlyArray<PreScorePlugin>
  readonly score: ReadonlyArray<WeightedScorePlugin>
  readonly reserve: ReadonlyArray<ReservePlugin>
  readonly permit: ReadonlyArray<PermitPlugin>
  readonly bind: ReadonlyArray<BindPlugin>
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * One scheduling profile (Kubernetes' framework instance): the enabled
 * plugins of each extension point, in order, and the code that runs them.
 */
export class Profile implements ProfilePlugins {
  readonly schedulerName: string
  readonly queueSort: QueueSortPlugin
  readonly preFilter: ReadonlyArray<PreFilterPlugin>
  readonly filter: ReadonlyArray<FilterPlugin>
  readonly postFilter: ReadonlyArray<PostFilterPlugin>
  readonly preScore: ReadonlyArray<PreScorePlugin>
  readonly score: ReadonlyArray<WeightedScorePlugin>
  readonly reserve: ReadonlyArray<ReservePlugin>
  readonly permit: ReadonlyArray<PermitPlugin>
  readonly bind: ReadonlyArray<BindPlugin>

  constructor(schedulerName: string, plugins: ProfilePlugins) {
    this.schedulerName = schedulerName
    this.queueSort = plugins.queueSort
    this.preFilter = plugins.preFilter
    this.filter = plugins.filter
    this.postFilter = plugins.postFilter
    this.preScore = plugins.preScore
    this.score = plugins.score
    this.reserve = plugins.reserve
    this.permit = plugins.permit
    this.bind = plugins.bind
  }

  /** PreFilter: the first non-success status ends the cycle; Skip disables that plugin's Filter. */
  runPreFilterPlugins(state: CycleState, pod: PodInfo): Result {
    for (const p of this.preFilter) {
      let s: Result
      try {
        s = p.preFilter(state, pod)
      } catch (e) {
        return error(`running PreFilter plugin "${p.name}": ${describe(e)}`)
      }
      if (s === undefined || s.code === Code.Success) continue
      if (s.code === Code.Skip) {
        state.skipFilterPlugins.add(p.name)
        continue
      }
      if (s.code === Code.Error)
        return error(`running PreFilter plugin "${p.name}": ${s.reasons.join(", ")}`)
      return { ...s, plugin: p.name }
    }
    return undefined
  }

  /**
   * Filter: stops at the first plugin that rejects the node (Kubernetes'
   * default, runAllFilters=false). Allocates nothing when the node fits.
   */
  runFilterPlugins(state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    const filters = this.filter
    const skip = state.skipFilterPlugins
    for (let i = 0; i < filters.length; i++) {
      const p = filters[i]!
      if (skip.size > 0 && skip.has(p.name)) continue
      let s: Result
      try {
        s = p.filter(state, pod, node)
      } catch (e) {
        return error(`running "${p.name}" filter plugin for pod "${pod.name}": ${describe(e)}`)
      }
      if (s === undefined || s.code === Code.Success) continue
      if (s.code === Code.Error) {
        return error(
          `running "${p.name}" filter plugin for pod "${pod.name}": ${s.reasons.join(", ")}`,
        )
      }
      return s
    }
    return undefined
  }

  runPostFilterPlugins(
    state: CycleState,
    pod: PodInfo,
    statuses: ReadonlyMap<string, Status>,
  ): string | undefined {
    for (const p of this.postFilter) {
      const r = p.postFilter(state, pod, statuses)
      if (r.status === undefined || r.status.code === Code.Success) return r.nominatedNodeName
    }
    return undefined
  }

  runPreScorePlugins(state: CycleState, pod: PodInfo, nodes: ReadonlyArray<NodeInfo>): Result {
    for (const p of this.preScore) {
      let s: Result
      try {
        s = p.preScore(state, pod, nodes)
      } catch (e) {
        return error(`running PreScore plugin "${p.name}": ${describe(e)}`)
      }
      if (s === undefined || s.code === Code.Success) continue
      if (s.code === Code.Skip) {
        state.skipScorePlugins.add(p.name)
        continue
      }
      return error(`running PreScore plugin "${p.name}": ${s.reasons.join(", ")}`)
    }
    return undefined
  }

  runReservePlugins(state: CycleState, pod: PodInfo, nodeName: string): Result {
    for (const p of this.reserve) {
      let s: Result
      try {
        s = p.reserve(state, pod, nodeName)
      } catch (e) {
        s = error(describe(e))
      }
      if (s !== undefined && s.code !== Code.Success) {
        return error(
          `error while running Reserve in "${p.name}" reserve plugin for pod "${pod.name}": ${s.reasons.join(", ")}`,
        )
      }
    }
    return undefined
  }

  /** Unreserve runs in reverse order of Reserve. */
  runUnreservePlugins(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let i = this.reserve.length - 1; i >= 0; i--) {
      try {
        this.reserve[i]!.unreserve(state, pod, nodeName)
      } catch {
        // Unreserve must not fail (Kubernetes ignores its result); the others still run.
      }
    }
  }

  /**
   * Permit: a rejection ends the cycle; plugins asking to wait are returned
   * with their timeouts (the shortest one bounds the wait).
   */
  runPermitPlugins(
    state: CycleState,
    pod: PodInfo,
    nodeName: string,
  ): { readonly rejected: Status } | { readonly waitFor: ReadonlyMap<string, number> } {
    const waitFor = new Map<string, number>()
    for (const p of this.permit) {
      let r: PermitResult
      try {
        r = p.permit(state, pod, nodeName)
      } catch (e) {
        return {
          rejected: {
            ...error(`running Permit plugin "${p.name}": ${describe(e)}`),
            plugin: p.name,
          },
        }
      }
      if (r === undefined) continue
      if (isWait(r)) {
        waitFor.set(p.name, r.timeoutMs)
        continue
      }
      if (r.code === Code.Success) continue
      return { rejected: { ...r, plugin: p.name } }
    }
    return { waitFor }
  }
}
