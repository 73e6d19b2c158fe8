/**
 * A typed Kubernetes client as an Effect service. Every resource of
 * `resources.ts` gets get, list, watch (a `Stream` of events), create,
 * update, updateStatus, patch (the four patch types), apply (server-side)
 * and delete; pods also bind and read logs, deployments and replica sets
 * read and write their scale. Responses are decoded with `@flotilla/api`'s
 * schemas (unknown fields ignored); failures are `ApiStatusError` (the
 * server's `Status`: code, reason, message) or `TransportError` (the server
 * could not be reached or answered something that is not Kubernetes).
 */
import {
  type autoscalingv1,
  decodeWith,
  isValidPathSegmentName,
  type KubeObject,
  lookupKind,
  type Status,
} from "@flotilla/api"
import { Context, Duration, Effect, Layer, Result, Schema, Stream } from "effect"
import { LineSplitter, LineTooLong } from "./core/lines.ts"
import { type ResourceDescriptor, type Resources, resourcePath, resources } from "./resources.ts"

export class ApiStatusError extends Schema.TaggedError<ApiStatusError>()("ApiStatusError", {
  code: Schema.Number,
  reason: Schema.String,
  message: Schema.String,
  status: Schema.Unknown,
  /** How long the server asked the client to wait (`Retry-After`, or the Status's `details.retryAfterSeconds`). */
  retryAfterSeconds: Schema.optionalKey(Schema.Number),
}) {
  /** `NotFound`, `Conflict`, `AlreadyExists`, `Expired`, `Invalid`, ... */
  is(reason: string): boolean {
    return this.reason === reason
  }
}

export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  message: Schema.String,
  /**
   * The server answered, but with something this client cannot read (not
   * JSON, an unknown event type, an object that does not decode, a line over
   * the limit): asking the same again gets the same answer.
   */
  malformed: Schema.optionalKey(Schema.Boolean),
}) {}

/**
 * The request was refused before it was sent (client-go's `Request.Name` /
 * `Namespace` checks): an empty name would address the whole collection, and a
 * DELETE on it deletes every object there.
 */
export class InvalidRequestError extends Schema.TaggedError<InvalidRequestError>()(
  "InvalidRequestError",
  { message: Schema.String },
) {}

export type ClientError = ApiStatusError | TransportError | InvalidRequestError

/** Why `segment` cannot be one path segment (apimachinery's `IsValidPathSegmentName`, its first reason), if it cannot. */
export const pathSegmentProblem = (segment: string): string | undefined =>
  isValidPathSegmentName(segment)[0]

/** The path of one object, or why there is none: the name must be one path segment, never empty. */
export const objectPath = (
  r: ResourceDescriptor<unknown>,
  namespace: string,
  name: string,
  subresource?: string,
): Effect.Effect<string, InvalidRequestError> => {
  const fail = (message: string) =>
    Effect.fail(new InvalidRequestError({ message: `${r.kind}: ${message}` }))
  if (name === "") return fail("resource name may not be empty")
  const nameProblem = pathSegmentProblem(name)
  if (nameProblem !== undefined)
    return fail(`invalid resource name ${JSON.stringify(name)}: ${nameProblem}`)
  const namespaceProblem = namespace === "" ? undefined : pathSegmentProblem(namespace)
  if (namespaceProblem !== undefined)
    return fail(`invalid namespace ${JSON.stringify(namespace)}: ${namespaceProblem}`)
  return Effect.succeed(resourcePath(r, namespace, name, subresource))
}

export const isNotFound = (e: ClientError): boolean => e._tag === "ApiStatusError" && e.code === 404
export const isConflict = (e: ClientError): boolean => e._tag === "ApiStatusError" && e.code === 409
/** A watch or list from a revision the server no longer has (410): relist. */
export const isGone = (e: ClientError): boolean => e._tag === "ApiStatusError" && e.code === 410

/**
 * A fetch failure in words, with its cause: Node's fetch says only "fetch
 * failed" or "terminated" and keeps the reason (`connect ECONNREFUSED
 * 127.0.0.1:6443`, `other side closed`) in `cause`.
 */
export const describeFetchError = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e)
  const parts = [e.message]
  let cause: unknown = e.cause
  for (let depth = 0; depth < 3 && cause !== undefined; depth++) {
    if (cause instanceof Error) {
      const code = (cause as { readonly code?: unknown }).code
      const text = cause.message !== "" ? cause.message : typeof code === "string" ? code : ""
      if (text !== "" && !parts.includes(text)) parts.push(text)
      cause = cause.cause
    } else {
      parts.push(String(cause))
      break
    }
  }
  return parts.join(": ")
}

/** Seconds of a `Retry-After` header (delta-seconds only; an HTTP date is ignored). */
const retryAfterHeader = (value: string | null): number | undefined =>
  value !== null && /^\s*\d{1,9}\s*$/.test(value) ? Number(value) : undefined

/** How much of an error answer that is not a Status becomes the error's message. */
export const maxErrorMessageLength = 512

/** How long past `timeoutSeconds` a watch may stay silent before the client gives up on it. */
export const watchTimeoutGraceSeconds = 30

export interface ListOptions {
  readonly labelSelector?: string
  readonly fieldSelector?: string
  readonly limit?: number
  readonly continue?: string
  readonly resourceVersion?: string
  readonly resourceVersionMatch?: "Exact" | "NotOlderThan"
}

export interface WatchOptions {
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** Changes after this revision; absent: the current objects first (as ADDED), then changes. */
  readonly resourceVersion?: string
  readonly allowWatchBookmarks?: boolean
  readonly timeoutSeconds?: number
}

export interface WriteOptions {
  readonly fieldManager?: string
  readonly dryRun?: boolean
  readonly fieldValidation?: "Strict" | "Warn" | "Ignore"
}

/** autoscaling/v1 Scale: the scale subresource. */
export type Scale = autoscalingv1.Scale

export type PatchType = "merge" | "strategic" | "json"

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number
  readonly propagationPolicy?: "Background" | "Foreground" | "Orphan"
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string }
  readonly dryRun?: boolean
}

export interface List<T> {
  readonly items: ReadonlyArray<T>
  readonly resourceVersion: string
  readonly continue: string | undefined
}

export type WatchEvent<T> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: T }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }
  | { readonly type: "ERROR"; readonly status: Status }

export interface ResourceClient<T> {
  readonly descriptor: ResourceDescriptor<T>
  /** `namespace` is ignored for cluster-scoped resources (pass ""). */
  readonly get: (namespace: string, name: string) => Effect.Effect<T, ClientError>
  readonly list: (namespace: string, options?: ListOptions) => Effect.Effect<List<T>, ClientError>
  /** Every page of a list, following continue tokens (one consistent revision). */
  readonly listAll: (
    namespace: string,
    options?: ListOptions,
  ) => Effect.Effect<List<T>, ClientError>
  readonly watch: (
    namespace: string,
    options?: WatchOptions,
  ) => Stream.Stream<WatchEvent<T>, ClientError>
  readonly create: (
    namespace: string,
    object: T,
    options?: WriteOptions,
  ) => Effect.Effect<T, ClientError>
  readonly update: (object: T, options?: WriteOptions) => Effect.Effect<T, ClientError>
  readonly updateStatus: (object: T, options?: WriteOptions) => Effect.Effect<T, ClientError>
  readonly patch: (
    namespace: string,
    name: string,
    patch: unknown,
    options?: WriteOptions & { readonly type?: PatchType; readonly subresource?: "status" },
  ) => Effect.Effect<T, ClientError>
  /** Server-side apply of a configuration as `fieldManager`. */
  readonly apply: (
    object: T,
    options: { readonly fieldManager: string; readonly force?: boolean; readonly dryRun?: boolean },
  ) => Effect.Effect<T, ClientError>
  /**
   * Deletes; resolves with the object as the server left it (marked, or
   * gone), or `undefined` when the server answers with a success Status
   * instead (Kubernetes does for resources whose store does not return the
   * deleted object).
   */
  readonly delete: (
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ) => Effect.Effect<T | undefined, ClientError>
}

export interface PodsClient<T> extends ResourceClient<T> {
  /** `POST pods/<name>/binding`: assigns the pod to a node. */
  readonly bind: (
    namespace: string,
    name: string,
    nodeName: string,
    options?: { readonly uid?: string; readonly fieldManager?: string },
  ) => Effect.Effect<void, ClientError>
  readonly logs: (
    namespace: string,
    name: string,
    options?: { readonly container?: string; readonly tailLines?: number },
  ) => Effect.Effect<string, ClientError>
}

export interface ScalableClient<T> extends ResourceClient<T> {
  readonly getScale: (namespace: string, name: string) => Effect.Effect<Scale, ClientError>
  readonly scale: (
    namespace: string,
    name: string,
    replicas: number,
    options?: WriteOptions,
  ) => Effect.Effect<Scale, ClientError>
}

type Clients = {
  readonly [K in keyof Resources]: Resources[K] extends ResourceDescriptor<infer T>
    ? K extends "pods"
      ? PodsClient<T>
      : K extends "deployments" | "replicasets"
        ? ScalableClient<T>
        : ResourceClient<T>
    : never
}

export interface KubeClientShape extends Clients {
  /** The server's base URL. */
  readonly server: string
  /** A client for any resource descriptor (custom ones included). */
  readonly resource: <T>(descriptor: ResourceDescriptor<T>) => ResourceClient<T>
  /** A raw request: the parsed JSON body of a 2xx answer. */
  readonly request: (
    method: string,
    path: string,
    options?: {
      readonly query?: Record<string, string>
      readonly body?: unknown
      readonly contentType?: string
    },
  ) => Effect.Effect<unknown, ClientError>
}

export interface ClientOptions {
  /** `http://127.0.0.1:6443` */
  readonly server: string
  /** A bearer token, sent as `Authorization: Bearer <token>`. */
  readonly token?: string
  /** The user agent, which also names the default field manager (`flotilla-client/0.0.0`). */
  readonly userAgent?: string
  /** Decode responses with the object model's schemas (default true). */
  readonly decode?: boolean
}

const patchContentType: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
}

const metaOf = (o: unknown): { name: string; namespace: string } => {
  const m = (o as { metadata?: { name?: string; namespace?: string } }).metadata
  return { name: m?.name ?? "", namespace: m?.namespace ?? "" }
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Builds a client over fetch. */
export const makeClient = (options: ClientOptions): KubeClientShape => {
  const server = options.server.replace(/\/+$/, "")
  const userAgent = options.userAgent ?? "flotilla-client/0.0.0"
  const decodeObjects = options.decode ?? true
  const baseHeaders: Record<string, string> = {
    accept: "application/json",
    "user-agent": userAgent,
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
  }

  const statusError = (
    code: number,
    body: unknown,
    text: string,
    headers?: Headers,
  ): ApiStatusError => {
    const details = isRecord(body) && isRecord(body.details) ? body.details : {}
    const retryAfterSeconds =
      retryAfterHeader(headers?.get("retry-after") ?? null) ??
      (typeof details.retryAfterSeconds === "number" && details.retryAfterSeconds >= 0
        ? details.retryAfterSeconds
        : undefined)
    const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds }
    if (isRecord(body) && body.kind === "Status") {
      return new ApiStatusError({
        code: typeof body.code === "number" ? body.code : code,
        reason: typeof body.reason === "string" ? body.reason : "",
        message: typeof body.message === "string" ? body.message : text,
        status: body,
        ...retry,
      })
    }
    // A proxy's error page can be megabytes of HTML: the message keeps its start.
    const trimmed = text.trim()
    return new ApiStatusError({
      code,
      reason: code === 404 ? "NotFound" : "",
      message:
        trimmed === ""
          ? `HTTP ${code}`
          : trimmed.length <= maxErrorMessageLength
            ? trimmed
            : `${trimmed.slice(0, maxErrorMessageLength)}... (${trimmed.length} characters in all)`,
      status: body,
      ...retry,
    })
  }

  const send = (
    method: string,
    path: string,
    o: {
      readonly query?: Record<string, string>
      readonly body?: unknown
      readonly contentType?: string
      readonly text?: boolean
    } = {},
  ): Effect.Effect<unknown, ClientError> =>
    Effect.gen(function* () {
      const query = o.query === undefined ? "" : `?${new URLSearchParams(o.query)}`
      const url = `${server}${path}${query}`
      const response = yield* Effect.tryPromise({
        try: (signal) =>
          fetch(url, {
            method,
            signal,
            headers: {
              ...baseHeaders,
              ...(o.body === undefined
                ? {}
                : { "content-type": o.contentType ?? "application/json" }),
            },
            ...(o.body === undefined
              ? {}
              : { body: typeof o.body === "string" ? o.body : JSON.stringify(o.body) }),
          }),
        catch: (e) =>
          new TransportError({
            message: `${method} ${url}: ${describeFetchError(e)}`,
          }),
      })
      const text = yield* Effect.tryPromise({
        try: () => response.text(),
        catch: (e) =>
          new TransportError({ message: `reading ${method} ${url}: ${describeFetchError(e)}` }),
      })
      if (o.text === true && response.ok) return text
      let body: unknown
      try {
        body = text === "" ? undefined : JSON.parse(text)
      } catch {
        if (response.ok)
          return yield* new TransportError({
            message: `${method} ${url}: the answer is not JSON`,
            malformed: true,
          })
        body = undefined
      }
      if (!response.ok) return yield* statusError(response.status, body, text, response.headers)
      return body
    })

  const decodeAs = <T>(
    value: unknown,
    apiVersion: string,
    kind: string,
  ): Effect.Effect<T, TransportError> => {
    // The schema would default a missing spec: a body of another kind must not pass as this one.
    if (
      isRecord(value) &&
      typeof value.kind === "string" &&
      value.kind !== "" &&
      value.kind !== kind
    )
      return Effect.fail(
        new TransportError({
          message: `the server sent a ${value.kind.slice(0, 80)} where a ${kind} was expected`,
          malformed: true,
        }),
      )
    if (!decodeObjects) return Effect.succeed(value as T)
    const info = lookupKind(apiVersion, kind)
    if (info === undefined) return Effect.succeed(value as T)
    const withType = isRecord(value) ? { ...value, apiVersion, kind } : value
    const decoded = decodeWith(info.schema, withType, { fieldValidation: "Ignore" })
    return Result.isSuccess(decoded)
      ? Effect.succeed(decoded.success.value as T)
      : Effect.fail(
          new TransportError({
            message: `the server sent a ${kind} that does not decode: ${decoded.failure.message}`,
            malformed: true,
          }),
        )
  }

  const writeQuery = (o: WriteOptions | undefined): Record<string, string> => ({
    ...(o?.fieldManager === undefined ? {} : { fieldManager: o.fieldManager }),
    ...(o?.dryRun === true ? { dryRun: "All" } : {}),
    ...(o?.fieldValidation === undefined ? {} : { fieldValidation: o.fieldValidation }),
  })

  const listQuery = (o: ListOptions | WatchOptions | undefined): Record<string, string> => {
    const q: Record<string, string> = {}
    if (o === undefined) return q
    for (const [k, v] of Object.entries(o)) if (v !== undefined) q[k] = String(v)
    return q
  }

  const resource = <T>(r: ResourceDescriptor<T>): ResourceClient<T> => {
    const decode = (value: unknown) => decodeAs<T>(value, r.apiVersion, r.kind)
    const list = (namespace: string, o?: ListOptions) =>
      Effect.gen(function* () {
        const body = yield* send("GET", resourcePath(r, namespace), { query: listQuery(o) })
        // Go encodes an empty slice as null: `"items": null` is an empty list.
        if (!isRecord(body) || !(Array.isArray(body.items) || body.items === null)) {
          return yield* new TransportError({
            message: `the server's ${r.kind} list has no items`,
            malformed: true,
          })
        }
        const items: Array<T> = []
        for (const item of body.items ?? []) items.push(yield* decode(item))
        const meta = isRecord(body.metadata) ? body.metadata : {}
        return {
          items,
          resourceVersion: typeof meta.resourceVersion === "string" ? meta.resourceVersion : "",
          continue:
            typeof meta.continue === "string" && meta.continue !== "" ? meta.continue : undefined,
        } satisfies List<T>
      })
    const listAll = (namespace: string, o?: ListOptions) =>
      Effect.gen(function* () {
        const items: Array<T> = []
        let page = yield* list(namespace, { limit: 500, ...o })
        const resourceVersion = page.resourceVersion
        items.push(...page.items)
        while (page.continue !== undefined) {
          const next = yield* Effect.result(
            list(namespace, { ...o, limit: o?.limit ?? 500, continue: page.continue }),
          )
          if (next._tag === "Failure") {
            // The continue token outlived its revision (compacted, 410): as client-go's
            // pager (FullListIfExpired), list everything in one answer instead.
            if (!isGone(next.failure)) return yield* next.failure
            const { limit: _, continue: __, ...rest } = o ?? {}
            return yield* Effect.map(list(namespace, rest), (full) => ({
              ...full,
              continue: undefined,
            }))
          }
          // A server that hands back the token it was given would be paged for ever.
          if (next.success.continue !== undefined && next.success.continue === page.continue)
            return yield* new TransportError({
              message: `the server's ${r.kind} list returned the continue token it was given: paging would not end`,
              malformed: true,
            })
          page = next.success
          items.push(...page.items)
        }
        return { items, resourceVersion, continue: undefined } satisfies List<T>
      })
    const watch = (
      namespace: string,
      o?: WatchOptions,
    ): Stream.Stream<WatchEvent<T>, ClientError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const query = new URLSearchParams({ ...listQuery(o), watch: "true" })
          const url = `${server}${resourcePath(r, namespace)}?${query}`
          const controller = new AbortController()
          yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
          const response = yield* Effect.tryPromise({
            try: () => fetch(url, { headers: baseHeaders, signal: controller.signal }),
            catch: (e) =>
              new TransportError({
                message: `GET ${url}: ${describeFetchError(e)}`,
              }),
          })
          if (!response.ok || response.body === null) {
            const text = yield* Effect.tryPromise({
              try: () => response.text(),
              catch: () => new TransportError({ message: "reading error body" }),
            })
            let body: unknown
            try {
              body = JSON.parse(text)
            } catch {
              body = undefined
            }
            return yield* statusError(response.status, body, text, response.headers)
          }
          const body = response.body
          const lines = new LineSplitter()
          return Stream.fromReadableStream({
            evaluate: () => body,
            onError: (e) =>
              new TransportError({
                message: `watch ${url}: ${describeFetchError(e)}`,
              }),
          }).pipe(
            Stream.decodeText(),
            Stream.mapEffect((text) => {
              const found = lines.push(text)
              return found instanceof LineTooLong
                ? Effect.fail(
                    new TransportError({
                      message: `watch ${url}: ${found.message}`,
                      malformed: true,
                    }),
                  )
                : Effect.succeed(found)
            }),
            Stream.concat(Stream.suspend(() => Stream.make(lines.flush()))),
            Stream.flattenIterable,
            Stream.filter((line) => line.trim() !== ""),
            Stream.mapEffect((line) =>
              Effect.gen(function* () {
                let event: unknown
                try {
                  event = JSON.parse(line)
                } catch {
                  return yield* new TransportError({
                    message: `watch ${url}: a line is not JSON: ${line.slice(0, 80)}`,
                    malformed: true,
                  })
                }
                if (!isRecord(event) || typeof event.type !== "string" || !isRecord(event.object)) {
                  return yield* new TransportError({
                    message: `watch ${url}: not a watch event (no type or object): ${line.slice(0, 80)}`,
                    malformed: true,
                  })
                }
                switch (event.type) {
                  case "ADDED":
                  case "MODIFIED":
                  case "DELETED":
                    return {
                      type: event.type,
                      object: yield* decode(event.object),
                    } as WatchEvent<T>
                  case "BOOKMARK": {
                    const meta = isRecord(event.object.metadata) ? event.object.metadata : {}
                    return {
                      type: "BOOKMARK",
                      resourceVersion: String(meta.resourceVersion ?? ""),
                    } as WatchEvent<T>
                  }
                  case "ERROR":
                    return {
                      type: "ERROR",
                      status: event.object as unknown as Status,
                    } as WatchEvent<T>
                  default:
                    // client-go: "unable to understand watch event"; the watch ends.
                    return yield* new TransportError({
                      message: `watch ${url}: unknown event type ${JSON.stringify(event.type).slice(0, 80)}`,
                      malformed: true,
                    })
                }
              }),
            ),
          )
        }),
      ).pipe((events) => {
        // The server ends a watch after timeoutSeconds; one silent for longer
        // (no headers, no line) is stalled, and waiting on it would hang the caller.
        // 0 (or less) is "the server's default", not "none": no deadline can be derived from it.
        const seconds = o?.timeoutSeconds
        return seconds === undefined || !(seconds > 0)
          ? events
          : Stream.timeoutOrElse(events, {
              duration: Duration.seconds(seconds + watchTimeoutGraceSeconds),
              orElse: () =>
                Stream.fail(
                  new TransportError({
                    message: `watch ${resourcePath(r, namespace)}: nothing for ${seconds + watchTimeoutGraceSeconds} s (timeoutSeconds ${seconds} + ${watchTimeoutGraceSeconds}): the server stalled`,
                  }),
                ),
            })
      })
    const create = (namespace: string, object: T, o?: WriteOptions) =>
      Effect.flatMap(
        send("POST", resourcePath(r, namespace), {
          body: { ...(object as object), apiVersion: r.apiVersion, kind: r.kind },
          query: writeQuery(o),
        }),
        decode,
      )
    const put = (object: T, subresource: string | undefined, o?: WriteOptions) => {
      const { name, namespace } = metaOf(object)
      return objectPath(r, namespace, name, subresource).pipe(
        Effect.flatMap((path) =>
          send("PUT", path, {
            body: { ...(object as object), apiVersion: r.apiVersion, kind: r.kind },
            query: writeQuery(o),
          }),
        ),
        Effect.flatMap(decode),
      )
    }
    return {
      descriptor: r,
      get: (namespace, name) =>
        objectPath(r, namespace, name).pipe(
          Effect.flatMap((path) => send("GET", path)),
          Effect.flatMap(decode),
        ),
      list,
      listAll,
      watch,
      create,
      update: (object, o) => put(object, undefined, o),
      updateStatus: (object, o) => put(object, "status", o),
      patch: (namespace, name, patch, o) =>
        objectPath(r, namespace, name, o?.subresource).pipe(
          Effect.flatMap((path) =>
            send("PATCH", path, {
              body: patch,
              contentType: patchContentType[o?.type ?? "merge"],
              query: writeQuery(o),
            }),
          ),
          Effect.flatMap(decode),
        ),
      apply: (object, o) => {
        const { name, namespace } = metaOf(object)
        return objectPath(r, namespace, name).pipe(
          Effect.flatMap((path) =>
            send("PATCH", path, {
              body: { ...(object as object), apiVersion: r.apiVersion, kind: r.kind },
              contentType: "application/apply-patch+yaml",
              query: {
                fieldManager: o.fieldManager,
                ...(o.force === true ? { force: "true" } : {}),
                ...(o.dryRun === true ? { dryRun: "All" } : {}),
              },
            }),
          ),
          Effect.flatMap(decode),
        )
      },
      delete: (namespace, name, o) =>
        Effect.flatMap(
          Effect.flatMap(objectPath(r, namespace, name), (path) =>
            send("DELETE", path, {
              body: {
                apiVersion: "v1",
                kind: "DeleteOptions",
                ...(o?.gracePeriodSeconds === undefined
                  ? {}
                  : { gracePeriodSeconds: o.gracePeriodSeconds }),
                ...(o?.propagationPolicy === undefined
                  ? {}
                  : { propagationPolicy: o.propagationPolicy }),
                ...(o?.preconditions === undefined ? {} : { preconditions: o.preconditions }),
                ...(o?.dryRun === true ? { dryRun: ["All"] } : {}),
              },
            }),
          ),
          (body): Effect.Effect<T | undefined, TransportError> =>
            isRecord(body) && body.kind === "Status" && body.status === "Success"
              ? Effect.succeed(undefined)
              : decode(body),
        ),
    }
  }

  const scalable = <T>(r: ResourceDescriptor<T>): ScalableClient<T> => ({
    ...resource(r),
    getScale: (namespace, name) =>
      objectPath(r, namespace, name, "scale").pipe(
        Effect.flatMap((path) => send("GET", path)),
        Effect.flatMap((v) => decodeAs<Scale>(v, "autoscaling/v1", "Scale")),
      ),
    scale: (namespace, name, replicas, o) =>
      objectPath(r, namespace, name, "scale").pipe(
        Effect.flatMap((path) =>
          send("PATCH", path, {
            body: { spec: { replicas } },
            contentType: patchContentType.merge,
            query: writeQuery(o),
          }),
        ),
        Effect.flatMap((v) => decodeAs<Scale>(v, "autoscaling/v1", "Scale")),
      ),
  })

  const pods: PodsClient<KubeObject & Resources["pods"]["_type"]> = {
    ...(resource(resources.pods) as ResourceClient<KubeObject & Resources["pods"]["_type"]>),
    bind: (namespace, name, nodeName, o) =>
      Effect.asVoid(
        Effect.flatMap(objectPath(resources.pods, namespace, name, "binding"), (path) =>
          send("POST", path, {
            body: {
              apiVersion: "v1",
              kind: "Binding",
              metadata: { name, namespace, ...(o?.uid === undefined ? {} : { uid: o.uid }) },
              target: { apiVersion: "v1", kind: "Node", name: nodeName },
            },
            query: o?.fieldManager === undefined ? {} : { fieldManager: o.fieldManager },
          }),
        ),
      ),
    logs: (namespace, name, o) =>
      Effect.map(
        Effect.flatMap(objectPath(resources.pods, namespace, name, "log"), (path) =>
          send("GET", path, {
            query: {
              ...(o?.container === undefined ? {} : { container: o.container }),
              ...(o?.tailLines === undefined ? {} : { tailLines: String(o.tailLines) }),
            },
            text: true,
          }),
        ),
        (t) => String(t),
      ),
  }

  return {
    server,
    resource,
    request: (method, path, o) => send(method, path, o ?? {}),
    namespaces: resource(resources.namespaces),
    pods,
    nodes: resource(resources.nodes),
    services: resource(resources.services),
    endpoints: resource(resources.endpoints),
    events: resource(resources.events),
    deployments: scalable(resources.deployments),
    replicasets: scalable(resources.replicasets),
    leases: resource(resources.leases),
  } as KubeClientShape
}

export class KubeClient extends Context.Service<KubeClient, KubeClientShape>()(
  "@flotilla/client/KubeClient",
) {
  static layer(options: ClientOptions): Layer.Layer<KubeClient> {
    return Layer.succeed(KubeClient, makeClient(options))
  }
}
