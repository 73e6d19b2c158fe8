import type { ReplicaSet, Service } from "@flotilla/api"
import type { SpreadSelectorSource } from "./core/framework.ts"
import {
  andMatchers,
  compileLabelSelector,
  SelectorError,
  type SelectorMatcher,
  selectorFromSet,
} from "./core/labels.ts"
import type { PodInfo } from "./core/types.ts"

/** The objects whose selectors SelectorSpread reads. */
export interface SpreadObjects {
  readonly services: Iterable<Service>
  readonly replicaSets: Iterable<ReplicaSet>
}

/**
 * Kubernetes' `DefaultSelector` over Services and ReplicaSets: the selectors
 * of every Service (a non-nil `spec.selector` map) and every ReplicaSet (a
 * non-empty `spec.selector`) in the pod's namespace that select the pod,
 * ANDed. `list` is read on every call, so it may be a live view.
 */
export const makeSpreadSelectors = (list: () => SpreadObjects): SpreadSelectorSource => ({
  selectorFor: (pod: PodInfo) => {
    const selectors: Array<SelectorMatcher> = []
    const objects = list()
    for (const s of objects.services) {
      if ((s.metadata.namespace ?? "default") !== pod.namespace) continue
      const set = s.spec.selector
      if (set === undefined) continue
      const m = selectorFromSet(set)
      if (m.matches(pod.labels)) selectors.push(m)
    }
    for (const rs of objects.replicaSets) {
      if ((rs.metadata.namespace ?? "default") !== pod.namespace) continue
      let m: SelectorMatcher
      try {
        m = compileLabelSelector(rs.spec.selector)
      } catch (e) {
        if (e instanceof SelectorError) continue
        throw e
      }
      if (m.empty || !m.matches(pod.labels)) continue
      selectors.push(m)
    }
    return andMatchers(selectors)
  },
})
