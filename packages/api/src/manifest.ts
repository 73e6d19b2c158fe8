/**
 * The path of a manifest through the object model, as an API server takes
 * it on create: decode (with its version's schema), default (with its
 * version's defaults), convert to the preferred version, validate. Pure: text
 * in, objects and problems out. `flotilla validate` prints the result.
 */
import { Result } from "effect"
import { type DecodeOptions, decodeYaml, type KubeObject } from "./codec.ts"
import { toPreferredVersion } from "./conversion.ts"
import { applyDefaults } from "./defaults.ts"
import { errorBody } from "./errors.ts"
import { lookupKind } from "./registry.ts"
import { validate } from "./validation/index.ts"

export interface ManifestOptions extends DecodeOptions {
  /**
   * The namespace given to namespaced objects that name none, as `kubectl`
   * does before sending them (default `default`).
   */
  readonly namespace?: string
}

/** One problem of one document, with everything `FILE:LINE: kind/name: field: message` needs. */
export interface ManifestProblem {
  readonly line: number
  /** `Kind/name`, or what is known of it. */
  readonly object: string
  readonly field: string
  readonly message: string
}

/** An object that passed, in its preferred version, with its document's first line. */
export interface ManifestObject {
  readonly object: KubeObject
  readonly line: number
  readonly warnings: ReadonlyArray<string>
}

export interface ManifestResult {
  readonly objects: ReadonlyArray<ManifestObject>
  readonly problems: ReadonlyArray<ManifestProblem>
}

const describe = (kind: string | undefined, name: string | undefined): string =>
  `${kind ?? "(unknown kind)"}/${name === undefined || name === "" ? "(no name)" : name}`

/** Gives a namespaced object without a namespace the default one. */
const withNamespace = (object: KubeObject, namespace: string): KubeObject => {
  const info = lookupKind(object.apiVersion, object.kind)
  if (info?.resource?.namespaced !== true) return object
  if ((object.metadata?.namespace ?? "") !== "") return object
  return { ...object, metadata: { ...object.metadata, namespace } }
}

/**
 * Decodes, defaults, converts and validates every document of a YAML (or
 * JSON) stream. Objects with any problem are left out of `objects`.
 */
export const processManifests = (text: string, options?: ManifestOptions): ManifestResult => {
  const objects: Array<ManifestObject> = []
  const problems: Array<ManifestProblem> = []
  for (const document of decodeYaml(text, options)) {
    const decoded = document.result
    if (Result.isFailure(decoded)) {
      const error = decoded.failure
      const object = describe(error.kind, error.name)
      for (const problem of error.problems) {
        problems.push({
          line: problem.line ?? error.line ?? document.line,
          object,
          field: problem.field,
          message: problem.message,
        })
      }
      continue
    }
    const defaulted = applyDefaults(
      withNamespace(decoded.success.value, options?.namespace ?? "default"),
    )
    const converted = toPreferredVersion(defaulted)
    const object = describe(defaulted.kind, defaulted.metadata?.name)
    if (Result.isFailure(converted)) {
      problems.push({
        line: document.line,
        object,
        field: "apiVersion",
        message: converted.failure.message,
      })
      continue
    }
    const errors = validate(converted.success)
    for (const error of errors) {
      problems.push({
        line: document.locate(error.field),
        object,
        field: error.field,
        message: errorBody(error),
      })
    }
    if (errors.length === 0) {
      const deprecation = decoded.success.info.deprecation
      objects.push({
        object: converted.success,
        line: document.line,
        warnings: [
          ...(deprecation === undefined ? [] : [deprecation]),
          ...decoded.success.warnings,
        ],
      })
    }
  }
  return { objects, problems }
}

/** `FILE:LINE: kind/name: field: message` (the field part omitted when there is none). */
export const formatProblem = (file: string, problem: ManifestProblem): string =>
  `${file}:${problem.line}: ${problem.object}: ${problem.field === "" ? "" : `${problem.field}: `}${problem.message}`
