import type { SelectorMatcher } from "./labels.ts"
import type { AffinityTerm, LabelMatcher, Labels, PodInfo } from "./types.ts"

/** A requirement (`=`, `==` or `in`) that limits matching pods to some label values. */
const pinnedRequirement = (
  selector: LabelMatcher,
): { readonly key: string; readonly values: ReadonlyArray<string> } | undefined => {
  const s = (selector as Partial<SelectorMatcher>).selector
  if (s === undefined) return undefined
  for (const r of s.requirements) {
    if (r.operator === "=" || r.operator === "==" || r.operator === "in")
      return { key: r.key, values: r.values }
  }
  return undefined
}

/** Existing pods' terms with the same signature and weight, counted per topology value. */
export interface TermGroup {
  readonly term: AffinityTerm
  readonly weight: number
  /** Topology value (of `term.topologyKey` on the pods' nodes) -> number of such terms. */
  readonly counts: Map<string, number>
  /** Terms in the group, counted even when their node lacks the topology label. */
  members: number
}

/** Groups of one kind of term (e.g. required anti-affinity) across all assigned pods. */
export class TermGroups {
  readonly groups = new Map<string, TermGroup>()

  add(term: AffinityTerm, weight: number, nodeLabels: Labels | undefined, delta: 1 | -1): void {
    const key = `${weight}|${term.signature}`
    let g = this.groups.get(key)
    if (g === undefined) {
      if (delta < 0) return
      g = { term, weight, counts: new Map(), members: 0 }
      this.groups.set(key, g)
    }
    g.members += delta
    if (nodeLabels !== undefined && Object.hasOwn(nodeLabels, term.topologyKey)) {
      const v = nodeLabels[term.topologyKey]!
      const n = (g.counts.get(v) ?? 0) + delta
      if (n === 0) g.counts.delete(v)
      else g.counts.set(v, n)
    }
    if (g.members === 0) this.groups.delete(key)
  }
}

/**
 * Indexes for InterPodAffinity, maintained with the cache so a cycle does not
 * scan every pod in the cluster (Kubernetes does, in parallel):
 *
 * - existing pods' (anti-)affinity terms grouped by signature and counted per
 *   topology value, so the incoming pod is matched once per distinct term;
 * - assigned pods by namespace and label, so the incoming pod's terms visit
 *   only pods their selector can match.
 *
 * Invariant: the counts equal a recount over every assigned pod whose node is known.
 */
export class AffinityIndex {
  readonly requiredAntiAffinity = new TermGroups()
  readonly requiredAffinity = new TermGroups()
  readonly preferredAffinity = new TermGroups()
  readonly preferredAntiAffinity = new TermGroups()
  /** namespace -> pods. */
  private readonly byNamespace = new Map<string, Set<PodInfo>>()
  /** namespace -> label key -> label value -> pods. */
  private readonly byLabel = new Map<string, Map<string, Map<string, Set<PodInfo>>>>()

  /** Counts a pod's terms at its node's topology values (labels undefined: node unknown). */
  addTerms(pod: PodInfo, nodeLabels: Labels | undefined, delta: 1 | -1): void {
    const a = pod.affinity
    if (a === undefined) return
    for (const t of a.requiredAntiAffinity) this.requiredAntiAffinity.add(t, 0, nodeLabels, delta)
    if (a.hasPodAffinity) {
      for (const t of a.requiredAffinity) this.requiredAffinity.add(t, 0, nodeLabels, delta)
      for (const t of a.preferredAffinity)
        this.preferredAffinity.add(t, t.weight, nodeLabels, delta)
    }
    if (a.hasPodAntiAffinity) {
      for (const t of a.preferredAntiAffinity)
        this.preferredAntiAffinity.add(t, t.weight, nodeLabels, delta)
    }
  }

  addPod(pod: PodInfo): void {
    let ns = this.byNamespace.get(pod.namespace)
    if (ns === undefined) {
      ns = new Set()
      this.byNamespace.set(pod.namespace, ns)
    }
    ns.add(pod)
    let keys = this.byLabel.get(pod.namespace)
    if (keys === undefined) {
      keys = new Map()
      this.byLabel.set(pod.namespace, keys)
    }
    for (const k of Object.keys(pod.labels)) {
      let values = keys.get(k)
      if (values === undefined) {
        values = new Map()
        keys.set(k, values)
      }
      const v = pod.labels[k]!
      let set = values.get(v)
      if (set === undefined) {
        set = new Set()
        values.set(v, set)
      }
      set.add(pod)
    }
  }

  removePod(pod: PodInfo): void {
    const ns = this.byNamespace.get(pod.namespace)
    if (ns !== undefined) {
      ns.delete(pod)
      if (ns.size === 0) this.byNamespace.delete(pod.namespace)
    }
    const keys = this.byLabel.get(pod.namespace)
    if (keys === undefined) return
    for (const k of Object.keys(pod.labels)) {
      const values = keys.get(k)
      const v = pod.labels[k]!
      const set = values?.get(v)
      if (set === undefined) continue
      set.delete(pod)
      if (set.size === 0) values!.delete(v)
      if (values!.size === 0) keys.delete(k)
    }
    if (keys.size === 0) this.byLabel.delete(pod.namespace)
  }

  /**
   * Calls `visit` for every assigned pod that may match the term: pods in the
   * term's namespaces carrying a label value the selector requires, or all
   * pods in those namespaces when the selector pins no label. `visit` must
   * still check the term.
   */
  candidates(term: AffinityTerm, visit: (pod: PodInfo) => void): void {
    this.candidatesFor(term.namespaces, term.selector, visit)
  }

  /** True when `candidatesFor` can narrow the search by a label the selector pins. */
  static pins(selector: LabelMatcher): boolean {
    return pinnedRequirement(selector) !== undefined
  }

  /** Like `candidates`, for any namespaces and selector. */
  candidatesFor(
    namespaces: Iterable<string>,
    selector: LabelMatcher,
    visit: (pod: PodInfo) => void,
  ): void {
    if ((selector as Partial<SelectorMatcher>).selector?.isNothing) return
    const pinned = pinnedRequirement(selector)
    for (const ns of namespaces) {
      if (pinned === undefined) {
        const all = this.byNamespace.get(ns)
        if (all !== undefined) for (const p of all) visit(p)
        continue
      }
      const values = this.byLabel.get(ns)?.get(pinned.key)
      if (values === undefined) continue
      for (const v of pinned.values) {
        const set = values.get(v)
        if (set !== undefined) for (const p of set) visit(p)
      }
    }
  }
}
