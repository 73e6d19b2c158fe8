// The Applier: where requests become log entries and log entries are applied.
// It is the seam between the etcd API and consensus. `Applier.layerLocal` is a
// single member that applies each proposal at once (no Raft yet); a Raft
// applier will implement the same shape: propose through the Raft log and
// complete when the entry is applied, serve linearizable reads after a
// ReadIndex round, and keep a watch hub beside its local state machine.
import type { RaftNode } from "@flotilla/raft"
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import { decodeRequest, encodeRequest } from "./core/codec.ts"
import {
  ErrMemberBadURLs,
  ErrMemberNotFound,
  ErrPeerURLExist,
  ErrTimeoutLeaderTransfer,
  type EtcdFailure,
  isEtcdFailure,
} from "./core/errors.ts"
import { fnv64 } from "./core/hash.ts"
import { checkMoveLeader, checkPromote, Membership } from "./core/members.ts"
import { MvccStore, type StoreConfig } from "./core/mvcc.ts"
import type {
  InternalRequest,
  InternalResponse,
  Member,
  ResponseHeader,
  WatchRequest,
  WatchResponse,
} from "./core/types.ts"
import { WatchHub } from "./core/watch.ts"
import { EtcdError } from "./errors.ts"
import { layerRaft, type RaftApplierOptions } from "./raft-applier.ts"
import type { Replica } from "./replica.ts"

/** A log entry without its header (the applier stamps it). */
export type Proposal = Omit<InternalRequest, "header">

/** What a member knows of consensus, for response headers and Status. */
export interface RaftStatus {
  readonly clusterId: bigint
  readonly memberId: bigint
  readonly leader: bigint
  readonly raftTerm: number
  readonly raftIndex: number
  readonly raftAppliedIndex: number
  readonly isLearner: boolean
}

export interface ApplierShape {
  /** Appends a request to the log and resolves with its result once applied. */
  readonly propose: (p: Proposal) => Effect.Effect<InternalResponse, EtcdError>
  /**
   * Runs `f` on the local state machine. Linearizable reads (serializable:
   * false) first wait until everything committed before the read began is
   * applied; serializable reads see this member's applied state.
   */
  readonly read: <A>(
    f: (store: MvccStore) => A,
    serializable: boolean,
  ) => Effect.Effect<A, EtcdError>
  /** The proposer's clock, in the time base of lease deadlines. */
  readonly now: Effect.Effect<number>
  /** A fresh lease ID chosen by this member (unique within the cluster). */
  readonly newLeaseId: Effect.Effect<number>
  readonly status: Effect.Effect<RaftStatus>
  /** Opens a watch stream on this member; `sink` receives its responses in order. */
  readonly openWatch: (sink: (r: WatchResponse) => void) => Effect.Effect<number>
  readonly watchRequest: (stream: number, req: WatchRequest) => Effect.Effect<void>
  readonly closeWatch: (stream: number) => Effect.Effect<void>
  /** Open watch streams and watchers on this member. */
  readonly watchStats: Effect.Effect<{ readonly streams: number; readonly watchers: number }>
  readonly members: Effect.Effect<ReadonlyArray<Member>>
  /** IDs of the members removed from the cluster (never to be reused). */
  readonly removedMembers: Effect.Effect<ReadonlyArray<bigint>>
  /**
   * Whether the applied membership lists this member as a learner (etcd's
   * IsLearner). Synchronous: the gRPC server asks on every call.
   */
  readonly isLearner: () => boolean
  readonly addMember: (
    peerURLs: ReadonlyArray<string>,
    isLearner: boolean,
  ) => Effect.Effect<Member, EtcdError>
  readonly removeMember: (id: bigint) => Effect.Effect<void, EtcdError>
  /** New peer URLs for a member, through the log (etcd's MemberUpdate). */
  readonly updateMember: (
    id: bigint,
    peerURLs: ReadonlyArray<string>,
  ) => Effect.Effect<void, EtcdError>
  /**
   * Promotes a learner once it is in sync (etcd's MemberPromote). Only the
   * leader knows how far a learner got: elsewhere this fails with
   * "etcdserver: not leader" and the caller asks the leader.
   */
  readonly promoteMember: (id: bigint) => Effect.Effect<void, EtcdError>
  /** Hands leadership to a voting member; completes once it leads (etcd's MoveLeader). */
  readonly moveLeader: (target: bigint) => Effect.Effect<void, EtcdError>
}

export interface LocalOptions {
  readonly name?: string
  readonly clientURLs?: ReadonlyArray<string>
  readonly peerURLs?: ReadonlyArray<string>
  readonly store?: Partial<StoreConfig>
  /** How often the leader looks for expired leases. */
  readonly leaseCheckInterval?: Duration.Input
  /** Period of progress notifications to progress_notify watchers (etcd: 10 minutes). */
  readonly progressNotifyInterval?: Duration.Input
  /** Encode and decode every entry, as a replicated log would (exercises the codec). */
  readonly roundTripEntries?: boolean
}

const validURL = (u: string): boolean => {
  try {
    const url = new URL(u)
    return (url.protocol === "http:" || url.protocol === "https:") && url.port !== ""
  } catch {
    return false
  }
}

const refuse = (f: EtcdFailure | undefined): Effect.Effect<void, EtcdError> =>
  f === undefined ? Effect.void : Effect.fail(EtcdError.fromFailure(f))

export class Applier extends Context.Service<Applier, ApplierShape>()("@flotilla/store/Applier") {
  /**
   * A replicated member's Applier over a `RaftNode` and its `Replica`
   * (raft-applier.ts); `memberLayer` assembles a whole member.
   */
  static layerRaft(options: RaftApplierOptions): Layer.Layer<Applier, never, RaftNode | Replica> {
    return layerRaft(options)
  }

  /** One member, applying each proposal immediately, with its own lease and progress timers. */
  static layerLocal(options: LocalOptions = {}): Layer.Layer<Applier> {
    return Layer.effect(
      Applier,
      Effect.gen(function* () {
        const name = options.name ?? "default"
        const peerURLs = options.peerURLs ?? ["http://127.0.0.1:2380"]
        const memberId = fnv64(`${name}|${peerURLs.join(",")}`)
        const clusterId = fnv64(`cluster|${memberId}`)
        const store = new MvccStore(options.store)
        const routes = new Map<number, (r: WatchResponse) => void>()
        const hub = new WatchHub(store, (stream, r) => routes.get(stream)?.(r))
        let members: Member[] = [
          { ID: memberId, name, peerURLs, clientURLs: options.clientURLs ?? [], isLearner: false },
        ]
        let removed: ReadonlyArray<bigint> = []
        let proposalId = 0
        const startMs = yield* Clock.currentTimeMillis
        let leaseCounter = 0

        const applyNow = (p: Proposal, now: number): InternalResponse | EtcdError => {
          let entry: InternalRequest = { header: { ID: ++proposalId, now }, ...p }
          if (options.roundTripEntries === true) entry = decodeRequest(encodeRequest(entry))
          const result = store.apply(entry)
          store.appliedIndex++
          hub.sync()
          return isEtcdFailure(result) ? EtcdError.fromFailure(result) : result
        }

        const propose = (p: Proposal): Effect.Effect<InternalResponse, EtcdError> =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const r = applyNow(p, now)
            return r instanceof EtcdError ? Effect.fail(r) : Effect.succeed(r)
          })

        // Taking over as leader: leases keep their remaining TTL on this clock.
        yield* Effect.orDie(propose({ lease_promote: {} }))

        // The leader decides expiry; the log applies it (and re-checks the deadline).
        yield* Effect.forkScoped(
          Effect.repeat(
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              const due = store.expiredLeases(now)
              return due.length === 0
                ? Effect.void
                : Effect.ignore(propose({ lease_expire: { IDs: due } }))
            }),
            Schedule.spaced(options.leaseCheckInterval ?? Duration.millis(500)),
          ),
        )
        yield* Effect.forkScoped(
          Effect.repeat(
            Effect.sync(() => hub.progressNotify()),
            Schedule.spaced(options.progressNotifyInterval ?? Duration.minutes(10)),
          ),
        )

        const status = Effect.sync(
          (): RaftStatus => ({
            clusterId,
            memberId,
            leader: memberId,
            raftTerm: 1,
            raftIndex: store.appliedIndex,
            raftAppliedIndex: store.appliedIndex,
            isLearner: false,
          }),
        )

        return Applier.of({
          propose,
          isLearner: () => false,
          read: (f) => Effect.sync(() => f(store)),
          now: Clock.currentTimeMillis,
          newLeaseId: Effect.sync(() => {
            // 13 bits of member ID, then start time and a counter: positive, below 2^53.
            const prefix = Number(memberId & 0x1fffn) * 2 ** 40
            for (;;) {
              const id = prefix + ((startMs * 256 + ++leaseCounter) % 2 ** 40)
              if (id !== 0 && store.lease(id) === undefined) return id
            }
          }),
          status,
          openWatch: (sink) =>
            Effect.sync(() => {
              const id = hub.openStream()
              routes.set(id, sink)
              return id
            }),
          watchRequest: (stream, req) => Effect.sync(() => hub.request(stream, req)),
          closeWatch: (stream) =>
            Effect.sync(() => {
              hub.closeStream(stream)
              routes.delete(stream)
            }),
          watchStats: Effect.sync(() => ({ streams: hub.streamCount, watchers: hub.size })),
          members: Effect.sync(() => members),
          removedMembers: Effect.sync(() => removed),
          addMember: (urls, isLearner) =>
            Effect.suspend(() => {
              if (urls.length === 0 || !urls.every(validURL)) {
                return Effect.fail(EtcdError.fromFailure(ErrMemberBadURLs))
              }
              if (members.some((m) => m.peerURLs.some((u) => urls.includes(u)))) {
                return Effect.fail(EtcdError.fromFailure(ErrPeerURLExist))
              }
              // Added members are unstarted (no name, no client URLs) until they join.
              const member: Member = {
                ID: fnv64(`${urls.join(",")}|${clusterId}|${members.length}`),
                name: "",
                peerURLs: [...urls],
                clientURLs: [],
                isLearner,
              }
              members = [...members, member]
              return Effect.succeed(member)
            }),
          removeMember: (id) =>
            Effect.suspend(() => {
              if (!members.some((m) => m.ID === id)) {
                return Effect.fail(EtcdError.fromFailure(ErrMemberNotFound))
              }
              members = members.filter((m) => m.ID !== id)
              removed = [...removed, id]
              return Effect.void
            }),
          // The same decisions as a replicated member's, over this member's list.
          updateMember: (id, peerURLs) =>
            Effect.suspend(() => {
              const registry = new Membership({ clusterId, members, removed: [] })
              const op = { type: "update", ID: id, peerURLs } as const
              const refused = registry.apply(op)
              if (refused !== undefined) return Effect.fail(EtcdError.fromFailure(refused))
              members = registry.members
              return Effect.void
            }),
          // Added learners never run here: they are never in sync.
          promoteMember: (id) =>
            refuse(
              checkPromote(new Membership({ clusterId, members, removed: [] }), id, {
                leaderMatch: store.appliedIndex,
                learnerMatch: undefined,
              }),
            ),
          // The only running voter leads already: moving to itself is done; an
          // added member never starts here, so it never takes over.
          moveLeader: (target) =>
            target === memberId
              ? Effect.void
              : refuse(
                  checkMoveLeader(new Membership({ clusterId, members, removed: [] }), target) ??
                    ErrTimeoutLeaderTransfer,
                ),
        })
      }),
    )
  }
}

/** Fills a core header with the member's identity. */
export const fullHeader = (s: RaftStatus, revision: number): ResponseHeader => ({
  cluster_id: s.clusterId,
  member_id: s.memberId,
  revision,
  raft_term: s.raftTerm,
})
