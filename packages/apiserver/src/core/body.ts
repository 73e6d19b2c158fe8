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
  type FieldValidation,
  type KubeObject,
  lookupKind,
  parseApiVersion,
} from "@flotilla/api"
import { Result } from "effect"
import { parse as parseYaml } from "yaml"
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

/** Parses a JSON or YAML body into a value. */
export const parseText = (body: Uint8Array, type: string): Result.Result<unknown, ApiError> => {
  const text = textDecoder.decode(body)
  if (type === yamlContentType || type === "application/apply-patch+yaml" || type === "text/yaml") {
    try {
      return Result.succeed(parseYaml(text, { maxAliasCount: 100 }) as unknown)
    } catch (e) {
      return Result.fail(
        badRequest(
          `error decoding YAML: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
        ),
      )
    }
  }
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch (e) {
    return Result.fail(
      badRequest(`error decoding request body: ${e instanceof Error ? e.message : String(e)}`),
    )
  }
}

/** Reads an object body in any supported media type. */
export const parseObjectBody = (
  body: Uint8Array,
  contentType: string | undefined,
): Result.Result<Obj, ApiError> => {
  const type = mediaType(contentType)
  let value: unknown
  if (type === protobufContentType) {
    const decoded = decodeProtobuf(body)
    if (!decoded.ok) return Result.fail(badRequest(decoded.message))
    value = decoded.object
  } else if (
    type === "" ||
    type === jsonContentType ||
    type === yamlContentType ||
    type === "*/*"
  ) {
    const parsed = parseText(body, type)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    value = parsed.success
  } else {
    return Result.fail(
      unsupportedMediaType(type, [jsonContentType, yamlContentType, protobufContentType]),
    )
  }
  if (!isObject(value)) {
    return Result.fail(badRequest("the body of the request must be a JSON or YAML object"))
  }
  return Result.succeed(value)
}

const decodeMessage = (kind: string, version: string, error: DecodeError): string => {
  if (error.problems.length > 0 && error.problems.every((p) => p.reason === "UnknownField")) {
    return `${kind} in version "${version}" cannot be handled as a ${kind}: strict decoding error: ${error.problems
      .map((p) => p.message)
      .join(", ")}`
  }
  return error.message
}

/** A decoded body: the typed object (in the version it arrived in) and its warnings. */
export interface DecodedBody {
  readonly object: KubeObject
  readonly warnings: ReadonlyArray<string>
}

/**
 * Decodes an object for a resource: a missing apiVersion or kind is taken
 * from the URL; another version of the same kind is accepted (and converted
 * later); anything else is a 400.
 */
export const decodeForResource = (
  served: ServedResource,
  value: Obj,
  fieldValidation: FieldValidation,
): Result.Result<DecodedBody, ApiError> => {
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
  if (Result.isFailure(decoded)) {
    const error = decoded.failure
    return Result.fail(
      badRequest(
        decodeMessage(kind, parseApiVersion(apiVersion).version, error),
        error.problems.map((p) => ({ reason: p.reason, message: p.message, field: p.field })),
      ),
    )
  }
  return Result.succeed({ object: decoded.success.value, warnings: decoded.success.warnings })
}
