// The etcd v3 gRPC API over the KV and Cluster services, served by our own
// gRPC-over-HTTP/2 server (h2.ts): each method decodes its request, runs the
// service's Effect and sends the response or etcd's status. Every request is
// read by a hand-written protobuf reader (proto.ts: each field checked, errors
// naming it); the KV service's responses, watch responses and keep-alives are
// written by hand too, the rest through @grpc/proto-loader's serializers and
// wire.ts. Streams (Watch, LeaseKeepAlive) process requests in arrival order,
// end on a malformed request (as etcd's do) and when the client goes away.

import { createHash } from "node:crypto"
import type * as http2 from "node:http2"
import * as net from "node:net"
import * as protoLoader from "@grpc/proto-loader"
import { Cause, Context, Duration, Effect, Exit, Queue, type Scope, Stream } from "effect"
import { Cluster, ETCD_API_VERSION } from "../cluster.ts"
import { ErrRequestTooLarge, type EtcdFailure, GrpcCode } from "../core/errors.ts"
import { learnerRefusal, learnerStreamRefusal } from "../core/learner.ts"
import type { Member, ResponseHeader, WatchRequest, WatchResponse } from "../core/types.ts"
import { isReadOnlyTxn } from "../core/validate.ts"
import { EtcdError } from "../errors.ts"
import { KV } from "../kv.ts"
import { handleConnection } from "./authority.ts"
import { type GrpcMethod, type GrpcStatus, makeGrpcServer } from "./h2.ts"
import { type Http1Endpoints, serveHttp1 } from "./http1.ts"
import { MemberCounters, memberMetrics } from "./metrics.ts"
import {
  frameDeleteResponse,
  frameKeepAliveResponse,
  framePutResponse,
  frameRangeResponse,
  frameSnapshotResponse,
  frameTxnResponse,
  frameWatchResponse,
  ProtoReader,
  readAlarm,
  readCompaction,
  readDelete,
  readEmpty,
  readHashKV,
  readLeaseGrant,
  readLeaseId,
  readLeaseTimeToLive,
  readMemberAdd,
  readMemberId,
  readMemberUpdate,
  readMoveLeader,
  readPut,
  readRange,
  readTxn,
  readWatchRequest,
} from "./proto.ts"
import { PROTO_OPTIONS } from "./services.ts"
import { WireError, wireHeader, wireMember, withWireHeader } from "./wire.ts"

export { loadEtcdServices, PROTO_DIR, PROTO_OPTIONS } from "./services.ts"

/** etcd's snapshotSendBufferSize: the blob of each SnapshotResponse. */
const SNAPSHOT_CHUNK_BYTES = 32 * 1024

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

/** A decoder's refusal (INVALID_ARGUMENT naming the field), or a bug of ours (INTERNAL). */
const statusOfThrown = (e: unknown): GrpcStatus =>
  e instanceof WireError
    ? statusOfFailure(e.failure)
    : { code: GrpcCode.INTERNAL, message: `etcdserver: ${String(e)}` }

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
  readonly responseSerialize: (v: unknown) => Buffer
}

/**
 * Listens on host:port and hands each connection to the HTTP/2 server
 * (through the shim, which gives HTTP/1.1 requests to etcd's `/health` and
 * `/version` endpoints).
 */
const listen = (
  server: http2.Http2Server,
  host: string,
  port: number,
  repair: boolean,
  endpoints: Http1Endpoints,
) =>
  Effect.acquireRelease(
    Effect.callback<{ listener: net.Server; sockets: Set<net.Socket> }, EtcdError>((resume) => {
      const sockets = new Set<net.Socket>()
      const listener = net.createServer({ noDelay: true }, (socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
        if (repair) {
          handleConnection(
            socket,
            (connection) => server.emit("connection", connection),
            (http1, already) => serveHttp1(http1, already, endpoints),
          )
        } else server.emit("connection", socket)
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

    /**
     * A unary method (or a server stream answered at once): decode, run,
     * encode (a framed message, or several), or etcd's status.
     */
    const unary = <Q, R>(
      service: string,
      name: string,
      decode: (message: Uint8Array) => Q,
      run: (q: Q) => Effect.Effect<R, EtcdError>,
      encode: (r: R) => Uint8Array | Iterable<Uint8Array>,
    ): void => {
      const path = `/etcdserverpb.${service}/${name}`
      methods.set(path, {
        kind: "unary",
        call: (message, reply) => {
          let q: Q
          try {
            q = decode(message)
          } catch (e) {
            reply(statusOfThrown(e))
            return undefined
          }
          // etcd's unary interceptor: after decoding, before the handler.
          const refused = learnerRefusal(
            cluster.isLearner(),
            path,
            typeof q === "object" &&
              q !== null &&
              (q as { serializable?: unknown }).serializable === true,
          )
          if (refused !== undefined) {
            reply(statusOfFailure(refused))
            return undefined
          }
          const interrupt = runCallback(run(q), {
            onExit: (exit) => {
              if (Exit.isSuccess(exit)) {
                let out: Uint8Array | Iterable<Uint8Array>
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

    /**
     * A unary method whose request is read by a hand-written reader (every
     * field checked, errors naming it) and whose response goes through
     * proto-loader's serializer and wire.ts's mapping.
     */
    const generic = <Q, R>(
      service: string,
      name: string,
      decode: (r: ProtoReader) => Q,
      run: (q: Q) => Effect.Effect<R, EtcdError>,
      encode: (r: R) => unknown,
    ): void => {
      const c = codec(service, name)
      unary(
        service,
        name,
        (message) => decode(new ProtoReader(message)),
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
      const path = `/etcdserverpb.${service}/${name}`
      methods.set(path, {
        kind: "bidi",
        open: (send, end) => {
          // etcd's stream interceptor: a learner refuses the stream at once.
          const refused = learnerStreamRefusal(cluster.isLearner(), path)
          if (refused !== undefined) {
            end(statusOfFailure(refused))
            return { message: () => undefined, close: () => {} }
          }
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
              if (closed) return undefined
              let q: Q | undefined
              try {
                q = decode(m)
              } catch (e) {
                // Like etcd, a malformed request ends the stream (etcd: INTERNAL,
                // "failed to unmarshal"; ours names the field, as unary calls do).
                return statusOfThrown(e)
              }
              if (q === undefined) return undefined
              if (inbox === undefined) early.push(q)
              else Queue.offerUnsafe(inbox, q)
              return undefined
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

    /**
     * etcd refuses a write whose log entry would exceed --max-request-bytes;
     * the request message is that entry's payload (read-only txns are not
     * logged and are bounded by the gRPC limit alone).
     */
    const writeSize = (m: Uint8Array): void => {
      if (m.length > maxRequestBytes) throw new WireError(ErrRequestTooLarge)
    }

    unary("KV", "Range", (m) => readRange(reader(m)), kv.range, frameRangeResponse)
    unary(
      "KV",
      "Put",
      (m) => {
        writeSize(m)
        return readPut(reader(m))
      },
      kv.put,
      framePutResponse,
    )
    unary(
      "KV",
      "DeleteRange",
      (m) => {
        writeSize(m)
        return readDelete(reader(m))
      },
      kv.deleteRange,
      frameDeleteResponse,
    )
    unary(
      "KV",
      "Txn",
      (m) => {
        const t = readTxn(reader(m))
        if (!isReadOnlyTxn(t)) writeSize(m)
        return t
      },
      kv.txn,
      frameTxnResponse,
    )
    generic("KV", "Compact", readCompaction, kv.compact, withWireHeader)

    bidi<WatchRequest>(
      "Watch",
      "Watch",
      (m) => readWatchRequest(reader(m)),
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

    generic("Lease", "LeaseGrant", readLeaseGrant, kv.leaseGrant, withWireHeader)
    generic("Lease", "LeaseRevoke", readLeaseId, kv.leaseRevoke, withWireHeader)
    bidi(
      "Lease",
      "LeaseKeepAlive",
      (m) => readLeaseId(reader(m)),
      (write) =>
        Effect.succeed((q: { ID: number }) =>
          Effect.map(kv.leaseKeepAlive(q), (r) => write(frameKeepAliveResponse(r))),
        ),
    )
    generic("Lease", "LeaseTimeToLive", readLeaseTimeToLive, kv.leaseTimeToLive, withWireHeader)
    generic("Lease", "LeaseLeases", readEmpty, () => kv.leaseLeases, withWireHeader)

    generic(
      "Cluster",
      "MemberList",
      readEmpty,
      () => cluster.memberList,
      (r) => ({ header: wireHeader(r.header), members: r.members.map(wireMember) }),
    )
    generic("Cluster", "MemberAdd", readMemberAdd, cluster.memberAdd, (r) => ({
      header: wireHeader(r.header),
      member: wireMember(r.member),
      members: r.members.map(wireMember),
    }))
    const withMembers = (r: {
      readonly header: ResponseHeader
      readonly members: ReadonlyArray<Member>
    }) => ({
      header: wireHeader(r.header),
      members: r.members.map(wireMember),
    })
    generic("Cluster", "MemberRemove", readMemberId, cluster.memberRemove, withMembers)
    generic("Cluster", "MemberUpdate", readMemberUpdate, cluster.memberUpdate, withMembers)
    generic("Cluster", "MemberPromote", readMemberId, cluster.memberPromote, withMembers)
    generic("Maintenance", "MoveLeader", readMoveLeader, cluster.moveLeader, withWireHeader)

    generic(
      "Maintenance",
      "Status",
      readEmpty,
      () => cluster.status,
      (r) => ({ ...r, header: wireHeader(r.header), leader: r.leader.toString() }),
    )
    // etcd's alarms: GET lists them, ACTIVATE/DEACTIVATE go through the log.
    generic("Maintenance", "Alarm", readAlarm, cluster.alarm, (r) => ({
      header: wireHeader(r.header),
      alarms: r.alarms.map((a) => ({ memberID: a.memberID.toString(), alarm: a.alarm })),
    }))
    generic("Maintenance", "HashKV", readHashKV, cluster.hashKV, (r) => ({
      ...r,
      header: wireHeader(r.header),
    }))
    generic(
      "Maintenance",
      "Hash",
      (r) => readEmpty(r) ?? 0,
      cluster.hashKV,
      (r) => ({ header: wireHeader(r.header), hash: r.hash }),
    )
    // The backend database in chunks of etcd's size, each with the bytes still
    // to come, then its SHA-256 (which `etcdctl snapshot save` looks for at the end).
    unary(
      "Maintenance",
      "Snapshot",
      (m) => readEmpty(reader(m)),
      () => cluster.snapshot,
      // Frames made as flow control takes them (h2.ts's pump): one chunk's copy at a time.
      function* (db) {
        const sha = createHash("sha256")
        for (let at = 0; at < db.length; at += SNAPSHOT_CHUNK_BYTES) {
          const chunk = db.subarray(at, at + SNAPSHOT_CHUNK_BYTES)
          sha.update(chunk)
          yield frameSnapshotResponse(db.length - at - chunk.length, chunk)
        }
        yield frameSnapshotResponse(0, sha.digest())
      },
    )
    // Memory is reclaimed by compaction; defragmenting has nothing to do.
    generic(
      "Maintenance",
      "Defragment",
      readEmpty,
      () => cluster.status,
      (r) => ({ header: wireHeader(r.header) }),
    )

    const counters = new MemberCounters()
    const server = makeGrpcServer(methods, {
      maxReceiveBytes: maxRequestBytes + 512 * 1024,
      observer: counters,
    })
    const host = options.host ?? "127.0.0.1"
    // etcd 3.4's /health: a linearizable read of one key within a second.
    const healthRead = kv
      .range({ key: new TextEncoder().encode("health") })
      .pipe(Effect.timeout(Duration.seconds(1)))
    const endpoints: Http1Endpoints = {
      health: () =>
        new Promise((resolve) => {
          runCallback(healthRead, {
            onExit: (exit) => {
              if (Exit.isSuccess(exit)) counters.healthSuccess++
              else counters.healthFailures++
              resolve(Exit.isSuccess(exit))
            },
          })
        }),
      version: { etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_API_VERSION },
      metrics: () =>
        new Promise((resolve, reject) => {
          runCallback(cluster.stats, {
            onExit: (exit) =>
              Exit.isSuccess(exit)
                ? resolve(memberMetrics(exit.value, counters, ETCD_API_VERSION))
                : reject(new Error("member stats unavailable")),
          })
        }),
    }
    const port = yield* listen(
      server,
      host,
      options.port ?? 0,
      options.repairAuthority !== false,
      endpoints,
    )
    return { host, port, url: `http://${host}:${port}` }
  })
