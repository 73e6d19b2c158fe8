/**
 * Node selectors as the scheduler evaluates them (Kubernetes' `v1helper`
 * `MatchNodeSelectorTerms`, `NodeSelectorRequirementsAsSelector` and
 * `NodeSelectorRequirementsAsFieldSelector`): label requirements with In,
 * NotIn, Exists, DoesNotExist, Gt and Lt, and field requirements on
 * `metadata.name`. Terms are compiled once per pod; matching allocates nothing.
 */

/** The wire shape of a NodeSelectorRequirement (fields as Kubernetes names them). */
export interface NodeSelectorRequirementView {
  readonly key: string
  readonly operator: string
  readonly values?: ReadonlyArray<string> | undefined
}

export interface NodeSelectorTermView {
  readonly matchExpressions?: ReadonlyArray<NodeSelectorRequirementView> | undefined
  readonly matchFields?: ReadonlyArray<NodeSelectorRequirementView> | undefined
}

type Op = "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt"

/** A compiled requirement. `values` is a Set for In/NotIn; `bound` the integer for Gt/Lt. */
export interface Requirement {
  readonly key: string
  readonly op: Op
  readonly values: ReadonlySet<string>
  readonly bound: number
}

/** A compiled term; `error` set when Kubernetes would fail to convert it (it then matches nothing). */
export interface CompiledTerm {
  readonly labels: ReadonlyArray<Requirement> | undefined
  readonly fields: ReadonlyArray<Requirement> | undefined
  readonly error: string | undefined
}

const int64Pattern = /^[+-]?\d+$/

const compileRequirement = (
  r: NodeSelectorRequirementView,
  forFields: boolean,
): Requirement | string => {
  const values = r.values ?? []
  switch (r.operator) {
    case "In":
    case "NotIn":
      if (forFields && values.length !== 1) {
        return `unexpected number of value (${values.length}) for node field selector operator "${r.operator}"`
      }
      if (values.length === 0) return "for 'in', 'notin' operators, values set can't be empty"
      return { key: r.key, op: r.operator, values: new Set(values), bound: 0 }
    case "Exists":
    case "DoesNotExist":
      if (forFields) return `"${r.operator}" is not a valid node field selector operator`
      if (values.length !== 0) return "values set must be empty for exists and does not exist"
      return { key: r.key, op: r.operator, values: new Set(), bound: 0 }
    case "Gt":
    case "Lt": {
      if (forFields) return `"${r.operator}" is not a valid node field selector operator`
      if (values.length !== 1) return "for 'Gt', 'Lt' operators, exactly one value is required"
      const v = values[0]!
      if (!int64Pattern.test(v)) return "for 'Gt', 'Lt' operators, the value must be an integer"
      return { key: r.key, op: r.operator, values: new Set(), bound: Number(v) }
    }
    default:
      return forFields
        ? `"${r.operator}" is not a valid node field selector operator`
        : `"${r.operator}" is not a valid node selector operator`
  }
}

const compileList = (
  list: ReadonlyArray<NodeSelectorRequirementView>,
  forFields: boolean,
): ReadonlyArray<Requirement> | string => {
  const out: Array<Requirement> = []
  for (const r of list) {
    const c = compileRequirement(r, forFields)
    if (typeof c === "string") return c
    out.push(c)
  }
  return out
}

export const compileTerm = (term: NodeSelectorTermView): CompiledTerm => {
  const exprs = term.matchExpressions ?? []
  const fields = term.matchFields ?? []
  const labels = exprs.length > 0 ? compileList(exprs, false) : undefined
  if (typeof labels === "string") return { labels: undefined, fields: undefined, error: labels }
  const f = fields.length > 0 ? compileList(fields, true) : undefined
  if (typeof f === "string") return { labels: undefined, fields: undefined, error: f }
  return { labels, fields: f, error: undefined }
}

/** One label requirement against a label map (Kubernetes' `Requirement.Matches`). */
export const requirementMatches = (
  r: Requirement,
  labels: Readonly<Record<string, string>>,
): boolean => {
  const has = Object.hasOwn(labels, r.key)
  switch (r.op) {
    case "In":
      return has && r.values.has(labels[r.key]!)
    case "NotIn":
      return !has || !r.values.has(labels[r.key]!)
    case "Exists":
      return has
    case "DoesNotExist":
      return !has
    case "Gt":
    case "Lt": {
      if (!has) return false
      const v = labels[r.key]!
      if (!int64Pattern.test(v)) return false
      const n = Number(v)
      return r.op === "Gt" ? n > r.bound : n < r.bound
    }
  }
}

/** All requirements hold; an empty list matches nothing (Kubernetes returns `labels.Nothing()`). */
export const requirementsMatch = (
  reqs: ReadonlyArray<Requirement> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean => {
  if (reqs === undefined || reqs.length === 0) return false
  for (const r of reqs) if (!requirementMatches(r, labels)) return false
  return true
}

/** Field requirements against the node's fields; only `metadata.name` has a value. */
const fieldsMatch = (reqs: ReadonlyArray<Requirement>, nodeName: string): boolean => {
  for (const r of reqs) {
    const value = r.key === "metadata.name" ? nodeName : ""
    const inSet = r.values.has(value)
    if (r.op === "In" ? !inSet : inSet) return false
  }
  return true
}

/**
 * Kubernetes' `MatchNodeSelectorTerms`: the terms are ORed; an empty term (no
 * expressions and no fields) and a term that fails to convert match nothing;
 * inside a term the label and field requirements are ANDed.
 */
export const matchNodeSelectorTerms = (
  terms: ReadonlyArray<CompiledTerm>,
  labels: Readonly<Record<string, string>>,
  nodeName: string,
): boolean => {
  for (const t of terms) {
    if (t.error !== undefined) continue
    if (t.labels === undefined && t.fields === undefined) continue
    if (t.labels !== undefined && !requirementsMatch(t.labels, labels)) continue
    if (t.fields !== undefined && !fieldsMatch(t.fields, nodeName)) continue
    return true
  }
  return false
}
