/**
 * Benchmarks of the checker: exploration speed on a plain model and on the
 * Raft model (one thread and worker threads), the time and state count to
 * exhaust the bounded Raft configuration of issue 4, and the linearizability
 * checker's throughput. Prints a table, then one JSON line of the figures.
 *
 *   npm run bench -w @flotilla/checker              # everything
 *   BENCH_EXHAUST=0 npm run bench -w @flotilla/checker   # skip the long exhaustive run
 */
import { availableParallelism, cpus, loadavg } from "node:os"
import { bfs } from "../src/core/bfs.ts"
import { dfs } from "../src/core/dfs.ts"
import { checkLinearizability, kvSpec } from "../src/core/linearizability.ts"
import { buildModel } from "../src/models/registry.ts"
import { twoPhaseCommit } from "../src/models/two-phase-commit.ts"
import { parallelBfs } from "../src/parallel/parallel-bfs.ts"
import { linearizableHistory } from "../test/core/histories.ts"

const loadAtStart = loadavg()
const rows: Array<[string, string]> = []
const row = (name: string, value: string): void => {
  rows.push([name, value])
  process.stderr.write(`${name}: ${value}\n`)
}
const grouped = (n: number): string => Math.round(n).toLocaleString("en-US")
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

// --- A plain model: two-phase commit, 7 RMs, no symmetry (296,448 states).
const tpc = twoPhaseCommit({ rms: 7 })
let t0 = performance.now()
const tpcResult = bfs(tpc, { symmetry: false, exhaustive: true })
let ms = performance.now() - t0
const tpcRate = tpcResult.generated / (ms / 1000)
row(
  "two-phase-commit, 7 RMs, bfs",
  `${grouped(tpcResult.unique)} unique, ${grouped(tpcResult.generated)} generated in ${seconds(ms)}: ${grouped(tpcRate)} states/s`,
)

// --- The Raft model: 3 servers, one client value, terms <= 2, log <= 2.
const raftOptions = { servers: "3", clients: "1", "max-term": "2", "max-log": "2" }
const raft = await buildModel("raft", raftOptions)
const budget = Number(process.env.BENCH_STATES ?? 400_000)

// Besides wall-clock rates, single-threaded runs report states per second of
// CPU time the process received (user + system; the garbage collector's
// helper threads included): on a shared machine whose load exceeds its cores,
// wall-clock time also counts the time spent waiting for a core.
let c0 = process.cpuUsage()
const cpuSeconds = (): number => {
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1e6
}
t0 = performance.now()
c0 = process.cpuUsage()
const single = bfs(raft.model, { maxStates: budget, exhaustive: true })
ms = performance.now() - t0
const singleRate = single.generated / (ms / 1000)
const singleCpuRate = single.generated / cpuSeconds()
row(
  "raft, 1 thread, bfs",
  `${grouped(single.unique)} unique, ${grouped(single.generated)} generated in ${seconds(ms)}: ${grouped(singleRate)} states/s (${grouped(singleCpuRate)} per CPU second), ${grouped(single.unique / (ms / 1000))} unique/s`,
)

t0 = performance.now()
c0 = process.cpuUsage()
const dfsRun = dfs(raft.model, { maxStates: budget, exhaustive: true })
ms = performance.now() - t0
const dfsRate = dfsRun.generated / (ms / 1000)
const dfsCpuRate = dfsRun.generated / cpuSeconds()
row(
  "raft, 1 thread, dfs",
  `${grouped(dfsRun.unique)} unique, ${grouped(dfsRun.generated)} generated in ${seconds(ms)}: ${grouped(dfsRate)} states/s (${grouped(dfsCpuRate)} per CPU second)`,
)

const threads = Math.max(2, Math.min(4, availableParallelism()))
t0 = performance.now()
c0 = process.cpuUsage()
const parallel = await parallelBfs(raft.source, raft.model, {
  threads,
  maxStates: budget,
  exhaustive: true,
})
ms = performance.now() - t0
const parallelRate = parallel.generated / (ms / 1000)
// (The process's CPU time includes its worker threads: this is the rate per
// core actually used, what idle cores would multiply.)
const parallelCpuRate = parallel.generated / cpuSeconds()
row(
  `raft, ${threads} worker threads, bfs`,
  `${grouped(parallel.unique)} unique, ${grouped(parallel.generated)} generated in ${seconds(ms)}: ${grouped(parallelRate)} states/s (${grouped(parallelCpuRate)} per CPU second)`,
)

// --- Exhausting the bounded configuration (depth-first: memory stays small).
// Issue 4's bound: 3 servers, terms <= 2, logs <= 2, one client value, no
// restarts; first without the client value, then with it (given a time budget,
// since it is far larger).
interface Exhaust {
  readonly unique: number
  readonly generated: number
  readonly ms: number
  readonly maxDepth: number
  readonly complete: boolean
}
const exhaust = async (options: Record<string, string>, budgetMs: number): Promise<Exhaust> => {
  const built = await buildModel("raft", options)
  const start = performance.now()
  let last = start
  const r = dfs(built.model, {
    exhaustive: true,
    deadline: start + budgetMs,
    clock: () => performance.now(),
    progressEvery: 1 << 18,
    onProgress: (p) => {
      const now = performance.now()
      if (now - last > 30_000) {
        last = now
        process.stderr.write(
          `  exhausting: ${grouped(p.unique)} unique, ${grouped(p.generated)} generated, ${seconds(now - start)}\n`,
        )
      }
    },
  })
  const failed = r.properties.filter((p) => p.status === "violated").map((p) => p.name)
  if (failed.length > 0) throw new Error(`the correct core violated ${failed.join(", ")}`)
  return {
    unique: r.unique,
    generated: r.generated,
    ms: performance.now() - start,
    maxDepth: r.maxDepth,
    complete: r.complete,
  }
}
const describeExhaust = (e: Exhaust): string =>
  `${e.complete ? "exhausted" : "NOT exhausted"}: ${grouped(e.unique)} unique states (up to server symmetry), ${grouped(e.generated)} generated, depth ${e.maxDepth}, ${seconds(e.ms)}, ${grouped(e.generated / (e.ms / 1000))} states/s`
// Each bound is run with a time budget (BENCH_EXHAUST_SECONDS, default 300):
// - no client value (elections only);
// - one client value that is only proposed (`--history off`, as raft.tla's
//   ClientRequest), with every entry sent at once, and with one entry per
//   AppendEntries (`--append-batch 1`, as raft.tla sends);
// - one client value with the client's history checked for linearizability.
let noValue: Exhaust | null = null
let oneValue: Exhaust | null = null
let oneValueBatch1: Exhaust | null = null
let oneValueHistory: Exhaust | null = null
if (process.env.BENCH_EXHAUST !== "0") {
  const budget = Number(process.env.BENCH_EXHAUST_SECONDS ?? 300) * 1000
  const bound = { servers: "3", "max-term": "2", "max-log": "2" }
  const within = `${budget / 1000} s budget`
  noValue = await exhaust({ ...bound, clients: "0" }, budget)
  row(`raft bound, no client value (${within})`, describeExhaust(noValue))
  oneValue = await exhaust({ ...bound, clients: "1", history: "off" }, budget)
  row(`raft bound, one client value, proposed only (${within})`, describeExhaust(oneValue))
  oneValueBatch1 = await exhaust(
    { ...bound, clients: "1", history: "off", "append-batch": "1" },
    budget,
  )
  row(
    `raft bound, one client value, proposed only, append batch 1 (${within})`,
    describeExhaust(oneValueBatch1),
  )
  oneValueHistory = await exhaust({ ...bound, clients: "1" }, budget)
  row(
    `raft bound, one client value, linearizability checked (${within})`,
    describeExhaust(oneValueHistory),
  )
}

// --- Linearizability checking.
const kvOps = linearizableHistory(1, 100_000, 16, 200)
t0 = performance.now()
const kvResult = checkLinearizability(kvSpec<number, number>(), kvOps)
ms = performance.now() - t0
const kvRate = kvOps.length / (ms / 1000)
row(
  "linearizability, key-value, 100,000 ops, 16 clients, 200 keys",
  `${kvResult.linearizable} in ${seconds(ms)}: ${grouped(kvRate)} ops/s`,
)

// One key, 20,000 operations from 8 overlapping clients (partitioning cannot help).
const oneKey = linearizableHistory(2, 20_000, 8, 1)
t0 = performance.now()
const oneKeyResult = checkLinearizability(kvSpec<number, number>(), oneKey)
ms = performance.now() - t0
const regRate = oneKey.length / (ms / 1000)
row(
  "linearizability, one key, 20,000 ops, 8 clients",
  `${oneKeyResult.linearizable} in ${seconds(ms)}: ${grouped(regRate)} ops/s`,
)

const width = Math.max(...rows.map(([n]) => n.length))
const loadAtEnd = loadavg()
const load = (l: Array<number>) => l.map((x) => x.toFixed(2)).join(" ")
console.log(`machine: ${cpus()[0]?.model ?? "unknown"} x ${cpus().length}, Node ${process.version}`)
console.log(`load average: ${load(loadAtStart)} at the start, ${load(loadAtEnd)} at the end`)
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`)
console.log(
  JSON.stringify({
    loadAverageStart: loadAtStart[0],
    loadAverageEnd: loadAtEnd[0],
    twoPhaseCommitStatesPerSecond: Math.round(tpcRate),
    raftStatesPerSecondSingleThread: Math.round(singleRate),
    raftStatesPerSecondDfs: Math.round(dfsRate),
    raftStatesPerCpuSecondSingleThread: Math.round(singleCpuRate),
    raftStatesPerCpuSecondDfs: Math.round(dfsCpuRate),
    raftStatesPerSecondWorkers: Math.round(parallelRate),
    raftStatesPerCpuSecondWorkers: Math.round(parallelCpuRate),
    workerThreads: threads,
    raftBoundNoValueUniqueStates: noValue?.unique ?? null,
    raftBoundNoValueSeconds: noValue === null ? null : Math.round(noValue.ms / 100) / 10,
    raftBoundNoValueExhausted: noValue?.complete ?? null,
    raftBoundOneValueUniqueStates: oneValue?.unique ?? null,
    raftBoundOneValueSeconds: oneValue === null ? null : Math.round(oneValue.ms / 100) / 10,
    raftBoundOneValueExhausted: oneValue?.complete ?? null,
    raftBoundOneValueBatch1UniqueStates: oneValueBatch1?.unique ?? null,
    raftBoundOneValueBatch1Seconds:
      oneValueBatch1 === null ? null : Math.round(oneValueBatch1.ms / 100) / 10,
    raftBoundOneValueBatch1Exhausted: oneValueBatch1?.complete ?? null,
    raftBoundOneValueHistoryUniqueStates: oneValueHistory?.unique ?? null,
    raftBoundOneValueHistorySeconds:
      oneValueHistory === null ? null : Math.round(oneValueHistory.ms / 100) / 10,
    raftBoundOneValueHistoryExhausted: oneValueHistory?.complete ?? null,
    linearizabilityKvOpsPerSecond: Math.round(kvRate),
    linearizabilityOneKeyOpsPerSecond: Math.round(regRate),
  }),
)
