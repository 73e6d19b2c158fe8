/**
 * Label and field selectors of list and watch requests, compiled once into a
 * predicate on objects. Field selectors accept the fields Kubernetes makes
 * selectable for each kind (`spec.nodeName` for pods, `involvedObject.*` for
 * events, ...); anything else is a 400 with Kubernetes' message.
 */
import {
  compileFieldSelector,
  defaultSelectableFields,
  eventSelectableFields,
  type FieldSelectorError,
  namespaceSelectableFields,
  nodeSelectableFields,
  parseFieldSelector,
  parseSelector,
  podSelectableFields,
  type SelectableFields,
  serviceSelectableFields,
} from "@flotilla/api"
import { Result } from "effect"
import { isObject, metadataOf, type Obj } from "./json.ts"

const selectableFields = (resource: string, kind: string): SelectableFields<never> => {
  switch (resource) {
    case "pods":
      return podSelectableFields as SelectableFields<never>
    case "nodes":
      return nodeSelectableFields as SelectableFields<never>
    case "namespaces":
      return namespaceSelectableFields as SelectableFields<never>
    case "events":
      return eventSelectableFields as SelectableFields<never>
    case "services":
      return serviceSelectableFields as SelectableFields<never>
    default:
      return defaultSelectableFields(kind) as SelectableFields<never>
  }
}

/** A compiled selector; `everything` is true when it selects every object. */
export interface Predicate {
  readonly matches: (object: Obj) => boolean
  readonly everything: boolean
}

/** Compiles `labelSelector` and `fieldSelector`, or returns the message of the first bad one. */
export const compileSelectors = (
  resource: string,
  kind: string,
  labelSelector: string,
  fieldSelector: string,
): Result.Result<Predicate, string> => {
  const labels = parseSelector(labelSelector)
  if (Result.isFailure(labels)) return Result.fail(labels.failure.message)
  const fields = parseFieldSelector(fieldSelector)
  if (Result.isFailure(fields)) return Result.fail(fields.failure.message)
  const compiled: Result.Result<(o: never) => boolean, FieldSelectorError> = compileFieldSelector(
    fields.success,
    selectableFields(resource, kind),
  )
  if (Result.isFailure(compiled)) return Result.fail(compiled.failure.message)
  const labelMatch = labels.success
  const fieldMatch = compiled.success as (o: Obj) => boolean
  const noLabels = labelMatch.requirements.length === 0 && !labelMatch.isNothing
  const noFields = fields.success.empty()
  return Result.succeed({
    everything: noLabels && noFields,
    matches: (object) => {
      if (!noLabels) {
        const l = metadataOf(object).labels
        if (!labelMatch.matches(isObject(l) ? (l as Record<string, string>) : {})) return false
      }
      return noFields || fieldMatch(object)
    },
  })
}
