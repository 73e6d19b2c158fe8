// The etcd v3 gRPC API over the KV and Cluster services, served by our own
// gRPC-over-HTTP/2 server (h2.ts): each method decodes its request, runs the
// service's Effect and sends the response or etcd's status. The KV service,
// watch responses and lease keep-alives use hand-written protobuf codecs
// (proto.ts); the rest goes through @grpc/proto-loader's (de)serializers and
// wire.ts. Streams (Watch, LeaseKeepAlive) process requests in arrival order
// and end when the client goes away.
import type * as http2 from "node:http2"
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
import { type GrpcMethod, type GrpcStatus, makeGrpcServer } from "./h2.ts"
import {
  frameDeleteResponse,
  frameKeepAliveResponse,
  framePutResponse,
  frameRangeResponse,
  frameTxnResponse,
  frameWatchResponse,
  ProtoReader,
  readDelete,
  readLeaseId,
  readPut,
  readRange,
  readTxn,
} from "./proto.ts"
import {
  decodeMemberAdd,
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

const statusOfFailure = (f: EtcdFailure): GrpcStatus => ({ code: f.code, message: f.message })

const statusOfCause = (cause: Cause.Cause<EtcdError>): GrpcStatus => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") return { code: error.value.code, message: error.value.message }
  return { code: GrpcCode.INTERNAL, message: `etcdserver: ${Cause.pretty(cause)}` }
}

const statusOfThrown = (e: unknown): GrpcStatus =>
  e instanceof WireError
    ? statusOfFailure(e.failure)
    : statusOfFailure(invalidArgument("request", String(e)))

const listenError = (host: string, port: number, error: Error): EtcdError =>
  new EtcdError({
    code: GrpcCode.UNAVAILABLE,
    message: `cannot listen on ${host}:${port}: ${error.message}`,
  })

/** A message as a gRPC frame (flag 0, u32 length, bytes). */
const frame = (message: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  out.set(message, 5)
  return out
}

interface MethodCodec {
  readonly requestDeserialize: (b: Buffer) => unknown
  readonly responseSerialize: (v: unknown) => Buffer
}

/** Listens on host:port and hands each connection to the HTTP/2 server (through the shim). */
const listen = (server: http2.Http2Server, host: string, port: number, repair: boolean) =>
  Effect.acquireRelease(
    Effect.callback<{ listener: net.Server; sockets: Set<net.Socket> }, EtcdError>((resume) => {
      const sockets = new Set<net.Socket>()
      const listener = net.createServer({ noDelay: true }, (socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
        if (repair) handleConnection(socket, (connection) => server.emit("connection", connection))
        else server.emit("connection", socket)
      })
      listener.once("error", (error) => resume(Effect.fail(listenError(host, port, error))))
      listener.listen(port, host, () => resume(Effect.succeed({ listener, sockets })))
    }),
    ({ listener, sockets }) =>
      Effect.sync(() => {
        listener.close()
        server.close()
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
    const definition = protoLoader.loadSync("etcdserverpb/rpc.proto", PROTO_OPTIONS)
    const codec = (service: string, method: string): MethodCodec => {
      const s = definition[`etcdserverpb.${service}`] as unknown as Record<string, MethodCodec>
      return s[method]!
    }
    const maxRequestBytes = options.maxRequestBytes ?? 1.5 * 1024 * 1024
    const methods = new Map<string, GrpcMethod>()

    /** A unary method: decode, run, encode (a framed message), or etcd's status. */
    const unary = <Q, R>(
      service: string,
      name: string,
      decode: (message: Uint8Array) => Q,
      run: (q: Q) => Effect.Effect<R, EtcdError>,
      encode: (r: R) => Uint8Array,
    ): void => {
      methods.set(`/etcdserverpb.${service}/${name}`, {
        kind: "unary",
        call: (message, reply) => {
          let q: Q
          try {
            q = decode(message)
          } catch (e) {
            reply(statusOfThrown(e))
            return undefined
          }
          const interrupt = runCallback(run(q), {
            onExit: (exit) => {
              if (Exit.isSuccess(exit)) {
                let out: Uint8Array
                try {
                  out = encode(exit.value)
                } catch (e) {
                  reply({ code: GrpcCode.INTERNAL, message: `etcdserver: ${String(e)}` })
                  return
                }
                reply(null, out)
              } else if (!Cause.hasInterruptsOnly(exit.cause)) reply(statusOfCause(exit.cause))
            },
          })
          return () => interrupt()
        },
      })
    }

    /** A unary method through proto-loader's codecs and wire.ts's mapping. */
    const generic = <Q, R>(
      service: string,
      name: string,
      decode: (w: Wire) => Q,
      run: (q: Q) => Effect.Effect<R, EtcdError>,
      encode: (r: R) => unknown,
    ): void => {
      const c = codec(service, name)
      unary(
        service,
        name,
        (message) =>
          decode(
            c.requestDeserialize(
              Buffer.from(message.buffer, message.byteOffset, message.byteLength),
            ) as Wire,
          ),
        run,
        (r) => frame(c.responseSerialize(encode(r))),
      )
    }

    /**
     * A bidirectional stream: requests are handled one at a time in arrival
     * order; `setup` gets a writer and returns the handler. The stream's scope
     * closes when the client cancels, half-closes or the connection breaks.
     */
    const bidi = <Q>(
      service: string,
      name: string,
      decode: (message: Uint8Array) => Q | undefined,
      setup: (
        write: (frame: Uint8Array) => void,
      ) => Effect.Effect<(q: Q) => Effect.Effect<void, EtcdError>, never, KV | Scope.Scope>,
    ): void => {
      methods.set(`/etcdserverpb.${service}/${name}`, {
        kind: "bidi",
        open: (send, end) => {
          let inbox: Queue.Queue<Q> | undefined
          const early: Q[] = []
          let closed = false
          let resumeClosed: (() => void) | undefined
          const program = Effect.scoped(
            Effect.gen(function* () {
              const q = yield* Queue.unbounded<Q>()
              for (const x of early) Queue.offerUnsafe(q, x)
              inbox = q
              const handle = yield* setup(send)
              yield* Effect.forkScoped(Stream.runForEach(Stream.fromQueue(q), handle))
              yield* Effect.callback<void>((resume) => {
                if (closed) return resume(Effect.void)
                resumeClosed = () => resume(Effect.void)
              })
            }),
          )
          runCallback(program, {
            onExit: (exit) => {
              if (Exit.isFailure(exit)) end(statusOfCause(exit.cause as Cause.Cause<EtcdError>))
              else end({ code: 0, message: "" })
            },
          })
          return {
            message: (m) => {
              let q: Q | undefined
              try {
                q = decode(m)
              } catch (e) {
                // Like etcd, a malformed request does not end the stream; it is dropped.
                if (!(e instanceof WireError)) throw e
                return
              }
              if (q === undefined) return
              if (inbox === undefined) early.push(q)
              else Queue.offerUnsafe(inbox, q)
            },
            close: () => {
              if (closed) return
              closed = true
              resumeClosed?.()
            },
          }
        },
      })
    }

    const reader = (m: Uint8Array) => new ProtoReader(m)

    unary("KV", "Range", (m) => readRange(reader(m)), kv.range, frameRangeResponse)
    unary(
      "KV",
      "Put",
      (m) => {
        const p = readPut(reader(m))
        if (p.key.length + (p.value?.length ?? 0) > maxRequestBytes) {
          throw new WireError(ErrRequestTooLarge)
        }
        return p
      },
      kv.put,
      framePutResponse,
    )
    unary("KV", "DeleteRange", (m) => readDelete(reader(m)), kv.deleteRange, frameDeleteResponse)
    unary("KV", "Txn", (m) => readTxn(reader(m)), kv.txn, frameTxnResponse)
    generic(
      "KV",
      "Compact",
      (w) => ({ revision: int64(w, "revision"), physical: w.physical === true }),
      kv.compact,
      withWireHeader,
    )

    const watchCodec = codec("Watch", "Watch")
    bidi<WatchRequest>(
      "Watch",
      "Watch",
      (m) =>
        decodeWatchRequest(
          watchCodec.requestDeserialize(Buffer.from(m.buffer, m.byteOffset, m.byteLength)) as Wire,
        ),
      (write) =>
        Effect.gen(function* () {
          const session = yield* kv.watchSession
          yield* Effect.forkScoped(
            Stream.runForEach(session.responses, (r: WatchResponse) =>
              Effect.sync(() => write(frameWatchResponse(r))),
            ),
          )
          return session.send
        }),
    )

    generic(
      "Lease",
      "LeaseGrant",
      (w) => ({ TTL: int64(w, "TTL"), ID: int64(w, "ID") }),
      kv.leaseGrant,
      withWireHeader,
    )
    generic("Lease", "LeaseRevoke", (w) => ({ ID: int64(w, "ID") }), kv.leaseRevoke, withWireHeader)
    bidi(
      "Lease",
      "LeaseKeepAlive",
      (m) => readLeaseId(reader(m)),
      (write) =>
        Effect.succeed((q: { ID: number }) =>
          Effect.map(kv.leaseKeepAlive(q), (r) => write(frameKeepAliveResponse(r))),
        ),
    )
    generic(
      "Lease",
      "LeaseTimeToLive",
      (w) => ({ ID: int64(w, "ID"), keys: w.keys === true }),
      kv.leaseTimeToLive,
      withWireHeader,
    )
    generic(
      "Lease",
      "LeaseLeases",
      () => undefined,
      () => kv.leaseLeases,
      withWireHeader,
    )

    generic(
      "Cluster",
      "MemberList",
      () => undefined,
      () => cluster.memberList,
      (r) => ({ header: wireHeader(r.header), members: r.members.map(wireMember) }),
    )
    generic(
      "Cluster",
      "MemberAdd",
      (w) => decodeMemberAdd(w),
      cluster.memberAdd,
      (r) => ({
        header: wireHeader(r.header),
        member: wireMember(r.member),
        members: r.members.map(wireMember),
      }),
    )
    generic(
      "Cluster",
      "MemberRemove",
      (w) => ({ ID: uint64(w, "ID") }),
      cluster.memberRemove,
      (r) => ({ header: wireHeader(r.header), members: r.members.map(wireMember) }),
    )

    generic(
      "Maintenance",
      "Status",
      () => undefined,
      () => cluster.status,
      (r) => ({ ...r, header: wireHeader(r.header), leader: r.leader.toString() }),
    )
    // No alarms are ever raised (no space quota yet): GET lists none, the rest are no-ops.
    generic(
      "Maintenance",
      "Alarm",
      () => undefined,
      () => cluster.status,
      (r) => ({ header: wireHeader(r.header), alarms: [] }),
    )
    generic(
      "Maintenance",
      "HashKV",
      (w) => int64(w, "revision"),
      cluster.hashKV,
      (r) => ({ ...r, header: wireHeader(r.header) }),
    )
    generic(
      "Maintenance",
      "Hash",
      () => 0,
      cluster.hashKV,
      (r) => ({ header: wireHeader(r.header), hash: r.hash }),
    )
    // Memory is reclaimed by compaction; defragmenting has nothing to do.
    generic(
      "Maintenance",
      "Defragment",
      () => undefined,
      () => cluster.status,
      (r) => ({ header: wireHeader(r.header) }),
    )

    const server = makeGrpcServer(methods, { maxReceiveBytes: maxRequestBytes + 512 * 1024 })
    const host = options.host ?? "127.0.0.1"
    const port = yield* listen(server, host, options.port ?? 0, options.repairAuthority !== false)
    return { host, port, url: `http://${host}:${port}` }
  })
