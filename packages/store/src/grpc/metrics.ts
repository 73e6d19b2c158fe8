// A member's /metrics: the figures etcd 3.4 exports under the same names that
// dashboards and `etcdctl check datascale` read (etcd_server_*, etcd_mvcc_*,
// etcd_debugging_mvcc_*, grpc_server_* per method and code, process_*).
// A subset: etcd exports about 120 families; these are the ones about
// leadership, Raft progress, the store, watches, gRPC calls and the process.
import { readdirSync, readFileSync } from "node:fs"
import type { MemberStats } from "../cluster.ts"
import { formatMetrics, type MetricFamily } from "../core/metrics.ts"
import type { GrpcCallObserver, GrpcMethod } from "./h2.ts"

/** Go's names of the gRPC codes, as grpc_code labels carry them. */
const CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
]

const codeName = (code: number): string => CODE_NAMES[code] ?? `Code(${code})`

/** etcd's methods are unary or bidirectional streams, but Snapshot streams from the server. */
const grpcType = (path: string, kind: GrpcMethod["kind"]): string =>
  path === "/etcdserverpb.Maintenance/Snapshot"
    ? "server_stream"
    : kind === "unary"
      ? "unary"
      : "bidi_stream"

const labelsOf = (path: string, kind: GrpcMethod["kind"]) => {
  const slash = path.lastIndexOf("/")
  return {
    grpc_method: path.slice(slash + 1),
    grpc_service: path.slice(1, slash),
    grpc_type: grpcType(path, kind),
  }
}

/** Counts of gRPC calls (started, handled by code) and of /health answers. */
export class MemberCounters implements GrpcCallObserver {
  private readonly startedCalls = new Map<string, { labels: Record<string, string>; n: number }>()
  private readonly handledCalls = new Map<string, { labels: Record<string, string>; n: number }>()
  healthSuccess = 0
  healthFailures = 0

  readonly started = (path: string, kind: GrpcMethod["kind"]): void => {
    const c = this.startedCalls.get(path)
    if (c !== undefined) c.n++
    else this.startedCalls.set(path, { labels: labelsOf(path, kind), n: 1 })
  }

  readonly handled = (path: string, kind: GrpcMethod["kind"], code: number): void => {
    const key = `${path} ${code}`
    const c = this.handledCalls.get(key)
    if (c !== undefined) c.n++
    else
      this.handledCalls.set(key, {
        labels: { grpc_code: codeName(code), ...labelsOf(path, kind) },
        n: 1,
      })
  }

  families(): Array<MetricFamily> {
    const samples = (m: Map<string, { labels: Record<string, string>; n: number }>) =>
      [...m.values()].map((c) => ({ labels: c.labels, value: c.n }))
    return [
      {
        name: "grpc_server_started_total",
        help: "Total number of RPCs started on the server.",
        type: "counter",
        samples: samples(this.startedCalls),
      },
      {
        name: "grpc_server_handled_total",
        help: "Total number of RPCs completed on the server, regardless of success or failure.",
        type: "counter",
        samples: samples(this.handledCalls),
      },
      {
        name: "etcd_server_health_success",
        help: "The total number of successful health checks",
        type: "counter",
        samples: [{ value: this.healthSuccess }],
      },
      {
        name: "etcd_server_health_failures",
        help: "The total number of failed health checks",
        type: "counter",
        samples: [{ value: this.healthFailures }],
      },
    ]
  }
}

const gauge = (name: string, help: string, value: number): MetricFamily => ({
  name,
  help,
  type: "gauge",
  samples: [{ value }],
})

/** This process's figures from /proc (Linux), as Go's process collector reads them. */
const processFamilies = (): Array<MetricFamily> => {
  const cpu = process.cpuUsage()
  const families: Array<MetricFamily> = [
    {
      name: "process_cpu_seconds_total",
      help: "Total user and system CPU time spent in seconds.",
      type: "counter",
      samples: [{ value: (cpu.user + cpu.system) / 1e6 }],
    },
    gauge(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      process.memoryUsage.rss(),
    ),
    gauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      Math.round(performance.timeOrigin) / 1000,
    ),
  ]
  try {
    families.push(
      gauge(
        "process_open_fds",
        "Number of open file descriptors.",
        readdirSync("/proc/self/fd").length,
      ),
    )
    const limit = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))
    if (limit !== null)
      families.push(
        gauge("process_max_fds", "Maximum number of open file descriptors.", Number(limit[1])),
      )
    // Field 23 of /proc/self/stat (after the command in parentheses): vsize.
    const stat = readFileSync("/proc/self/stat", "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    families.push(
      gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", Number(fields[20])),
    )
  } catch {
    // Not Linux: the three figures /proc gives are left out, as Go's collector leaves them.
  }
  return families
}

/** The exposition of a member's metrics. */
export const memberMetrics = (
  stats: MemberStats,
  counters: MemberCounters,
  version: string,
): string =>
  formatMetrics([
    gauge(
      "etcd_server_has_leader",
      "Whether or not a leader exists. 1 is existence, 0 is not.",
      stats.leader === 0n ? 0 : 1,
    ),
    gauge(
      "etcd_server_is_leader",
      "Whether or not this member is a leader. 1 if is, 0 otherwise.",
      stats.leader !== 0n && stats.leader === stats.memberId ? 1 : 0,
    ),
    gauge(
      "etcd_server_is_learner",
      "Whether or not this member is a learner. 1 if is, 0 otherwise.",
      stats.isLearner ? 1 : 0,
    ),
    {
      name: "etcd_server_id",
      help: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
      type: "gauge",
      samples: [{ labels: { server_id: stats.memberId.toString(16) }, value: 1 }],
    },
    {
      name: "etcd_server_version",
      help: "Which version is running. 1 for 'server_version' label with current version.",
      type: "gauge",
      samples: [{ labels: { server_version: version }, value: 1 }],
    },
    {
      name: "etcd_cluster_version",
      help: "Which version is running. 1 for 'cluster_version' label with current cluster version",
      type: "gauge",
      samples: [
        { labels: { cluster_version: version.split(".").slice(0, 2).join(".") }, value: 1 },
      ],
    },
    gauge(
      "etcd_server_proposals_committed_total",
      "The total number of consensus proposals committed.",
      stats.raftIndex,
    ),
    gauge(
      "etcd_server_proposals_applied_total",
      "The total number of consensus proposals applied.",
      stats.raftAppliedIndex,
    ),
    gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.", stats.revision),
    gauge(
      "etcd_debugging_mvcc_compact_revision",
      "The revision of the last compaction in store.",
      stats.compactRevision,
    ),
    gauge("etcd_debugging_mvcc_keys_total", "Total number of keys.", stats.keys),
    gauge(
      "etcd_mvcc_db_total_size_in_bytes",
      "Total size of the underlying database physically allocated in bytes.",
      stats.dbSize,
    ),
    gauge(
      "etcd_mvcc_db_total_size_in_use_in_bytes",
      "Total size of the underlying database logically in use in bytes.",
      stats.dbSize,
    ),
    gauge(
      "etcd_debugging_mvcc_watch_stream_total",
      "Total number of watch streams.",
      stats.watchStreams,
    ),
    gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.", stats.watchers),
    ...counters.families(),
    ...processFamilies(),
  ])
