// The benchmark's server process: the API server on the embedded store
// (in-memory; 3 Raft members with `raft`; 3 Raft members with file WALs in a
// temporary directory with `wal`, as `flotilla up` runs them). It notes the wall-clock time at
// which each successful transaction's answer reaches the API server (the
// commit, as the server sees it), so watch delivery can be measured from the
// commit rather than from a client's acknowledgement. Over the IPC channel it
// answers the orchestrator with its CPU time, event-loop utilization and that
// commit log; without one (run by hand) it prints its URL.
//
//   node --import tsx --conditions=@flotilla/source bench/server.ts [memory|raft|wal] [port]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { writeHeapSnapshot } from "node:v8"
import { KV, type KVShape } from "@flotilla/store"
import { Context, Effect, Layer } from "effect"
import { serve } from "../src/server.ts"
import { Samples, wallMs } from "./stats.ts"

const mode = process.argv[2] === "raft" || process.argv[2] === "wal" ? process.argv[2] : "memory"
/** The members' data directory in `wal` mode (removed when the process exits). */
const dataDir = mode === "wal" ? mkdtempSync(join(tmpdir(), "apiserver-bench-wal-")) : undefined
if (dataDir !== undefined)
  process.on("exit", () => rmSync(dataDir, { recursive: true, force: true }))
const port = Number(process.argv[3] ?? 0)

/** Revisions committed, and when the server got each commit's answer. */
const commitRevisions = new Samples()
const commitTimes = new Samples()
let lastRevision = 0

/** The KV service with each successful transaction's commit time noted. */
const timed = (kv: KVShape): KVShape => ({
  ...kv,
  txn: (req) =>
    Effect.tap(kv.txn(req), (r) =>
      Effect.sync(() => {
        if (!r.succeeded) return
        commitRevisions.push(r.header.revision)
        commitTimes.push(wallMs())
        if (r.header.revision > lastRevision) lastRevision = r.header.revision
      }),
    ),
})

export type ServerRequest =
  | { readonly type: "stats" }
  | { readonly type: "commits" }
  | { readonly type: "stop" }
  /** Starts profiling this process's CPU (the inspector's sampling profiler). */
  | { readonly type: "profileStart" }
  /** Stops profiling and writes the profile (`.cpuprofile`, for `profile.ts` or DevTools). */
  | { readonly type: "profileStop"; readonly file: string }
  /** Writes a heap snapshot of this process (V8 collects first: only what is live is in it). */
  | { readonly type: "heapSnapshot"; readonly file: string }

export type ServerReply =
  | { readonly type: "ready"; readonly url: string }
  | {
      readonly type: "stats"
      readonly cpuMs: number
      /** CPU time of the main thread alone (the rest: GC helpers, libuv's pool, the inspector). */
      readonly mainCpuMs: number
      readonly idleMs: number
      readonly activeMs: number
      readonly rssMiB: number
      readonly lastRevision: number
      /**
       * Event-loop delay since the last stats request (ms): how late the
       * server ran what was ready, blocked by its own work or descheduled.
       */
      readonly loopDelay: { readonly p99: number; readonly max: number }
    }
  | {
      readonly type: "commits"
      readonly revisions: Float64Array
      readonly times: Float64Array
    }
  | { readonly type: "profileStart" }
  | { readonly type: "profileStop" }
  | { readonly type: "heapSnapshot" }

const reply = (m: ServerReply) => process.send?.(m)

const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()

// BENCH_GAPS_MS=<ms>: logs every event-loop turn longer than that to stderr:
// when it ended (ms since the process started, as `--trace-gc` counts), how
// long, the main thread's and the process's CPU time within it (a turn with
// little main-thread CPU was descheduled or blocked in a system call), its
// time waiting for a core (Linux run queue) and the
// collector's pauses in it (from the `gc` performance entries). A 5 ms
// interval timer measures the turns; it costs ~200 callbacks a second.
const gapsMs = Number(process.env.BENCH_GAPS_MS ?? 0)
if (gapsMs > 0) {
  const gcs: Array<{ start: number; duration: number; kind: number }> = []
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push({
        start: e.startTime,
        duration: e.duration,
        kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0,
      })
    if (gcs.length > 10_000) gcs.splice(0, 5_000)
  }).observe({ entryTypes: ["gc"] })
  // The main thread's time waiting for a core (Linux schedstat: on-CPU ns, run-queue ns, slices).
  const schedstat = `/proc/self/task/${process.pid}/schedstat`
  const waited = () => Number(readFileSync(schedstat, "utf8").split(" ")[1] ?? 0) / 1e6
  let lastWaited = waited()
  let last = performance.now()
  let lastMain = process.threadCpuUsage()
  let lastCpu = process.cpuUsage()
  setInterval(() => {
    const now = performance.now()
    const main = process.threadCpuUsage()
    const cpu = process.cpuUsage()
    const queued = waited()
    const gap = now - last
    if (gap > gapsMs) {
      const mainMs = (main.user + main.system - lastMain.user - lastMain.system) / 1000
      const cpuMs = (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000
      const inGap = gcs.filter((g) => g.start + g.duration > last && g.start < now)
      const gcMs = inGap.reduce((n, g) => n + g.duration, 0)
      process.stderr.write(
        `gap ${now.toFixed(0)} ms: ${gap.toFixed(1)} ms, main CPU ${mainMs.toFixed(1)} (sys ${((main.system - lastMain.system) / 1000).toFixed(1)}), run queue ${(queued - lastWaited).toFixed(1)}, process CPU ${cpuMs.toFixed(1)}, gc ${gcMs.toFixed(1)} ms in ${inGap.length} [${inGap.map((g) => `${g.kind}:${g.duration.toFixed(1)}`).join(" ")}]\n`,
      )
    }
    last = now
    lastWaited = queued
    lastMain = main
    lastCpu = cpu
  }, 5).unref()
}

let inspector: Session | undefined
const profileStart = async () => {
  inspector = new Session()
  inspector.connect()
  await inspector.post("Profiler.enable")
  await inspector.post("Profiler.setSamplingInterval", { interval: 500 })
  await inspector.post("Profiler.start")
}
const profileStop = async (file: string) => {
  if (inspector === undefined) return
  const { profile } = await inspector.post("Profiler.stop")
  writeFileSync(file, JSON.stringify(profile))
  inspector.disconnect()
  inspector = undefined
}

process.on("message", (m: ServerRequest) => {
  switch (m.type) {
    case "stats": {
      const cpu = process.cpuUsage()
      const main = process.threadCpuUsage()
      const elu = performance.eventLoopUtilization()
      reply({
        type: "stats",
        cpuMs: (cpu.user + cpu.system) / 1000,
        mainCpuMs: (main.user + main.system) / 1000,
        idleMs: elu.idle,
        activeMs: elu.active,
        rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
        lastRevision,
        loopDelay: {
          p99: Math.round(delay.percentile(99) / 1e4) / 100,
          max: Math.round(delay.max / 1e4) / 100,
        },
      })
      delay.reset()
      return
    }
    case "commits":
      reply({
        type: "commits",
        revisions: commitRevisions.toArray(),
        times: commitTimes.toArray(),
      })
      return
    case "profileStart":
      profileStart().then(() => reply({ type: "profileStart" }))
      return
    case "profileStop":
      profileStop(m.file).then(() => reply({ type: "profileStop" }))
      return
    case "heapSnapshot":
      writeHeapSnapshot(m.file)
      reply({ type: "heapSnapshot" })
      return
    case "stop":
      // A clean exit lets `--cpu-prof` write its profile.
      process.exit(0)
  }
})
process.on("SIGINT", () => process.exit(0))
process.on("disconnect", () => process.exit(0))

const program = Effect.scoped(
  Effect.gen(function* () {
    const layer =
      mode === "memory"
        ? KV.layerMemory()
        : KV.layerRaft({ members: 3, ...(dataDir === undefined ? {} : { dataDir }) })
    const context = yield* Layer.build(layer as Layer.Layer<KV>)
    const batch = process.env.BENCH_BATCH_MS
    const compaction = process.env.BENCH_COMPACTION_MS
    const server = yield* serve(timed(Context.get(context, KV)), {
      port,
      ...(batch === undefined ? {} : { watchBatchMs: Number(batch) }),
      ...(compaction === undefined ? {} : { compactionIntervalMs: Number(compaction) }),
    })
    if (process.send === undefined) process.stdout.write(`${server.url}\n`)
    else reply({ type: "ready", url: server.url })
    yield* Effect.never
  }),
)
Effect.runPromise(program).catch((e) => {
  console.error(e)
  process.exit(1)
})
