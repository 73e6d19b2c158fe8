// The Cluster and Maintenance APIs (membership and status) over an Applier.
import { Context, Effect, Layer } from "effect"
import { Applier, fullHeader } from "./applier.ts"
import { ErrNotLeader, isEtcdFailure } from "./core/errors.ts"
import type {
  HashKVResponse,
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
  /** A hash of the key-value history up to a revision (0: current), to compare replicas. */
  readonly hashKV: (revision: number) => Effect.Effect<HashKVResponse, EtcdError>
}

/** How long a follower waits for the leader's answer to a forwarded promotion (etcd: its request timeout). */
const FORWARD_TIMEOUT_MS = 7_000

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
      return Cluster.of({
        hashKV,
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
            const here = yield* Effect.exit(applier.promoteMember(req.ID))
            if (here._tag === "Success")
              return { header: yield* header, members: yield* applier.members }
            const e = here.cause.reasons.find((r) => r._tag === "Fail")?.error
            if (e?.message !== ErrNotLeader.message) return yield* Effect.failCause(here.cause)
            // Not the leader: ask it, at a client URL it published.
            const s = yield* applier.status
            const leader = (yield* applier.members).find((m) => m.ID === s.leader)
            const url = leader?.clientURLs[0]
            if (url === undefined) return yield* Effect.failCause(here.cause)
            const members = yield* promoteOn(url, req.ID, FORWARD_TIMEOUT_MS)
            return { header: yield* header, members }
          }),
        moveLeader: (req) =>
          Effect.gen(function* () {
            yield* applier.moveLeader(req.targetID)
            return { header: yield* header }
          }),
        status: Effect.gen(function* () {
          const s = yield* applier.status
          const size = yield* Effect.orDie(applier.read((store) => store.sizeBytes, true))
          return {
            header: yield* header,
            version: ETCD_API_VERSION,
            dbSize: size,
            leader: s.leader,
            raftIndex: s.raftIndex,
            raftTerm: s.raftTerm,
            raftAppliedIndex: s.raftAppliedIndex,
            errors: [],
            dbSizeInUse: size,
            isLearner: s.isLearner,
          }
        }),
      })
    }),
  )
}
