/**
 * What a request asks for, read from its method, path and query as
 * Kubernetes' `RequestInfoFactory` reads them:
 * `/apis/<group>/<version>/namespaces/<ns>/<resource>/<name>/<subresource>`,
 * the legacy core group under `/api/v1`, cluster-scoped resources without the
 * namespace part, the deprecated `/watch/` prefix, and `namespaces/<name>/status`
 * or `/finalize` as subresources of a namespace. Query options are decoded
 * here with errors naming the parameter.
 */
import {
  errorBody,
  errorString,
  type FieldError,
  type FieldValidation,
  field,
  invalidStatus,
  validateFieldManager,
} from "@flotilla/api"
import { type ApiError, apiError, badRequest } from "./status.ts"

export type Verb =
  | "get"
  | "list"
  | "watch"
  | "create"
  | "update"
  | "patch"
  | "delete"
  | "deletecollection"

/** A request for a resource (as opposed to discovery, OpenAPI or /version). */
export interface ResourceRequest {
  readonly verb: Verb
  readonly group: string
  readonly version: string
  /** "" for cluster-scoped requests and for lists across every namespace. */
  readonly namespace: string
  readonly resource: string
  readonly name: string
  readonly subresource: string
}

/** Where a path points. */
export type Route =
  | { readonly _tag: "Resource"; readonly request: ResourceRequest }
  | { readonly _tag: "Version" }
  | { readonly _tag: "CoreDiscovery" }
  | { readonly _tag: "GroupsDiscovery" }
  | { readonly _tag: "Group"; readonly group: string }
  | { readonly _tag: "GroupVersion"; readonly group: string; readonly version: string }
  | { readonly _tag: "OpenApiIndex" }
  | { readonly _tag: "OpenApiDocument"; readonly path: string }
  | { readonly _tag: "OpenApiV2" }
  | { readonly _tag: "Health"; readonly check: string }
  /** A resource path asked with a method no verb maps to (TRACE, OPTIONS, ...). */
  | { readonly _tag: "MethodNotAllowed" }
  /** A path Go's URL parser refuses (a `%` not followed by two hex digits). */
  | { readonly _tag: "BadPath"; readonly message: string }
  | { readonly _tag: "NotFound" }

const namespaceSubresources = new Set(["status", "finalize"])

/**
 * A path's segments, decoded, as Kubernetes' RequestInfoFactory splits them:
 * slashes trimmed at both ends only, so an empty segment inside stays empty
 * (`/namespaces//pods` names no namespace; dropping it made a DELETE of it
 * a DELETE of the namespace called `pods`).
 */
export const splitPath = (path: string): Array<string> => {
  // Character scans rather than a trimming regex and a mapped copy: every request is routed.
  let start = 0
  let end = path.length
  while (start < end && path.charCodeAt(start) === 47) start++
  while (end > start && path.charCodeAt(end - 1) === 47) end--
  if (start === end) return []
  const parts = path.slice(start, end).split("/")
  if (path.includes("%"))
    for (let i = 0; i < parts.length; i++) parts[i] = decodeURIComponentSafe(parts[i] as string)
  return parts
}

const decodeURIComponentSafe = (s: string): string => {
  // Only escapes change: a segment without one is its own decoding.
  if (!s.includes("%")) return s
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

const verbOf = (method: string, hasName: boolean, watch: boolean): Verb | undefined => {
  switch (method) {
    case "GET":
    case "HEAD":
      return watch ? "watch" : hasName ? "get" : "list"
    case "POST":
      return "create"
    case "PUT":
      return "update"
    case "PATCH":
      return "patch"
    case "DELETE":
      return hasName ? "delete" : "deletecollection"
    default:
      return undefined
  }
}

const isTrue = (value: string | null): boolean =>
  value !== null && (value === "1" || value.toLowerCase() === "true")

/** A `%` not followed by two hex digits: Go's `url.Parse` refuses the request target. */
const malformedEscape = /%(?![0-9A-Fa-f]{2})/

/** Routes a request by method, path and query. */
export const route = (method: string, path: string, query: URLSearchParams): Route => {
  if (path.includes("%")) {
    const bad = malformedEscape.exec(path)
    if (bad !== null) {
      // Go's words for it (net/url's EscapeError), with the escape as Go quotes it.
      const sequence = path.slice(bad.index, bad.index + 3)
      return { _tag: "BadPath", message: `invalid URL escape ${JSON.stringify(sequence)}` }
    }
  }
  const parts = splitPath(path)
  const [root] = parts
  if (root === "version" && parts.length === 1) return { _tag: "Version" }
  if ((root === "healthz" || root === "livez" || root === "readyz") && parts.length <= 2) {
    return { _tag: "Health", check: root }
  }
  if (root === "openapi") {
    if (parts[1] === "v3") {
      return parts.length === 2
        ? { _tag: "OpenApiIndex" }
        : { _tag: "OpenApiDocument", path: parts.slice(2).join("/") }
    }
    if (parts[1] === "v2" && parts.length === 2) return { _tag: "OpenApiV2" }
    return { _tag: "NotFound" }
  }
  let group: string
  let version: string
  let rest: Array<string>
  if (root === "api") {
    if (parts.length === 1) return { _tag: "CoreDiscovery" }
    group = ""
    version = parts[1] ?? ""
    rest = parts.slice(2)
  } else if (root === "apis") {
    if (parts.length === 1) return { _tag: "GroupsDiscovery" }
    if (parts.length === 2) return { _tag: "Group", group: parts[1] ?? "" }
    group = parts[1] ?? ""
    version = parts[2] ?? ""
    rest = parts.slice(3)
  } else {
    return { _tag: "NotFound" }
  }
  if (rest.length === 0) return { _tag: "GroupVersion", group, version }

  let watch = isTrue(query.get("watch"))
  if (rest[0] === "watch") {
    watch = true
    rest = rest.slice(1)
  }
  let namespace = ""
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1] ?? ""
    if (rest.length > 2 && !namespaceSubresources.has(rest[2] ?? "")) rest = rest.slice(2)
  }
  if (rest.length === 0 || rest.length > 3) return { _tag: "NotFound" }
  const resource = rest[0] ?? ""
  const name = rest[1] ?? ""
  const subresource = rest[2] ?? ""
  const verb = verbOf(method, name !== "", watch)
  if (verb === undefined) return { _tag: "MethodNotAllowed" }
  return {
    _tag: "Resource",
    request: { verb, group, version, namespace, resource, name, subresource },
  }
}

// ---------------------------------------------------------------------------
// Query options

/** `metav1.ListOptions`, decoded. */
export interface ListOptions {
  readonly labelSelector: string
  readonly fieldSelector: string
  readonly resourceVersion: string
  readonly resourceVersionMatch: "" | "NotOlderThan" | "Exact"
  readonly limit: number
  readonly continue: string
  readonly allowWatchBookmarks: boolean
  readonly sendInitialEvents: boolean | undefined
  /** Seconds; undefined: no timeout asked. */
  readonly timeoutSeconds: number | undefined
}

/** Options of writes (create, update, patch, delete). */
export interface WriteOptions {
  readonly dryRun: boolean
  readonly fieldManager: string
  readonly fieldValidation: FieldValidation
  readonly force: boolean | undefined
}

type Decoded<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly error: ApiError }

const ok = <A>(value: A): Decoded<A> => ({ ok: true, value })
const fail = <A>(error: ApiError): Decoded<A> => ({ ok: false, error })

const nonNegativeInt = (query: URLSearchParams, name: string): Decoded<number | undefined> => {
  const raw = query.get(name)
  if (raw === null || raw === "") return ok(undefined)
  if (!/^-?\d+$/.test(raw)) {
    return fail(badRequest(`invalid value for ${name}: ${JSON.stringify(raw)}: must be an integer`))
  }
  const n = Number(raw)
  if (n < 0 || !Number.isSafeInteger(n)) {
    return fail(badRequest(`invalid value for ${name}: ${raw}: must be a non-negative integer`))
  }
  return ok(n)
}

const bool = (query: URLSearchParams, name: string): Decoded<boolean | undefined> => {
  const raw = query.get(name)
  if (raw === null || raw === "") return ok(undefined)
  // Kubernetes reads any value but false and 0 as true; only the spellings of true and false are taken here.
  const lower = raw.toLowerCase()
  if (lower === "true" || raw === "1") return ok(true)
  if (lower === "false" || raw === "0") return ok(false)
  return fail(
    badRequest(`invalid value for ${name}: ${JSON.stringify(raw)}: must be true or false`),
  )
}

/** The `resourceVersion` parameter of a get, list or watch: empty, or a revision. */
export const decodeResourceVersion = (query: URLSearchParams): Decoded<string> => {
  const resourceVersion = query.get("resourceVersion") ?? ""
  if (resourceVersion !== "" && !/^\d+$/.test(resourceVersion)) {
    return fail(
      badRequest(
        `Invalid value: ${JSON.stringify(resourceVersion)}: resourceVersion must be an integer`,
      ),
    )
  }
  return ok(resourceVersion)
}

export const decodeListOptions = (query: URLSearchParams): Decoded<ListOptions> => {
  const limit = nonNegativeInt(query, "limit")
  if (!limit.ok) return limit
  const timeoutSeconds = nonNegativeInt(query, "timeoutSeconds")
  if (!timeoutSeconds.ok) return timeoutSeconds
  // The route read `watch` already; a value that is neither true nor false would list silently.
  const watch = bool(query, "watch")
  if (!watch.ok) return watch
  const bookmarks = bool(query, "allowWatchBookmarks")
  if (!bookmarks.ok) return bookmarks
  const initial = bool(query, "sendInitialEvents")
  if (!initial.ok) return initial
  const match = query.get("resourceVersionMatch") ?? ""
  const rv = decodeResourceVersion(query)
  if (!rv.ok) return rv
  const resourceVersion = rv.value
  return ok({
    labelSelector: query.get("labelSelector") ?? "",
    fieldSelector: query.get("fieldSelector") ?? "",
    resourceVersion,
    // An unknown value is reported by validateListOptions, with the other field errors.
    resourceVersionMatch: match as ListOptions["resourceVersionMatch"],
    limit: limit.value ?? 0,
    continue: query.get("continue") ?? "",
    allowWatchBookmarks: bookmarks.value ?? false,
    sendInitialEvents: initial.value,
    timeoutSeconds: timeoutSeconds.value,
  })
}

const rvMatch = "resourceVersionMatch"

/**
 * apimachinery's `ValidateListOptions`: how `resourceVersionMatch` combines
 * with `resourceVersion`, `continue` and `sendInitialEvents`, for a list or
 * (`watch`) a watch. Kubernetes answers these with a 422 on `ListOptions`.
 */
export const validateListOptions = (options: ListOptions, watch: boolean): ApiError | undefined => {
  const errors: Array<FieldError> = []
  const match: string = options.resourceVersionMatch
  if (watch) {
    if (match !== "") {
      if (options.sendInitialEvents === undefined)
        errors.push(
          field.forbidden(
            rvMatch,
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
          ),
        )
      if (match !== "NotOlderThan")
        errors.push(field.notSupported(rvMatch, match, ["NotOlderThan"]))
      if (options.continue !== "")
        errors.push(
          field.forbidden(rvMatch, "resourceVersionMatch is forbidden when continue is provided"),
        )
    }
  } else {
    if (match !== "") {
      if (options.resourceVersion === "")
        errors.push(
          field.forbidden(
            rvMatch,
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
          ),
        )
      if (options.continue !== "")
        errors.push(
          field.forbidden(rvMatch, "resourceVersionMatch is forbidden when continue is provided"),
        )
      if (match !== "Exact" && match !== "NotOlderThan")
        errors.push(field.notSupported(rvMatch, match, ["Exact", "NotOlderThan", ""]))
      if (match === "Exact" && options.resourceVersion === "0")
        errors.push(
          field.forbidden(
            rvMatch,
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
          ),
        )
    }
    if (options.sendInitialEvents !== undefined)
      errors.push(field.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
  }
  return errors.length === 0
    ? undefined
    : apiError(invalidStatus({ group: "meta.k8s.io", kind: "ListOptions", name: "" }, errors))
}

/** An integer query parameter (Go's `ParseInt`): any sign, safe-integer range. */
const integer = (query: URLSearchParams, name: string): Decoded<number | undefined> => {
  const raw = query.get(name)
  if (raw === null || raw === "") return ok(undefined)
  const n = Number(raw)
  if (!/^[-+]?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    return fail(badRequest(`invalid value for ${name}: ${JSON.stringify(raw)}: must be an integer`))
  }
  return ok(n)
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * `PodLogOptions` from a log request's query, decoded (a 400 naming a
 * parameter that does not parse) and validated as `ValidatePodLogOptions`
 * (a 422 on PodLogOptions naming each bad field), before the kubelet is
 * asked anything.
 */
export const checkPodLogOptions = (query: URLSearchParams, pod: string): ApiError | undefined => {
  const ints: Record<string, number | undefined> = {}
  for (const name of ["tailLines", "limitBytes", "sinceSeconds"]) {
    const n = integer(query, name)
    if (!n.ok) return n.error
    ints[name] = n.value
  }
  for (const name of ["follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"]) {
    const b = bool(query, name)
    if (!b.ok) return b.error
  }
  const sinceTime = query.get("sinceTime") ?? ""
  if (sinceTime !== "" && (!rfc3339.test(sinceTime) || Number.isNaN(Date.parse(sinceTime)))) {
    return badRequest(
      `invalid value for sinceTime: ${JSON.stringify(sinceTime)}: must be an RFC 3339 time such as 2024-01-02T15:04:05Z`,
    )
  }
  const errors: Array<FieldError> = []
  const { tailLines, limitBytes, sinceSeconds } = ints
  if (tailLines !== undefined && tailLines < 0)
    errors.push(field.invalid("tailLines", tailLines, "must be greater than or equal to 0"))
  if (limitBytes !== undefined && limitBytes < 1)
    errors.push(field.invalid("limitBytes", limitBytes, "must be greater than 0"))
  if (sinceSeconds !== undefined && sinceTime !== "")
    errors.push(
      field.forbidden(
        "sinceSeconds",
        "at most one of `sinceTime` or `sinceSeconds` may be specified",
      ),
    )
  else if (sinceSeconds !== undefined && sinceSeconds < 1)
    errors.push(field.invalid("sinceSeconds", sinceSeconds, "must be greater than 0"))
  return errors.length === 0
    ? undefined
    : apiError(invalidStatus({ group: "", kind: "PodLogOptions", name: pod }, errors))
}

const fieldValidations: ReadonlyArray<FieldValidation> = ["Strict", "Warn", "Ignore"]

/**
 * Write options. The field manager defaults as Kubernetes defaults it: the
 * user agent up to its first `/` (`kubectl`), truncated to 128 characters.
 */
export const decodeWriteOptions = (
  query: URLSearchParams,
  userAgent: string,
): Decoded<WriteOptions> => {
  const dryRuns = query.getAll("dryRun")
  for (const d of dryRuns) {
    if (d !== "All") {
      return fail(
        badRequest(`Invalid value: ${JSON.stringify(d)}: supported values: "All"`, [
          {
            reason: "FieldValueNotSupported",
            message: `Unsupported value: "${d}"`,
            field: "dryRun",
          },
        ]),
      )
    }
  }
  const raw = query.get("fieldValidation") ?? ""
  const matched = fieldValidations.find((v) => v.toLowerCase() === raw.toLowerCase())
  if (raw !== "" && matched === undefined) {
    return fail(
      badRequest(
        `fieldValidation parameter unsupported: ${raw}. Supported values: Strict, Warn, Ignore`,
      ),
    )
  }
  const force = bool(query, "force")
  if (!force.ok) return force
  const manager = query.get("fieldManager") ?? ""
  const managerErrors = validateFieldManager(manager, "fieldManager")
  if (managerErrors.length > 0) {
    return fail(
      badRequest(
        managerErrors.map(errorString).join(", "),
        managerErrors.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field })),
      ),
    )
  }
  const fromAgent = userAgent.split("/")[0]?.slice(0, 128) ?? ""
  return ok({
    dryRun: dryRuns.length > 0,
    fieldManager: manager !== "" ? manager : fromAgent === "" ? "unknown" : fromAgent,
    fieldValidation: matched ?? "Warn",
    force: force.value,
  })
}

/** The `Accept` alternatives a client lists, first preferred. */
export interface AcceptedType {
  readonly type: string
  readonly params: Readonly<Record<string, string>>
}

/** The header parsed last and its alternatives: clients send the same `Accept` with every request. */
let lastAccept: string | undefined
let lastAccepted: ReadonlyArray<AcceptedType> = []

export const parseAccept = (accept: string | undefined): ReadonlyArray<AcceptedType> => {
  if (accept === undefined || accept === "") return [{ type: "*/*", params: {} }]
  if (accept === lastAccept) return lastAccepted
  const out: Array<AcceptedType> = []
  for (const part of accept.split(",")) {
    const [type, ...rest] = part.split(";")
    const params: Record<string, string> = {}
    for (const p of rest) {
      const eq = p.indexOf("=")
      if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim()
    }
    out.push({ type: (type ?? "").trim().toLowerCase(), params })
  }
  // Shared with later requests sending the same header: frozen, so nobody changes it for them.
  for (const a of out) Object.freeze(a.params)
  lastAccept = accept
  lastAccepted = Object.freeze(out.map((a) => Object.freeze(a)))
  return lastAccepted
}

/** The response form a client asked for: a Table, object metadata only, or the objects. */
export type Rendering =
  | { readonly _tag: "Object" }
  | { readonly _tag: "Table"; readonly includeObject: "None" | "Metadata" | "Object" }

const objectRendering: Rendering = { _tag: "Object" }

/**
 * Picks the first acceptable rendering: `as=Table;g=meta.k8s.io;v=v1` (or
 * v1beta1) gives a Table, plain JSON or `*` / `*` the object. Protobuf is not
 * served; a client listing JSON after it gets JSON.
 */
export const chooseRendering = (
  accept: ReadonlyArray<AcceptedType>,
  includeObject: string | null,
): Rendering | undefined => {
  for (const a of accept) {
    const json = a.type === "application/json" || a.type === "*/*" || a.type === "application/*"
    if (!json) continue
    const as = a.params.as
    if (as === undefined) return objectRendering
    if (
      as === "Table" &&
      a.params.g === "meta.k8s.io" &&
      (a.params.v === "v1" || a.params.v === "v1beta1")
    ) {
      const include =
        includeObject === "None" || includeObject === "Object" ? includeObject : "Metadata"
      return { _tag: "Table", includeObject: include }
    }
  }
  return undefined
}
