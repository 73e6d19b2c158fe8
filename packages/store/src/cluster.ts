// The Cluster and Maintenance APIs (membership and status) over an Applier.
import { Cause, Context, Effect, Exit, Layer, Schedule } from "effect"
import { Applier, fullHeader } from "./applier.ts"
import { writeBackendDbSteps } from "./core/backend-db.ts"
import { ErrNoLeader, ErrNotLeader, ErrTimeout, GrpcCode, isEtcdFailure } from "./core/errors.ts"
import type {
  AlarmRequest,
  AlarmResponse,
  HashKVResponse,
  Member,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
  MemberPromoteRequest,
  MemberPromoteResponse,
  MemberRemoveRequest,
  MemberRemoveResponse,
  MemberUpdateRequest,
  MemberUpdateResponse,
  MoveLeaderRequest,
  MoveLeaderResponse,
  StatusResponse,
} from "./core/types.ts"
import { EtcdError } from "./errors.ts"
import { promoteOn } from "./grpc/forward.ts"
import { stepsInTurns } from "./replica.ts"

/** The etcd API version this store speaks (reported by Status). */
export const ETCD_API_VERSION = "3.4.0"

export interface ClusterShape {
  readonly memberList: Effect.Effect<MemberListResponse>
  readonly memberAdd: (req: MemberAddRequest) => Effect.Effect<MemberAddResponse, EtcdError>
  readonly memberRemove: (
    req: MemberRemoveRequest,
  ) => Effect.Effect<MemberRemoveResponse, EtcdError>
  readonly memberUpdate: (
    req: MemberUpdateRequest,
  ) => Effect.Effect<MemberUpdateResponse, EtcdError>
  /** Answered by the leader; another member asks the leader at its client URL. */
  readonly memberPromote: (
    req: MemberPromoteRequest,
  ) => Effect.Effect<MemberPromoteResponse, EtcdError>
  /** Only the leader answers ("etcdserver: not leader" elsewhere), once the target leads. */
  readonly moveLeader: (req: MoveLeaderRequest) => Effect.Effect<MoveLeaderResponse, EtcdError>
  readonly status: Effect.Effect<StatusResponse>
  /** Whether the applied membership lists this member as a learner (asked on every gRPC call). */
  readonly isLearner: () => boolean
  /** A hash of the key-value history up to a revision (0: current), to compare replicas. */
  readonly hashKV: (revision: number) => Effect.Effect<HashKVResponse, EtcdError>
  /**
   * This member's applied state as etcd's backend database (a bbolt file in
   * etcd 3.4's layout, core/backend-db.ts): what the Snapshot RPC streams.
   * Read locally, as etcd reads its own backend, on any member.
   */
  readonly snapshot: Effect.Effect<Uint8Array, EtcdError>
  /**
   * etcd's Alarm call: GET lists the raised alarms (of one type, or all for
   * NONE), read locally; ACTIVATE and DEACTIVATE go through the log and
   * answer the alarm they changed.
   */
  readonly alarm: (req: AlarmRequest) => Effect.Effect<AlarmResponse, EtcdError>
  /** What this member's /metrics reports of it, read locally. */
  readonly stats: Effect.Effect<MemberStats>
}

/** A member's figures for /metrics (etcd_server_*, etcd_debugging_mvcc_*, etcd_mvcc_*). */
export interface MemberStats {
  readonly memberId: bigint
  readonly leader: bigint
  readonly isLearner: boolean
  readonly raftTerm: number
  readonly raftIndex: number
  readonly raftAppliedIndex: number
  readonly revision: number
  readonly compactRevision: number
  /** Keys in the index (deleted ones too, until compacted away), as etcd's keys_total. */
  readonly keys: number
  readonly dbSize: number
  readonly watchStreams: number
  readonly watchers: number
}

/** How long a promotion may look for the leader's answer (etcd: its request timeout). */
const FORWARD_TIMEOUT_MS = 7_000
/** Pause before asking again (no leader yet, or the one asked no longer leads). */
const FORWARD_RETRY_MS = 50

/**
 * A refusal that says "ask again": no leader yet, the member asked no longer
 * leads, or it could not be reached (gRPC's UNAVAILABLE from the connection,
 * not one of etcd's own "etcdserver:" answers, which are final).
 */
const askAgain = (e: EtcdError): boolean =>
  e.message === ErrNoLeader.message ||
  e.message === ErrNotLeader.message ||
  (e.code === GrpcCode.UNAVAILABLE && !e.message.startsWith("etcdserver:"))

export class Cluster extends Context.Service<Cluster, ClusterShape>()("@flotilla/store/Cluster") {
  static readonly layer: Layer.Layer<Cluster, never, Applier> = Layer.effect(
    Cluster,
    Effect.gen(function* () {
      const applier = yield* Applier
      const header = Effect.flatMap(applier.status, (s) =>
        Effect.map(
          applier.read((store) => store.rev, true),
          (rev) => fullHeader(s, rev),
        ),
      ).pipe(Effect.orDie)
      const hashKV = (revision: number): Effect.Effect<HashKVResponse, EtcdError> =>
        Effect.gen(function* () {
          const r = yield* applier.read((store) => store.hashKV(revision), true)
          if (isEtcdFailure(r)) return yield* Effect.fail(EtcdError.fromFailure(r))
          return { header: yield* header, hash: r.hash, compact_revision: r.compactRevision }
        })
      /**
       * Promotes here if this member leads, else asks the leader at a client
       * URL it published; while there is no leader, or the one asked no longer
       * leads or cannot be reached, asks again (as etcd's forwarding loop)
       * until the timeout. A leader with no client URL (embedded members) is
       * not asked: "not leader".
       */
      const promote = (id: bigint): Effect.Effect<ReadonlyArray<Member>, EtcdError> => {
        let unreachable = false
        const attempt = Effect.gen(function* () {
          const here = yield* Effect.exit(applier.promoteMember(id))
          if (Exit.isSuccess(here)) return yield* applier.members
          const error = Cause.findErrorOption(here.cause)
          if (error._tag === "None" || error.value.message !== ErrNotLeader.message)
            return yield* Effect.failCause(here.cause)
          const s = yield* applier.status
          if (s.leader === 0n) return yield* Effect.fail(EtcdError.fromFailure(ErrNoLeader))
          const url = (yield* applier.members).find((m) => m.ID === s.leader)?.clientURLs[0]
          if (url === undefined) {
            unreachable = true
            return yield* Effect.failCause(here.cause)
          }
          return yield* promoteOn(url, id, FORWARD_TIMEOUT_MS)
        })
        return attempt.pipe(
          Effect.retry({
            schedule: Schedule.spaced(FORWARD_RETRY_MS),
            while: (e) => !unreachable && askAgain(e),
          }),
          Effect.timeoutOrElse({
            duration: FORWARD_TIMEOUT_MS,
            orElse: () => Effect.fail(EtcdError.fromFailure(ErrTimeout)),
          }),
        )
      }
      const alarm = (req: AlarmRequest): Effect.Effect<AlarmResponse, EtcdError> =>
        Effect.gen(function* () {
          if (req.action === "GET") {
            const alarms = yield* applier.read(
              (store) => store.alarms.filter((a) => req.alarm === "NONE" || a.alarm === req.alarm),
              true,
            )
            return { header: yield* header, alarms }
          }
          const r = yield* applier.propose({
            alarm: { action: req.action, memberID: req.memberID, alarm: req.alarm },
          })
          if (isEtcdFailure(r)) return yield* Effect.fail(EtcdError.fromFailure(r))
          return { header: yield* header, alarms: (r as AlarmResponse).alarms }
        })
      return Cluster.of({
        alarm,
        hashKV,
        stats: Effect.gen(function* () {
          const s = yield* applier.status
          const store = yield* Effect.orDie(
            applier.read(
              (m) => ({
                revision: m.rev,
                compactRevision: m.compactRev,
                keys: m.keyCount,
                dbSize: m.sizeBytes,
              }),
              true,
            ),
          )
          const watch = yield* applier.watchStats
          return {
            memberId: s.memberId,
            leader: s.leader,
            isLearner: s.isLearner,
            raftTerm: s.raftTerm,
            raftIndex: s.raftIndex,
            raftAppliedIndex: s.raftAppliedIndex,
            ...store,
            watchStreams: watch.streams,
            watchers: watch.watchers,
          }
        }),
        snapshot: Effect.gen(function* () {
          // The captured state stays as it is while later entries apply (mvcc.ts's exportState).
          const state = yield* applier.read((store) => store.exportState(), true)
          const members = yield* applier.members
          const removed = yield* applier.removedMembers
          // Built between other work (Raft ticks, heartbeats, requests): a large store
          // takes seconds, longer than an election timeout, if built at once.
          return yield* stepsInTurns(
            writeBackendDbSteps({ state, members, removed, clusterVersion: ETCD_API_VERSION }),
          )
        }),
        isLearner: () => applier.isLearner(),
        memberList: Effect.all({ header, members: applier.members }),
        memberAdd: (req) =>
          Effect.gen(function* () {
            const member = yield* applier.addMember(req.peerURLs, req.isLearner === true)
            return { header: yield* header, member, members: yield* applier.members }
          }),
        memberRemove: (req) =>
          Effect.gen(function* () {
            yield* applier.removeMember(req.ID)
            return { header: yield* header, members: yield* applier.members }
          }),
        memberUpdate: (req) =>
          Effect.gen(function* () {
            yield* applier.updateMember(req.ID, req.peerURLs)
            return { header: yield* header, members: yield* applier.members }
          }),
        memberPromote: (req) =>
          Effect.gen(function* () {
            const members = yield* promote(req.ID)
            return { header: yield* header, members }
          }),
        moveLeader: (req) =>
          Effect.gen(function* () {
            yield* applier.moveLeader(req.targetID)
            return { header: yield* header }
          }),
        status: Effect.gen(function* () {
          const s = yield* applier.status
          const { size, alarms } = yield* Effect.orDie(
            applier.read((store) => ({ size: store.sizeBytes, alarms: store.alarms }), true),
          )
          return {
            header: yield* header,
            version: ETCD_API_VERSION,
            dbSize: size,
            leader: s.leader,
            raftIndex: s.raftIndex,
            raftTerm: s.raftTerm,
            raftAppliedIndex: s.raftAppliedIndex,
            // As etcd: no leader, then each alarm in the protobuf text form etcdctl prints.
            errors: [
              ...(s.leader === 0n ? [ErrNoLeader.message] : []),
              ...alarms.map((a) => `memberID:${a.memberID} alarm:${a.alarm} `),
            ],
            dbSizeInUse: size,
            isLearner: s.isLearner,
          }
        }),
      })
    }),
  )
}
