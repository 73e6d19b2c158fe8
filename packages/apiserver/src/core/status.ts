/**
 * API errors as Kubernetes' `Status` objects, worded as apimachinery's
 * `errors` package words them (kubectl prints the message, and decides what
 * to do from `reason` and `code`).
 */
import type { Status, StatusCause } from "@flotilla/api"

/** A failed request: the HTTP code and the `Status` body. */
export interface ApiError {
  readonly _tag: "ApiError"
  readonly status: Status
}

const failure = (
  code: number,
  reason: string,
  message: string,
  details?: Status["details"],
): Status => ({
  apiVersion: "v1",
  kind: "Status",
  metadata: {},
  status: "Failure",
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code,
})

export const apiError = (status: Status): ApiError => ({ _tag: "ApiError", status })

export const isApiError = (u: unknown): u is ApiError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "ApiError"

/** How Kubernetes names a resource in messages: its plural, qualified by its group. */
export interface Target {
  /** `deployments`, `pods`. */
  readonly resource: string
  readonly group: string
  readonly name: string
}

const qualified = (t: Target) => (t.group === "" ? t.resource : `${t.resource}.${t.group}`)
const targetDetails = (t: Target) => ({ name: t.name, group: t.group, kind: t.resource })

export const notFound = (t: Target): ApiError =>
  apiError(failure(404, "NotFound", `${qualified(t)} "${t.name}" not found`, targetDetails(t)))

export const alreadyExists = (t: Target): ApiError =>
  apiError(
    failure(409, "AlreadyExists", `${qualified(t)} "${t.name}" already exists`, targetDetails(t)),
  )

export const conflict = (t: Target, reason: string): ApiError =>
  apiError(
    failure(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${reason}`,
      targetDetails(t),
    ),
  )

/** The optimistic-concurrency failure kubectl users know. */
export const modifiedConflict = (t: Target): ApiError =>
  conflict(
    t,
    "the object has been modified; please apply your changes to the latest version and try again",
  )

export const badRequest = (message: string, causes?: ReadonlyArray<StatusCause>): ApiError =>
  apiError(
    failure(400, "BadRequest", message, causes === undefined ? undefined : { causes: [...causes] }),
  )

export const forbidden = (t: Target, reason: string): ApiError =>
  apiError(
    failure(403, "Forbidden", `${qualified(t)} "${t.name}" is forbidden: ${reason}`, {
      name: t.name,
      group: t.group,
      kind: t.resource,
    }),
  )

/**
 * A method the resource's routes do not take: Kubernetes' generic 405 (what
 * its router answers for TRACE, OPTIONS or a method it does not know).
 */
export const methodNotAllowed = (): ApiError =>
  apiError(
    failure(
      405,
      "MethodNotAllowed",
      "the server does not allow this method on the requested resource",
      {},
    ),
  )

export const methodNotSupported = (resource: string, group: string, verb: string): ApiError =>
  apiError(
    failure(
      405,
      "MethodNotAllowed",
      `${verb} is not supported on resources of kind "${group === "" ? resource : `${resource}.${group}`}"`,
      { group, kind: resource },
    ),
  )

/** A watch or list from a revision the store has compacted away. */
export const expired = (message: string): ApiError => apiError(failure(410, "Expired", message))

export const tooOldResourceVersion = (requested: number, oldest: number): ApiError =>
  expired(`too old resource version: ${requested} (${oldest})`)

export const gone = (message: string): ApiError => apiError(failure(410, "Gone", message))

export const timeout = (message: string, retryAfterSeconds = 1): ApiError =>
  apiError(failure(504, "Timeout", message, { retryAfterSeconds }))

/**
 * A read at a revision the store has not reached, in Kubernetes' words
 * (`NewTooLargeResourceVersionError`): a 504 Timeout to retry after a second,
 * with the `ResourceVersionTooLarge` cause client-go's reflector looks for to
 * relist instead of failing.
 */
export const tooLargeResourceVersion = (requested: number, current?: number): ApiError =>
  apiError(
    failure(
      504,
      "Timeout",
      `Timeout: Too large resource version: ${requested}${current === undefined ? "" : `, current: ${current}`}`,
      {
        causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
        retryAfterSeconds: 1,
      },
    ),
  )

export const internalError = (message: string): ApiError =>
  apiError(
    failure(500, "InternalError", `Internal error occurred: ${message}`, {
      causes: [{ message }],
    }),
  )

export const unsupportedMediaType = (contentType: string, accepted: ReadonlyArray<string>) =>
  apiError(
    failure(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
      { causes: [{ reason: "UnsupportedMediaType", message: contentType }] },
    ),
  )

export const notAcceptable = (accepted: ReadonlyArray<string>) =>
  apiError(
    failure(
      406,
      "NotAcceptable",
      `only the following media types are accepted: ${accepted.join(", ")}`,
    ),
  )

/** An unknown path inside a served API root. */
export const pathNotFound = (): ApiError =>
  apiError(failure(404, "NotFound", "the server could not find the requested resource", {}))

/** The `Status` of a successful delete of an object that is not returned. */
export const success = (t: Target, uid?: string): Status => ({
  apiVersion: "v1",
  kind: "Status",
  metadata: {},
  status: "Success",
  details: { ...targetDetails(t), ...(uid === undefined ? {} : { uid }) },
})
