// The Applier of a replicated member: requests go through a RaftNode's log and
// are applied by the member's Replica.
//
// - Writes: the proposer stamps a request ID and its clock, proposes the
//   encoded entry (a follower's Raft node forwards it to the leader) and
//   answers with what applying it here gave. A proposal refused before it
//   was placed (no leader yet, a leadership transfer, an overloaded leader) or
//   overwritten by a later leader is retried until the request timeout; one
//   whose fate is unknown fails with etcd's timeout errors.
// - Linearizable reads: ReadIndex, one round at a time for every read that
//   arrived before the round started (as etcd's linearizableReadLoop), then
//   the local store. Serializable reads: the local store at once.
// - Leases: the leader proposes `lease_promote` once per term it leads, and
//   `lease_expire` for the leases due on its clock.
// - Membership: the log carries member additions and removals (the replicated
//   registry); the leader then proposes the Raft configuration changes that
//   make Raft's voters and learners match it, one at a time, once it has
//   applied an entry of its own term (so registry and configuration describe
//   the same log). Each member publishes its name and client URLs. These
//   duties follow Raft's leadership stream and the replica's changes; nothing
//   polls.
import {
  type ConfChangeItem,
  Dropped,
  isJoint,
  type NodeId,
  NotLeader,
  RaftNode,
  type RequestError,
  type Status,
  Stopped,
} from "@flotilla/raft"
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  FiberHandle,
  Layer,
  Queue,
  Schedule,
  Stream,
} from "effect"
import { Applier, type Proposal, type RaftStatus } from "./applier.ts"
import { encodeBatchEntry, encodeMemberEntry, encodeStoreEntry } from "./core/entry.ts"
import {
  ErrMemberBadURLs,
  ErrNoLeader,
  ErrNotLeader,
  ErrStopped,
  ErrTimeout,
  ErrTimeoutDueToLeaderFail,
  ErrTimeoutLeaderTransfer,
  type EtcdFailure,
  isEtcdFailure,
} from "./core/errors.ts"
import {
  checkConnected,
  checkMoveLeader,
  checkPromote,
  checkStartedQuorum,
  hasAttributes,
  type MemberOp,
  memberIdFor,
  memberIdOfNode,
  type ReconfigOp,
  raftNodeId,
  validMemberURL,
} from "./core/members.ts"
import type { InternalResponse, Member } from "./core/types.ts"
import { EtcdError } from "./errors.ts"
import { type ApplyResult, Replica } from "./replica.ts"

export interface RaftApplierOptions {
  /** This member's ID (its Raft node ID is `raftNodeId(memberId)`). */
  readonly memberId: bigint
  /** Published in the membership once the member runs. */
  readonly name: string
  readonly clientURLs: ReadonlyArray<string>
  /** The cluster token: IDs of members added later derive from it and their peer URLs. */
  readonly token: string
  /** How long a request may wait for consensus (etcd: 5 s + 2 election timeouts; default 7 s). */
  readonly requestTimeout?: Duration.Input
  /** Pause before retrying a proposal or read that found no leader (default 50 ms). */
  readonly retryInterval?: Duration.Input
  /** How often the leader looks for expired leases (default 500 ms, as etcd's lessor). */
  readonly leaseCheckInterval?: Duration.Input
  /** Period of progress notifications to progress_notify watchers (etcd: 10 minutes). */
  readonly progressNotifyInterval?: Duration.Input
  /** Called once when this member finds itself removed from the cluster. */
  readonly onRemoved?: () => void
  /**
   * When this member's current connection to a peer (by Raft node ID) was
   * established, in `Clock` ms; undefined while not connected. Given (a TCP
   * transport that keeps every peer connected), member adds and removes also
   * pass etcd's connectivity check (`checkConnected`); without it (embedded
   * members on one in-process network) only the started-members check runs.
   */
  readonly connectedSince?: (node: NodeId) => number | undefined
}

const fail = (f: EtcdFailure): Effect.Effect<never, EtcdError> =>
  Effect.fail(EtcdError.fromFailure(f))

/** Refusals that say the entry will never be applied (never placed, or overwritten): safe to retry. */
const retryable = (e: RequestError): boolean =>
  e instanceof NotLeader || (e instanceof Dropped && e.outcome === "NotApplied")

const toEtcd = (e: RequestError): EtcdError => {
  if (e instanceof Stopped) return EtcdError.fromFailure(ErrStopped)
  if (e instanceof NotLeader) return EtcdError.fromFailure(ErrNoLeader)
  return EtcdError.fromFailure(ErrTimeoutDueToLeaderFail)
}

const ID_SPACE = 2 ** 37

export const makeRaftApplier = Effect.fnUntraced(function* (options: RaftApplierOptions) {
  const raft = yield* RaftNode
  const replica = yield* Replica
  const self = raftNodeId(options.memberId)
  const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout ?? 7000)
  const retryInterval = Duration.fromInputUnsafe(options.retryInterval ?? 50)
  const startMs = yield* Clock.currentTimeMillis

  // Request IDs: 16 bits of the member ID, then a counter started from the
  // clock, so that entries replayed after a restart rarely share an ID with new
  // proposals (and the applied index is checked anyway).
  const idPrefix = Number(options.memberId & 0xffffn) * ID_SPACE
  let counter = (startMs * 64) % ID_SPACE
  const nextRequestId = (): number => {
    counter = (counter + 1) % ID_SPACE
    return idPrefix + counter
  }

  const timedOut = () => fail(ErrTimeout)

  // -------------------------------------------------------------------------
  // Proposals. Requests made in the same turn of the event loop are proposed
  // together as one log entry (a batch): one Raft proposal, one WAL record
  // and one message per follower for all of them. Deadlines and retry pauses
  // are kept by one sweeper on the Effect clock, not a timer per request.

  const clock = yield* Clock.Clock
  const timeoutMs = Duration.toMillis(requestTimeout)

  interface Request {
    readonly id: number
    readonly data: Uint8Array
    readonly deadline: number
    readonly resume: (e: Effect.Effect<ApplyResult, EtcdError>) => void
    settled: boolean
  }
  let queue: Request[] = []
  let flushing = false
  /** Refused before they were placed: proposed again by the sweeper. */
  let retries: Request[] = []
  const open = new Set<Request>()

  const settle = (r: Request, e: Effect.Effect<ApplyResult, EtcdError>): void => {
    if (r.settled) return
    r.settled = true
    open.delete(r)
    replica.forget(r.id)
    r.resume(e)
  }

  const proposeBatch = (items: Request[]): void => {
    for (const r of items) replica.expect(r.id)
    const data = items.length === 1 ? items[0]!.data : encodeBatchEntry(items.map((r) => r.data))
    raft.proposeUnsafe(data, (error, index) => {
      if (error === undefined) {
        for (const r of items) {
          if (r.settled) continue
          const t = replica.take(r.id, index)
          // Raft says our entry was applied at that index; the replica saw another one there.
          settle(r, t === undefined ? fail(ErrTimeoutDueToLeaderFail) : Effect.succeed(t.result))
        }
        return
      }
      for (const r of items) {
        if (r.settled) continue
        if (retryable(error)) retries.push(r)
        else settle(r, Effect.fail(toEtcd(error)))
      }
    })
  }

  /** Bytes of requests in one batch entry at most (far below the core's message limit). */
  const MAX_BATCH_BYTES = 256 * 1024
  const flush = (): void => {
    flushing = false
    const items = queue
    queue = []
    let from = 0
    let bytes = 0
    for (let i = 0; i < items.length; i++) {
      const r = items[i]!
      if (r.settled) continue
      if (bytes > 0 && bytes + r.data.length > MAX_BATCH_BYTES) {
        proposeBatch(items.slice(from, i).filter((x) => !x.settled))
        from = i
        bytes = 0
      }
      bytes += r.data.length
    }
    const rest = items.slice(from).filter((x) => !x.settled)
    if (rest.length > 0) proposeBatch(rest)
  }

  const enqueue = (r: Request): void => {
    // Alone (nothing else waiting for consensus): propose now, for latency.
    if (!flushing && open.size <= 1 && queue.length === 0) {
      proposeBatch([r])
      return
    }
    queue.push(r)
    if (!flushing) {
      flushing = true
      // After this turn's I/O callbacks: Node drains microtasks after every
      // callback from native code (each HTTP/2 stream's headers and data), so
      // a microtask would see one request at a time.
      setImmediate(flush)
    }
  }

  /** Proposes an encoded entry; the result of applying it on this member. */
  const submit = (id: number, data: Uint8Array): Effect.Effect<ApplyResult, EtcdError> =>
    Effect.callback<ApplyResult, EtcdError>((resume) => {
      const r: Request = {
        id,
        data,
        deadline: clock.currentTimeMillisUnsafe() + timeoutMs,
        resume,
        settled: false,
      }
      open.add(r)
      enqueue(r)
      // A caller that goes away (a cancelled gRPC call) stops waiting; the entry may still apply.
      return Effect.sync(() => {
        r.settled = true
        open.delete(r)
        replica.forget(r.id)
      })
    })

  const sweep = Effect.sync(() => {
    const now = clock.currentTimeMillisUnsafe()
    const again = retries
    retries = []
    for (const r of again) if (!r.settled && r.deadline > now) enqueue(r)
    for (const r of open) if (r.deadline <= now) settle(r, timedOut())
  })
  yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(retryInterval)))

  const propose = (p: Proposal): Effect.Effect<InternalResponse, EtcdError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const id = nextRequestId()
      const data = encodeStoreEntry({ header: { ID: id, now }, ...p })
      return Effect.flatMap(submit(id, data), (r) =>
        r === null
          ? fail(ErrTimeoutDueToLeaderFail)
          : isEtcdFailure(r)
            ? fail(r)
            : Effect.succeed(r),
      )
    })

  const proposeMember = (op: MemberOp): Effect.Effect<void, EtcdError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const id = nextRequestId()
      const data = encodeMemberEntry({ ID: id, now }, op)
      return Effect.flatMap(submit(id, data), (r) =>
        r === null ? Effect.void : isEtcdFailure(r) ? fail(r) : Effect.void,
      )
    })

  // -------------------------------------------------------------------------
  // Linearizable reads: one ReadIndex round at a time serves every read that
  // joined before it started.

  let nextRound: Deferred.Deferred<void, EtcdError> | null = null
  const kick = yield* Queue.unbounded<void>()

  const readIndex: Effect.Effect<void, EtcdError> = Effect.matchEffect(
    // A lost ReadIndex request or reply fails in the node (a new leader, or no answer in time).
    raft.readIndex,
    {
      onSuccess: () => Effect.void,
      onFailure: (e) =>
        e instanceof Stopped
          ? Effect.fail(toEtcd(e))
          : Effect.andThen(Effect.sleep(retryInterval), () => readIndex),
    },
  )

  yield* Effect.forkScoped(
    Effect.forever(
      Effect.gen(function* () {
        yield* Queue.take(kick)
        const round = nextRound
        nextRound = null
        if (round === null) return
        const exit = yield* Effect.exit(
          readIndex.pipe(Effect.timeoutOrElse({ duration: requestTimeout, orElse: timedOut })),
        )
        Deferred.doneUnsafe(round, exit)
      }),
    ),
  )

  const linearizable: Effect.Effect<void, EtcdError> = Effect.suspend(() => {
    if (nextRound === null) {
      nextRound = Deferred.makeUnsafe<void, EtcdError>()
      Queue.offerUnsafe(kick, undefined)
    }
    return Deferred.await(nextRound)
  })

  const read = <A>(f: (store: typeof replica.store) => A, serializable: boolean) =>
    serializable
      ? Effect.sync(() => f(replica.store))
      : Effect.map(linearizable, () => f(replica.store))

  // -------------------------------------------------------------------------
  // Status

  const statusOf = (st: Status): RaftStatus => ({
    clusterId: replica.membership.clusterId,
    memberId: options.memberId,
    leader: st.leader === null ? 0n : (memberIdOfNode(st.leader) ?? 0n),
    raftTerm: st.term,
    raftIndex: st.commitIndex,
    raftAppliedIndex: replica.appliedIndex,
    isLearner: st.config.learners.includes(self),
  })

  // Response headers ask for the status on every request: keep it for as long
  // as nothing new is applied (at most 50 ms).
  let cached: RaftStatus | undefined
  let cachedIndex = -1
  let cachedAt = 0
  const status: Effect.Effect<RaftStatus> = Effect.suspend(() => {
    const now = clock.currentTimeMillisUnsafe()
    if (cached !== undefined && cachedIndex === replica.appliedIndex && now - cachedAt < 50) {
      return Effect.succeed(cached)
    }
    return Effect.map(raft.status, (st) => {
      cached = statusOf(st)
      cachedIndex = replica.appliedIndex
      cachedAt = now
      return cached
    })
  })

  // -------------------------------------------------------------------------
  // Duties, driven by Raft's leadership stream and by what gets applied (no
  // polling): while this member leads a term, it promotes the leases once and
  // then expires the due ones on a timer; after every change of leadership,
  // membership registry, Raft configuration or applied term, the leader makes
  // Raft's configuration follow the registry and every member publishes its
  // attributes.

  /** Bumped by every event duties wait for; `changedSince(v)` waits until it moves past `v`. */
  let version = 0
  const waiting = new Set<() => void>()
  const notify = (): void => {
    version++
    const fs = [...waiting]
    waiting.clear()
    for (const f of fs) f()
  }
  const changedSince = (v: number): Effect.Effect<void> =>
    Effect.callback<void>((resume) => {
      if (version !== v) {
        resume(Effect.void)
        return
      }
      const f = () => resume(Effect.void)
      waiting.add(f)
      return Effect.sync(() => {
        waiting.delete(f)
      })
    })
  const unsubscribe = [replica.onMembershipChange(notify), replica.onTermOrConfChange(notify)]
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const f of unsubscribe) f()
    }),
  )

  // Leases: the leader's duties, for as long as it leads the term.
  const leaseCheckInterval = Duration.fromInputUnsafe(options.leaseCheckInterval ?? 500)
  const leading = (term: number) =>
    Effect.gen(function* () {
      // Until its promote entry applies, deadlines are in the previous leader's time.
      // Tried until it applies (the fiber ends when leadership does).
      yield* propose({ lease_promote: {} }).pipe(
        Effect.retry(Schedule.spaced(retryInterval)),
        Effect.ignore,
      )
      for (;;) {
        yield* Effect.sleep(leaseCheckInterval)
        const st = yield* raft.status
        if (st.role !== "Leader" || st.term !== term) return
        const due = replica.store.expiredLeases(yield* Clock.currentTimeMillis)
        if (due.length > 0) yield* Effect.ignore(propose({ lease_expire: { IDs: due } }))
      }
    })
  const duty = yield* FiberHandle.make<void, never>()
  let ledTerm = 0
  yield* Effect.forkScoped(
    Stream.runForEach(raft.leadership, (l) =>
      Effect.suspend(() => {
        notify()
        if (l.role === "Leader") {
          if (l.term === ledTerm) return Effect.void
          ledTerm = l.term
          return FiberHandle.run(duty, leading(l.term), { onlyIfMissing: false })
        }
        ledTerm = 0
        return FiberHandle.clear(duty)
      }),
    ),
  )

  // Membership: registry -> Raft configuration (leader), attributes (everyone).

  /** Proposes one configuration change; whether it was applied. */
  const change = (item: ConfChangeItem) =>
    raft
      .changeMembership({ changes: [item], transition: "Auto" })
      .pipe(
        Effect.timeoutOrElse({ duration: requestTimeout, orElse: () => Effect.succeed(-1) }),
        Effect.match({ onFailure: () => false, onSuccess: (index) => index > 0 }),
      )

  /**
   * Before the leader drops `node` from Raft's configuration (and stops
   * sending to it), makes sure `node` can learn from its own replica that it
   * was removed: an empty entry proposed now, after the registry's removal
   * is committed, travels with a commit index covering that removal; once
   * `node` holds it, it will apply the removal (and exit). A node that does
   * not answer is removed anyway after half the request timeout.
   */
  const toldRemoved = (node: string): Effect.Effect<void> =>
    node === self
      ? Effect.void
      : Effect.gen(function* () {
          const index = yield* raft.propose(new Uint8Array(0))
          for (;;) {
            const st = yield* raft.status
            const pr = st.progress.find((p) => p.id === node)
            if (st.role !== "Leader" || pr === undefined || pr.match >= index) return
            yield* Effect.sleep(retryInterval)
          }
        }).pipe(
          Effect.timeoutOrElse({
            duration: Duration.divideUnsafe(requestTimeout, 2),
            orElse: () => Effect.void,
          }),
          Effect.ignore,
        )

  /** One step towards the registry's configuration; false if a step was tried and failed. */
  const reconcile: Effect.Effect<boolean> = Effect.gen(function* () {
    const st = yield* raft.status
    if (st.role !== "Leader" || isJoint(st.config)) return true
    // Registry (applied) and configuration (appended) must describe the same
    // log: once this leader has applied an entry of its own term, everything
    // before it is applied, and everything after it this leader proposed,
    // each configuration change after applying the registry change behind it.
    if (replica.appliedTerm !== st.term || replica.membership.clusterId === 0n) return true
    const { voters, learners } = st.config
    for (const m of replica.membership.members) {
      const node = raftNodeId(m.ID)
      if (!m.isLearner && !voters.includes(node)) return yield* change({ type: "AddVoter", node })
      if (m.isLearner && !learners.includes(node))
        return yield* change({ type: "AddLearner", node })
    }
    for (const node of [...voters, ...learners]) {
      const id = memberIdOfNode(node)
      if (id === undefined || replica.membership.member(id) === undefined) {
        yield* toldRemoved(node)
        return yield* change({ type: "RemoveNode", node })
      }
    }
    return true
  })

  let published = false
  let removedReported = false
  /** Publishes this member's attributes once; false if that failed. */
  const publish: Effect.Effect<boolean> = Effect.gen(function* () {
    if (replica.membership.isRemoved(options.memberId)) {
      if (!removedReported) {
        removedReported = true
        options.onRemoved?.()
      }
      return true
    }
    const me = replica.membership.member(options.memberId)
    if (published || me === undefined) return true
    if (!hasAttributes(me, options.name, options.clientURLs)) {
      const ok = yield* proposeMember({
        type: "attributes",
        ID: options.memberId,
        name: options.name,
        clientURLs: options.clientURLs,
      }).pipe(Effect.match({ onFailure: () => false, onSuccess: () => true }))
      if (!ok) return false
    }
    published = true
    return true
  })

  yield* Effect.forkScoped(
    Effect.gen(function* () {
      for (;;) {
        const v = version
        const done = (yield* reconcile) && (yield* publish)
        // A failed step is tried again after a pause, or sooner if something changes.
        yield* done ? changedSince(v) : Effect.race(changedSince(v), Effect.sleep(retryInterval))
      }
    }),
  )
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.sync(() => replica.hub.progressNotify()),
      Schedule.spaced(Duration.fromInputUnsafe(options.progressNotifyInterval ?? 600_000)),
    ),
  )

  /** Waits until this member's Raft configuration satisfies `done`. */
  const configured = (
    done: (voters: ReadonlyArray<string>, learners: ReadonlyArray<string>) => boolean,
  ) =>
    Effect.gen(function* () {
      for (;;) {
        const v = version
        const st = yield* raft.status
        if (done([...st.config.voters, ...st.config.outgoing], st.config.learners)) return
        yield* changedSince(v)
      }
    }).pipe(Effect.timeoutOrElse({ duration: requestTimeout, orElse: timedOut }))

  /** etcd's connectivity check for a member add or remove (skipped without `connectedSince`). */
  const connectivity = (op: ReconfigOp): Effect.Effect<EtcdFailure | undefined> => {
    const connectedSince = options.connectedSince
    if (connectedSince === undefined) return Effect.succeed(undefined)
    return Effect.map(Clock.currentTimeMillis, (now) =>
      checkConnected(
        replica.membership,
        op,
        options.memberId,
        (id) => connectedSince(raftNodeId(id)),
        now,
      ),
    )
  }

  const startMsLease = startMs
  let leaseCounter = 0

  return Applier.of({
    propose,
    read,
    now: Clock.currentTimeMillis,
    newLeaseId: Effect.sync(() => {
      // 13 bits of member ID, then start time and a counter: positive, below 2^53.
      const prefix = Number(options.memberId & 0x1fffn) * 2 ** 40
      for (;;) {
        const id = prefix + ((startMsLease * 256 + ++leaseCounter) % 2 ** 40)
        if (id !== 0 && replica.store.lease(id) === undefined) return id
      }
    }),
    status,
    openWatch: (sink) => Effect.sync(() => replica.openWatch(sink)),
    watchRequest: (stream, req) => Effect.sync(() => replica.watchRequest(stream, req)),
    closeWatch: (stream) => Effect.sync(() => replica.closeWatch(stream)),
    watchStats: Effect.sync(() => ({
      streams: replica.hub.streamCount,
      watchers: replica.hub.size,
    })),
    members: Effect.sync(() => replica.membership.members),
    removedMembers: Effect.sync(() => replica.membership.state().removed),
    isLearner: () => replica.membership.member(options.memberId)?.isLearner === true,
    addMember: (peerURLs, isLearner) =>
      Effect.gen(function* () {
        if (peerURLs.length === 0 || !peerURLs.every(validMemberURL)) {
          return yield* fail(ErrMemberBadURLs)
        }
        const ID = memberIdFor(peerURLs, options.token)
        const op: MemberOp = { type: "add", ID, peerURLs, isLearner }
        const refused =
          checkStartedQuorum(replica.membership, op) ??
          (yield* connectivity(op)) ??
          replica.membership.check(op)
        if (refused !== undefined) return yield* fail(refused)
        yield* proposeMember(op)
        const node = raftNodeId(ID)
        yield* configured((voters, learners) =>
          isLearner ? learners.includes(node) : voters.includes(node),
        )
        const member: Member = replica.membership.member(ID) ?? {
          ID,
          name: "",
          peerURLs: [...peerURLs],
          clientURLs: [],
          isLearner,
        }
        return member
      }),
    removeMember: (ID) =>
      Effect.gen(function* () {
        const op: MemberOp = { type: "remove", ID }
        const refused =
          checkStartedQuorum(replica.membership, op) ??
          (yield* connectivity(op)) ??
          replica.membership.check(op)
        if (refused !== undefined) return yield* fail(refused)
        yield* proposeMember(op)
        const node = raftNodeId(ID)
        yield* configured((voters, learners) => !voters.includes(node) && !learners.includes(node))
      }),
    updateMember: (ID, peerURLs) =>
      Effect.gen(function* () {
        const op: MemberOp = { type: "update", ID, peerURLs }
        const refused = replica.membership.check(op)
        if (refused !== undefined) return yield* fail(refused)
        // Applied everywhere, the peer transports follow the new URLs.
        yield* proposeMember(op)
      }),
    promoteMember: (ID) =>
      Effect.gen(function* () {
        const st = yield* raft.status
        if (st.role !== "Leader") return yield* fail(ErrNotLeader)
        const node = raftNodeId(ID)
        const refused = checkPromote(replica.membership, ID, {
          leaderMatch: st.progress.find((p) => p.id === self)?.match ?? st.lastIndex,
          learnerMatch: st.progress.find((p) => p.id === node)?.match,
        })
        if (refused !== undefined) return yield* fail(refused)
        yield* proposeMember({ type: "promote", ID })
        // The registry says voter; the leader's reconciling makes Raft agree.
        yield* configured((voters) => voters.includes(node))
      }),
    moveLeader: (target) =>
      Effect.gen(function* () {
        const st = yield* raft.status
        if (st.role !== "Leader") return yield* fail(ErrNotLeader)
        const refused = checkMoveLeader(replica.membership, target)
        if (refused !== undefined) return yield* fail(refused)
        // Succeeds once this node sees the target lead (at once for itself); the
        // core abandons a transfer that does not finish within an election timeout.
        yield* raft
          .transferLeadership(raftNodeId(target))
          .pipe(
            Effect.mapError((e) =>
              e instanceof Stopped
                ? EtcdError.fromFailure(ErrStopped)
                : e instanceof NotLeader
                  ? EtcdError.fromFailure(ErrNotLeader)
                  : EtcdError.fromFailure(ErrTimeoutLeaderTransfer),
            ),
          )
      }),
  })
})

/** The Applier over a RaftNode and its Replica, with its duties running for the layer's lifetime. */
export const layerRaft = (
  options: RaftApplierOptions,
): Layer.Layer<Applier, never, RaftNode | Replica> =>
  Layer.effect(Applier, makeRaftApplier(options))
