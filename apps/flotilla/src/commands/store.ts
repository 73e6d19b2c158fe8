/**
 * `flotilla store`: one member of an etcd-compatible store cluster, taking
 * etcd's own flags for the subset it supports, so that a script that starts
 * an etcd cluster starts ours by changing only the program's name:
 *
 *   flotilla store --name n1 --data-dir n1.data \
 *     --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
 *     --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
 *     --initial-cluster n1=http://127.0.0.1:2380,n2=...,n3=... \
 *     --initial-cluster-token tok --initial-cluster-state new
 *
 * Data in `--data-dir` (Raft WAL and snapshots) survives restarts; an
 * existing data directory ignores the --initial-cluster flags, as etcd does.
 * Runs until SIGINT/SIGTERM, or until the member is removed from its cluster.
 * Bad flags exit 2 with a message naming the flag. The member itself is
 * `@flotilla/store`'s `startMember`; this shell parses flags and logs.
 */
import {
  decodeMemberConfig,
  describeReplies,
  type EtcdFlags,
  FlagError,
  memberIdHex,
  startMember,
} from "@flotilla/store"
import { Console, Deferred, Effect, Option, Runtime, Schema } from "effect"
import { Command, Flag } from "effect/cli"

/** Bad flags: the message is printed, the process exits 2. */
export class StoreUsageError extends Schema.TaggedError<StoreUsageError>()("StoreUsageError", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 2
}

/** The member could not start (a port in use, a damaged data directory, ...). */
export class StoreFailed extends Schema.TaggedError<StoreFailed>()("StoreFailed", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

const text = (name: keyof EtcdFlags, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const flags = {
  name: text("name", "Human-readable name for this member (default: default)"),
  dataDir: text("data-dir", "Path to the data directory (default: NAME.etcd)"),
  listenClientUrls: text("listen-client-urls", "URLs to listen on for client traffic"),
  advertiseClientUrls: text("advertise-client-urls", "Client URLs advertised to the cluster"),
  listenPeerUrls: text("listen-peer-urls", "URL to listen on for peer (Raft) traffic"),
  initialAdvertisePeerUrls: text(
    "initial-advertise-peer-urls",
    "This member's peer URLs, advertised to the rest of the cluster",
  ),
  initialCluster: text("initial-cluster", "Initial cluster configuration: name=peerURL,..."),
  initialClusterState: text("initial-cluster-state", "new (default) or existing"),
  initialClusterToken: text(
    "initial-cluster-token",
    "Initial cluster token (default: etcd-cluster)",
  ),
  snapshotCount: text("snapshot-count", "Committed entries between snapshots (default: 100000)"),
  heartbeatInterval: text("heartbeat-interval", "Heartbeat interval in ms (default: 100)"),
  electionTimeout: text("election-timeout", "Election timeout in ms (default: 1000)"),
  autoCompactionMode: text(
    "auto-compaction-mode",
    "periodic (default: keep a retention's time of history) or revision (keep a number of revisions)",
  ),
  quotaBackendBytes: text(
    "quota-backend-bytes",
    "Raise the NOSPACE alarm and refuse writes past this store size (default: 0, 2 GiB; negative: no quota)",
  ),
  autoCompactionRetention: text(
    "auto-compaction-retention",
    "Periodic: hours, or a duration such as 30m; revision: revisions to keep (default: 0, off)",
  ),
}

const value = (o: Option.Option<string>): string | undefined => Option.getOrUndefined(o)

export const store = Command.make(
  "store",
  flags,
  Effect.fn(function* (f) {
    const raw: EtcdFlags = {
      name: value(f.name),
      "data-dir": value(f.dataDir),
      "listen-client-urls": value(f.listenClientUrls),
      "advertise-client-urls": value(f.advertiseClientUrls),
      "listen-peer-urls": value(f.listenPeerUrls),
      "initial-advertise-peer-urls": value(f.initialAdvertisePeerUrls),
      "initial-cluster": value(f.initialCluster),
      "initial-cluster-state": value(f.initialClusterState),
      "initial-cluster-token": value(f.initialClusterToken),
      "snapshot-count": value(f.snapshotCount),
      "heartbeat-interval": value(f.heartbeatInterval),
      "election-timeout": value(f.electionTimeout),
      "auto-compaction-mode": value(f.autoCompactionMode),
      "auto-compaction-retention": value(f.autoCompactionRetention),
      "quota-backend-bytes": value(f.quotaBackendBytes),
    }
    const config = yield* Effect.try({
      try: () => decodeMemberConfig(raw),
      catch: (e) =>
        new StoreUsageError({ message: e instanceof FlagError ? e.message : String(e) }),
    }).pipe(Effect.tapError((e) => Console.error(`flotilla store: ${e.message}`)))
    yield* Effect.scoped(
      Effect.gen(function* () {
        const member = yield* startMember(config).pipe(
          Effect.mapError((e) => new StoreFailed({ message: e.message })),
          Effect.tapError((e) => Console.error(`flotilla store: ${e.message}`)),
        )
        const clients = member.servers.map((s) => s.url).join(",")
        yield* Console.error(
          `flotilla store: member ${memberIdHex(member.id)} (${config.name}) data-dir=${config.dataDir} peer=${config.listenPeerURL.host} state=${config.initialClusterState}`,
        )
        const compaction = config.autoCompaction
        if (compaction !== undefined)
          yield* Console.error(
            compaction.mode === "periodic"
              ? `flotilla store: auto compaction: periodic, keeping ${compaction.retentionMs / 1000} s of history`
              : `flotilla store: auto compaction: keeping the last ${compaction.retention} revisions`,
          )
        if (member.bootstrap !== undefined)
          yield* Console.error(
            `flotilla store: started from an empty data directory; the initial peers knew this member as: ${describeReplies(member.bootstrap.replies)}`,
          )
        if (member.identity === "Stored")
          yield* Console.error(
            "flotilla store: the member has already been bootstrapped; its data directory gives its ID (--initial-advertise-peer-urls and --initial-cluster are ignored)",
          )
        // As etcd's ReadyNotify: the member published its attributes and caught
        // up with a leader (the client ports already listen).
        const removedFirst = yield* Effect.raceFirst(
          Effect.as(member.ready, false),
          Effect.as(Deferred.await(member.removed), true),
        )
        if (!removedFirst)
          yield* Console.error(`flotilla store: ready to serve client requests on ${clients}`)
        yield* Deferred.await(member.removed)
        yield* Console.error(
          "flotilla store: the member has been permanently removed from the cluster; exiting",
        )
      }),
    )
  }),
).pipe(Command.withDescription("Run one member of an etcd-compatible store cluster (etcd's flags)"))
