// The etcd v3 gRPC API over the KV and Cluster services: each method decodes
// its request (wire.ts), runs the service's Effect and sends the response or
// etcd's status. Streams (Watch, LeaseKeepAlive) process requests in arrival
// order and end when the client goes away.
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { Cause, Context, Effect, Exit, Queue, type Scope, Stream } from "effect"
import { Cluster } from "../cluster.ts"
import { ErrRequestTooLarge, type EtcdFailure, GrpcCode, invalidArgument } from "../core/errors.ts"
import type { WatchRequest, WatchResponse } from "../core/types.ts"
import { EtcdError } from "../errors.ts"
import { KV } from "../kv.ts"
import { handleConnection } from "./authority.ts"
import {
  decodeDelete,
  decodeMemberAdd,
  decodePut,
  decodeRange,
  decodeTxn,
  decodeWatchRequest,
  int64,
  uint64,
  type Wire,
  WireError,
  wireHeader,
  wireMember,
  withWireHeader,
} from "./wire.ts"

/** Where our .proto files live (next to src/ and dist/). */
export const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url))

/** proto-loader options the wire mapping expects. */
export const PROTO_OPTIONS: protoLoader.Options = {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
}

interface ServiceClients {
  readonly KV: grpc.ServiceClientConstructor
  readonly Watch: grpc.ServiceClientConstructor
  readonly Lease: grpc.ServiceClientConstructor
  readonly Cluster: grpc.ServiceClientConstructor
  readonly Maintenance: grpc.ServiceClientConstructor
}

/** etcd's services loaded from our .proto files (for the server, and for test clients). */
export const loadEtcdServices = (): ServiceClients => {
  const def = protoLoader.loadSync("etcdserverpb/rpc.proto", PROTO_OPTIONS)
  const root = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: ServiceClients }
  return root.etcdserverpb
}

export interface ServeOptions {
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string
  /** Port (default 0: any free port). */
  readonly port?: number
  /** etcd's --max-request-bytes (default 1.5 MiB); gRPC accepts that plus 512 KiB of overhead. */
  readonly maxRequestBytes?: number
  /**
   * Accept clients whose HTTP/2 :authority Node would reject (etcdctl 3.4's
   * per-endpoint calls send "http://host:port"); default true. See authority.ts.
   */
  readonly repairAuthority?: boolean
}

export interface EtcdServer {
  readonly host: string
  readonly port: number
  /** `http://host:port`, as etcd's client URLs are written. */
  readonly url: string
}

const statusOf = (f: EtcdFailure): Partial<grpc.StatusObject> => ({
  code: f.code,
  details: f.message,
})

const statusOfCause = (cause: Cause.Cause<EtcdError>): Partial<grpc.StatusObject> => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") return { code: error.value.code, details: error.value.message }
  return { code: GrpcCode.INTERNAL, details: `etcdserver: ${Cause.pretty(cause)}` }
}

const listenError = (host: string, port: number, error: Error): EtcdError =>
  new EtcdError({
    code: GrpcCode.UNAVAILABLE,
    message: `cannot listen on ${host}:${port}: ${error.message}`,
  })

/** grpc-js listens itself. */
const bindDirect = (server: grpc.Server, host: string, port: number) =>
  Effect.acquireRelease(
    Effect.callback<number, EtcdError>((resume) => {
      server.bindAsync(
        `${host}:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, bound) => {
          resume(
            error !== null ? Effect.fail(listenError(host, port, error)) : Effect.succeed(bound),
          )
        },
      )
    }),
    () =>
      Effect.sync(() => {
        // Open streams (watches) would keep a graceful shutdown waiting: force it.
        server.forceShutdown()
      }),
  )

/** We listen, and hand connections to grpc-js through the authority shim. */
const bindWithShim = (server: grpc.Server, host: string, port: number) =>
  Effect.acquireRelease(
    Effect.callback<{ listener: net.Server; sockets: Set<net.Socket> }, EtcdError>((resume) => {
      const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure())
      const sockets = new Set<net.Socket>()
      const listener = net.createServer((socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
        handleConnection(socket, (connection) => injector.injectConnection(connection))
      })
      listener.once("error", (error) => resume(Effect.fail(listenError(host, port, error))))
      listener.listen(port, host, () => resume(Effect.succeed({ listener, sockets })))
    }),
    ({ listener, sockets }) =>
      Effect.sync(() => {
        listener.close()
        server.forceShutdown()
        for (const s of sockets) s.destroy()
      }),
  ).pipe(Effect.map(({ listener }) => (listener.address() as net.AddressInfo).port))

/** Runs the etcd v3 gRPC server for the scope's lifetime. */
export const serve = (
  options: ServeOptions = {},
): Effect.Effect<EtcdServer, EtcdError, KV | Cluster | Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<KV | Cluster>()
    const kv = Context.get(context, KV)
    const cluster = Context.get(context, Cluster)
    const runCallback = Effect.runCallbackWith(context)
    const services = loadEtcdServices()
    const maxRequestBytes = options.maxRequestBytes ?? 1.5 * 1024 * 1024
    const server = new grpc.Server({
      "grpc.max_receive_message_length": maxRequestBytes + 512 * 1024,
      "grpc.max_send_message_length": 2 ** 31 - 1,
    })

    /** A unary method: decode, run, encode, or answer with etcd's status. */
    const unary =
      <Q, R>(
        decode: (w: Wire) => Q,
        run: (q: Q) => Effect.Effect<R, EtcdError>,
        encode: (r: R) => unknown,
      ): grpc.handleUnaryCall<Wire, unknown> =>
      (call, callback) => {
        let q: Q
        try {
          q = decode(call.request)
        } catch (e) {
          if (e instanceof WireError) return callback(statusOf(e.failure), null)
          return callback(statusOf(invalidArgument("request", String(e))), null)
        }
        runCallback(run(q), {
          onExit: (exit) => {
            if (Exit.isSuccess(exit)) callback(null, encode(exit.value))
            else callback(statusOfCause(exit.cause), null)
          },
        })
      }

    /**
     * A bidirectional stream: requests are handled one at a time in arrival
     * order; `setup` gets a writer and returns the handler. The stream's scope
     * closes when the client cancels or the call fails.
     */
    const bidi =
      <Q>(
        decode: (w: Wire) => Q | undefined,
        setup: (
          write: (r: unknown) => void,
        ) => Effect.Effect<(q: Q) => Effect.Effect<void, EtcdError>, never, KV | Scope.Scope>,
      ): grpc.handleBidiStreamingCall<Wire, unknown> =>
      (call) => {
        const program = Effect.scoped(
          Effect.gen(function* () {
            const inbox = yield* Queue.unbounded<Q>()
            const handle = yield* setup((r) => {
              call.write(r)
            })
            call.on("data", (w: Wire) => {
              try {
                const q = decode(w)
                if (q !== undefined) Queue.offerUnsafe(inbox, q)
              } catch (e) {
                // Like etcd, a malformed request does not end the stream; it is dropped.
                if (!(e instanceof WireError)) throw e
              }
            })
            yield* Effect.forkScoped(Stream.runForEach(Stream.fromQueue(inbox), handle))
            yield* Effect.callback<void>((resume) => {
              const done = (): void => resume(Effect.void)
              call.once("cancelled", done)
              call.once("error", done)
              call.once("close", done)
              if (call.cancelled || call.destroyed) done()
            })
          }),
        )
        runCallback(program, {
          onExit: (exit) => {
            if (Exit.isFailure(exit) && !call.cancelled && !call.destroyed) {
              call.emit("error", statusOfCause(exit.cause as Cause.Cause<EtcdError>))
            } else if (!call.destroyed) call.end()
          },
        })
      }

    const header = (h: { readonly header: Parameters<typeof wireHeader>[0] }) => withWireHeader(h)

    server.addService(services.KV.service, {
      Range: unary((w) => decodeRange(w), kv.range, header),
      Put: unary(
        (w) => {
          const p = decodePut(w)
          if (p.key.length + (p.value?.length ?? 0) > maxRequestBytes) {
            throw new WireError(ErrRequestTooLarge)
          }
          return p
        },
        kv.put,
        header,
      ),
      DeleteRange: unary((w) => decodeDelete(w), kv.deleteRange, header),
      Txn: unary((w) => decodeTxn(w), kv.txn, header),
      Compact: unary(
        (w) => ({ revision: int64(w, "revision"), physical: w.physical === true }),
        kv.compact,
        header,
      ),
    })

    server.addService(services.Watch.service, {
      Watch: bidi<WatchRequest>(decodeWatchRequest, (write) =>
        Effect.gen(function* () {
          const session = yield* kv.watchSession
          yield* Effect.forkScoped(
            Stream.runForEach(session.responses, (r: WatchResponse) =>
              Effect.sync(() => write(withWireHeader(r))),
            ),
          )
          return session.send
        }),
      ),
    })

    server.addService(services.Lease.service, {
      LeaseGrant: unary(
        (w) => ({ TTL: int64(w, "TTL"), ID: int64(w, "ID") }),
        kv.leaseGrant,
        header,
      ),
      LeaseRevoke: unary((w) => ({ ID: int64(w, "ID") }), kv.leaseRevoke, header),
      LeaseKeepAlive: bidi(
        (w) => ({ ID: int64(w, "ID") }),
        (write) =>
          Effect.succeed((q: { ID: number }) =>
            Effect.map(kv.leaseKeepAlive(q), (r) => write(withWireHeader(r))),
          ),
      ),
      LeaseTimeToLive: unary(
        (w) => ({ ID: int64(w, "ID"), keys: w.keys === true }),
        kv.leaseTimeToLive,
        header,
      ),
      LeaseLeases: unary(
        () => undefined,
        () => kv.leaseLeases,
        header,
      ),
    })

    server.addService(services.Cluster.service, {
      MemberList: unary(
        () => undefined,
        () => cluster.memberList,
        (r) => ({ header: wireHeader(r.header), members: r.members.map(wireMember) }),
      ),
      MemberAdd: unary(
        (w) => decodeMemberAdd(w),
        cluster.memberAdd,
        (r) => ({
          header: wireHeader(r.header),
          member: wireMember(r.member),
          members: r.members.map(wireMember),
        }),
      ),
      MemberRemove: unary(
        (w) => ({ ID: uint64(w, "ID") }),
        cluster.memberRemove,
        (r) => ({ header: wireHeader(r.header), members: r.members.map(wireMember) }),
      ),
    })

    server.addService(services.Maintenance.service, {
      Status: unary(
        () => undefined,
        () => cluster.status,
        (r) => ({ ...r, header: wireHeader(r.header), leader: r.leader.toString() }),
      ),
      // No alarms are ever raised (no space quota yet): GET lists none, the rest are no-ops.
      Alarm: unary(
        () => undefined,
        () => cluster.status,
        (r) => ({ header: wireHeader(r.header), alarms: [] }),
      ),
      HashKV: unary(
        (w) => int64(w, "revision"),
        cluster.hashKV,
        (r) => ({ ...r, header: wireHeader(r.header) }),
      ),
      Hash: unary(
        () => 0,
        cluster.hashKV,
        (r) => ({ header: wireHeader(r.header), hash: r.hash }),
      ),
      // Memory is reclaimed by compaction; defragmenting has nothing to do.
      Defragment: unary(
        () => undefined,
        () => cluster.status,
        (r) => ({ header: wireHeader(r.header) }),
      ),
    })

    const host = options.host ?? "127.0.0.1"
    const port =
      options.repairAuthority === false
        ? yield* bindDirect(server, host, options.port ?? 0)
        : yield* bindWithShim(server, host, options.port ?? 0)
    return { host, port, url: `http://${host}:${port}` }
  })
