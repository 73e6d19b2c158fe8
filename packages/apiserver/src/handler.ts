/**
 * The API server's request handler: a request (method, path, query,
 * headers, body) in, a response (a body, or a stream of watch events) out,
 * as an Effect over the object store. The HTTP shell (`server.ts`) only
 * moves bytes; everything Kubernetes-shaped happens here and in `core/`:
 * discovery, OpenAPI, get/list/watch with selectors, pagination and Tables,
 * and (in `writes.ts`) create, update, patch, apply, delete and the
 * subresources.
 */
import { convert, isValidPathSegmentName, type KubeObject } from "@flotilla/api"
import { Clock, Effect, Queue, Result, Stream } from "effect"
import type { WatchCaches } from "./cacher.ts"
import {
  aggregatedDiscovery,
  aggregatedDiscoveryContentType,
  apiGroupList,
  apiGroupOf,
  apiResourceList,
  apiVersions,
} from "./core/discovery.ts"
import { memoJson, memoJsonBytes, metadataOf, type Obj, stringAt } from "./core/json.ts"
import { decodeContinue, encodeContinue, keyPrefix, objectKey } from "./core/keys.ts"
import { openApiEntries, openApiIndex } from "./core/openapi.ts"
import {
  chooseRendering,
  decodeListOptions,
  decodeResourceVersion,
  type ListOptions,
  parseAccept,
  type Rendering,
  type ResourceRequest,
  route,
  validateListOptions,
} from "./core/request.ts"
import { findResource, type ServedResource, storageResource } from "./core/resources.ts"
import { compileSelectors, type Predicate } from "./core/selectors.ts"
import {
  type ApiError,
  badRequest,
  expired,
  internalError,
  isApiError,
  methodNotAllowed,
  methodNotSupported,
  notAcceptable,
  notFound,
  pathNotFound,
  tooLargeResourceVersion,
  tooOldResourceVersion,
} from "./core/status.ts"
import { printerFor, table, tableRow } from "./core/table.ts"
import { after, type FeedConsumer, WatchFeed } from "./feed.ts"
import type { Change, ObjectStore } from "./storage.ts"
import { type WriteDeps, writeRequest } from "./writes.ts"

/** A request as the handler sees it (header names in lower case). */
export interface ApiRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

export type ApiResponse =
  | {
      readonly _tag: "Body"
      readonly status: number
      readonly contentType: string
      readonly body: string
      /**
       * The body as UTF-8 in parts, when the handler has it so (a list's
       * items are each version's shared JSON bytes): the HTTP shell writes
       * the parts as they are, in one gathered write, without joining them
       * into one buffer per answer. Never changed once handed out.
       */
      readonly chunks?: ReadonlyArray<Uint8Array>
      readonly headers?: Readonly<Record<string, string>>
    }
  | {
      readonly _tag: "Stream"
      readonly status: number
      readonly contentType: string
      /** Chunks to write as they come (each one or more whole lines of newline-delimited JSON). */
      readonly body: Stream.Stream<string>
      /**
       * The same chunks pushed straight to a consumer, without a fiber or a
       * queue per watcher (the HTTP shell's path for watches the cache
       * serves); returns a function that stops the watch. Use `body` or
       * `push`, not both.
       */
      readonly push?: (consumer: FeedConsumer) => () => void
    }

/** Reads a pod's container log (the kubelet's job); the API server only proxies. */
export type LogReader = (
  pod: Obj,
  container: string,
  query: URLSearchParams,
) => Effect.Effect<string | Stream.Stream<string>, ApiError>

export interface HandlerOptions {
  /** The `host:port` clients reach the server at (for `/api`'s serverAddressByClientCIDRs). */
  readonly serverAddress?: string
  /** How often watches that allow bookmarks get one (default 60 s, as Kubernetes). */
  readonly bookmarkIntervalMs?: number
  /** The timeout of watches that ask for none (Kubernetes: 30 to 60 minutes). */
  readonly defaultWatchTimeoutSeconds?: number
  /** Events a watcher may leave unread before it is ended as too slow (default 10,000). */
  readonly maxPendingWatchChunks?: number
  /** Where pod logs come from. Default: the kubelet's `/containerLogs` on the node. */
  readonly logs?: LogReader
}

export const gitVersion = "v1.32.4-flotilla"

/** `/version`: minor "32" makes kubectl's dispatcher use its built-in v1.32 client. */
export const versionInfo = {
  major: "1",
  minor: "32",
  gitVersion,
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
}

const jsonType = "application/json"

export const jsonResponse = (
  status: number,
  value: unknown,
  contentType = jsonType,
  headers?: Readonly<Record<string, string>>,
): ApiResponse => ({
  _tag: "Body",
  status,
  contentType,
  body: typeof value === "object" && value !== null ? memoJson(value) : JSON.stringify(value),
  ...(headers === undefined ? {} : { headers }),
})

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()
const comma = utf8.encode(",")
const listEnd = utf8.encode("]}")

/** A body given as UTF-8 parts (its text joined and decoded only if someone asks for it). */
const chunksResponse = (
  status: number,
  contentType: string,
  chunks: ReadonlyArray<Uint8Array>,
): ApiResponse => ({
  _tag: "Body",
  status,
  contentType,
  chunks,
  get body() {
    return utf8Decoder.decode(Buffer.concat(chunks))
  },
})

export const errorResponse = (error: ApiError): ApiResponse =>
  jsonResponse(error.status.code ?? 500, error.status)

/** The object in the version it is served at (stored objects are in the storage version). */
export const toServed = (served: ServedResource, object: Obj): Obj => {
  if (served.apiVersion === served.storageApiVersion) return object
  const converted = convert(object as unknown as KubeObject, served.apiVersion)
  return Result.isSuccess(converted) ? (converted.success as unknown as Obj) : object
}

/** What a resource request needs once routed: its resource, rendering and time. */
export interface ResourceContext {
  readonly request: ApiRequest
  readonly route: ResourceRequest
  readonly served: ServedResource
  readonly storage: ServedResource
  readonly rendering: Rendering
  readonly nowMs: number
}

export const renderObject = (ctx: ResourceContext, object: Obj, status = 200): ApiResponse => {
  const served = toServed(ctx.served, object)
  if (ctx.rendering._tag === "Table") {
    const rv = stringAt(metadataOf(object), "resourceVersion")
    return jsonResponse(
      status,
      table(
        ctx.served.resource.name,
        [served],
        { resourceVersion: rv },
        ctx.nowMs,
        ctx.rendering.includeObject,
      ),
    )
  }
  return jsonResponse(status, served)
}

const keyOf = (ctx: ResourceContext, name: string) =>
  objectKey(ctx.served.resource.name, ctx.served.namespaced, ctx.route.namespace, name)

const target = (ctx: ResourceContext, name: string) => ({
  resource: ctx.served.resource.name,
  group: ctx.served.group,
  name,
})

// ---------------------------------------------------------------------------
// get and list

const get = (store: ObjectStore, ctx: ResourceContext): Effect.Effect<ApiResponse, ApiError> => {
  // A get at a resourceVersion reads state at least that new: a revision the
  // store has not reached is Kubernetes' retryable 504, a malformed one a 400.
  const rv = decodeResourceVersion(ctx.request.query)
  if (!rv.ok) return Effect.succeed(errorResponse(rv.error))
  const read = Effect.map(store.get(keyOf(ctx, ctx.route.name)), (current) =>
    current === undefined
      ? errorResponse(notFound(target(ctx, ctx.route.name)))
      : renderObject(ctx, current.object),
  )
  if (rv.value === "" || rv.value === "0") return read
  return Effect.flatMap(store.revision, (revision) =>
    Number(rv.value) > revision
      ? Effect.succeed(errorResponse(tooLargeResourceVersion(Number(rv.value), revision)))
      : read,
  )
}

const selectorsOf = (ctx: ResourceContext, options: ListOptions, name: string) => {
  const fieldSelector =
    name === ""
      ? options.fieldSelector
      : [options.fieldSelector, `metadata.name=${name}`].filter((s) => s !== "").join(",")
  return Result.mapError(
    compileSelectors(
      ctx.served.resource.name,
      ctx.served.kind,
      options.labelSelector,
      fieldSelector,
    ),
    (message) => badRequest(message),
  )
}

/** Largest number of keys read per round while filling a page of a filtered list. */
const listBatch = 1000

interface ListResult {
  readonly items: ReadonlyArray<Obj>
  readonly revision: number
  readonly continueToken: string | undefined
  readonly remaining: number | undefined
}

/**
 * Lists a prefix at one revision: the store's latest, the one a continue
 * token carries, or the exact one asked for. With a limit, pages are filled
 * with matching objects (a filtered list reads on until the page is full).
 */
export const listObjects = (
  store: ObjectStore,
  prefix: string,
  options: ListOptions,
  predicate: Predicate,
): Effect.Effect<ListResult, ApiError> =>
  Effect.gen(function* () {
    let revision: number | undefined
    let start: string | undefined
    if (options.continue !== "") {
      const token = decodeContinue(options.continue)
      if (!token.ok) return yield* Effect.fail(badRequest(token.reason))
      revision = token.token.resourceVersion
      start = `${prefix}${token.token.start}`
    } else if (options.resourceVersion !== "" && options.resourceVersion !== "0") {
      const rv = Number(options.resourceVersion)
      const current = yield* store.revision
      // Exact or not, a revision the store has not reached is Kubernetes' retryable 504.
      if (rv > current) return yield* Effect.fail(tooLargeResourceVersion(rv, current))
      if (options.resourceVersionMatch === "Exact") revision = rv
    }
    const limit = options.limit
    const items: Array<Obj> = []
    let more = false
    let lastKey: string | undefined
    let remaining: number | undefined
    for (;;) {
      const want = limit > 0 ? (predicate.everything ? limit - items.length : listBatch) : undefined
      const page = yield* store
        .list(prefix, {
          ...(revision === undefined ? {} : { revision }),
          ...(start === undefined ? {} : { start }),
          ...(want === undefined ? {} : { limit: want }),
        })
        .pipe(
          Effect.mapError((e) =>
            e.status.reason === "Expired" && options.continue !== ""
              ? expired(
                  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                )
              : e,
          ),
        )
      revision = page.revision
      for (const s of page.items) {
        if (limit > 0 && items.length >= limit) {
          more = true
          break
        }
        lastKey = s.key
        if (predicate.matches(s.object)) items.push(s.object)
      }
      if (limit > 0 && items.length >= limit) {
        more = more || page.more
        if (predicate.everything) remaining = page.remaining
        break
      }
      if (!page.more || page.lastKey === undefined) {
        more = false
        break
      }
      start = `${page.lastKey}\u0000`
    }
    const continueToken =
      more && lastKey !== undefined
        ? encodeContinue({
            resourceVersion: revision ?? 0,
            start: `${lastKey.slice(prefix.length)}\u0000`,
          })
        : undefined
    return {
      items,
      revision: revision ?? 0,
      continueToken,
      remaining: more && remaining !== undefined && remaining > 0 ? remaining : undefined,
    }
  })

const list = (store: ObjectStore, ctx: ResourceContext) =>
  Effect.gen(function* () {
    const options = decodeListOptions(ctx.request.query)
    if (!options.ok) return errorResponse(options.error)
    const invalid = validateListOptions(options.value, false)
    if (invalid !== undefined) return errorResponse(invalid)
    const predicate = selectorsOf(ctx, options.value, "")
    if (Result.isFailure(predicate)) return errorResponse(predicate.failure)
    const prefix = keyPrefix(
      ctx.served.resource.name,
      ctx.served.namespaced ? ctx.route.namespace : "",
    )
    const result = yield* listObjects(store, prefix, options.value, predicate.success)
    const listMeta: Obj = {
      resourceVersion: String(result.revision),
      ...(result.continueToken === undefined ? {} : { continue: result.continueToken }),
      ...(result.remaining === undefined ? {} : { remainingItemCount: result.remaining }),
    }
    if (ctx.rendering._tag === "Object" && ctx.served.apiVersion === ctx.served.storageApiVersion) {
      // Stored objects carry their apiVersion and kind; each one's JSON bytes are shared
      // (memoJsonBytes), so a list is a sequence of them, written as they are: not a string
      // joined and encoded again, nor a buffer of ~150 KB per list copied from them.
      const parts: Array<Uint8Array> = [
        utf8.encode(
          `{"kind":${JSON.stringify(ctx.served.listKind)},"apiVersion":${JSON.stringify(ctx.served.apiVersion)},"metadata":${JSON.stringify(listMeta)},"items":[`,
        ),
      ]
      for (let i = 0; i < result.items.length; i++) {
        if (i > 0) parts.push(comma)
        parts.push(memoJsonBytes(result.items[i] as Obj))
      }
      parts.push(listEnd)
      return chunksResponse(200, jsonType, parts)
    }
    const items = result.items.map((o) => toServed(ctx.served, o))
    if (ctx.rendering._tag === "Table") {
      return jsonResponse(
        200,
        table(ctx.served.resource.name, items, listMeta, ctx.nowMs, ctx.rendering.includeObject),
      )
    }
    return jsonResponse(200, {
      kind: ctx.served.listKind,
      apiVersion: ctx.served.apiVersion,
      metadata: listMeta,
      items: items.map((o) => ({ ...o, apiVersion: ctx.served.apiVersion, kind: ctx.served.kind })),
    })
  })

// ---------------------------------------------------------------------------
// watch

/** A watch event for a change as one watcher with a selector sees it, if it sees it at all. */
export const watchEventOf = (
  change: Change,
  predicate: Predicate,
): { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: Obj } | undefined => {
  if (change.type === "DELETE") {
    return predicate.matches(change.previous ?? change.object)
      ? { type: "DELETED", object: change.object }
      : undefined
  }
  const now = predicate.matches(change.object)
  if (change.created || change.previous === undefined) {
    return now ? { type: "ADDED", object: change.object } : undefined
  }
  const before = predicate.everything || predicate.matches(change.previous)
  if (now && before) return { type: "MODIFIED", object: change.object }
  if (now) return { type: "ADDED", object: change.object }
  if (before) return { type: "DELETED", object: change.object }
  return undefined
}

const eventLine = (type: string, object: unknown): string =>
  `{"type":${JSON.stringify(type)},"object":${typeof object === "object" && object !== null ? memoJson(object) : JSON.stringify(object)}}\n`

const watch = (
  store: ObjectStore,
  ctx: ResourceContext,
  options: HandlerOptions,
  caches: WatchCaches | undefined,
) =>
  Effect.gen(function* () {
    const decoded = decodeListOptions(ctx.request.query)
    if (!decoded.ok) return errorResponse(decoded.error)
    const opts = decoded.value
    const invalid = validateListOptions(opts, true)
    if (invalid !== undefined) return errorResponse(invalid)
    const predicate = selectorsOf(ctx, opts, ctx.route.name)
    if (Result.isFailure(predicate)) return errorResponse(predicate.failure)
    if (
      opts.sendInitialEvents === true &&
      (opts.resourceVersionMatch !== "NotOlderThan" || !opts.allowWatchBookmarks)
    ) {
      return errorResponse(
        badRequest(
          "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled and resourceVersionMatch is set to NotOlderThan and allowWatchBookmarks is set to true",
        ),
      )
    }
    const prefix = keyPrefix(
      ctx.served.resource.name,
      ctx.served.namespaced ? ctx.route.namespace : "",
    )
    const rendering = ctx.rendering
    const printer = printerFor(ctx.served.resource.name)
    const encodeObject = (object: Obj, nowMs: number): unknown => {
      const served = toServed(ctx.served, object)
      if (rendering._tag !== "Table") return served
      return {
        kind: "Table",
        apiVersion: "meta.k8s.io/v1",
        metadata: { resourceVersion: stringAt(metadataOf(object), "resourceVersion") },
        columnDefinitions: printer.columns,
        rows: [tableRow(printer, served, nowMs, rendering.includeObject)],
      }
    }
    const bookmark = (revision: number, initialEnd: boolean) =>
      eventLine("BOOKMARK", {
        kind: ctx.served.kind,
        apiVersion: ctx.served.apiVersion,
        metadata: {
          resourceVersion: String(revision),
          ...(initialEnd ? { annotations: { "k8s.io/initial-events-end": "true" } } : {}),
        },
      })

    // Where the stream starts: after a list (synthetic ADDED events) or after the given revision.
    const synthetic =
      opts.sendInitialEvents === true ||
      (opts.sendInitialEvents === undefined &&
        (opts.resourceVersion === "" || opts.resourceVersion === "0"))
    let startRevision: number
    let initial: Array<string> = []
    if (synthetic) {
      const listed = yield* listObjects(
        store,
        prefix,
        { ...opts, limit: 0, continue: "", resourceVersion: "", resourceVersionMatch: "" },
        predicate.success,
      )
      startRevision = listed.revision
      initial = listed.items.map((o) => eventLine("ADDED", encodeObject(o, ctx.nowMs)))
      if (opts.sendInitialEvents === true) initial.push(bookmark(startRevision, true))
    } else if (opts.resourceVersion === "") {
      startRevision = yield* store.revision
    } else {
      startRevision = Number(opts.resourceVersion)
    }

    const bookmarks = opts.allowWatchBookmarks && rendering._tag !== "Table"
    const timeoutSeconds = opts.timeoutSeconds ?? options.defaultWatchTimeoutSeconds ?? 1800
    const p = predicate.success
    const memoKey = ctx.served.apiVersion
    const batchKey =
      p.everything && rendering._tag !== "Table" ? `${prefix}\u0000${memoKey}` : undefined
    /**
     * The lines of a batch of changes as this watcher sees them. Plain lines
     * are shared through the memo; so is the whole text of a batch for
     * watchers without a selector (the same string, whose bytes the HTTP
     * shell encodes once for all of them).
     */
    const linesOf = (changes: ReadonlyArray<Change>, nowMs: number): WatchChunk => {
      if (batchKey === undefined) return batchLines(changes, nowMs)
      let memo = batchMemo.get(changes)
      if (memo === undefined) batchMemo.set(changes, (memo = new Map()))
      let chunk = memo.get(batchKey)
      if (chunk === undefined) memo.set(batchKey, (chunk = batchLines(changes, nowMs)))
      return chunk
    }
    const batchLines = (changes: ReadonlyArray<Change>, nowMs: number): WatchChunk => {
      let text = ""
      let events = 0
      for (const change of changes) {
        if (!change.key.startsWith(prefix)) continue
        const event = watchEventOf(change, p)
        if (event === undefined) continue
        events++
        if (rendering._tag === "Table") {
          text += eventLine(event.type, encodeObject(event.object, nowMs))
          continue
        }
        let memo = lineMemo.get(change)
        if (memo === undefined) lineMemo.set(change, (memo = new Map()))
        const key = `${event.type}\u0000${memoKey}`
        let line = memo.get(key)
        if (line === undefined)
          memo.set(key, (line = eventLine(event.type, encodeObject(event.object, nowMs))))
        text += line
      }
      return { text, events }
    }
    const cache = caches?.get(ctx.served.resource.name)
    const maxPending = options.maxPendingWatchChunks ?? maxPendingChunks
    if (cache?.canServe(startRevision)) {
      // The cache subscription is taken now, in the same step as the check that
      // the cache can serve this revision (a stream started later could find
      // the history moved on); events wait in the feed until consumed.
      const feed = new WatchFeed(maxPending)
      // The history replayed while subscribing is not held to the bound (it
      // is at most the cache's history; a watcher behind by more is served
      // by the store).
      let replaying = true
      const subscription = cache.subscribe(startRevision, {
        changes: (batch) => {
          const chunk = linesOf(batch, Date.now())
          if (chunk.events > 0) feed.offer(chunk.text, replaying ? 0 : chunk.events)
        },
        ...(bookmarks
          ? { progress: (revision: number) => feed.offer(bookmark(revision, false), 1) }
          : {}),
        end: (reason) => {
          feed.offer(eventLine("ERROR", expired(reason).status), 1)
          feed.close()
        },
      })
      replaying = false
      feed.onClose(() => subscription?.unsubscribe())
      // The stream carries one event per chunk, each taking a place in its bounded queue.
      const live = Stream.callback<string>(
        (queue) =>
          Effect.acquireRelease(
            Effect.sync(() =>
              feed.attach({
                write: (text, events) => {
                  // Unbounded chunks (the replay) stay whole, as one place in the queue.
                  if (events <= 1) return Queue.offerUnsafe(queue, text)
                  let from = 0
                  for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
                    if (!Queue.offerUnsafe(queue, text.slice(from, nl + 1))) return false
                    from = nl + 1
                  }
                  return true
                },
                end: () => Queue.endUnsafe(queue),
              }),
            ),
            () => Effect.sync(() => feed.close()),
          ),
        { bufferSize: maxPending, strategy: "dropping" },
      )
      const body = Stream.concat(Stream.fromIterable(initial), live).pipe(
        Stream.interruptWhen(Effect.sleep(timeoutSeconds * 1000)),
      )
      const push = (consumer: FeedConsumer): (() => void) => {
        feed.onClose(after(timeoutSeconds * 1000, () => feed.close()))
        // The initial events (a list's worth) are not held to the bound.
        if (initial.length > 0) consumer.write(initial.join(""), 0)
        feed.attach(consumer)
        return () => feed.close()
      }
      return { _tag: "Stream", status: 200, contentType: jsonType, body, push } as const
    }
    const changes: Stream.Stream<string> = store
      .watch(prefix, startRevision, bookmarks ? (options.bookmarkIntervalMs ?? 60_000) : undefined)
      .pipe(
        Stream.mapEffect((item) =>
          Effect.map(Clock.currentTimeMillis, (nowMs): string => {
            switch (item._tag) {
              case "Changes":
                return linesOf(item.changes, nowMs).text
              case "Progress":
                return bookmarks ? bookmark(item.revision, false) : ""
              case "Compacted":
                return eventLine(
                  "ERROR",
                  tooOldResourceVersion(startRevision, item.compactRevision).status,
                )
            }
          }),
        ),
        Stream.filter((chunk) => chunk !== ""),
        Stream.catch((error: ApiError) => Stream.make(eventLine("ERROR", error.status))),
      )
    const body = Stream.concat(Stream.fromIterable(initial), changes).pipe(
      Stream.interruptWhen(Effect.sleep(timeoutSeconds * 1000)),
    )
    return { _tag: "Stream", status: 200, contentType: jsonType, body } as const
  })

/** Events a watcher may have waiting before it is ended as too slow. */
export const maxPendingChunks = 10_000

/** Encoded event lines per change, shared by the watchers of a watch cache. */
const lineMemo = new WeakMap<Change, Map<string, string>>()

/** Watch event lines and how many events they hold. */
interface WatchChunk {
  readonly text: string
  readonly events: number
}

/** The lines of a batch of changes per (prefix, version), shared by plain watchers of a watch cache. */
const batchMemo = new WeakMap<ReadonlyArray<Change>, Map<string, WatchChunk>>()

// ---------------------------------------------------------------------------
// Routing

/** The OpenAPI documents, rendered on first use (generating the schemas takes a moment). */
let openApiCache:
  | { readonly entries: ReturnType<typeof openApiEntries>; readonly index: string }
  | undefined
const openApi = () => {
  if (openApiCache === undefined) {
    const entries = openApiEntries()
    openApiCache = { entries, index: JSON.stringify(openApiIndex(entries)) }
  }
  return openApiCache
}

const wantsAggregated = (accept: string | undefined): boolean =>
  parseAccept(accept).some(
    (a) =>
      a.params.g === "apidiscovery.k8s.io" &&
      a.params.as === "APIGroupDiscoveryList" &&
      (a.params.v === "v2" || a.params.v === "v2beta1"),
  )

const nonResource = (
  request: ApiRequest,
  r: Exclude<ReturnType<typeof route>, { _tag: "Resource" }>,
  options: HandlerOptions,
): ApiResponse => {
  const accept = request.headers.accept
  switch (r._tag) {
    case "Version":
      return jsonResponse(200, versionInfo)
    case "Health":
      return { _tag: "Body", status: 200, contentType: "text/plain", body: "ok" }
    case "CoreDiscovery":
      return wantsAggregated(accept)
        ? jsonResponse(200, aggregatedDiscovery(true), aggregatedDiscoveryContentType)
        : jsonResponse(200, apiVersions(options.serverAddress ?? "127.0.0.1:6443"))
    case "GroupsDiscovery":
      return wantsAggregated(accept)
        ? jsonResponse(200, aggregatedDiscovery(false), aggregatedDiscoveryContentType)
        : jsonResponse(200, apiGroupList())
    case "Group": {
      const g = apiGroupOf(r.group)
      return g === undefined ? errorResponse(pathNotFound()) : jsonResponse(200, g)
    }
    case "GroupVersion": {
      const l = apiResourceList(r.group, r.version)
      return l === undefined ? errorResponse(pathNotFound()) : jsonResponse(200, l)
    }
    case "OpenApiIndex":
      return { _tag: "Body", status: 200, contentType: jsonType, body: openApi().index }
    case "OpenApiDocument": {
      const doc = openApi().entries.find((e) => e.path === r.path)
      return doc === undefined
        ? errorResponse(pathNotFound())
        : { _tag: "Body", status: 200, contentType: jsonType, body: doc.json }
    }
    case "MethodNotAllowed":
      return errorResponse(methodNotAllowed())
    case "BadPath":
      return errorResponse(badRequest(r.message))
    case "OpenApiV2":
    case "NotFound":
      return {
        _tag: "Body",
        status: 404,
        contentType: "text/plain; charset=utf-8",
        body: "404 page not found\n",
      }
  }
}

/** Builds the handler over an object store. */
export const makeHandler = (
  store: ObjectStore,
  options: HandlerOptions = {},
  caches?: WatchCaches,
) => {
  const deps: WriteDeps = { store, options }
  /**
   * A resource request: plain code up to the store calls, which are the
   * effects (an Effect step per stage costs more than most stages). It runs
   * inside the request's effect (after the clock is read), so a throw
   * anywhere in it is a defect of the request, answered as a 500 Status.
   */
  const handleResource = (
    request: ApiRequest,
    r: ResourceRequest,
    nowMs: number,
  ): ApiResponse | Effect.Effect<ApiResponse, ApiError> => {
    const served = findResource(r.group, r.version, r.resource)
    if (served === undefined) return errorResponse(pathNotFound())
    const isNamespaces = served.resource.name === "namespaces"
    // A namespace is named by the path's namespace segment.
    const name = isNamespaces && r.name === "" && r.namespace !== "" ? r.namespace : r.name
    const namespace = isNamespaces ? "" : r.namespace
    if (!served.namespaced && namespace !== "") return errorResponse(pathNotFound())
    if (served.namespaced && namespace === "" && name !== "") return errorResponse(pathNotFound())
    // Kubernetes' key functions (IsValidPathSegmentName): a name is one path segment.
    const segmentProblems = isValidPathSegmentName(name)
    if (segmentProblems.length > 0) {
      return errorResponse(
        badRequest(`Name parameter invalid: ${JSON.stringify(name)}: ${segmentProblems.join(";")}`),
      )
    }
    const routed: ResourceRequest = {
      ...r,
      name,
      namespace,
      verb:
        r.verb === "list" && name !== ""
          ? "get"
          : r.verb === "deletecollection" && name !== ""
            ? "delete"
            : r.verb,
    }
    if (
      routed.subresource !== "" &&
      !served.subresources.some((s) => s.name === routed.subresource)
    ) {
      return errorResponse(pathNotFound())
    }
    const rendering = chooseRendering(
      parseAccept(request.headers.accept),
      request.query.get("includeObject"),
    )
    if (rendering === undefined) {
      return errorResponse(
        notAcceptable([
          "application/json",
          "application/yaml",
          "application/json;as=Table;v=v1;g=meta.k8s.io",
        ]),
      )
    }
    const includeObject = request.query.get("includeObject") ?? ""
    if (rendering._tag === "Table" && !["", "None", "Metadata", "Object"].includes(includeObject)) {
      // ValidateTableOptions: an unknown policy is refused, not read as Metadata.
      return errorResponse(
        badRequest(
          `includeObject: Invalid value: ${JSON.stringify(includeObject)}: must be 'Metadata', 'Object', 'None', or empty`,
          [
            {
              reason: "FieldValueInvalid",
              message: `Invalid value: ${JSON.stringify(includeObject)}: must be 'Metadata', 'Object', 'None', or empty`,
              field: "includeObject",
            },
          ],
        ),
      )
    }
    const ctx: ResourceContext = {
      request,
      route: routed,
      served,
      storage: storageResource(served),
      rendering,
      nowMs,
    }
    if (routed.subresource === "" || (routed.subresource === "status" && routed.verb === "get")) {
      switch (routed.verb) {
        case "get":
          return get(store, ctx)
        case "list":
          return list(store, ctx)
        case "watch":
          return watch(store, ctx, options, caches)
        default:
          break
      }
    }
    if (!served.verbs.includes(routed.verb) && routed.subresource === "") {
      return errorResponse(methodNotSupported(served.resource.name, served.group, routed.verb))
    }
    return writeRequest(deps, ctx)
  }

  return (request: ApiRequest): Effect.Effect<ApiResponse> => {
    const effect: Effect.Effect<ApiResponse, ApiError> = Effect.flatMap(
      Clock.currentTimeMillis,
      (nowMs) => {
        const r = route(request.method, request.path, request.query)
        if (r._tag !== "Resource") return Effect.succeed(nonResource(request, r, options))
        const answer = handleResource(request, r.request, nowMs)
        return Effect.isEffect(answer) ? answer : Effect.succeed(answer)
      },
    )
    return effect.pipe(
      Effect.catch((e: ApiError) => Effect.succeed(errorResponse(e))),
      Effect.catchDefect((defect) =>
        Effect.succeed(
          errorResponse(
            isApiError(defect)
              ? defect
              : internalError(defect instanceof Error ? defect.message : String(defect)),
          ),
        ),
      ),
    )
  }
}

export type Handler = ReturnType<typeof makeHandler>
