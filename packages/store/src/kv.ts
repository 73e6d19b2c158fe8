// The KV service: etcd's KV, Lease and Watch APIs as Effects and Streams, over
// an Applier. Requests are checked (etcd's stateless checks) before they are
// proposed, so a bad request never enters the log. This is what the API server
// uses, and what the gRPC server maps one to one.
import type { RaftConfigError, StorageFailure } from "@flotilla/raft"
import { Context, Effect, Layer, Queue, type Scope, Stream } from "effect"
import { Applier, fullHeader, type LocalOptions } from "./applier.ts"
import type { Cluster } from "./cluster.ts"
import {
  ErrCompacted,
  ErrLeaseTTLTooLarge,
  ErrNoSpace,
  type EtcdFailure,
  invalidArgument,
  isEtcdFailure,
} from "./core/errors.ts"
import { MAX_LEASE_TTL, type MvccStore, quotaCost } from "./core/mvcc.ts"
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchRequest,
  WatchResponse,
} from "./core/types.ts"
import {
  checkDeleteRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxn,
  DEFAULT_MAX_TXN_OPS,
  isReadOnlyTxn,
} from "./core/validate.ts"
import { type EmbeddedOptions, layerEmbedded } from "./embedded.ts"
import { EtcdError } from "./errors.ts"
import { layerRemote, type RemoteOptions } from "./remote.ts"

/** One client's multiplexed watch stream (the gRPC Watch call). */
export interface WatchSession {
  readonly send: (req: WatchRequest) => Effect.Effect<void>
  /** Every response of the session, in order: created, events, progress, cancelled. */
  readonly responses: Stream.Stream<WatchResponse, EtcdError>
}

export interface KVShape {
  readonly range: (req: RangeRequest) => Effect.Effect<RangeResponse, EtcdError>
  readonly put: (req: PutRequest) => Effect.Effect<PutResponse, EtcdError>
  readonly deleteRange: (req: DeleteRangeRequest) => Effect.Effect<DeleteRangeResponse, EtcdError>
  readonly txn: (req: TxnRequest) => Effect.Effect<TxnResponse, EtcdError>
  readonly compact: (req: CompactionRequest) => Effect.Effect<CompactionResponse, EtcdError>
  readonly leaseGrant: (req: LeaseGrantRequest) => Effect.Effect<LeaseGrantResponse, EtcdError>
  readonly leaseRevoke: (req: LeaseRevokeRequest) => Effect.Effect<LeaseRevokeResponse, EtcdError>
  readonly leaseKeepAlive: (
    req: LeaseKeepAliveRequest,
  ) => Effect.Effect<LeaseKeepAliveResponse, EtcdError>
  readonly leaseTimeToLive: (
    req: LeaseTimeToLiveRequest,
  ) => Effect.Effect<LeaseTimeToLiveResponse, EtcdError>
  readonly leaseLeases: Effect.Effect<LeaseLeasesResponse, EtcdError>
  /**
   * One watch: the "created" response, then event batches (and progress
   * notifications if asked); when the start revision is compacted, a response
   * with `canceled` and `compact_revision`, and the stream ends.
   */
  readonly watch: (req: WatchCreateRequest) => Stream.Stream<WatchResponse, EtcdError>
  /** A multiplexed watch stream, closed with its scope. */
  readonly watchSession: Effect.Effect<WatchSession, never, Scope.Scope>
}

const fail = (f: EtcdFailure): Effect.Effect<never, EtcdError> =>
  Effect.fail(EtcdError.fromFailure(f))

const serializableTxn = (t: TxnRequest): boolean =>
  [...(t.success ?? []), ...(t.failure ?? [])].every(
    (op) => "request_range" in op && op.request_range.serializable === true,
  )

export class KV extends Context.Service<KV, KVShape>()("@flotilla/store/KV") {
  /** The KV service over whatever Applier is provided (local now, Raft later). */
  static readonly layer: Layer.Layer<KV, never, Applier> = Layer.effect(
    KV,
    Effect.gen(function* () {
      const applier = yield* Applier
      const maxTxnOps = DEFAULT_MAX_TXN_OPS

      const header = (h: ResponseHeader): Effect.Effect<ResponseHeader> =>
        Effect.map(applier.status, (s) => fullHeader(s, h.revision))
      const withHeader = <R extends { readonly header: ResponseHeader }>(r: R): Effect.Effect<R> =>
        Effect.map(header(r.header), (h) => ({ ...r, header: h }))

      const unwrap = <R extends { readonly header: ResponseHeader }>(
        r: R | EtcdFailure,
      ): Effect.Effect<R, EtcdError> => (isEtcdFailure(r) ? fail(r) : withHeader(r))

      /**
       * etcd's quota: a write that would take the store to its quota raises
       * this member's NOSPACE alarm (through the log, so every member then
       * refuses writes) and is refused. Writes that add nothing pass.
       */
      const withinQuota = (
        p: Parameters<typeof applier.propose>[0],
      ): Effect.Effect<void, EtcdError> => {
        const cost = quotaCost(p)
        if (cost === 0) return Effect.void
        return Effect.gen(function* () {
          const over = yield* applier.read(
            (s) =>
              s.config.quotaBackendBytes > 0 && s.sizeBytes + cost >= s.config.quotaBackendBytes,
            true,
          )
          if (!over) return
          const { memberId } = yield* applier.status
          yield* Effect.ignore(
            applier.propose({
              alarm: { action: "ACTIVATE", memberID: memberId, alarm: "NOSPACE" },
            }),
          )
          return yield* fail(ErrNoSpace)
        })
      }

      const propose = <R extends { readonly header: ResponseHeader }>(
        p: Parameters<typeof applier.propose>[0],
      ): Effect.Effect<R, EtcdError> =>
        Effect.andThen(
          withinQuota(p),
          Effect.flatMap(applier.propose(p), (r) => withHeader(r as unknown as R)),
        )

      const range = (req: RangeRequest) => {
        const invalid = checkRangeRequest(req)
        if (invalid !== undefined) return fail(invalid)
        return Effect.flatMap(
          applier.read((s) => s.range(req), req.serializable === true),
          unwrap,
        )
      }

      const txn = (req: TxnRequest): Effect.Effect<TxnResponse, EtcdError> => {
        const invalid = checkTxn(req, maxTxnOps)
        if (invalid !== undefined) return fail(invalid)
        if (isReadOnlyTxn(req)) {
          return Effect.flatMap(
            applier.read((s) => s.txn(req), serializableTxn(req)),
            unwrap,
          )
        }
        return propose({ txn: req })
      }

      const openSession = (onResponse: (r: WatchResponse) => void) =>
        Effect.acquireRelease(applier.openWatch(onResponse), (id) => applier.closeWatch(id))

      return KV.of({
        range,
        put: (req) => {
          const invalid = checkPutRequest(req)
          return invalid !== undefined ? fail(invalid) : propose({ put: req })
        },
        deleteRange: (req) => {
          const invalid = checkDeleteRequest(req)
          return invalid !== undefined ? fail(invalid) : propose({ delete_range: req })
        },
        txn,
        // etcd: a revision at or below the last compaction (0 and negatives
        // included) is "compacted"; refused here, it never enters the log.
        compact: (req) => (req.revision <= 0 ? fail(ErrCompacted) : propose({ compaction: req })),
        leaseGrant: (req) =>
          Effect.gen(function* () {
            if (req.TTL > MAX_LEASE_TTL) return yield* fail(ErrLeaseTTLTooLarge)
            // Positive IDs only: they must survive the log encoding and etcdctl's hex form.
            if (req.ID !== undefined && req.ID < 0) {
              return yield* fail(invalidArgument("ID", `lease ID ${req.ID} is negative`))
            }
            // The proposer chooses the ID, so that every replica applies the same one.
            const ID = req.ID !== undefined && req.ID !== 0 ? req.ID : yield* applier.newLeaseId
            return yield* propose<LeaseGrantResponse>({ lease_grant: { TTL: req.TTL, ID } })
          }),
        leaseRevoke: (req) => propose({ lease_revoke: req }),
        leaseKeepAlive: (req) => {
          // A renewal goes through the log; a lease that does not exist is
          // answered TTL 0 without one (as etcd's leader does), so that
          // keep-alives for unknown IDs cost a read, not a replicated write.
          // This member's state first; a lease it has not seen yet is looked
          // for again with a linearizable read before the answer.
          const unknown = (s: MvccStore): LeaseKeepAliveResponse | undefined =>
            s.lease(req.ID) === undefined
              ? { header: { revision: s.rev }, ID: req.ID, TTL: 0 }
              : undefined
          const renew = propose<LeaseKeepAliveResponse>({ lease_keep_alive: req })
          return Effect.flatMap(applier.read(unknown, true), (local) =>
            local === undefined
              ? renew
              : Effect.flatMap(applier.read(unknown, false), (r) =>
                  r === undefined ? renew : withHeader(r),
                ),
          )
        },
        leaseTimeToLive: (req) =>
          Effect.flatMap(applier.now, (now) =>
            Effect.flatMap(
              applier.read((s) => s.leaseTimeToLive(req, now), false),
              withHeader,
            ),
          ),
        leaseLeases: Effect.flatMap(
          applier.read((s) => s.leaseLeases(), false),
          withHeader,
        ),
        watch: (req) =>
          Stream.callback<WatchResponse>((queue) =>
            Effect.flatMap(
              openSession((r) => {
                Queue.offerUnsafe(queue, r)
                // A refused or compacted watch ends its stream.
                if (r.canceled) Queue.endUnsafe(queue)
              }),
              (id) => applier.watchRequest(id, { create_request: req }),
            ),
          ),
        watchSession: Effect.gen(function* () {
          const queue = yield* Queue.unbounded<WatchResponse>()
          const id = yield* openSession((r) => {
            Queue.offerUnsafe(queue, r)
          })
          yield* Effect.addFinalizer(() => Queue.shutdown(queue))
          return {
            send: (req: WatchRequest) => applier.watchRequest(id, req),
            responses: Stream.fromQueue(queue),
          }
        }),
      })
    }),
  )

  /** The KV service of remote etcd v3 endpoints (ours or a real etcd). */
  static layerRemote(options: RemoteOptions): Layer.Layer<KV, EtcdError> {
    return layerRemote(options)
  }

  /**
   * An embedded cluster replicated by Raft: `members` (default 3) in-process
   * members over an in-memory network, on memory or a file WAL per member
   * under `dataDir`; the KV is served by the first member (writes reach the
   * leader through Raft).
   */
  static layerRaft(
    options: EmbeddedOptions = {},
  ): Layer.Layer<KV | Cluster | Applier, StorageFailure | RaftConfigError> {
    return layerEmbedded(options)
  }

  /** An in-process, single-member store (no Raft): for tests and embedding. */
  static layerMemory(options: LocalOptions = {}): Layer.Layer<KV | Applier> {
    return KV.layer.pipe(Layer.provideMerge(Applier.layerLocal(options)))
  }
}
