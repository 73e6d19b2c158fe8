// One member process, as `flotilla store` runs it: the WAL in
// `<data-dir>/member/wal`, Raft over TCP on the peer URL, the etcd v3 gRPC API
// on every client URL. Peers come from `--initial-cluster` and then from the
// replicated membership.
import * as net from "node:net"
import * as path from "node:path"
import { RaftTcpTransport, type TcpTransport } from "@flotilla/raft"
import { Context, Deferred, Effect, Layer, Scheduler, type Scope } from "effect"
import { Applier } from "./applier.ts"
import { runAutoCompaction } from "./auto-compaction.ts"
import { answerBootstrapQueries, checkBootstrap } from "./bootstrapped.ts"
import { type BootstrapDecision, refusalMessage } from "./core/bootstrapped.ts"
import type { MemberConfig } from "./core/config.ts"
import {
  clusterMismatch,
  type IdentityResolution,
  identityToPersist,
  type MemberIdentity,
  resolveIdentity,
} from "./core/identity.ts"
import { hasAttributes, memberIdFor, raftNodeId } from "./core/members.ts"
import type { EtcdError } from "./errors.ts"
import { type EtcdServer, serve } from "./grpc/server.ts"
import { identityPath, readIdentity, removeIdentity, writeIdentity } from "./identity.ts"
import {
  bootstrapFor,
  memberLayer,
  peerAddress,
  tcpTransport,
  walHoldsState,
  walStorage,
} from "./member.ts"
import { Replica } from "./replica.ts"
import { makeMemberScheduler } from "./scheduler.ts"

/** A listening host: `localhost` means the IPv4 loopback here. */
const listenHost = (u: URL): string =>
  u.hostname === "localhost" ? "127.0.0.1" : u.hostname.replace(/^\[|\]$/g, "")

export interface RunningMember {
  readonly id: bigint
  readonly clusterId: Effect.Effect<bigint>
  readonly servers: ReadonlyArray<EtcdServer>
  /** Completes when this member learns it was removed from the cluster. */
  readonly removed: Deferred.Deferred<void>
  /**
   * Set when this member started from an empty data directory (a new
   * cluster's initial log, or an empty one to join with), with what its peers
   * answered first; undefined when it started from its data directory.
   */
  readonly bootstrap: Extract<BootstrapDecision, { _tag: "Bootstrap" }> | undefined
  /**
   * Where the ID came from: the data directory's record (the flags' peer URLs
   * ignored, as etcd), or the flags (a fresh start, or an older data
   * directory without the record).
   */
  readonly identity: Exclude<IdentityResolution["_tag"], "Refuse">
  /**
   * Completes once the member is ready, as etcd's ReadyNotify: its name and
   * client URLs are in the replicated membership (published through Raft if
   * they changed), and a linearizable read succeeded on it (a leader
   * confirmed its leadership and this member applied everything committed
   * before). The client ports listen before this; requests wait for a leader
   * there anyway.
   */
  readonly ready: Effect.Effect<void>
}

/** Starts a member for the current Scope. */
export const startMember = (
  config: MemberConfig,
): Effect.Effect<RunningMember, EtcdError | Error, Scope.Scope> =>
  Effect.provideService(startMemberWith(config), Scheduler.Scheduler, makeMemberScheduler())

/**
 * Binds a client address for a moment before anything is written: a port in
 * use fails here, as in etcd (which listens before it creates its data
 * directory), instead of after the member's WAL has been made.
 */
const checkListen = (host: string, port: number): Effect.Effect<void, Error> =>
  Effect.callback<void, Error>((resume) => {
    const probe = net.createServer()
    probe.once("error", (e) =>
      resume(Effect.fail(new Error(`cannot listen on ${host}:${port}: ${e.message}`))),
    )
    probe.listen(port, host, () => probe.close(() => resume(Effect.void)))
  })

const startMemberWith = (
  config: MemberConfig,
): Effect.Effect<RunningMember, EtcdError | Error, Scope.Scope> =>
  Effect.gen(function* () {
    const token = config.initialClusterToken
    const walDir = path.join(config.dataDir, "member", "wal")
    const identityFile = identityPath(config.dataDir)
    const holdsState = yield* walHoldsState(walDir)
    const stored = yield* readIdentity(identityFile)
    // Once the log holds state, the ID is the one recorded beside it (etcd reads
    // it from its WAL): a member restarted with a new peer URL after
    // MemberUpdate keeps its ID and its log.
    const identity = resolveIdentity({
      walHoldsState: holdsState,
      stored,
      derived: memberIdFor(config.initialAdvertisePeerURLs, token),
    })
    if (identity._tag === "Refuse")
      return yield* Effect.fail(
        new Error(
          `cannot read this member's identity from ${identityFile} (${identity.reason}), and its log in ${walDir} must not run under another ID; restore the data directory from a backup, or remove the member (etcdctl member remove) and add it back with an empty data directory`,
        ),
      )
    const memberId = identity.memberId
    const self = raftNodeId(memberId)
    const removed = yield* Deferred.make<void>()
    const peers: Record<string, { host: string; port: number }> = {}
    for (const m of config.initialCluster) {
      const id = raftNodeId(memberIdFor(m.peerURLs, token))
      // By name too: restarted with a changed peer URL, its own entry derives another ID.
      if (id !== self && m.name !== config.name) peers[id] = peerAddress(m.peerURLs[0]!)
    }
    const tcp = RaftTcpTransport.layer({
      id: self,
      host: listenHost(config.listenPeerURL),
      port: Number(config.listenPeerURL.port),
      peers,
      // Every peer stays dialled, as etcd's streams: member changes check connectivity.
      keepConnected: true,
    })
    // Set once the layer is built (no request is served before that).
    let peerTransport: TcpTransport | undefined
    // A member with nothing on disk starts a fresh log (a new cluster's, or an
    // empty one to join with): only if no peer knows it as having run, for it
    // would have lost its votes and entries. etcd asks this for state new; a
    // wiped member restarted as existing is the same hazard, so it is asked
    // either way (a member just added is "unstarted"). Asked before anything
    // is written, so a refused member stays refused.
    let bootstrap: RunningMember["bootstrap"]
    if (!holdsState) {
      const decision = yield* checkBootstrap({
        self,
        memberId,
        peers: config.initialCluster
          .map((m) => ({
            name: m.name,
            node: raftNodeId(memberIdFor(m.peerURLs, token)),
            addresses: m.peerURLs.map(peerAddress),
          }))
          .filter((p) => p.node !== self),
      })
      if (decision._tag === "Refuse")
        return yield* Effect.fail(new Error(refusalMessage(config.name, memberId, decision)))
      bootstrap = decision
      // A record left beside a wiped log names the old member: gone before the new log exists.
      if (stored._tag !== "Missing") yield* removeIdentity(identityFile)
    }
    const boot = bootstrapFor(config.initialClusterState, config.initialCluster, token)
    const member = memberLayer({
      memberId,
      name: config.name,
      clientURLs: config.advertiseClientURLs,
      token,
      tickMs: config.heartbeatMs,
      electionTicks: Math.max(2, Math.round(config.electionMs / config.heartbeatMs)),
      snapshotCount: config.snapshotCount,
      store: { quotaBackendBytes: config.quotaBackendBytes },
      onRemoved: () => Deferred.doneUnsafe(removed, Effect.void),
      connectedSince: (node) => peerTransport?.connectedSince(node),
    }).pipe(
      Layer.provide(walStorage(walDir, boot)),
      Layer.provide(tcpTransport),
      Layer.provideMerge(tcp),
    )
    for (const u of config.listenClientURLs) yield* checkListen(listenHost(u), Number(u.port))
    const ctx = yield* Layer.build(member).pipe(
      Effect.mapError((e) => new Error(e.message, { cause: e })),
    )
    const transport = Context.get(ctx, RaftTcpTransport)
    peerTransport = transport.unsafe
    const replica = Context.get(ctx, Replica)
    // Peers follow the replicated membership (a removed member is forgotten).
    const syncPeers = (): void => {
      for (const m of replica.membership.members) {
        const id = raftNodeId(m.ID)
        if (id !== self && m.peerURLs.length > 0)
          transport.unsafe.setPeer(id, peerAddress(m.peerURLs[0]!))
      }
      for (const m of config.initialCluster) {
        const id = memberIdFor(m.peerURLs, token)
        if (replica.membership.isRemoved(id)) transport.unsafe.removePeer(raftNodeId(id))
      }
    }
    let recorded: MemberIdentity | undefined =
      identity._tag === "Stored" ? { memberId, clusterId: identity.clusterId } : undefined
    if (recorded !== undefined && clusterMismatch(recorded.clusterId, replica.membership.clusterId))
      return yield* Effect.fail(
        new Error(
          `the data directory ${config.dataDir} records cluster ${recorded.clusterId.toString(16)} but its log holds cluster ${replica.membership.clusterId.toString(16)}; it is not this member's data directory`,
        ),
      )
    /** The record to write for the current membership, if any (and taken as written). */
    const nextRecord = (): MemberIdentity | undefined => {
      const m = replica.membership
      const want = identityToPersist(recorded, memberId, {
        clusterId: m.clusterId,
        lists: m.member(memberId) !== undefined,
      })
      if (want !== undefined) recorded = want
      return want
    }
    const first = nextRecord()
    if (first !== undefined) yield* writeIdentity(identityFile, first)
    // Later records (a joining member learning its cluster) are written in order.
    let writes = Promise.resolve()
    const recordIdentity = (): void => {
      const want = nextRecord()
      if (want === undefined) return
      writes = writes.then(() =>
        Effect.runPromise(writeIdentity(identityFile, want)).catch((e: unknown) =>
          console.error(`flotilla store: ${e instanceof Error ? e.message : String(e)}`),
        ),
      )
    }
    yield* Effect.addFinalizer(() => Effect.promise(() => writes))
    yield* answerBootstrapQueries(transport.unsafe, () => replica.membership)
    const unsubscribe = replica.onMembershipChange(() => {
      syncPeers()
      recordIdentity()
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))
    syncPeers()
    const servers: EtcdServer[] = []
    for (const u of config.listenClientURLs) {
      servers.push(
        yield* serve({ host: listenHost(u), port: Number(u.port) }).pipe(Effect.provide(ctx)),
      )
    }
    if (config.autoCompaction !== undefined)
      yield* runAutoCompaction(config.autoCompaction).pipe(Effect.provide(ctx))
    const applier = Context.get(ctx, Applier)
    // Tried again after a pause until it succeeds (a failed read waited for a leader already).
    const caughtUp = Effect.eventually(
      applier.read(() => undefined, false).pipe(Effect.tapError(() => Effect.sleep("50 millis"))),
    )
    /** Whether this member's attributes are published, as far as it has applied. */
    const isPublished = () =>
      hasAttributes(replica.membership.member(memberId), config.name, config.advertiseClientURLs)
    // One round: catch up, then done, or wait for the membership to change (the
    // publish entry applied). Subscribed before the read so no change is missed.
    const round = Effect.acquireUseRelease(
      Effect.gen(function* () {
        const changed = yield* Deferred.make<void>()
        const off = replica.onMembershipChange(() => Deferred.doneUnsafe(changed, Effect.void))
        return { changed, off }
      }),
      ({ changed }) =>
        Effect.gen(function* () {
          yield* caughtUp
          if (isPublished()) return true
          yield* Deferred.await(changed)
          return false
        }),
      ({ off }) => Effect.sync(off),
    )
    const ready = Effect.gen(function* () {
      while (!(yield* round)) {}
    })
    return {
      id: memberId,
      clusterId: Effect.sync(() => replica.membership.clusterId),
      servers,
      removed,
      bootstrap,
      identity: identity._tag,
      ready,
    }
  })
