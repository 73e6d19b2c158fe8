import type { LabelMatcher, Labels } from "./types.ts"

/** The wire shape of a metav1.LabelSelector. */
export interface LabelSelectorView {
  readonly matchLabels?: Readonly<Record<string, string>> | undefined
  readonly matchExpressions?:
    | ReadonlyArray<{
        readonly key: string
        readonly operator: string
        readonly values?: ReadonlyArray<string> | undefined
      }>
    | undefined
}

export class SelectorError extends Error {
  override readonly name = "SelectorError"
}

type Op = 0 | 1 | 2 | 3 // In, NotIn, Exists, DoesNotExist

interface Req {
  readonly key: string
  readonly op: Op
  /** Single value (the common `matchLabels` case) or a set. */
  readonly one: string | undefined
  readonly many: ReadonlySet<string> | undefined
}

const reqMatches = (r: Req, labels: Labels): boolean => {
  const has = Object.hasOwn(labels, r.key)
  switch (r.op) {
    case 0:
      return has && (r.one !== undefined ? labels[r.key] === r.one : r.many!.has(labels[r.key]!))
    case 1:
      return !has || (r.one !== undefined ? labels[r.key] !== r.one : !r.many!.has(labels[r.key]!))
    case 2:
      return has
    case 3:
      return !has
  }
}

/** A compiled selector: all requirements must hold. Matching allocates nothing. */
export class RequirementsMatcher implements LabelMatcher {
  readonly reqs: ReadonlyArray<Req>
  readonly empty: boolean

  constructor(reqs: ReadonlyArray<Req>) {
    this.reqs = reqs
    this.empty = reqs.length === 0
  }

  matches(labels: Labels): boolean {
    const reqs = this.reqs
    for (let i = 0; i < reqs.length; i++) if (!reqMatches(reqs[i]!, labels)) return false
    return true
  }

  /** The conjunction of two selectors (Kubernetes' `Selector.Add`). */
  and(other: RequirementsMatcher): RequirementsMatcher {
    return new RequirementsMatcher([...this.reqs, ...other.reqs])
  }
}

/** Matches every label set (`Selector.Everything()`). */
export const everything: RequirementsMatcher = new RequirementsMatcher([])

/** Matches nothing (`Selector.Nothing()`, a nil LabelSelector); `empty` is false. */
export const nothing: LabelMatcher = { empty: false, matches: () => false }

const req = (key: string, op: Op, values: ReadonlyArray<string>): Req =>
  values.length === 1
    ? { key, op, one: values[0], many: undefined }
    : { key, op, one: undefined, many: new Set(values) }

/** A `map[string]string` selector (Services, ReplicationControllers): every pair must match. */
export const selectorFromSet = (set: Readonly<Record<string, string>>): RequirementsMatcher => {
  const reqs: Array<Req> = []
  for (const k of Object.keys(set).sort()) reqs.push(req(k, 0, [set[k]!]))
  return new RequirementsMatcher(reqs)
}

/**
 * Kubernetes' `LabelSelectorAsSelector`: undefined matches nothing, an empty
 * selector everything; `matchLabels` and `matchExpressions` are ANDed.
 * Throws SelectorError for an unknown operator or a wrong number of values.
 */
export const compileLabelSelector = (sel: LabelSelectorView | undefined): LabelMatcher => {
  if (sel === undefined) return nothing
  const reqs: Array<Req> = []
  if (sel.matchLabels !== undefined) {
    for (const k of Object.keys(sel.matchLabels)) reqs.push(req(k, 0, [sel.matchLabels[k]!]))
  }
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values ?? []
    switch (e.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0)
          throw new SelectorError("for 'in', 'notin' operators, values set can't be empty")
        reqs.push(req(e.key, e.operator === "In" ? 0 : 1, values))
        break
      case "Exists":
      case "DoesNotExist":
        if (values.length !== 0)
          throw new SelectorError("values set must be empty for exists and does not exist")
        reqs.push({
          key: e.key,
          op: e.operator === "Exists" ? 2 : 3,
          one: undefined,
          many: undefined,
        })
        break
      default:
        throw new SelectorError(`"${e.operator}" is not a valid pod selector operator`)
    }
  }
  return reqs.length === 0 ? everything : new RequirementsMatcher(reqs)
}

/** The AND of several matchers; empty when all are empty (Kubernetes' merged DefaultSelector). */
export const andMatchers = (ms: ReadonlyArray<LabelMatcher>): LabelMatcher => {
  const nonEmpty = ms.filter((m) => !m.empty)
  if (nonEmpty.length === 0) return everything
  if (nonEmpty.length === 1) return nonEmpty[0]!
  if (nonEmpty.every((m) => m instanceof RequirementsMatcher)) {
    return new RequirementsMatcher(nonEmpty.flatMap((m) => (m as RequirementsMatcher).reqs))
  }
  return { empty: false, matches: (labels) => nonEmpty.every((m) => m.matches(labels)) }
}
