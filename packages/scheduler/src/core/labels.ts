/**
 * Label selectors come from `@flotilla/api` (Kubernetes' `LabelSelectorAsSelector`,
 * `SelectorFromSet`, compiled matchers); this adapts them to the scheduler's
 * LabelMatcher and combines them the way Kubernetes' DefaultSelector does.
 */
import {
  selectorFromSet as apiSelectorFromSet,
  type LabelSelector,
  labelSelectorAsSelector,
  Selector,
} from "@flotilla/api"
import { Result } from "effect"
import type { LabelMatcher, Labels } from "./types.ts"

export type LabelSelectorView = LabelSelector

export class SelectorError extends Error {
  override readonly name = "SelectorError"
}

/** A LabelMatcher over an api Selector (matching allocates nothing). */
export class SelectorMatcher implements LabelMatcher {
  readonly selector: Selector
  readonly empty: boolean

  constructor(selector: Selector) {
    this.selector = selector
    this.empty = selector.empty()
  }

  matches(labels: Labels): boolean {
    return this.selector.matches(labels)
  }
}

export const everything: SelectorMatcher = new SelectorMatcher(Selector.everything())
export const nothing: SelectorMatcher = new SelectorMatcher(Selector.nothing())

/** A `map[string]string` selector (Services, ReplicationControllers). */
export const selectorFromSet = (set: Labels): SelectorMatcher =>
  new SelectorMatcher(apiSelectorFromSet(set))

/**
 * Kubernetes' `LabelSelectorAsSelector`: undefined matches nothing, an empty
 * selector everything. Throws SelectorError with Kubernetes' message when invalid.
 */
export const compileLabelSelector = (sel: LabelSelector | undefined): SelectorMatcher => {
  const r = labelSelectorAsSelector(sel)
  if (Result.isFailure(r)) throw new SelectorError(r.failure.message)
  return new SelectorMatcher(r.success)
}

/**
 * The conjunction of selectors (Kubernetes' DefaultSelector merges the
 * requirements of every Service, ReplicaSet, ... selecting a pod). Empty when
 * there are none.
 */
export const andMatchers = (ms: ReadonlyArray<SelectorMatcher>): SelectorMatcher => {
  let sel = Selector.everything()
  for (const m of ms) {
    if (m.selector.isNothing) return nothing
    sel = sel.add(...m.selector.requirements)
  }
  return new SelectorMatcher(sel)
}
