/**
 * Kubernetes field errors (apimachinery's `field.Error`) and the `Status`
 * objects that carry them: validation and decoding both report a list of
 * field errors, each rendering as `<field>: <Type>[: <value>][: <detail>]`,
 * e.g. `spec.template.spec.containers[0].name: Required value`.
 */
import type { Status, StatusCause } from "./meta/v1.ts"

/** The machine-readable cause types (`StatusCause.reason`). */
export type FieldErrorType =
  | "FieldValueNotFound"
  | "FieldValueRequired"
  | "FieldValueDuplicate"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "InternalError"
  | "FieldValueTypeInvalid"

/** One problem with one field. `badValue` is absent when the message omits it. */
export interface FieldError {
  readonly type: FieldErrorType
  readonly field: string
  readonly badValue?: unknown
  readonly detail: string
}

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: "Not found",
  FieldValueRequired: "Required value",
  FieldValueDuplicate: "Duplicate value",
  FieldValueInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueForbidden: "Forbidden",
  FieldValueTooLong: "Too long",
  FieldValueTooMany: "Too many",
  InternalError: "Internal error",
  FieldValueTypeInvalid: "Invalid value",
}

// ---------------------------------------------------------------------------
// Paths: Kubernetes' `field.Path` rendering, `a.b[0].c[key]`.

/** The path of a child field: `spec` + `replicas` = `spec.replicas`. */
export const child = (path: string, name: string): string =>
  path === "" ? name : `${path}.${name}`
/** The path of a list element: `containers[0]`. */
export const index = (path: string, i: number): string => `${path}[${i}]`
/** The path of a map entry: `requests[cpu]`. */
export const key = (path: string, k: string): string => `${path}[${k}]`

/**
 * Splits a rendered path back into segments: `a.b[0].c[x.y/z]` ->
 * `["a", "b", 0, "c", "x.y/z"]`. Bracketed numbers are list indexes; other
 * bracketed text is a map key (which may contain dots).
 */
export const parseFieldPath = (path: string): Array<string | number> => {
  const segments: Array<string | number> = []
  let i = 0
  let name = ""
  const flush = () => {
    if (name !== "") segments.push(name)
    name = ""
  }
  while (i < path.length) {
    const c = path[i]
    if (c === ".") {
      flush()
      i++
    } else if (c === "[") {
      flush()
      const end = path.indexOf("]", i)
      const inner = end < 0 ? path.slice(i + 1) : path.slice(i + 1, end)
      segments.push(/^\d+$/.test(inner) ? Number(inner) : inner)
      i = end < 0 ? path.length : end + 1
    } else {
      name += c
      i++
    }
  }
  flush()
  return segments
}

// ---------------------------------------------------------------------------
// Constructors, named and worded as apimachinery's.

export const required = (field: string, detail = ""): FieldError => ({
  type: "FieldValueRequired",
  field,
  detail,
})
export const invalid = (field: string, badValue: unknown, detail: string): FieldError => ({
  type: "FieldValueInvalid",
  field,
  badValue,
  detail,
})
export const typeInvalid = (field: string, badValue: unknown, detail: string): FieldError => ({
  type: "FieldValueTypeInvalid",
  field,
  badValue,
  detail,
})
export const duplicate = (field: string, badValue: unknown): FieldError => ({
  type: "FieldValueDuplicate",
  field,
  badValue,
  detail: "",
})
export const notFound = (field: string, badValue: unknown): FieldError => ({
  type: "FieldValueNotFound",
  field,
  badValue,
  detail: "",
})
export const notSupported = (
  field: string,
  badValue: unknown,
  supported: ReadonlyArray<string>,
): FieldError => ({
  type: "FieldValueNotSupported",
  field,
  badValue,
  detail:
    supported.length === 0
      ? ""
      : `supported values: ${supported.map((v) => JSON.stringify(v)).join(", ")}`,
})
export const forbidden = (field: string, detail: string): FieldError => ({
  type: "FieldValueForbidden",
  field,
  detail,
})
export const tooLong = (field: string, maxLength: number): FieldError => ({
  type: "FieldValueTooLong",
  field,
  detail: `may not be more than ${maxLength} bytes`,
})
export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  type: "FieldValueTooMany",
  field,
  badValue: actual,
  detail: `must have at most ${max} items`,
})
export const internalError = (field: string, detail: string): FieldError => ({
  type: "InternalError",
  field,
  detail,
})

// ---------------------------------------------------------------------------
// Rendering

const isStringMap = (value: object): value is Record<string, string> =>
  !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string")

/**
 * A bad value Go prints through its `String()` method, unquoted: int-or-string
 * values (`Invalid value: 110%: ...`).
 */
export class Unquoted {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** Wraps an int-or-string bad value so that it prints as Go prints `intstr.IntOrString`. */
export const unquoted = (value: number | string): Unquoted => new Unquoted(String(value))

/**
 * Renders a bad value the way current Kubernetes prints it in a field error:
 * numbers and booleans plainly, strings quoted, `String()` values unquoted,
 * and anything else as JSON (maps with sorted keys, as Go marshals them).
 */
export const formatValue = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  if (value instanceof Unquoted) return value.text
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
    case "boolean":
    case "bigint":
      return String(value)
    case "object": {
      if (isStringMap(value)) {
        const sorted: Record<string, string> = {}
        for (const k of Object.keys(value).sort()) sorted[k] = value[k] as string
        return JSON.stringify(sorted)
      }
      return JSON.stringify(value)
    }
    default:
      return String(value)
  }
}

/** The message without the field: `Invalid value: "Foo": a lowercase RFC 1123 ...`. */
export const errorBody = (error: FieldError): string => {
  const head = typeText[error.type]
  const omitsValue =
    error.type === "FieldValueRequired" ||
    error.type === "FieldValueForbidden" ||
    error.type === "FieldValueTooLong" ||
    error.type === "InternalError" ||
    !("badValue" in error)
  const body = omitsValue ? head : `${head}: ${formatValue(error.badValue)}`
  return error.detail === "" ? body : `${body}: ${error.detail}`
}

/** The whole message: `<field>: <body>`. */
export const errorString = (error: FieldError): string => `${error.field}: ${errorBody(error)}`

/** An aggregate's message: one error alone, several as `[a, b]`, duplicates dropped. */
export const aggregateMessage = (messages: ReadonlyArray<string>): string => {
  const unique = [...new Set(messages)]
  return unique.length === 1 ? (unique[0] ?? "") : `[${unique.join(", ")}]`
}

/** A kind qualified by its group, as Kubernetes prints it: `Deployment.apps`, `Pod`. */
export const qualifiedKind = (group: string, kind: string): string =>
  group === "" ? kind : `${kind}.${group}`

/** A field error as a `StatusCause`. */
export const toCause = (error: FieldError): StatusCause => ({
  reason: error.type,
  message: errorBody(error),
  field: error.field,
})

/**
 * The 422 `Status` for an object that failed validation:
 * `Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: ..., ...]`.
 */
export const invalidStatus = (
  target: { readonly group: string; readonly kind: string; readonly name: string },
  errors: ReadonlyArray<FieldError>,
): Status => ({
  apiVersion: "v1",
  kind: "Status",
  metadata: {},
  status: "Failure",
  message: `${qualifiedKind(target.group, target.kind)} ${JSON.stringify(target.name)} is invalid: ${aggregateMessage(errors.map(errorString))}`,
  reason: "Invalid",
  details: {
    name: target.name,
    group: target.group,
    kind: target.kind,
    causes: errors.map(toCause),
  },
  code: 422,
})

/** A 400 `Status` (a body that could not be decoded). */
export const badRequestStatus = (
  message: string,
  causes: ReadonlyArray<StatusCause> = [],
): Status => ({
  apiVersion: "v1",
  kind: "Status",
  metadata: {},
  status: "Failure",
  message,
  reason: "BadRequest",
  ...(causes.length > 0 ? { details: { causes } } : {}),
  code: 400,
})
