import type { TermGroup } from "../affinity-index.ts"
import type {
  CycleState,
  FilterPlugin,
  Handle,
  NormalizeScorePlugin,
  PreFilterPlugin,
  PreScorePlugin,
  ScorePlugin,
} from "../framework.ts"
import type { NodeInfo } from "../nodeinfo.ts"
import { MaxNodeScore } from "../normalize.ts"
import * as S from "../status.ts"
import type { AffinityTerm, Labels, PodInfo, WeightedAffinityTerm } from "../types.ts"

export const InterPodAffinityName = "InterPodAffinity"
const preFilterKey = `PreFilter${InterPodAffinityName}`
const preScoreKey = `PreScore${InterPodAffinityName}`

/** Kubernetes v1.18 reasons; a failing node reports the general one plus the specific one. */
export const ErrReasonExistingAntiAffinityRulesNotMatch =
  "node(s) didn't satisfy existing pods anti-affinity rules"
export const ErrReasonAffinityNotMatch = "node(s) didn't match pod affinity/anti-affinity"
export const ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules"
export const ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules"

const existingAntiAffinityFailure = S.unschedulable(
  ErrReasonAffinityNotMatch,
  ErrReasonExistingAntiAffinityRulesNotMatch,
)
const affinityFailure = S.unresolvable(ErrReasonAffinityNotMatch, ErrReasonAffinityRulesNotMatch)
const antiAffinityFailure = S.unschedulable(
  ErrReasonAffinityNotMatch,
  ErrReasonAntiAffinityRulesNotMatch,
)

/** Counts per topology pair (key, value), without allocating on lookup. */
export class TopologyCounts {
  readonly byKey = new Map<string, Map<string, number>>()

  get size(): number {
    return this.byKey.size
  }

  add(key: string, value: string, delta: number): void {
    let m = this.byKey.get(key)
    if (m === undefined) {
      m = new Map()
      this.byKey.set(key, m)
    }
    const n = (m.get(value) ?? 0) + delta
    if (n === 0) {
      m.delete(value)
      if (m.size === 0) this.byKey.delete(key)
    } else m.set(value, n)
  }

  get(key: string, value: string): number {
    return this.byKey.get(key)?.get(value) ?? 0
  }
}

/** Kubernetes' `PodMatchesTermsNamespaceAndSelector`. */
export const podMatchesTerm = (pod: PodInfo, term: AffinityTerm): boolean =>
  term.namespaces.has(pod.namespace) && term.selector.matches(pod.labels)

/** True iff the pod matches every term (false for no terms). */
export const podMatchesAllTerms = (pod: PodInfo, terms: ReadonlyArray<AffinityTerm>): boolean => {
  if (terms.length === 0) return false
  for (const t of terms) if (!podMatchesTerm(pod, t)) return false
  return true
}

interface PreFilterState {
  /** Pairs where some existing pod's required anti-affinity term matches the incoming pod. */
  readonly existingAntiAffinity: TopologyCounts
  /** Pairs with existing pods matching all of the incoming pod's required affinity terms. */
  readonly affinity: TopologyCounts
  /** Pairs with existing pods matching one of the incoming pod's required anti-affinity terms. */
  readonly antiAffinity: TopologyCounts
}

export interface InterPodAffinityArgs {
  /** Weight of an existing pod's required affinity term matched by the incoming pod, in scoring (0..100). */
  readonly hardPodAffinityWeight: number
}

const hasTopologyValue = (labels: Labels, key: string): boolean => Object.hasOwn(labels, key)

/**
 * Filter (legacy MatchInterPodAffinity) and Score (legacy
 * InterPodAffinityPriority), Kubernetes v1.18 semantics:
 *
 * - no existing pod's required anti-affinity term may match the pod within
 *   the node's topology domain;
 * - every required affinity term of the pod must be matched by existing pods
 *   in the node's domain, except when no pod anywhere matches and the pod
 *   matches its own terms (the first replica of a self-affine set);
 * - no required anti-affinity term of the pod may be matched in the domain.
 *
 * The score sums, per topology domain, the weights of preferred terms the
 * pod and existing pods match in either direction (anti-affinity subtracts;
 * existing pods' required affinity counts `hardPodAffinityWeight`), then maps
 * min..max to 0..100.
 */
export class InterPodAffinity
  implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, NormalizeScorePlugin
{
  readonly name = InterPodAffinityName
  private readonly handle: Handle
  private readonly hardPodAffinityWeight: number

  constructor(handle: Handle, args: InterPodAffinityArgs = { hardPodAffinityWeight: 1 }) {
    this.handle = handle
    this.hardPodAffinityWeight = args.hardPodAffinityWeight
  }

  /** Labels of the node an assigned pod is on; undefined when the node is unknown. */
  private nodeLabels(pod: PodInfo): Labels | undefined {
    return this.handle.snapshot.getNode(pod.nodeName)?.facts?.labels
  }

  /** Adds `amount` at the topology value of every assigned pod matching the term. */
  private countMatching(term: AffinityTerm, into: TopologyCounts, amount: number): void {
    this.handle.snapshot.affinityIndex.candidates(term, (existing) => {
      const labels = this.nodeLabels(existing)
      if (
        labels === undefined ||
        !podMatchesTerm(existing, term) ||
        !hasTopologyValue(labels, term.topologyKey)
      ) {
        return
      }
      into.add(term.topologyKey, labels[term.topologyKey]!, amount)
    })
  }

  preFilter(state: CycleState, pod: PodInfo): S.Result {
    const index = this.handle.snapshot.affinityIndex
    // Existing pods' required anti-affinity: one match per distinct term.
    const existingAntiAffinity = new TopologyCounts()
    for (const g of index.requiredAntiAffinity.groups.values()) {
      if (g.counts.size === 0 || !podMatchesTerm(pod, g.term)) continue
      for (const [value, n] of g.counts) existingAntiAffinity.add(g.term.topologyKey, value, n)
    }
    // The pod's own required terms: only pods their selectors can match.
    const affinity = new TopologyCounts()
    const antiAffinity = new TopologyCounts()
    const a = pod.affinity
    if (a !== undefined) {
      const terms = a.requiredAffinity
      if (terms.length > 0) {
        index.candidates(terms[0]!, (existing) => {
          const labels = this.nodeLabels(existing)
          if (labels === undefined || !podMatchesAllTerms(existing, terms)) return
          for (const t of terms) {
            if (hasTopologyValue(labels, t.topologyKey))
              affinity.add(t.topologyKey, labels[t.topologyKey]!, 1)
          }
        })
      }
      for (const t of a.requiredAntiAffinity) this.countMatching(t, antiAffinity, 1)
    }
    const s: PreFilterState = { existingAntiAffinity, affinity, antiAffinity }
    state.write(preFilterKey, s)
    return undefined
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): S.Result {
    const s = state.read<PreFilterState>(preFilterKey)
    if (s === undefined) return S.error(`error reading "${preFilterKey}" from cycleState`)
    const labels = node.facts!.labels
    if (s.existingAntiAffinity.size > 0) {
      for (const [key, values] of s.existingAntiAffinity.byKey) {
        if (hasTopologyValue(labels, key) && (values.get(labels[key]!) ?? 0) > 0)
          return existingAntiAffinityFailure
      }
    }
    const a = pod.affinity
    if (a === undefined) return undefined
    const terms = a.requiredAffinity
    if (terms.length > 0) {
      let all = true
      for (const t of terms) {
        if (
          !hasTopologyValue(labels, t.topologyKey) ||
          s.affinity.get(t.topologyKey, labels[t.topologyKey]!) <= 0
        ) {
          all = false
          break
        }
      }
      // The first pod of a group with affinity to itself may go anywhere.
      if (!all && (s.affinity.size !== 0 || !a.hasPodAffinity || !podMatchesAllTerms(pod, terms))) {
        return affinityFailure
      }
    }
    for (const t of a.requiredAntiAffinity) {
      if (
        hasTopologyValue(labels, t.topologyKey) &&
        s.antiAffinity.get(t.topologyKey, labels[t.topologyKey]!) > 0
      ) {
        return antiAffinityFailure
      }
    }
    return undefined
  }

  preScore(state: CycleState, pod: PodInfo, nodes: ReadonlyArray<NodeInfo>): S.Result {
    if (nodes.length === 0) return undefined
    const index = this.handle.snapshot.affinityIndex
    const scores = new TopologyCounts()
    // The pod's preferred terms against existing pods.
    const a = pod.affinity
    if (a !== undefined) {
      const own = (t: WeightedAffinityTerm, sign: number): void => {
        if (t.weight !== 0) this.countMatching(t, scores, sign * t.weight)
      }
      for (const t of a.preferredAffinity) own(t, 1)
      for (const t of a.preferredAntiAffinity) own(t, -1)
    }
    // Existing pods' terms against the pod, a group of equal terms at a time.
    const groups = (gs: Iterable<TermGroup>, weight: (g: TermGroup) => number): void => {
      for (const g of gs) {
        const w = weight(g)
        if (w === 0 || g.counts.size === 0 || !podMatchesTerm(pod, g.term)) continue
        for (const [value, n] of g.counts) scores.add(g.term.topologyKey, value, w * n)
      }
    }
    if (this.hardPodAffinityWeight > 0) {
      groups(index.requiredAffinity.groups.values(), () => this.hardPodAffinityWeight)
    }
    groups(index.preferredAffinity.groups.values(), (g) => g.weight)
    groups(index.preferredAntiAffinity.groups.values(), (g) => -g.weight)
    state.write(preScoreKey, scores)
    return undefined
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const s = state.read<TopologyCounts>(preScoreKey)
    if (s === undefined) throw new Error(`Error reading "${preScoreKey}" from cycleState`)
    if (s.size === 0) return 0
    const labels = node.facts!.labels
    let score = 0
    for (const [key, values] of s.byKey) {
      if (hasTopologyValue(labels, key)) score += values.get(labels[key]!) ?? 0
    }
    return score
  }

  normalizeScore(
    state: CycleState,
    _p: PodInfo,
    _n: ReadonlyArray<NodeInfo>,
    scores: Float64Array,
  ): S.Result {
    const s = state.read<TopologyCounts>(preScoreKey)
    if (s === undefined) return S.error(`Error reading "${preScoreKey}" from cycleState`)
    if (s.size === 0) return undefined
    let maxCount = 0
    let minCount = 0
    for (const x of scores) {
      if (x > maxCount) maxCount = x
      if (x < minCount) minCount = x
    }
    const diff = maxCount - minCount
    for (let i = 0; i < scores.length; i++) {
      scores[i] = diff > 0 ? Math.trunc(MaxNodeScore * ((scores[i]! - minCount) / diff)) : 0
    }
    return undefined
  }
}
