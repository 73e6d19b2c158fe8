/**
 * The scheduling framework's extension points as small interfaces (Kubernetes
 * `framework/v1alpha1/interface.go`). A plugin is an object with a `name` that
 * implements the points it needs; the framework discovers them by the methods
 * present. Every method here is synchronous and pure with respect to the
 * cluster snapshot it is given; effects (binding) live in the shell.
 */
import type { Effect } from "effect"
import type { Cache } from "./cache.ts"
import type { NodeInfo } from "./nodeinfo.ts"
import type { QueuedPodInfo } from "./queue.ts"
import type { Result, Status } from "./status.ts"
import type { LabelMatcher, PodInfo } from "./types.ts"

/**
 * Per-cycle scratch space shared by the plugins of one scheduling attempt
 * (Kubernetes' CycleState). Plugins store what PreFilter/PreScore computed
 * under their own key and read it back per node.
 */
export class CycleState {
  private readonly data = new Map<string, unknown>()
  /** Filter plugins whose PreFilter returned Skip this cycle. */
  readonly skipFilterPlugins = new Set<string>()
  /** Score plugins whose PreScore returned Skip this cycle. */
  readonly skipScorePlugins = new Set<string>()

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined
  }

  write(key: string, value: unknown): void {
    this.data.set(key, value)
  }

  clear(): void {
    this.data.clear()
    this.skipFilterPlugins.clear()
    this.skipScorePlugins.clear()
  }
}

/** Where SelectorSpread finds the Services, ReplicaSets, ... that select a pod. */
export interface SpreadSelectorSource {
  /**
   * Kubernetes' `DefaultSelector`: the requirements of every Service,
   * ReplicationController, ReplicaSet and StatefulSet in the pod's namespace
   * that selects it, ANDed. An `empty` matcher means "none".
   */
  selectorFor(pod: PodInfo): LabelMatcher
}

/** What plugins can see beyond the pod and node they are called with (Kubernetes' FrameworkHandle). */
export interface Handle {
  /** The cluster snapshot: every node with its pods. */
  readonly snapshot: Cache
  readonly spreadSelectors: SpreadSelectorSource
}

export interface Plugin {
  readonly name: string
}

/** Sorts the active queue. */
export interface QueueSortPlugin extends Plugin {
  less(a: QueuedPodInfo<PodInfo>, b: QueuedPodInfo<PodInfo>): boolean
}

/** Runs once per cycle before filtering; may reject the pod outright or return Skip for its Filter. */
export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: PodInfo): Result
}

/**
 * Formerly a predicate: may the pod run on this node? Returns undefined when
 * it fits; `Unschedulable` (with reasons) when it does not fit now;
 * `UnschedulableAndUnresolvable` when it cannot fit whatever happens to the
 * node's pods; `Error` when the plugin failed.
 */
export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Result
}

export interface PostFilterResult {
  /** A node the pod may be scheduled to in a later cycle (preemption's nominated node). */
  readonly nominatedNodeName?: string
  readonly status: Result
}

/** Runs only when no node is feasible (preemption lives here). */
export interface PostFilterPlugin extends Plugin {
  postFilter(
    state: CycleState,
    pod: PodInfo,
    filteredNodeStatuses: ReadonlyMap<string, Status>,
  ): PostFilterResult
}

/** Runs once per cycle before scoring, with the feasible nodes; may return Skip for its Score. */
export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: PodInfo, nodes: ReadonlyArray<NodeInfo>): Result
}

/**
 * Formerly a priority: how good is this node? Raw scores may be any integers
 * when the plugin normalizes them; after NormalizeScore they must lie in
 * 0..100. Throwing aborts the cycle with an Error status.
 */
export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number
}

/** Rescales a Score plugin's scores over all feasible nodes, in place. */
export interface NormalizeScorePlugin extends Plugin {
  normalizeScore(
    state: CycleState,
    pod: PodInfo,
    nodes: ReadonlyArray<NodeInfo>,
    scores: Float64Array,
  ): Result
}

/** Reserve is told the chosen node before binding; Unreserve undoes it when the cycle fails later. */
export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): Result
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void
}

/** Permit approves (undefined), denies (a non-success Status) or delays binding. */
export type PermitResult = Result | { readonly wait: true; readonly timeoutMs: number }

export interface PermitPlugin extends Plugin {
  permit(state: CycleState, pod: PodInfo, nodeName: string): PermitResult
}

/**
 * How the shell should bind: through the API (`pods/binding`, what
 * DefaultBinder asks for) or by running the plugin's own effect.
 */
export type BindRequest =
  | { readonly kind: "api" }
  | { readonly kind: "custom"; readonly run: Effect.Effect<void, string> }

/** Bind claims the binding of a pod (or returns Skip to let the next binder decide). */
export interface BindPlugin extends Plugin {
  bind(state: CycleState, pod: PodInfo, nodeName: string): BindRequest | Status
}

const has = (p: Plugin, method: string): boolean =>
  typeof (p as unknown as Record<string, unknown>)[method] === "function"

export const isQueueSortPlugin = (p: Plugin): p is QueueSortPlugin => has(p, "less")
export const isPreFilterPlugin = (p: Plugin): p is PreFilterPlugin => has(p, "preFilter")
export const isFilterPlugin = (p: Plugin): p is FilterPlugin => has(p, "filter")
export const isPostFilterPlugin = (p: Plugin): p is PostFilterPlugin => has(p, "postFilter")
export const isPreScorePlugin = (p: Plugin): p is PreScorePlugin => has(p, "preScore")
export const isScorePlugin = (p: Plugin): p is ScorePlugin => has(p, "score")
export const isNormalizeScorePlugin = (p: Plugin): p is NormalizeScorePlugin =>
  has(p, "normalizeScore")
export const isReservePlugin = (p: Plugin): p is ReservePlugin =>
  has(p, "reserve") && has(p, "unreserve")
export const isPermitPlugin = (p: Plugin): p is PermitPlugin => has(p, "permit")
export const isBindPlugin = (p: Plugin): p is BindPlugin => has(p, "bind")

export const isWait = (r: PermitResult): r is { readonly wait: true; readonly timeoutMs: number } =>
  r !== undefined && "wait" in r
