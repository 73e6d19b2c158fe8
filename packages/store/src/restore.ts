// Restoring a snapshot file into a new member's data directory, as `etcdctl
// snapshot restore` (etcdutl) does for etcd: the file is etcd's backend
// database (from our Snapshot call or a real etcd's), its SHA-256 trailer is
// checked, and the member's WAL gets a bootstrap snapshot holding the
// restored keys and the new cluster named by the flags. Every initial member
// of the new cluster is restored from the same file with the same
// --initial-cluster and token; `flotilla store --data-dir DIR` then runs it.
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { open } from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { readBackendDb, SnapshotFileError } from "./core/backend-db.ts"
import { BoltFormatError, readBolt } from "./core/bolt.ts"
import { decodeMemberConfig, type EtcdFlags, type MemberConfig } from "./core/config.ts"
import { memberIdFor } from "./core/members.ts"
import { MvccStore } from "./core/mvcc.ts"
import { bootstrapFor, writeBootstrap } from "./member.ts"

export type RestoreFlags = Pick<
  EtcdFlags,
  "name" | "data-dir" | "initial-cluster" | "initial-cluster-token" | "initial-advertise-peer-urls"
>

export interface RestoreOptions {
  /** The snapshot file. */
  readonly file: string
  readonly flags: RestoreFlags
  /** Restore a file without the SHA-256 trailer (a copied database file), as etcd's --skip-hash-check. */
  readonly skipHashCheck?: boolean
}

export interface Restored {
  readonly config: MemberConfig
  readonly memberId: bigint
  readonly revision: number
  readonly compactRevision: number
  /** Live keys at that revision. */
  readonly keys: number
  /** Lease IDs above 2^53 (etcd's may be), given lower ones here: [from, to]. */
  readonly renumberedLeases: ReadonlyArray<readonly [bigint, number]>
}

/** The largest snapshot file read (etcd's default backend quota is 2 GiB; ours lives in memory). */
const MAX_SNAPSHOT_BYTES = 2 ** 31

const SHA256_BYTES = 32

/** Reads `file` whole, refusing what is not a regular file or is too large. */
const readSnapshotFile = async (file: string): Promise<Uint8Array> => {
  const handle = await open(file, "r")
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new SnapshotFileError(`${file}: not a regular file`)
    if (stat.size > MAX_SNAPSHOT_BYTES)
      throw new SnapshotFileError(
        `${file}: ${stat.size} bytes, more than the ${MAX_SNAPSHOT_BYTES} read`,
      )
    const bytes = new Uint8Array(stat.size)
    let at = 0
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at)
      if (bytesRead === 0) break
      at += bytesRead
    }
    return bytes.subarray(0, at)
  } finally {
    await handle.close()
  }
}

/**
 * The database inside a snapshot file: etcd appends its SHA-256 (the file
 * is then 32 bytes past a multiple of 512, as bbolt's pages are) and
 * checks it on restore.
 */
export const databaseOf = (file: string, bytes: Uint8Array, skipHashCheck: boolean): Uint8Array => {
  const hasHash = bytes.length % 512 === SHA256_BYTES
  if (!hasHash) {
    if (!skipHashCheck)
      throw new SnapshotFileError(
        `${file}: snapshot missing hash but --skip-hash-check=false (a database file copied from a data directory has none)`,
      )
    return bytes
  }
  const db = bytes.subarray(0, bytes.length - SHA256_BYTES)
  if (!skipHashCheck) {
    const want = Buffer.from(bytes.subarray(db.length)).toString("hex")
    const got = createHash("sha256").update(db).digest("hex")
    if (want !== got) throw new SnapshotFileError(`${file}: expected sha256 ${want}, got ${got}`)
  }
  return db
}

/** Keys with a live version at the current revision. */
const liveKeys = (store: MvccStore): number => {
  const all = store.range({
    key: new Uint8Array([0]),
    range_end: new Uint8Array([0]),
    count_only: true,
  })
  return "count" in all ? all.count : 0
}

/** What a snapshot file holds, as a store to start a new cluster from. */
export interface SnapshotStore {
  readonly store: MvccStore
  /** Lease IDs above 2^53 (etcd's may be), given lower ones here: [from, to]. */
  readonly renumberedLeases: ReadonlyArray<readonly [bigint, number]>
}

/**
 * Reads a snapshot file (its SHA-256 checked unless `skipHashCheck`) into
 * a store: for `restoreSnapshot`, and for an embedded cluster's
 * `initialStore` (`flotilla up --restore`).
 */
export const readSnapshotStore = (
  file: string,
  skipHashCheck = false,
): Effect.Effect<SnapshotStore, Error> =>
  Effect.tryPromise({
    try: async () => {
      const db = databaseOf(file, await readSnapshotFile(file), skipHashCheck)
      try {
        const backend = readBackendDb(readBolt(db))
        return {
          store: MvccStore.importState(backend.state),
          renumberedLeases: backend.renumberedLeases,
        }
      } catch (e) {
        if (e instanceof BoltFormatError || e instanceof SnapshotFileError)
          throw new SnapshotFileError(`${file}: ${e.message}`)
        throw e
      }
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e))),
  })

/** Restores `options.file` into a new data directory; fails if the directory exists. */
export const restoreSnapshot = (options: RestoreOptions): Effect.Effect<Restored, Error> =>
  Effect.gen(function* () {
    const config = yield* Effect.try({
      try: () => decodeMemberConfig(options.flags),
      catch: (e) => (e instanceof Error ? e : new Error(String(e))),
    })
    if (existsSync(config.dataDir))
      return yield* Effect.fail(new Error(`data-dir ${JSON.stringify(config.dataDir)} exists`))
    const { store, renumberedLeases } = yield* readSnapshotStore(
      options.file,
      options.skipHashCheck === true,
    )
    const token = config.initialClusterToken
    const boot = bootstrapFor("new", config.initialCluster, token, {}, store)
    yield* Effect.tryPromise({
      try: () => writeBootstrap(path.join(config.dataDir, "member", "wal"), boot),
      catch: (e) => (e instanceof Error ? e : new Error(String(e))),
    })
    return {
      config,
      memberId: memberIdFor(config.initialAdvertisePeerURLs, token),
      revision: store.rev,
      compactRevision: store.compactRev,
      keys: liveKeys(store),
      renumberedLeases,
    }
  })
