/**
 * `flotilla snapshot restore FILE`: a new member's data directory from a
 * snapshot file, as `etcdctl snapshot restore` makes one for etcd, with the
 * same flags. The file is etcd's backend database: saved from our store or
 * from a real etcd (`etcdctl snapshot save`), so a cluster moves from etcd to
 * `flotilla store` this way. Run it for each member of the new cluster with
 * the same file, --initial-cluster and token, then start each member with
 * `flotilla store --data-dir DIR ...`. Bad flags exit 2; a file that cannot
 * be restored (damaged, a hash that does not match) exits 1, nothing written.
 */
import { FlagError, memberIdHex, restoreSnapshot, SnapshotFileError } from "@flotilla/store"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { StoreFailed, StoreUsageError } from "./store.ts"

const text = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const restore = Command.make(
  "restore",
  {
    file: Argument.String("file").pipe(
      Argument.withDescription("A snapshot file (etcdctl snapshot save, from our store or etcd)"),
    ),
    name: text("name", "Human-readable name for this member (default: default)"),
    dataDir: text("data-dir", "The data directory to create (default: NAME.etcd); must not exist"),
    initialCluster: text("initial-cluster", "The new cluster: name=peerURL,..."),
    initialClusterToken: text(
      "initial-cluster-token",
      "Initial cluster token (default: etcd-cluster)",
    ),
    initialAdvertisePeerUrls: text(
      "initial-advertise-peer-urls",
      "This member's peer URLs in the new cluster",
    ),
    skipHashCheck: Flag.Boolean("skip-hash-check").pipe(
      Flag.withDescription(
        "Restore a file without its SHA-256 (a database file copied from a data directory)",
      ),
      Flag.withDefault(false),
    ),
  },
  Effect.fn(function* (f) {
    const restored = yield* restoreSnapshot({
      file: f.file,
      flags: {
        name: Option.getOrUndefined(f.name),
        "data-dir": Option.getOrUndefined(f.dataDir),
        "initial-cluster": Option.getOrUndefined(f.initialCluster),
        "initial-cluster-token": Option.getOrUndefined(f.initialClusterToken),
        "initial-advertise-peer-urls": Option.getOrUndefined(f.initialAdvertisePeerUrls),
      },
      skipHashCheck: f.skipHashCheck,
    }).pipe(
      Effect.mapError((e) =>
        e instanceof FlagError
          ? new StoreUsageError({ message: e.message })
          : new StoreFailed({
              message: e instanceof SnapshotFileError ? e.message : `cannot restore: ${e.message}`,
            }),
      ),
      Effect.tapError((e) => Console.error(`flotilla snapshot restore: ${e.message}`)),
    )
    yield* Console.log(
      `restored ${f.file} into ${restored.config.dataDir}: member ${memberIdHex(restored.memberId)} (${restored.config.name}) of ${restored.config.initialCluster.length}, revision ${restored.revision}, ${restored.keys} keys${restored.compactRevision > 0 ? `, compacted at ${restored.compactRevision}` : ""}`,
    )
    for (const [from, to] of restored.renumberedLeases)
      yield* Console.log(
        `lease ${from.toString(16)} is ${to.toString(16)} here (this store keeps lease IDs below 2^53)`,
      )
  }),
).pipe(
  Command.withDescription(
    "Make a new member's data directory from a snapshot file (etcdctl snapshot restore's flags)",
  ),
)

export const snapshot = Command.make("snapshot").pipe(
  Command.withDescription("Snapshot files of the store (etcd's backend database format)"),
  Command.withSubcommands([restore]),
)
