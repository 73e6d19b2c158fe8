/**
 * Request bodies: JSON, YAML or protobuf in, a decoded object of the
 * resource's served kind out, with Kubernetes' messages for bodies that do
 * not decode (`Deployment in version "v1" cannot be handled as a Deployment:
 * strict decoding error: unknown field "spec.foo"`), for a kind or version
 * that does not belong at the URL, and for unknown media types (415).
 */
import {
  type DecodeError,
  decodeObject,
  duplicateFieldMessage,
  duplicateFields,
  duplicateKeys,
  type FieldValidation,
  goYamlOptions,
  type KubeObject,
  lookupKind,
  parseApiVersion,
} from "@flotilla/api"
import { Result } from "effect"
import { LineCounter, parseDocument } from "yaml"
import { isObject, type Obj } from "./json.ts"
import { decodeProtobuf, protobufContentType } from "./protobuf.ts"
import type { ServedResource } from "./resources.ts"
import { type ApiError, badRequest, unsupportedMediaType } from "./status.ts"

export const jsonContentType = "application/json"
export const yamlContentType = "application/yaml"

/** The media type of a `Content-Type` header, without parameters. */
export const mediaType = (contentType: string | undefined): string =>
  (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? ""

const textDecoder = new TextDecoder()

/**
 * A parsed JSON or YAML body: the value (the last of repeated keys wins, as
 * in Kubernetes) and the paths of repeated keys, in text order, when they
 * were looked for (not under `fieldValidation=Ignore`).
 */
export interface ParsedText<A = unknown> {
  readonly value: A
  readonly duplicates: ReadonlyArray<string>
}

const noDuplicates: ReadonlyArray<string> = []

/**
 * Deepest nesting of objects and arrays a body may have. Kubernetes' JSON
 * decoder stops at 10,000 levels; here every pass over a body (repeated
 * keys, decoding, patches, `JSON.stringify` itself) recurses, and the
 * stack runs out near 8,000, so the limit is lower. No object of a served
 * kind nests anywhere near it.
 */
export const maxNestingDepth = 1000

/**
 * The path (first segments) of a value nested deeper than `limit` levels
 * (the body itself is level 1), or undefined. Iterative, so a body of any
 * depth is measured without recursion.
 */
export const tooDeep = (value: unknown, limit: number): string | undefined => {
  const stack: Array<{ readonly value: unknown; readonly depth: number; readonly path: string }> = [
    { value, depth: 1, path: "" },
  ]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const v = top.value
    if (typeof v !== "object" || v === null) continue
    if (top.depth > limit) return top.path
    // The first few segments name the field; past them the path is the same key again and again.
    const named = top.depth <= 5
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++)
        stack.push({
          value: v[i],
          depth: top.depth + 1,
          path: named ? `${top.path}[${i}]` : top.path,
        })
    } else {
      for (const k of Object.keys(v))
        stack.push({
          value: (v as Record<string, unknown>)[k],
          depth: top.depth + 1,
          path: named ? (top.path === "" ? k : `${top.path}.${k}`) : top.path,
        })
    }
  }
  return undefined
}

/**
 * A 400 for a body nested deeper than `maxNestingDepth`. A body of n bytes
 * nests at most n/2 levels (an opening and a closing bracket per level in
 * JSON; YAML needs more), so small bodies skip the walk.
 */
const checkDepth = (body: Uint8Array, value: unknown): ApiError | undefined => {
  if (body.length <= 2 * maxNestingDepth) return undefined
  const path = tooDeep(value, maxNestingDepth)
  if (path === undefined) return undefined
  return depthError(path === "" ? "<body>" : `${path}...`)
}

const depthError = (field: string): ApiError =>
  badRequest(`error decoding request body: exceeded max depth of ${maxNestingDepth} at ${field}`, [
    {
      reason: "FieldValueInvalid",
      message: `exceeded max depth of ${maxNestingDepth}`,
      field,
    },
  ])

const isYamlType = (type: string): boolean =>
  type === yamlContentType || type === "application/apply-patch+yaml" || type === "text/yaml"

/**
 * Parses a JSON or YAML body into a value. YAML is read as Kubernetes reads
 * it (sigs.k8s.io/yaml on go-yaml v2: YAML 1.1 scalars, so `yes` is a
 * boolean and `0644` octal). Repeated keys are not a syntax error; unless
 * `fieldValidation` is Ignore they are returned for the caller to report.
 * For JSON the search costs two linear passes and parses again only when a
 * key is repeated.
 */
export const parseText = (
  body: Uint8Array,
  type: string,
  fieldValidation: FieldValidation = "Ignore",
): Result.Result<ParsedText, ApiError> => {
  const text = textDecoder.decode(body)
  if (isYamlType(type)) {
    const lines = new LineCounter()
    try {
      const doc = parseDocument(text, {
        lineCounter: lines,
        uniqueKeys: false,
        prettyErrors: false,
        ...goYamlOptions,
      })
      const error = doc.errors[0]
      // The YAML parser recurses per level: a body nested past what the stack holds ends here.
      if (error?.code === "RESOURCE_EXHAUSTION") return Result.fail(depthError("<body>"))
      if (error !== undefined) throw error
      const value = doc.toJS({ maxAliasCount: 100 }) as unknown
      const deep = checkDepth(body, value)
      if (deep !== undefined) return Result.fail(deep)
      const duplicates =
        fieldValidation === "Ignore"
          ? noDuplicates
          : duplicateKeys(doc.contents, lines).map((d) => d.field)
      return Result.succeed({ value, duplicates })
    } catch (e) {
      if (e instanceof RangeError) return Result.fail(depthError("<body>"))
      return Result.fail(
        badRequest(
          `error decoding YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
        ),
      )
    }
  }
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch (e) {
    return Result.fail(
      badRequest(`error decoding request body: ${e instanceof Error ? e.message : String(e)}`),
    )
  }
  const deep = checkDepth(body, value)
  if (deep !== undefined) return Result.fail(deep)
  const duplicates =
    fieldValidation === "Ignore" ? noDuplicates : duplicateFields(text, value).map((d) => d.field)
  return Result.succeed({ value, duplicates })
}

/** Reads an object body in any supported media type. */
export const parseObjectBody = (
  body: Uint8Array,
  contentType: string | undefined,
  fieldValidation: FieldValidation = "Ignore",
): Result.Result<ParsedText<Obj>, ApiError> => {
  const type = mediaType(contentType)
  let parsed: ParsedText
  if (type === protobufContentType) {
    // Protobuf messages have no repeated field names to report.
    const decoded = decodeProtobuf(body)
    if (!decoded.ok) return Result.fail(badRequest(decoded.message))
    parsed = { value: decoded.object, duplicates: noDuplicates }
  } else if (
    type === "" ||
    type === jsonContentType ||
    type === yamlContentType ||
    type === "*/*"
  ) {
    const text = parseText(body, type, fieldValidation)
    if (Result.isFailure(text)) return Result.fail(text.failure)
    parsed = text.success
  } else {
    return Result.fail(
      unsupportedMediaType(type, [jsonContentType, yamlContentType, protobufContentType]),
    )
  }
  const value = parsed.value
  if (!isObject(value)) {
    return Result.fail(badRequest("the body of the request must be a JSON or YAML object"))
  }
  return Result.succeed({ value, duplicates: parsed.duplicates })
}

/**
 * Repeated keys under a field validation mode, as Kubernetes' strict decoder
 * treats them: nothing under Ignore, warnings under Warn, and under Strict a
 * 400 `strict decoding error: duplicate field "..."` (`prefix` says what could
 * not be handled).
 */
export const checkDuplicates = (
  duplicates: ReadonlyArray<string>,
  fieldValidation: FieldValidation,
  prefix = "",
): Result.Result<ReadonlyArray<string>, ApiError> => {
  if (duplicates.length === 0 || fieldValidation === "Ignore") return Result.succeed(noDuplicates)
  const messages = duplicates.map(duplicateFieldMessage)
  if (fieldValidation === "Warn") return Result.succeed(messages)
  return Result.fail(
    badRequest(
      `${prefix}strict decoding error: ${messages.join(", ")}`,
      duplicates.map(duplicateCause),
    ),
  )
}

const cannotHandle = (kind: string, version: string): string =>
  `${kind} in version "${version}" cannot be handled as a ${kind}: `

/** Whether a decoding failed only on strict checks (unknown fields), which repeated keys join. */
const strictOnly = (error: DecodeError): boolean =>
  error.problems.length > 0 && error.problems.every((p) => p.reason === "UnknownField")

const duplicateCause = (field: string) => ({
  reason: "FieldValueDuplicate",
  message: duplicateFieldMessage(field),
  field,
})

/**
 * Kubernetes' type probe of a body's `apiVersion` and `kind`: either that is
 * neither absent, null (Go decodes it as unset) nor a string is a 400 naming it.
 */
export const typeMetaError = (value: Obj): ApiError | undefined => {
  for (const field of ["apiVersion", "kind"] as const) {
    const v = value[field]
    if (v === undefined || v === null || typeof v === "string") continue
    const type = Array.isArray(v)
      ? "array"
      : typeof v === "object"
        ? "object"
        : typeof v === "boolean"
          ? "bool"
          : "number"
    const message = `json: cannot unmarshal ${type} into Go struct field .${field} of type string`
    return badRequest(`couldn't get version/kind; json parse error: ${message}`, [
      { reason: "FieldValueInvalid", message, field },
    ])
  }
  return undefined
}

/** A decoded body: the typed object (in the version it arrived in) and its warnings. */
export interface DecodedBody {
  readonly object: KubeObject
  readonly warnings: ReadonlyArray<string>
}

/**
 * Decodes an object for a resource: a missing apiVersion or kind is taken
 * from the URL; another version of the same kind is accepted (and converted
 * later); anything else is a 400. Repeated keys (`duplicates`, from
 * `parseText`) are reported beside unknown fields, as Kubernetes' strict
 * decoder does: warnings under Warn, a 400 under Strict.
 */
export const decodeForResource = (
  served: ServedResource,
  value: Obj,
  fieldValidation: FieldValidation,
  duplicates: ReadonlyArray<string> = noDuplicates,
): Result.Result<DecodedBody, ApiError> => {
  const typeError = typeMetaError(value)
  if (typeError !== undefined) return Result.fail(typeError)
  const apiVersion =
    typeof value.apiVersion === "string" && value.apiVersion !== ""
      ? value.apiVersion
      : served.apiVersion
  const kind = typeof value.kind === "string" && value.kind !== "" ? value.kind : served.kind
  if (kind !== served.kind) {
    return Result.fail(
      badRequest(
        `the kind in the data (${kind}) does not match the expected kind (${served.kind}) of the request`,
      ),
    )
  }
  const bodyKind = lookupKind(apiVersion, kind)
  if (
    apiVersion !== served.apiVersion &&
    (bodyKind === undefined || bodyKind.group !== served.group)
  ) {
    return Result.fail(
      badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (${served.apiVersion})`,
      ),
    )
  }
  const decoded = decodeObject({ ...value, apiVersion, kind }, { fieldValidation })
  const reported = fieldValidation === "Ignore" ? noDuplicates : duplicates
  if (Result.isFailure(decoded)) {
    const error = decoded.failure
    const causes = error.problems.map((p) => ({
      reason: p.reason,
      message: p.message,
      field: p.field,
    }))
    if (!strictOnly(error)) return Result.fail(badRequest(error.message, causes))
    // Repeated keys first (their lines are not known here to interleave them).
    const both = [...reported.map(duplicateCause), ...causes]
    return Result.fail(
      badRequest(
        `${cannotHandle(kind, parseApiVersion(apiVersion).version)}strict decoding error: ${both.map((c) => c.message).join(", ")}`,
        both,
      ),
    )
  }
  const checked = checkDuplicates(
    reported,
    fieldValidation,
    cannotHandle(kind, parseApiVersion(apiVersion).version),
  )
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  const warnings = decoded.success.warnings
  return Result.succeed({
    object: decoded.success.value,
    warnings: checked.success.length === 0 ? warnings : [...checked.success, ...warnings],
  })
}
