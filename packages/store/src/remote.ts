// KV over the etcd v3 gRPC API of any endpoints: ours or a real etcd. The
// same service as the in-process layer, so the API server runs on either.
// Responses are decoded and checked (int64 must be safe integers) with
// errors naming the field.
import * as grpc from "@grpc/grpc-js"
import { Cause, Effect, Layer, Queue, Stream } from "effect"
import { GrpcCode } from "./core/errors.ts"
import type {
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from "./core/types.ts"
import { EtcdError } from "./errors.ts"
import { loadEtcdServices } from "./grpc/server.ts"
import { bytes, int64, uint64, type Wire, WireError } from "./grpc/wire.ts"
import { KV } from "./kv.ts"

export interface RemoteOptions {
  /** `host:port` or `http://host:port`, as etcd's --endpoints. */
  readonly endpoints: ReadonlyArray<string>
  /** Per-call deadline (default 10 s). */
  readonly timeoutMillis?: number
}

const asMessage = (v: unknown): Wire => (v !== null && typeof v === "object" ? (v as Wire) : {})
const asList = (v: unknown): Wire[] => (Array.isArray(v) ? v.map(asMessage) : [])

const decodeHeader = (w: Wire): ResponseHeader => {
  const h = asMessage(w.header)
  return {
    cluster_id: uint64(h, "cluster_id", "header.cluster_id"),
    member_id: uint64(h, "member_id", "header.member_id"),
    revision: int64(h, "revision", "header.revision"),
    raft_term: int64(h, "raft_term", "header.raft_term"),
  }
}

const decodeKv = (w: Wire, p: string): KeyValue => ({
  key: bytes(w, "key", `${p}.key`),
  create_revision: int64(w, "create_revision", `${p}.create_revision`),
  mod_revision: int64(w, "mod_revision", `${p}.mod_revision`),
  version: int64(w, "version", `${p}.version`),
  value: bytes(w, "value", `${p}.value`),
  lease: int64(w, "lease", `${p}.lease`),
})

const decodeRangeResponse = (w: Wire): RangeResponse => ({
  header: decodeHeader(w),
  kvs: asList(w.kvs).map((kv, i) => decodeKv(kv, `kvs[${i}]`)),
  more: w.more === true,
  count: int64(w, "count"),
})

const decodePutResponse = (w: Wire): PutResponse =>
  w.prev_kv != null
    ? { header: decodeHeader(w), prev_kv: decodeKv(asMessage(w.prev_kv), "prev_kv") }
    : { header: decodeHeader(w) }

const decodeDeleteResponse = (w: Wire): DeleteRangeResponse => ({
  header: decodeHeader(w),
  deleted: int64(w, "deleted"),
  prev_kvs: asList(w.prev_kvs).map((kv, i) => decodeKv(kv, `prev_kvs[${i}]`)),
})

const decodeTxnResponse = (w: Wire): TxnResponse => ({
  header: decodeHeader(w),
  succeeded: w.succeeded === true,
  responses: asList(w.responses).map((r): ResponseOp => {
    if (r.response_range != null)
      return { response_range: decodeRangeResponse(asMessage(r.response_range)) }
    if (r.response_put != null)
      return { response_put: decodePutResponse(asMessage(r.response_put)) }
    if (r.response_delete_range != null) {
      return { response_delete_range: decodeDeleteResponse(asMessage(r.response_delete_range)) }
    }
    return { response_txn: decodeTxnResponse(asMessage(r.response_txn)) }
  }),
})

const decodeEvent = (w: Wire, i: number): Event => {
  const kv = decodeKv(asMessage(w.kv), `events[${i}].kv`)
  const type = w.type === "DELETE" ? "DELETE" : "PUT"
  return w.prev_kv != null
    ? { type, kv, prev_kv: decodeKv(asMessage(w.prev_kv), `events[${i}].prev_kv`) }
    : { type, kv }
}

const decodeWatchResponse = (w: Wire): WatchResponse => ({
  header: decodeHeader(w),
  watch_id: int64(w, "watch_id"),
  created: w.created === true,
  canceled: w.canceled === true,
  compact_revision: int64(w, "compact_revision"),
  cancel_reason: typeof w.cancel_reason === "string" ? w.cancel_reason : "",
  fragment: w.fragment === true,
  events: asList(w.events).map(decodeEvent),
})

const toEtcdError = (e: unknown): EtcdError => {
  if (e instanceof WireError) return EtcdError.fromFailure(e.failure)
  const s = e as Partial<grpc.ServiceError>
  return new EtcdError({
    code: typeof s.code === "number" ? s.code : GrpcCode.UNKNOWN,
    message: s.details ?? String(e),
  })
}

/** proto-loader's encoder takes our objects except for uint64 IDs (bigint). */
const wireRequest = (req: WatchRequest): unknown => req

/**
 * `host:port` of each endpoint (`http://` or `https://` in front allowed, as
 * etcdctl takes them; `unix:` sockets as they are), or an INVALID_ARGUMENT
 * naming the one that is not.
 */
export const endpointHosts = (
  endpoints: ReadonlyArray<string>,
): Effect.Effect<ReadonlyArray<string>, EtcdError> =>
  Effect.suspend(() => {
    const refuse = (i: number, reason: string) =>
      Effect.fail(
        new EtcdError({
          code: GrpcCode.INVALID_ARGUMENT,
          message: `endpoints[${i}] ${JSON.stringify(endpoints[i])}: ${reason}`,
        }),
      )
    if (endpoints.length === 0)
      return Effect.fail(
        new EtcdError({ code: GrpcCode.INVALID_ARGUMENT, message: "endpoints: none given" }),
      )
    const hosts: string[] = []
    for (const [i, e] of endpoints.entries()) {
      if (e.startsWith("unix:")) {
        // A Unix socket, as gRPC names it (unix:/path, unix:///path).
        hosts.push(e)
        continue
      }
      const host = e.replace(/^https?:\/\//, "").replace(/\/$/, "")
      const m = /^(\[[0-9a-fA-F:.]+\]|[^\s/:@[\]]+):(\d{1,5})$/.exec(host)
      if (m === null) return refuse(i, "expected host:port (http:// in front allowed)")
      const port = Number(m[2])
      if (port < 1 || port > 65_535) return refuse(i, `port ${m[2]} is not in 1-65535`)
      hosts.push(host)
    }
    return Effect.succeed(hosts)
  })

/** The KV service over remote etcd v3 endpoints; malformed endpoints fail it (INVALID_ARGUMENT). */
export const layerRemote = (options: RemoteOptions): Layer.Layer<KV, EtcdError> =>
  Layer.effect(
    KV,
    Effect.gen(function* () {
      const services = loadEtcdServices()
      const hosts = yield* endpointHosts(options.endpoints)
      // One channel to all endpoints, trying them in order (pick_first) on failure.
      const target = hosts.length === 1 ? hosts[0]! : `ipv4:${hosts.join(",")}`
      const credentials = grpc.credentials.createInsecure()
      const channelOptions = { "grpc.max_receive_message_length": 2 ** 31 - 1 }
      type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>
      const kvClient = new services.KV(target, credentials, channelOptions) as unknown as Client
      const leaseClient = new services.Lease(
        target,
        credentials,
        channelOptions,
      ) as unknown as Client
      const watchClient = new services.Watch(
        target,
        credentials,
        channelOptions,
      ) as unknown as Client
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          kvClient.close()
          leaseClient.close()
          watchClient.close()
        }),
      )
      const timeout = options.timeoutMillis ?? 10_000

      const call = <R>(client: Client, method: string, req: unknown, decode: (w: Wire) => R) =>
        Effect.callback<R, EtcdError>((resume) => {
          const deadline = new Date(Date.now() + timeout)
          const fn = client[method]!.bind(client) as (
            req: unknown,
            meta: grpc.Metadata,
            opts: grpc.CallOptions,
            cb: (err: grpc.ServiceError | null, res: Wire) => void,
          ) => grpc.ClientUnaryCall
          const c = fn(req, new grpc.Metadata(), { deadline }, (err, res) => {
            if (err !== null) return resume(Effect.fail(toEtcdError(err)))
            try {
              resume(Effect.succeed(decode(res)))
            } catch (e) {
              resume(Effect.fail(toEtcdError(e)))
            }
          })
          return Effect.sync(() => c.cancel())
        })

      const openWatch = (onResponse: (r: WatchResponse) => void, onError: (e: EtcdError) => void) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const stream = (watchClient.Watch as () => grpc.ClientDuplexStream<unknown, Wire>)()
            stream.on("data", (w: Wire) => {
              try {
                onResponse(decodeWatchResponse(w))
              } catch (e) {
                onError(toEtcdError(e))
              }
            })
            stream.on("error", (e) => {
              if ((e as grpc.ServiceError).code !== grpc.status.CANCELLED) onError(toEtcdError(e))
            })
            return stream
          }),
          (stream) => Effect.sync(() => stream.cancel()),
        )

      return KV.of({
        range: (req) => call(kvClient, "Range", req, decodeRangeResponse),
        put: (req) => call(kvClient, "Put", req, decodePutResponse),
        deleteRange: (req) => call(kvClient, "DeleteRange", req, decodeDeleteResponse),
        txn: (req) => call(kvClient, "Txn", req, decodeTxnResponse),
        compact: (req) => call(kvClient, "Compact", req, (w) => ({ header: decodeHeader(w) })),
        leaseGrant: (req) =>
          call(
            leaseClient,
            "LeaseGrant",
            req,
            (w): LeaseGrantResponse => ({
              header: decodeHeader(w),
              ID: int64(w, "ID"),
              TTL: int64(w, "TTL"),
              error: typeof w.error === "string" ? w.error : "",
            }),
          ),
        leaseRevoke: (req) =>
          call(leaseClient, "LeaseRevoke", req, (w) => ({ header: decodeHeader(w) })),
        leaseKeepAlive: (req) =>
          Effect.callback<LeaseKeepAliveResponse, EtcdError>((resume) => {
            // One short stream per keep-alive: a request, its response, done.
            const stream = (
              leaseClient.LeaseKeepAlive as () => grpc.ClientDuplexStream<unknown, Wire>
            )()
            stream.once("data", (w: Wire) => {
              try {
                resume(
                  Effect.succeed({
                    header: decodeHeader(w),
                    ID: int64(w, "ID"),
                    TTL: int64(w, "TTL"),
                  }),
                )
              } catch (e) {
                resume(Effect.fail(toEtcdError(e)))
              }
              stream.cancel()
            })
            stream.on("error", (e) => {
              if ((e as grpc.ServiceError).code !== grpc.status.CANCELLED)
                resume(Effect.fail(toEtcdError(e)))
            })
            stream.write(req)
            return Effect.sync(() => stream.cancel())
          }),
        leaseTimeToLive: (req) =>
          call(
            leaseClient,
            "LeaseTimeToLive",
            req,
            (w): LeaseTimeToLiveResponse => ({
              header: decodeHeader(w),
              ID: int64(w, "ID"),
              TTL: int64(w, "TTL"),
              grantedTTL: int64(w, "grantedTTL"),
              keys: Array.isArray(w.keys) ? (w.keys as Uint8Array[]) : [],
            }),
          ),
        leaseLeases: call(
          leaseClient,
          "LeaseLeases",
          {},
          (w): LeaseLeasesResponse => ({
            header: decodeHeader(w),
            leases: asList(w.leases).map((l, i) => ({ ID: int64(l, "ID", `leases[${i}].ID`) })),
          }),
        ),
        watch: (req) =>
          Stream.callback<WatchResponse, EtcdError>((queue) =>
            Effect.map(
              openWatch(
                (r) => {
                  Queue.offerUnsafe(queue, r)
                  if (r.canceled) Queue.endUnsafe(queue)
                },
                (e) => Queue.failCauseUnsafe(queue, Cause.fail(e)),
              ),
              (stream) => {
                stream.write(wireRequest({ create_request: req }))
              },
            ),
          ),
        watchSession: Effect.gen(function* () {
          const queue = yield* Queue.unbounded<WatchResponse, EtcdError | Cause.Done>()
          const stream = yield* openWatch(
            (r) => {
              Queue.offerUnsafe(queue, r)
            },
            (e) => {
              Queue.failCauseUnsafe(queue, Cause.fail(e))
            },
          )
          yield* Effect.addFinalizer(() => Queue.shutdown(queue))
          return {
            send: (req: WatchRequest) => Effect.sync(() => void stream.write(wireRequest(req))),
            responses: Stream.fromQueue(queue),
          }
        }),
      })
    }),
  )
