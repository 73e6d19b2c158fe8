// The Cluster and Maintenance APIs (membership and status) over an Applier.
import { Context, Effect, Layer } from "effect"
import { Applier, fullHeader } from "./applier.ts"
import { isEtcdFailure } from "./core/errors.ts"
import type {
  HashKVResponse,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
  MemberRemoveRequest,
  MemberRemoveResponse,
  StatusResponse,
} from "./core/types.ts"
import { EtcdError } from "./errors.ts"

/** The etcd API version this store speaks (reported by Status). */
export const ETCD_API_VERSION = "3.4.0"

export interface ClusterShape {
  readonly memberList: Effect.Effect<MemberListResponse>
  readonly memberAdd: (req: MemberAddRequest) => Effect.Effect<MemberAddResponse, EtcdError>
  readonly memberRemove: (
    req: MemberRemoveRequest,
  ) => Effect.Effect<MemberRemoveResponse, EtcdError>
  readonly status: Effect.Effect<StatusResponse>
  /** A hash of the key-value history up to a revision (0: current), to compare replicas. */
  readonly hashKV: (revision: number) => Effect.Effect<HashKVResponse, EtcdError>
}

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
