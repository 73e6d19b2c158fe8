/**
 * The HTTP shell of the API server: `node:http` on 127.0.0.1, each request
 * read whole (bodies above 3 MiB are refused, as Kubernetes refuses them),
 * handed to the handler as an Effect run on the server's own context, and
 * the response written back; a watch is streamed chunk by chunk (chunked
 * transfer encoding, respecting backpressure) until it ends, times out or the
 * client goes away, which interrupts it. The listener is a scoped resource:
 * closing the scope stops accepting, ends open watches and closes the socket.
 * TLS and bearer tokens can wrap this later without touching the handler.
 */
import { timingSafeEqual } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import type { AddressInfo, Socket } from "node:net"
import type { Duplex } from "node:stream"
import { KV } from "@flotilla/store"
import { Context, Effect, Exit, Layer, Schema, type Scope, Stream } from "effect"
import { makeWatchCaches } from "./cacher.ts"
import { defaultCompactionIntervalMs, runCompactor } from "./compactor.ts"
import { kubernetesServiceIP } from "./core/allocation.ts"
import { servedResources } from "./core/resources.ts"
import type { FeedConsumer } from "./feed.ts"
import {
  type ApiRequest,
  type ApiResponse,
  type HandlerOptions,
  makeHandler,
  maxPendingChunks,
} from "./handler.ts"
import { runNamespaceLifecycle } from "./namespaces.ts"
import { makeObjectStore, type ObjectStore } from "./storage.ts"
import { systemNamespaces } from "./writes.ts"

/** Largest request body accepted (Kubernetes: 3 MiB). */
export const maxRequestBytes = 3 * 1024 * 1024

export interface ServerOptions extends HandlerOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string
  /** Port to listen on; 0 picks a free one (default 0). */
  readonly port?: number
  /**
   * Longest a change waits for others to share its batch on the way to
   * watchers (default 10 ms): each batch costs a socket write per watcher.
   */
  readonly watchBatchMs?: number
  /** A batch of this many changes goes to watchers at once, without waiting (default 16). */
  readonly watchBatchChanges?: number
  /** Create the system namespaces and the `kubernetes` Service when missing (default true). */
  readonly bootstrap?: boolean
  /**
   * Compact the store every this long to the revision of one interval
   * earlier, as Kubernetes' `--etcd-compaction-interval` (default 5
   * minutes; 0 never compacts).
   */
  readonly compactionIntervalMs?: number
  /** Empty and remove deleted namespaces, as Kubernetes' namespace controller does (default true). */
  readonly namespaceLifecycle?: boolean
  /** Serve HTTPS with this certificate and key (PEM) instead of plain HTTP. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
  /**
   * Require `Authorization: Bearer <token>` on every request except the
   * health checks; others get 401 Unauthorized.
   */
  readonly token?: string
}

export class ServeError extends Schema.TaggedError<ServeError>()("ServeError", {
  message: Schema.String,
}) {}

export interface ApiServerShape {
  readonly host: string
  readonly port: number
  /** `http://127.0.0.1:<port>` (`https://` with TLS) */
  readonly url: string
  /** The object store the server writes through (tests and embedding). */
  readonly store: ObjectStore
  /** The request handler, without HTTP (tests and embedding). */
  readonly handle: ReturnType<typeof makeHandler>
}

/**
 * Reads a request's body whole, then calls `done` with it (or with "too
 * large" past `maxRequestBytes`). A request that announces no body (no
 * Content-Length, no Transfer-Encoding, as GETs come) is handed on at once.
 * A request that fails while its body is read is dropped with its socket.
 */
const readBody = (
  req: IncomingMessage,
  res: ServerResponse,
  done: (body: Uint8Array | "too large") => void,
): void => {
  const length = req.headers["content-length"]
  if ((length === undefined || length === "0") && req.headers["transfer-encoding"] === undefined) {
    done(noBody)
    return
  }
  // Announced too large: refused at once, the body drained unread.
  if (length !== undefined && Number(length) > maxRequestBytes) {
    req.resume()
    done("too large")
    return
  }
  const chunks: Array<Buffer> = []
  let size = 0
  let tooLarge = false
  req.on("data", (chunk: Buffer) => {
    size += chunk.length
    if (size > maxRequestBytes) {
      tooLarge = true
      chunks.length = 0
      return
    }
    if (!tooLarge) chunks.push(chunk)
  })
  req.on("end", () =>
    done(
      tooLarge
        ? "too large"
        : new Uint8Array(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    ),
  )
  req.on("error", () => res.destroy())
}
const noBody = new Uint8Array(0)

type BodyResponse = Extract<ApiResponse, { _tag: "Body" }>

/** A failure the HTTP shell answers itself, as a `Status`. */
const failure = (code: number, reason: string, message: string): BodyResponse => ({
  _tag: "Body",
  status: code,
  contentType: "application/json",
  body: JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  }),
})

/** A request's headers as strings (node's own object when no header came as a list). */
const headersOf = (req: IncomingMessage): Readonly<Record<string, string | undefined>> => {
  // Only set-cookie arrives as an array in node's parsed headers.
  if (req.headers["set-cookie"] === undefined)
    return req.headers as Readonly<Record<string, string | undefined>>
  const out: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(", ") : v
  return out
}

/**
 * A request target's path and query. The path is kept as sent: dot segments
 * are not resolved (the URL parser would make `DELETE .../pods/.` a
 * deletecollection and `DELETE .../pods/..` a delete of the namespace; a
 * name `.` or `..` is refused by the handler instead, as Kubernetes refuses
 * it), a fragment is dropped, and an absolute-form target
 * (`http://host/path`) keeps only its path. Escapes are decoded per segment
 * by the router.
 */
export const targetOf = (
  raw: string,
): { readonly pathname: string; readonly searchParams: URLSearchParams } => {
  const hash = raw.indexOf("#")
  const target = hash < 0 ? raw : raw.slice(0, hash)
  const q = target.indexOf("?")
  let path = q < 0 ? target : target.slice(0, q)
  if (!path.startsWith("/")) {
    // Absolute form: scheme://authority/path (anything else has no path of ours).
    const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(path)
    path = absolute === null ? path : path.slice(absolute[0].length) || "/"
  }
  // The constructor drops one leading "?": give it the query's own.
  return { pathname: path, searchParams: new URLSearchParams(q < 0 ? "" : target.slice(q)) }
}

/**
 * The bytes of the chunk written last: watchers of the same resource get the
 * same string for the same changes, encoded once here rather than per socket.
 */
let lastChunk = ""
let lastBytes: Buffer = Buffer.alloc(0)
const bytesOf = (chunk: string): Buffer => {
  if (chunk !== lastChunk) {
    lastChunk = chunk
    lastBytes = Buffer.from(chunk)
  }
  return lastBytes
}

/** Writes one chunk, waiting for the socket to drain when its buffer is full. */
const writeChunk = (res: ServerResponse, chunk: string): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (res.destroyed) {
      resume(Effect.void)
      return
    }
    if (res.write(bytesOf(chunk))) resume(Effect.void)
    else res.once("drain", () => resume(Effect.void))
  })

/**
 * The chunk written last, framed for chunked transfer encoding (size line,
 * bytes, CRLF): watchers of the same resource get the same string for the
 * same changes, framed once here and written as is to every socket.
 */
let lastFramedText = ""
let lastFramed: Buffer = Buffer.alloc(0)
const framedOf = (text: string): Buffer => {
  if (text !== lastFramedText) {
    const size = Buffer.byteLength(text)
    const head = `${size.toString(16)}\r\n`
    const framed = Buffer.allocUnsafe(head.length + size + 2)
    framed.write(head, 0, "latin1")
    framed.write(text, head.length, "utf8")
    framed.write("\r\n", head.length + size, "latin1")
    lastFramedText = text
    lastFramed = framed
  }
  return lastFramed
}

/**
 * Writes a watch's chunks to its response as they come, in the same turn of
 * the event loop: once the headers are out, each chunk goes straight to the
 * socket, framed once for all watchers (the response's own `write` frames
 * and encodes per socket). The socket's buffer holds what it cannot send
 * yet; a watcher with more than `maxPending` events written since the
 * buffer last drained is too slow and its watch ends.
 */
const socketConsumer = (
  res: ServerResponse,
  maxPending: number,
  ended: () => void,
): FeedConsumer => {
  // The response owns the socket (no pipelined response ahead of it) and frames chunks itself.
  const socket = res.socket
  const direct = socket !== null && res.headersSent && res.req.httpVersion === "1.1"
  const target = direct ? socket : res
  let behind = 0
  const drained = () => {
    behind = 0
  }
  target.on("drain", drained)
  return {
    write: (text, events) => {
      if (res.destroyed) return false
      if (direct ? socket.write(framedOf(text)) : res.write(bytesOf(text))) behind = 0
      else behind += events
      return behind <= maxPending
    },
    end: () => {
      target.off("drain", drained)
      if (!res.writableEnded) res.end()
      ended()
    },
  }
}

/**
 * Writes a whole response, with its length (not chunked). A text body goes
 * out with the headers in one string write (node prepends the header block to
 * a string written first). A body in parts (a list's shared item bytes) goes
 * out as one gathered write of the header block and the parts as they are,
 * on the corked socket, when the response owns its socket (a pipelined one
 * waiting behind another has none yet, and node buffers what it writes) and
 * has a body (not HEAD): joining ~150 KB per list into one new buffer cost a
 * copy, and its off-heap allocation made the collector run more often.
 */
const writeBody = (res: ServerResponse, response: BodyResponse) => {
  const chunks = response.chunks
  let length = 0
  if (chunks !== undefined) for (const c of chunks) length += c.byteLength
  res.writeHead(response.status, {
    "content-type": response.contentType,
    "cache-control": "no-cache, private",
    "content-length": String(chunks === undefined ? Buffer.byteLength(response.body) : length),
    ...response.headers,
  })
  if (chunks === undefined) {
    res.end(response.body, "utf8")
    return
  }
  const socket = res.socket
  if (socket !== null && !res.destroyed && res.req.method !== "HEAD") {
    socket.cork()
    res.flushHeaders()
    for (const c of chunks) socket.write(c)
    res.end()
    socket.uncork()
    return
  }
  for (const c of chunks) res.write(c)
  res.end()
}

/**
 * Writes a whole response; one node refuses to write (a header value it
 * rejects) becomes a 500 Status instead of an exception thrown out of the
 * request's callback, which would end the process.
 */
const writeSafely = (res: ServerResponse, response: BodyResponse) => {
  try {
    writeBody(res, response)
  } catch (e) {
    if (res.headersSent) res.destroy()
    else
      writeBody(
        res,
        failure(
          500,
          "InternalError",
          `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`,
        ),
      )
  }
}

/** Streams a response (a watch, a followed log) until it ends. */
const respond = (
  res: ServerResponse,
  response: Extract<ApiResponse, { _tag: "Stream" }>,
  maxPending: number,
): Effect.Effect<void> => {
  if (response.push !== undefined) {
    const push = response.push
    return Effect.callback<void>((resume) => {
      res.writeHead(response.status, {
        "content-type": response.contentType,
        "cache-control": "no-cache, private",
        "transfer-encoding": "chunked",
      })
      res.flushHeaders()
      const stop = push(socketConsumer(res, maxPending, () => resume(Effect.void)))
      // Interrupted (the client went away, the server stops): end the watch.
      return Effect.sync(stop)
    })
  }
  return Effect.gen(function* () {
    res.writeHead(response.status, {
      "content-type": response.contentType,
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    })
    res.flushHeaders()
    // Whatever chunks are ready go out in one write.
    yield* Stream.runForEachArray(response.body, (chunks) =>
      writeChunk(res, chunks.length === 1 ? (chunks[0] as string) : chunks.join("")),
    )
    res.end()
  })
}

/** Creates what a fresh cluster has: the system namespaces and the `kubernetes` Service. */
export const bootstrap = (
  handle: ReturnType<typeof makeHandler>,
  port: number,
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const post = (path: string, body: unknown) =>
      handle({
        method: "POST",
        path,
        query: new URLSearchParams({ fieldManager: "kube-apiserver" }),
        headers: { "content-type": "application/json", "user-agent": "kube-apiserver/v1.32.4" },
        body: new TextEncoder().encode(JSON.stringify(body)),
      })
    for (const name of systemNamespaces) {
      yield* post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } })
    }
    // The Service and its Endpoints are applied: a restart on another port updates them.
    const apply = (path: string, body: unknown) =>
      handle({
        method: "PATCH",
        path,
        query: new URLSearchParams({ fieldManager: "kube-apiserver", force: "true" }),
        headers: {
          "content-type": "application/apply-patch+yaml",
          "user-agent": "kube-apiserver/v1.32.4",
        },
        body: new TextEncoder().encode(JSON.stringify(body)),
      })
    yield* apply("/api/v1/namespaces/default/services/kubernetes", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: {
        type: "ClusterIP",
        clusterIP: kubernetesServiceIP,
        ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }],
      },
    })
    yield* apply("/api/v1/namespaces/default/endpoints/kubernetes", {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: {
        name: "kubernetes",
        labels: { "endpointslice.kubernetes.io/skip-mirror": "true" },
      },
      subsets: [
        { addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port, protocol: "TCP" }] },
      ],
    })
  })

const listen = (
  server: Server,
  host: string,
  port: number,
): Effect.Effect<AddressInfo, ServeError> =>
  Effect.callback<AddressInfo, ServeError>((resume) => {
    const onError = (e: Error) =>
      resume(Effect.fail(new ServeError({ message: `listen on ${host}:${port}: ${e.message}` })))
    server.once("error", onError)
    try {
      server.listen(port, host, () => {
        server.off("error", onError)
        resume(Effect.succeed(server.address() as AddressInfo))
      })
    } catch (e) {
      // A port Node refuses outright (out of range, not an integer) throws instead of emitting.
      server.off("error", onError)
      onError(e instanceof Error ? e : new Error(String(e)))
    }
  })

/** A whole response written on a bare socket (before any request was read from it), then closed. */
const rawResponse = (status: number, reason: string, body: string) =>
  `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncache-control: no-cache, private\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`

const methodNotAllowedResponse = rawResponse(
  405,
  "Method Not Allowed",
  JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "the server does not allow this method on the requested resource",
    reason: "MethodNotAllowed",
    details: {},
    code: 405,
  }),
)

/** Node's own answers to a request it could not parse (what it writes when no listener is set). */
const parseFailureResponses: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
  ERR_HTTP_REQUEST_TIMEOUT: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
}

/**
 * A request Node's parser refuses. A method it does not know (Go, and so
 * Kubernetes, takes any token as a method and answers 405 on a resource) gets
 * Kubernetes' 405 Status instead of Node's bare 400; anything else gets Node's
 * own answer. Only on a socket that has written nothing: otherwise a response
 * may still be on its way and the socket is just closed, as Node does.
 */
const onClientError = (e: Error & { readonly code?: string }, socket: Duplex) => {
  if (socket.writable && (socket as Socket).bytesWritten === 0 && e.code !== "ECONNRESET") {
    socket.end(
      e.code === "HPE_INVALID_METHOD"
        ? methodNotAllowedResponse
        : (parseFailureResponses[e.code ?? ""] ??
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"),
    )
  } else {
    socket.destroy()
  }
}

/** Starts the server in the current scope. */
export const serve = (
  kv: KV["Service"],
  options: ServerOptions = {},
): Effect.Effect<ApiServerShape, ServeError, Scope.Scope> =>
  Effect.gen(function* () {
    const host = options.host ?? "127.0.0.1"
    const store = makeObjectStore(kv)
    const server: Server =
      options.tls === undefined
        ? createServer()
        : createHttpsServer({ cert: options.tls.cert, key: options.tls.key })
    const scheme = options.tls === undefined ? "http" : "https"
    const expected =
      options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`)
    const authorized = (req: IncomingMessage, path: string): boolean => {
      if (expected === undefined || path === "/healthz" || path === "/livez" || path === "/readyz")
        return true
      const given = Buffer.from(req.headers.authorization ?? "")
      return given.length === expected.length && timingSafeEqual(given, expected)
    }
    const address = yield* Effect.acquireRelease(listen(server, host, options.port ?? 0), () =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      }),
    )
    const port = address.port
    const caches = yield* makeWatchCaches(
      store,
      [...new Set(servedResources.map((r) => r.resource.name))],
      {
        progressEveryMs: options.bookmarkIntervalMs ?? 60_000,
        ...(options.watchBatchMs === undefined ? {} : { batchMs: options.watchBatchMs }),
        ...(options.watchBatchChanges === undefined
          ? {}
          : { batchChanges: options.watchBatchChanges }),
      },
    )
    const handle = makeHandler(store, { serverAddress: `${host}:${port}`, ...options }, caches)
    const unauthorized = failure(401, "Unauthorized", "Unauthorized")
    // Kubernetes' words (NewRequestEntityTooLargeError) for a body past the limit.
    const tooLarge = failure(
      413,
      "RequestEntityTooLarge",
      `Request entity too large: limit is ${maxRequestBytes}`,
    )
    const context = yield* Effect.context<never>()
    const run = Effect.runCallbackWith(context)
    const maxPending = options.maxPendingWatchChunks ?? maxPendingChunks
    // Plain callbacks around one fiber per request, which runs the handler
    // (and streams a watch); whole bodies are written straight from its exit.
    const onExit = (res: ServerResponse) => (exit: Exit.Exit<ApiResponse | undefined>) => {
      if (Exit.isSuccess(exit)) {
        if (exit.value !== undefined && exit.value._tag === "Body") writeSafely(res, exit.value)
        else if (!res.writableEnded) res.end()
      } else if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" })
        res.end("internal error\n")
      } else if (!res.writableEnded) {
        res.end()
      }
    }
    const dispatch = (
      req: IncomingMessage,
      res: ServerResponse,
      url: ReturnType<typeof targetOf>,
      body: Uint8Array,
    ) => {
      const request: ApiRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: headersOf(req),
        body,
      }
      const program = Effect.flatMap(handle(request), (response) =>
        response._tag === "Body"
          ? Effect.succeed(response)
          : Effect.as(respond(res, response, maxPending), undefined),
      )
      const interrupt = run(program, { onExit: onExit(res) })
      // The client went away (a watch closed by kubectl): stop the work.
      res.on("close", () => {
        if (!res.writableFinished) interrupt()
      })
    }
    server.on("clientError", onClientError)
    // CONNECT (a proxy tunnel) is no verb of the API: Node would drop the socket unanswered.
    server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
      socket.end(methodNotAllowedResponse)
    })
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const url = targetOf(req.url ?? "/")
      if (!authorized(req, url.pathname)) {
        req.resume()
        writeBody(res, unauthorized)
        return
      }
      readBody(req, res, (body) => {
        if (body === "too large") writeBody(res, tooLarge)
        else dispatch(req, res, url, body)
      })
    })
    if (options.bootstrap !== false) yield* bootstrap(handle, port)
    if (options.namespaceLifecycle !== false) yield* runNamespaceLifecycle(handle, caches)
    const compactionIntervalMs = options.compactionIntervalMs ?? defaultCompactionIntervalMs
    if (compactionIntervalMs > 0) yield* runCompactor(kv, compactionIntervalMs)
    return { host, port, url: `${scheme}://${host}:${port}`, store, handle }
  })

/** The running API server. */
export class ApiServer extends Context.Service<ApiServer, ApiServerShape>()(
  "@flotilla/apiserver/ApiServer",
) {
  /** An API server over the `KV` service, listening while the layer is alive. */
  static layer(options: ServerOptions = {}): Layer.Layer<ApiServer, ServeError, KV> {
    return Layer.effect(
      ApiServer,
      Effect.gen(function* () {
        const kv = yield* KV
        return yield* serve(kv, options)
      }),
    )
  }
}
