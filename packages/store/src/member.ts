// Assembling replicated members: storage (file WAL or memory) with the base
// snapshot a new member starts from, a transport (TCP between processes, an
// in-memory network inside one), the Replica, the RaftNode, the Raft Applier
// and the KV and Cluster services over it.
import { existsSync } from "node:fs"
import {
  type Config,
  emptyConfig,
  encodeConfig,
  FileWal,
  LogStorage,
  type MemoryNetwork,
  type MemoryStore,
  makeConfig,
  mutableDurable,
  type RaftConfigError,
  RaftNode,
  type RaftOptions,
  type RaftTcpTransport,
  StorageFailure,
  Transport,
  type WalRecovery,
} from "@flotilla/raft"
import { Effect, Layer } from "effect"

/** mkdir -p that fails at once under /proc (see `@flotilla/raft`'s `mkdirAll`); `flotilla up` makes its data directory with it. */
export { mkdirAll } from "@flotilla/raft"

import type { Applier } from "./applier.ts"
import { Cluster } from "./cluster.ts"
import { encodeSnapshot } from "./core/codec.ts"
import { encodeReplicaSnapshot } from "./core/entry.ts"
import { Membership, memberIdFor, raftNodeId } from "./core/members.ts"
import { MvccStore, type StoreConfig } from "./core/mvcc.ts"
import { KV } from "./kv.ts"
import { layerRaft, type RaftApplierOptions } from "./raft-applier.ts"
import { Replica } from "./replica.ts"

/** One member of the initial cluster, as `--initial-cluster` names it. */
export interface InitialMember {
  readonly name: string
  readonly peerURLs: ReadonlyArray<string>
}

/** What a member starts from when its storage is empty. */
export interface Bootstrap {
  /** The initial Raft configuration (empty for a member joining an existing cluster). */
  readonly config: Config
  /** The index-0 snapshot data: membership and an empty store (empty for a joining member). */
  readonly data: Uint8Array
}

/** A new cluster's bootstrap (identical on every initial member) or a joining member's. */
export const bootstrapFor = (
  state: "new" | "existing",
  initialCluster: ReadonlyArray<InitialMember>,
  token: string,
  store: Partial<StoreConfig> = {},
  /** The data a new cluster starts with (a restored snapshot); empty by default. */
  initialStore?: MvccStore,
): Bootstrap => {
  if (state === "existing") return { config: emptyConfig, data: new Uint8Array(0) }
  const membership = Membership.initial(initialCluster, token)
  return {
    config: makeConfig(membership.members.map((m) => raftNodeId(m.ID))),
    data: encodeReplicaSnapshot(membership, encodeSnapshot(initialStore ?? new MvccStore(store))),
  }
}

/** A memory "disk" holding a bootstrap state; it outlives members started on it. */
export const memoryStoreFor = (b: Bootstrap): MemoryStore => ({
  durable: mutableDurable({
    hardState: { term: 0, vote: null, commit: 0 },
    snapshot: { index: 0, term: 0, config: b.config, data: b.data },
    entries: [],
  }),
  writes: 0,
  syncs: 0,
})

/** Nothing was ever made durable: the member would start from its bootstrap. */
const isFresh = (recovery: WalRecovery): boolean =>
  recovery.snapshot === undefined && recovery.lastIndex === 0 && recovery.hardState === undefined

/**
 * Whether the file WAL in `dir` holds state (so `walStorage` would ignore the
 * bootstrap). Writes nothing when `dir` is missing (etcd's wal.Exist); an
 * existing one is opened and closed, as `walStorage` is about to.
 */
export const walHoldsState = (dir: string): Effect.Effect<boolean, StorageFailure> =>
  Effect.tryPromise({
    try: async () => {
      if (!existsSync(dir)) return false
      const { wal, recovery } = await FileWal.open({ dir })
      await wal.close()
      return !isFresh(recovery)
    },
    catch: (cause) => new StorageFailure({ operation: "open", cause }),
  })

/**
 * Makes `b` durable as the index-0 snapshot of the file WAL in `dir` (made
 * if missing), unless that WAL already holds state. Returns whether it wrote.
 */
export const writeBootstrap = async (dir: string, b: Bootstrap): Promise<boolean> => {
  // FileWal.open makes the directory (one component at a time: under
  // /proc it fails at once instead of spinning in Node's recursive mkdir).
  const { wal, recovery } = await FileWal.open({ dir })
  try {
    if (!isFresh(recovery)) return false
    await wal.persist({
      snapshot: { index: 0, term: 0, meta: encodeConfig(b.config), data: b.data },
    })
    return true
  } finally {
    await wal.close()
  }
}

/**
 * The file WAL in `dir`. An empty directory first gets the bootstrap
 * snapshot (index 0, with its data) made durable; a directory with state keeps
 * it and the bootstrap is ignored (as etcd ignores --initial-cluster then).
 */
export const walStorage = (dir: string, b: Bootstrap): Layer.Layer<LogStorage, StorageFailure> =>
  Layer.unwrap(
    Effect.as(
      Effect.tryPromise({
        try: () => writeBootstrap(dir, b),
        catch: (cause) => new StorageFailure({ operation: "bootstrap", cause }),
      }),
      LogStorage.layerWal({ dir }),
    ),
  )

/** The `Transport` of a `RaftTcpTransport` (which stays available for peer updates). */
export const tcpTransport: Layer.Layer<Transport, never, RaftTcpTransport> = Transport.layerFromTcp

export interface MemberOptions extends Omit<RaftApplierOptions, "memberId"> {
  readonly memberId: bigint
  /** Milliseconds per Raft tick: etcd's --heartbeat-interval (default 100). */
  readonly tickMs?: number
  /** Election timeout in ticks: etcd's --election-timeout / --heartbeat-interval (default 10). */
  readonly electionTicks?: number
  /**
   * Entries applied between two snapshots: etcd's --snapshot-count (default
   * 100,000 as in etcd 3.4 and 3.5, the versions tested against; etcd 3.6
   * lowered its default to 10,000). Proposals are batched, so an entry often
   * holds many transactions.
   */
  readonly snapshotCount?: number
  readonly store?: Partial<StoreConfig>
  /** Core options beyond the defaults above (tests). */
  readonly raft?: Partial<Omit<RaftOptions, "id">>
}

/**
 * A member over the provided storage and transport: KV, Cluster, Applier,
 * and the RaftNode and Replica underneath.
 */
export const memberLayer = (
  options: MemberOptions,
): Layer.Layer<
  KV | Cluster | Applier | RaftNode | Replica,
  StorageFailure | RaftConfigError,
  LogStorage | Transport
> => {
  const id = raftNodeId(options.memberId)
  const replica = Replica.layer({
    ...(options.store === undefined ? {} : { store: options.store }),
  })
  const raft = RaftNode.layer({
    id,
    tickMs: options.tickMs ?? 100,
    snapshotEvery: options.snapshotCount ?? 100_000,
    raft: {
      electionTick: options.electionTicks ?? 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      forwardProposals: true,
      // Randomness as a seed: the election timeouts differ per member.
      seed: Number(options.memberId % 0x7fffffffn),
      ...options.raft,
    },
  }).pipe(Layer.provideMerge(replica))
  const applier = layerRaft(options).pipe(Layer.provideMerge(raft))
  return Layer.mergeAll(KV.layer, Cluster.layer).pipe(Layer.provideMerge(applier))
}

/** Peer address (host, port) of a peer URL. */
export const peerAddress = (url: string): { readonly host: string; readonly port: number } => {
  const u = new URL(url)
  return { host: u.hostname === "localhost" ? "127.0.0.1" : u.hostname, port: Number(u.port) }
}

/** IDs of the initial cluster's members (as `--initial-cluster` with the token gives them). */
export const initialMemberIds = (
  cluster: ReadonlyArray<InitialMember>,
  token: string,
): ReadonlyArray<{
  readonly name: string
  readonly id: bigint
  readonly peerURLs: ReadonlyArray<string>
}> =>
  cluster.map((m) => ({ name: m.name, id: memberIdFor(m.peerURLs, token), peerURLs: m.peerURLs }))

export type { MemoryNetwork }
