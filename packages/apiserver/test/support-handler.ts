// Test support: the request handler over an in-memory store, without HTTP,
// on Effect's test clock (times start at the epoch and move only when told).
import { KV } from "@flotilla/store"
import { Effect, Queue, type Scope, Stream } from "effect"
import { makeWatchCaches } from "../src/cacher.ts"
import { servedResources } from "../src/core/resources.ts"
import { type ApiResponse, type Handler, type HandlerOptions, makeHandler } from "../src/handler.ts"
import { bootstrap } from "../src/server.ts"
import { makeObjectStore, type ObjectStore } from "../src/storage.ts"

// biome-ignore lint/suspicious/noExplicitAny: response bodies, navigated by the assertions
export type Doc = any

export interface Call {
  readonly status: number
  readonly body: Doc
  readonly headers: Readonly<Record<string, string>>
  readonly contentType: string
}

export interface Api {
  readonly handle: Handler
  readonly store: ObjectStore
  readonly call: (
    method: string,
    path: string,
    options?: {
      readonly body?: unknown
      readonly rawBody?: Uint8Array
      readonly contentType?: string
      readonly accept?: string
      readonly query?: Record<string, string>
      readonly userAgent?: string
    },
  ) => Effect.Effect<Call>
  /** A watch's stream of decoded events. */
  readonly watch: (
    path: string,
    query?: Record<string, string>,
    accept?: string,
  ) => Effect.Effect<Stream.Stream<Doc>>
}

/**
 * The handler over the KV in context. Watches go through the watch cache
 * unless `caches` is false (then each watch is a direct store watch); with
 * `push`, watches the cache serves are consumed as the HTTP shell consumes
 * them (the response's `push`), else through the response's stream.
 */
export const makeApi = (
  options: HandlerOptions & {
    readonly caches?: boolean
    readonly historySize?: number
    readonly push?: boolean
  } = {},
): Effect.Effect<Api, never, KV | Scope.Scope> =>
  Effect.gen(function* () {
    const kv = yield* KV
    const store = makeObjectStore(kv)
    const caches =
      options.caches === false
        ? undefined
        : yield* makeWatchCaches(store, [...new Set(servedResources.map((r) => r.resource.name))], {
            progressEveryMs: options.bookmarkIntervalMs ?? 60_000,
            ...(options.historySize === undefined ? {} : { historySize: options.historySize }),
          })
    const handle = makeHandler(store, options, caches)
    yield* bootstrap(handle, 6443)
    const request = (
      method: string,
      path: string,
      o: Parameters<Api["call"]>[2] = {},
    ): Effect.Effect<ApiResponse> =>
      handle({
        method,
        path,
        query: new URLSearchParams(o.query ?? {}),
        headers: {
          "content-type": o.contentType ?? "application/json",
          accept: o.accept ?? "application/json",
          "user-agent": o.userAgent ?? "test/v0",
        },
        body:
          o.rawBody ??
          (o.body === undefined
            ? new Uint8Array(0)
            : new TextEncoder().encode(
                typeof o.body === "string" ? o.body : JSON.stringify(o.body),
              )),
      })
    const call: Api["call"] = (method, path, o) =>
      Effect.map(request(method, path, o), (r) => {
        if (r._tag !== "Body")
          throw new Error(`expected a body, got a stream from ${method} ${path}`)
        let body: Doc
        try {
          body = JSON.parse(r.body)
        } catch {
          body = r.body
        }
        return { status: r.status, body, headers: r.headers ?? {}, contentType: r.contentType }
      })
    const watch: Api["watch"] = (path, query = {}, accept) =>
      Effect.map(
        request("GET", path, {
          query: { ...query, watch: "true" },
          ...(accept === undefined ? {} : { accept }),
        }),
        (r) => {
          if (r._tag !== "Stream") throw new Error(`expected a stream from ${path}: ${r.body}`)
          const push = r.push
          const chunks =
            options.push === true && push !== undefined
              ? Stream.callback<string>((queue) =>
                  Effect.acquireRelease(
                    Effect.sync(() =>
                      push({
                        write: (text) => Queue.offerUnsafe(queue, text),
                        end: () => Queue.endUnsafe(queue),
                      }),
                    ),
                    (stop) => Effect.sync(stop),
                  ),
                )
              : r.body
          // A chunk carries one or more whole lines.
          return chunks.pipe(
            Stream.flatMap((chunk) =>
              Stream.fromIterable(
                chunk
                  .split("\n")
                  .filter((line) => line !== "")
                  .map((line) => JSON.parse(line) as Doc),
              ),
            ),
          )
        },
      )
    return { handle, store, call, watch }
  })

export const deployment = (name: string, replicas = 1, image = "nginx:1.27") => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "main", image }] },
    },
  },
})

export const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "main", image: "nginx:1.27" }], ...extra },
})

export const configMapLike = (name: string) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name },
  spec: { holderIdentity: "x" },
})
