// An embedded cluster: N replicated members inside one process, joined by an
// in-memory network, each on its own storage (memory, or a file WAL under
// `dataDir`). `KV.layerRaft` serves the KV of its first member; the members
// can be stopped and started again from their storage (tests).
import { readdirSync } from "node:fs"
import * as path from "node:path"
import {
  LogStorage,
  MemoryNetwork,
  type RaftConfigError,
  RaftNode,
  StorageFailure,
  Transport,
} from "@flotilla/raft"
import { Context, type Duration, Effect, Exit, Layer, Scheduler, Scope } from "effect"
import { Applier } from "./applier.ts"
import { Cluster } from "./cluster.ts"
import { memberIdFor, raftNodeId } from "./core/members.ts"
import type { MvccStore, StoreConfig } from "./core/mvcc.ts"
import { KV } from "./kv.ts"
import {
  type Bootstrap,
  bootstrapFor,
  type InitialMember,
  memberLayer,
  memoryStoreFor,
  walStorage,
} from "./member.ts"
import type { Replica } from "./replica.ts"
import { makeMemberScheduler } from "./scheduler.ts"

export interface EmbeddedOptions {
  /** Number of members (default 3; 1 for a single-member cluster). */
  readonly members?: number
  /** Keep each member's WAL under this directory (`<dataDir>/<name>`); memory when absent. */
  readonly dataDir?: string
  /** Milliseconds per Raft tick (default 100). */
  readonly tickMs?: number
  /** Election timeout in ticks (default 10). */
  readonly electionTicks?: number
  /** Entries between snapshots (default 100,000). */
  readonly snapshotCount?: number
  readonly token?: string
  readonly store?: Partial<StoreConfig>
  /**
   * The data a new cluster starts with (a restored snapshot: `restoreStore`);
   * members whose logs hold state keep theirs.
   */
  readonly initialStore?: MvccStore
  readonly requestTimeout?: Duration.Input
  readonly leaseCheckInterval?: Duration.Input
}

export type MemberServices = KV | Cluster | Applier | RaftNode | Replica

export class EmbeddedMember {
  readonly name: string
  readonly id: bigint
  /** The Raft node ID. */
  readonly node: string
  /** The running member's services; undefined while stopped. */
  services: Context.Context<MemberServices> | undefined
  private scope: Scope.Closeable | undefined
  private readonly layer: Layer.Layer<MemberServices, StorageFailure | RaftConfigError>

  constructor(
    name: string,
    id: bigint,
    layer: Layer.Layer<MemberServices, StorageFailure | RaftConfigError>,
  ) {
    this.name = name
    this.id = id
    this.node = raftNodeId(id)
    this.layer = layer
  }

  get running(): boolean {
    return this.services !== undefined
  }

  /** The member's service `tag`; dies when the member is stopped. */
  get<I extends MemberServices, S>(tag: Context.Key<I, S>): S {
    if (this.services === undefined) throw new Error(`member ${this.name} is stopped`)
    return Context.get(this.services as Context.Context<I>, tag)
  }

  /** Starts the member from its storage. */
  readonly start: Effect.Effect<void, StorageFailure | RaftConfigError> = Effect.suspend(() => {
    if (this.scope !== undefined) return Effect.void
    const self = this
    return Effect.gen(function* () {
      const scope = yield* Scope.make()
      const services = yield* Layer.buildWithScope(self.layer, scope).pipe(
        Effect.onError(() => Scope.close(scope, Exit.void)),
      )
      self.scope = scope
      self.services = services
    })
  })

  /** Stops the member (as a crash: only what its storage made durable survives). */
  readonly stop: Effect.Effect<void> = Effect.suspend(() => {
    const scope = this.scope
    this.scope = undefined
    this.services = undefined
    return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
  })
}

export interface EmbeddedCluster {
  readonly members: ReadonlyArray<EmbeddedMember>
  readonly network: MemoryNetwork
  /**
   * Starts a member that joins the running cluster (`--initial-cluster-state
   * existing`); add it first through the Cluster API with the same peer URLs.
   */
  readonly join: (
    name: string,
    peerURLs: ReadonlyArray<string>,
  ) => Effect.Effect<EmbeddedMember, StorageFailure | RaftConfigError>
}

/** Whether `dir` holds write-ahead log segments. */
const hasLog = (dir: string): boolean => {
  try {
    return readdirSync(dir).some((f) => f.endsWith(".wal"))
  } catch {
    return false
  }
}

/**
 * On disk, every member has a log or none has (a new store). A member whose
 * log is gone while its peers kept theirs would start afresh and rejoin with
 * no memory of its votes: it could vote twice in one term and help elect two
 * leaders. It is refused, as etcd refuses a member that lost its data
 * directory but is still in the cluster.
 */
const checkLogs = (
  dataDir: string,
  initial: ReadonlyArray<InitialMember>,
): Effect.Effect<void, StorageFailure> =>
  Effect.suspend(() => {
    const dirs = initial.map((m) => path.join(dataDir, m.name))
    const lost = dirs.filter((d) => !hasLog(d))
    if (lost.length === 0 || lost.length === dirs.length) return Effect.void
    return Effect.fail(
      new StorageFailure({
        operation: "bootstrap",
        cause: new Error(
          `${lost.join(", ")} ${lost.length === 1 ? "holds" : "hold"} no write-ahead log while ${dirs
            .filter((d) => !lost.includes(d))
            .join(
              ", ",
            )} ${dirs.length - lost.length === 1 ? "does" : "do"}: a member that lost its log could vote twice in a term; restore it, or move ${dataDir} away to start an empty store`,
        ),
      }),
    )
  })

/** Starts the members for the current Scope; the first one campaigns at once. */
export const makeEmbeddedCluster = (
  options: EmbeddedOptions = {},
): Effect.Effect<EmbeddedCluster, StorageFailure | RaftConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const n = options.members ?? 3
    const token = options.token ?? "flotilla-embedded"
    const initial: InitialMember[] = Array.from({ length: n }, (_, i) => ({
      name: `m${i + 1}`,
      peerURLs: [`http://embedded-m${i + 1}:2380`],
    }))
    const network = new MemoryNetwork()
    const members: EmbeddedMember[] = []
    const make = (m: InitialMember, boot: Bootstrap): EmbeddedMember => {
      const id = memberIdFor(m.peerURLs, token)
      const storage =
        options.dataDir === undefined
          ? LogStorage.layerMemory(memoryStoreFor(boot))
          : walStorage(path.join(options.dataDir, m.name), boot)
      const layer = memberLayer({
        memberId: id,
        name: m.name,
        clientURLs: [],
        token,
        ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
        ...(options.electionTicks === undefined ? {} : { electionTicks: options.electionTicks }),
        ...(options.snapshotCount === undefined ? {} : { snapshotCount: options.snapshotCount }),
        ...(options.store === undefined ? {} : { store: options.store }),
        ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
        ...(options.leaseCheckInterval === undefined
          ? {}
          : { leaseCheckInterval: options.leaseCheckInterval }),
      }).pipe(
        Layer.provide(
          Layer.mergeAll(storage, Layer.effect(Transport, network.endpoint(raftNodeId(id)))),
        ),
      )
      const member = new EmbeddedMember(m.name, id, layer)
      members.push(member)
      return member
    }
    yield* Effect.addFinalizer(() => Effect.forEach(members, (m) => m.stop, { discard: true }))
    const boot = bootstrapFor("new", initial, token, options.store, options.initialStore)
    if (options.dataDir !== undefined) yield* checkLogs(options.dataDir, initial)
    for (const m of initial) yield* make(m, boot).start
    // Elect the first member now instead of after an election timeout.
    yield* Effect.ignore(members[0]!.get(RaftNode).campaign)
    return {
      members,
      network,
      join: (name, peerURLs) => {
        const m = make({ name, peerURLs }, bootstrapFor("existing", [], token))
        return Effect.as(m.start, m)
      },
    }
  })

/** The KV, Cluster and Applier of an embedded cluster's first member. */
export const layerEmbedded = (
  options: EmbeddedOptions = {},
): Layer.Layer<KV | Cluster | Applier, StorageFailure | RaftConfigError> =>
  Layer.effectContext(
    // The members' fibers run on the member scheduler (scheduler.ts).
    Effect.map(
      Effect.provideService(
        makeEmbeddedCluster(options),
        Scheduler.Scheduler,
        makeMemberScheduler(),
      ),
      (c) => {
        const first = c.members[0]!
        return Context.make(KV, first.get(KV)).pipe(
          Context.add(Cluster, first.get(Cluster)),
          Context.add(Applier, first.get(Applier)),
        )
      },
    ),
  )
