// API server benchmark (issue 6): latency (p50, p99) and throughput of
// create, get, list and update with 100 concurrent clients, and watch-delivery
// latency to 100 watchers, on the embedded store.
//
// Three parts, so that the figures measure the server:
// - the server runs in its own process (`server.ts`), which notes when each
//   commit's answer reaches it;
// - the load runs in this process, on worker threads (`load.ts`): 100
//   closed-loop clients on one (each on its own kept-alive connection,
//   sending its next request as soon as the last answer is complete), and 100
//   watchers streaming the namespace the clients write to, on two more;
// - the main thread only orchestrates: phases, CPU and event-loop figures of
//   every part, and the summary.
// Each phase runs one operation alone (create, get, list, update) or a
// Kubernetes-style mix, after an unmeasured warm-up (10,000 requests of the
// mix), all closed loop (the offered rate is what the server sustains); a
// last phase runs the mix paced as client-go paces a client (5 requests a second each, 500 a second in
// all, latency counted from when each request was due). Watch delivery is the
// time from a write's commit (its answer reaching the API server) to a
// watcher holding the event, for every event of every watcher.
//
//   npm run bench -w @flotilla/apiserver [-- raft|wal] [phases,...]
//   BENCH_SCALE=1 (a fifth of the default operations, a quick run); BENCH_CLIENTS, BENCH_WATCHERS (default 100 each)
//   BENCH_WATCHER_THREADS: threads the watchers are spread over (default 2)
//   BENCH_WARMUP=10: requests of the mix per client in the unmeasured warm-up (default 100)
//   BENCH_CPU_PROF=<dir>: the server profiles each measured phase into <dir>/<phase>.cpuprofile
//   (summarize one with `node bench/profile.ts <file>`)
//   BENCH_HEAP_SNAPSHOT=<file>: the server writes a heap snapshot after the last phase
//   (summarize it with `node bench/heap.ts <file>`)
//   BENCH_SERVER_NODE_OPTIONS="--perf-basic-prof": extra node options of the server process
//   BENCH_GAPS_MS=80: the server logs each event-loop turn longer than that to stderr, with its
//   main-thread CPU, run-queue wait and collections (see server.ts; with --trace-gc above)
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import type {
  ClientsData,
  FromClients,
  FromWatchers,
  LoopDelay,
  Mix,
  Op,
  ToClients,
  ToWatchers,
  WatchersData,
} from "./load.ts"
import type { ServerReply, ServerRequest } from "./server.ts"
import { type Summary, summarize } from "./stats.ts"

// `raft`: 3 Raft members in the server process (memory logs); `wal`: the same
// with file WALs (fdatasync), as `flotilla up` runs its embedded store.
const mode = process.argv.includes("wal")
  ? "wal"
  : process.argv.includes("raft")
    ? "raft"
    : "memory"
const clients = Number(process.env.BENCH_CLIENTS ?? 100)
const watchers = Number(process.env.BENCH_WATCHERS ?? 100)
const listSize = 100
/**
 * Operations per phase, times the base sizes below (default 5: 10,000
 * creates). A closed-loop phase serves ~100 requests per event-loop turn, so
 * at 1 (the figures before 2026-11-29 12:30 UTC) a phase was ~20 turns and
 * its p99 was its single worst turn, not a percentile.
 */
const scale = Number(process.env.BENCH_SCALE ?? 5)
/**
 * Requests of the mix per client before measuring (times BENCH_SCALE, as
 * every phase): 100 (10,000 requests) brings the server's JIT near its steady
 * state, as a server that has run for a while; 10 was the old warm-up, which
 * left the compiler busy during the measured phases.
 */
const warmupPerClient = Number(process.env.BENCH_WARMUP ?? 100)
const namespace = "bench"
const listNamespace = "listing"

/** The Kubernetes-style mix: mostly updates (status, leases) and reads, some creates and lists. */
const kubernetesMix: Mix = { create: 20, get: 30, list: 10, update: 40 }
const only = (op: Op): Mix => ({ create: 0, get: 0, list: 0, update: 0, [op]: 1 })

interface Phase {
  readonly name: string
  readonly mix: Mix
  readonly opsPerClient: number
  readonly measured: boolean
  /** Paced clients (open loop), this many requests a second each; else closed loop. */
  readonly ratePerClient?: number
}
/** client-go's default rate limit per client (QPS 5): 100 such clients offer 500 requests a second. */
const clientGoQps = 5
const allPhases: ReadonlyArray<Phase> = [
  { name: "warmup", mix: kubernetesMix, opsPerClient: warmupPerClient, measured: false },
  { name: "create", mix: only("create"), opsPerClient: 20, measured: true },
  { name: "get", mix: only("get"), opsPerClient: 50, measured: true },
  { name: "list", mix: only("list"), opsPerClient: 5, measured: true },
  { name: "update", mix: only("update"), opsPerClient: 20, measured: true },
  { name: "mix", mix: kubernetesMix, opsPerClient: 40, measured: true },
  {
    name: "paced",
    mix: kubernetesMix,
    opsPerClient: 50,
    measured: true,
    ratePerClient: clientGoQps,
  },
]
const chosen = process.argv
  .slice(2)
  .find((a) => /^[a-z,]+$/.test(a) && a !== "raft" && a !== "wal" && a !== "memory")
const phases = allPhases.filter(
  (p) => chosen === undefined || p.name === "warmup" || chosen.split(",").includes(p.name),
)

// ---------------------------------------------------------------------------
// The server process

interface ServerProcess {
  readonly url: string
  readonly ask: <T extends ServerReply["type"]>(
    m: ServerRequest & { type: T },
  ) => Promise<Extract<ServerReply, { type: T }>>
  readonly stop: () => void
}

const startServer = (): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--conditions=@flotilla/source",
        ...(process.env.BENCH_SERVER_NODE_OPTIONS ?? "").split(" ").filter((a) => a !== ""),
        fileURLToPath(new URL("./server.ts", import.meta.url)),
        mode,
      ],
      { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" },
    )
    const waiting = new Map<string, Array<(m: ServerReply) => void>>()
    child.on("message", (m: ServerReply) => {
      if (m.type === "ready") {
        resolve({
          url: m.url,
          ask: (request) =>
            new Promise((answer) => {
              const list = waiting.get(request.type) ?? []
              list.push(answer as (m: ServerReply) => void)
              waiting.set(request.type, list)
              child.send(request)
            }),
          stop: () => child.send({ type: "stop" } satisfies ServerRequest),
        })
        return
      }
      waiting.get(m.type)?.shift()?.(m)
    })
    child.once("exit", (code) => reject(new Error(`the server exited (${code})`)))
  })

// ---------------------------------------------------------------------------
// Workers

const loadPath = new URL("./load.ts", import.meta.url)

/** A worker answering one message with one message (in order). */
const startWorker = <In, Out>(data: ClientsData | WatchersData) => {
  const worker = new Worker(loadPath, { workerData: data })
  const pending: Array<(m: Out) => void> = []
  const first = new Promise<Out>((resolve) => pending.push(resolve))
  worker.on("message", (m: Out) => pending.shift()?.(m))
  worker.on("error", (e) => {
    console.error(e)
    process.exit(1)
  })
  return {
    first,
    ask: (m: In) =>
      new Promise<Out>((resolve) => {
        pending.push(resolve)
        worker.postMessage(m)
      }),
    stop: () => worker.terminate(),
  }
}

// ---------------------------------------------------------------------------
// Setup requests (before measuring, from the main thread)

const setupRequest = async (base: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return JSON.parse(text) as { metadata: { resourceVersion: string } }
}

// ---------------------------------------------------------------------------

interface PhaseResult {
  readonly phase: Phase
  readonly ops: Partial<Record<Op, Summary & { readonly perSecond: number }>>
  readonly total: number
  readonly elapsedMs: number
  readonly perSecond: number
  /** CPU used during the phase, in cores (CPU ms per wall ms). */
  readonly serverCores: number
  /** Server CPU time per operation of the phase (µs), watch fan-out included. */
  readonly serverCpuPerOpUs: number
  /** The same, the server's main thread alone. */
  readonly serverMainCpuPerOpUs: number
  readonly serverBusy: number
  /** The server's event-loop delay over the phase (ms). */
  readonly serverLoopDelay: { readonly p99: number; readonly max: number }
  readonly clientsCores: number
  readonly watchersCores: number
  readonly loadCores: number
  readonly clientsLoopDelay: LoopDelay
  readonly watchersLoopDelay: LoopDelay
  readonly revisions: readonly [number, number]
  readonly errors: ReadonlyArray<string>
}

const main = async () => {
  const load0 = loadavg()[0] ?? 0
  const server = await startServer()
  const base = server.url
  for (const name of [namespace, listNamespace])
    await setupRequest(base, "POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    })
  for (let i = 0; i < listSize; i++) {
    await setupRequest(base, "POST", `/api/v1/namespaces/${listNamespace}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `l-${i}`, labels: { app: "bench" } },
      spec: { containers: [{ name: "main", image: "nginx:1.27" }] },
    })
  }
  const fromRevision = Number(
    (await setupRequest(base, "GET", `/api/v1/namespaces/${namespace}/pods`)).metadata
      .resourceVersion,
  )
  // The watchers on BENCH_WATCHER_THREADS threads (default 2, one per core here):
  // one thread reading 100 sockets read each batch's chunks one after another
  // and was itself late (event-loop delay p99 24-49 ms in the create phase),
  // which counted as watch delivery; real watchers are separate processes.
  const watcherThreads = Math.max(1, Number(process.env.BENCH_WATCHER_THREADS ?? 2))
  const watchWorkers = Array.from({ length: watcherThreads }, (_, i) =>
    startWorker<ToWatchers, FromWatchers>({
      role: "watchers",
      url: base,
      watchers: Math.floor(watchers / watcherThreads) + (i < watchers % watcherThreads ? 1 : 0),
      namespace,
      fromRevision,
    }),
  )
  for (const w of watchWorkers) await w.first
  const watch = {
    stop: () => {
      for (const w of watchWorkers) w.stop()
    },
    ask: async (m: ToWatchers): Promise<FromWatchers> => {
      const all = await Promise.all(watchWorkers.map((w) => w.ask(m)))
      if (m.type === "progress") {
        const ps = all as Array<Extract<FromWatchers, { type: "progress" }>>
        return {
          type: "progress",
          minRevision: Math.min(...ps.map((p) => p.minRevision)),
          events: ps.reduce((n, p) => n + p.events, 0),
          cpuMs: ps.reduce((n, p) => n + p.cpuMs, 0),
          loopDelay: {
            p50: Math.max(...ps.map((p) => p.loopDelay.p50)),
            p99: Math.max(...ps.map((p) => p.loopDelay.p99)),
            max: Math.max(...ps.map((p) => p.loopDelay.max)),
          },
        }
      }
      const cs = all as Array<Extract<FromWatchers, { type: "collect" }>>
      const concat = (xs: ReadonlyArray<Float64Array>) => {
        const out = new Float64Array(xs.reduce((n, x) => n + x.length, 0))
        let o = 0
        for (const x of xs) {
          out.set(x, o)
          o += x.length
        }
        return out
      }
      return {
        type: "collect",
        revisions: concat(cs.map((c) => c.revisions)),
        times: concat(cs.map((c) => c.times)),
        problems: cs.flatMap((c) => c.problems),
      }
    },
  }
  const load = startWorker<ToClients, FromClients>({
    role: "clients",
    url: base,
    clients,
    namespace,
    listNamespace,
    seed: 6,
  })
  await load.first
  const progress = async (mark: boolean) => {
    const p = await watch.ask({ type: "progress", mark })
    if (p.type !== "progress") throw new Error("unexpected answer from the watchers")
    return p
  }

  const profileDir = process.env.BENCH_CPU_PROF
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })
  const results: Array<PhaseResult> = []
  for (const phase of phases) {
    if (profileDir !== undefined && phase.measured) await server.ask({ type: "profileStart" })
    const s0 = await server.ask({ type: "stats" })
    const w0 = await progress(true)
    const opsPerClient = Math.max(1, Math.round(phase.opsPerClient * scale))
    const done = await load.ask({
      type: "run",
      phase: phase.name,
      mix: phase.mix,
      opsPerClient,
      ...(phase.ratePerClient === undefined ? {} : { ratePerClient: phase.ratePerClient }),
    })
    if (done.type !== "done") throw new Error("unexpected answer from the clients")
    // Writes are done when every watcher holds the last of them (60 s at most).
    const deadline = performance.now() + 60_000
    let w1 = await progress(false)
    while (w1.minRevision < done.maxRevision && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
      w1 = await progress(false)
    }
    w1 = await progress(true)
    const s1 = await server.ask({ type: "stats" })
    if (profileDir !== undefined && phase.measured)
      await server.ask({ type: "profileStop", file: `${profileDir}/${phase.name}.cpuprofile` })
    const elapsedMs = done.elapsedMs
    const ops: PhaseResult["ops"] = {}
    let total = 0
    for (const op of Object.keys(done.latencies) as Array<Op>) {
      const samples = done.latencies[op]
      total += samples.length
      if (samples.length > 0)
        ops[op] = {
          ...summarize(samples),
          perSecond: Math.round((samples.length * 1000) / elapsedMs),
        }
    }
    // CPU figures cover the whole phase including the watchers' catch-up.
    const wallMsTotal = s1.idleMs + s1.activeMs - (s0.idleMs + s0.activeMs)
    const result: PhaseResult = {
      phase,
      ops,
      total,
      elapsedMs,
      perSecond: Math.round((total * 1000) / elapsedMs),
      serverCores: (s1.cpuMs - s0.cpuMs) / wallMsTotal,
      serverCpuPerOpUs: Math.round(((s1.cpuMs - s0.cpuMs) * 1000) / Math.max(1, total)),
      serverMainCpuPerOpUs: Math.round(((s1.mainCpuMs - s0.mainCpuMs) * 1000) / Math.max(1, total)),
      serverBusy: (s1.activeMs - s0.activeMs) / wallMsTotal,
      serverLoopDelay: s1.loopDelay,
      clientsCores: done.cpuMs / elapsedMs,
      watchersCores: (w1.cpuMs - w0.cpuMs) / wallMsTotal,
      loadCores: 0,
      clientsLoopDelay: done.loopDelay,
      watchersLoopDelay: w1.loopDelay,
      revisions: [s0.lastRevision, s1.lastRevision],
      errors: [
        ...done.errors,
        ...(w1.minRevision < done.maxRevision
          ? [`watchers reached revision ${w1.minRevision} of ${done.maxRevision}`]
          : []),
      ],
    }
    results.push({ ...result, loadCores: result.clientsCores + result.watchersCores })
  }

  const heapSnapshot = process.env.BENCH_HEAP_SNAPSHOT
  if (heapSnapshot !== undefined) await server.ask({ type: "heapSnapshot", file: heapSnapshot })

  // Watch delivery: each event's arrival against its revision's commit.
  const commits = await server.ask({ type: "commits" })
  const collected = await watch.ask({ type: "collect" })
  if (collected.type !== "collect") throw new Error("unexpected answer from the watchers")
  const maxRevision = commits.revisions.reduce((m, r) => Math.max(m, r), 0)
  const committedAt = new Float64Array(maxRevision + 1).fill(Number.NaN)
  commits.revisions.forEach((r, i) => {
    committedAt[r] = commits.times[i] as number
  })
  const delivery = new Map<string, Array<number>>()
  let unmatched = 0
  for (let i = 0; i < collected.revisions.length; i++) {
    const revision = collected.revisions[i] as number
    const at = committedAt[revision]
    const phase = results.find((r) => revision > r.revisions[0] && revision <= r.revisions[1])
    if (at === undefined || Number.isNaN(at) || phase === undefined) {
      unmatched++
      continue
    }
    const list = delivery.get(phase.phase.name) ?? []
    list.push((collected.times[i] as number) - at)
    delivery.set(phase.phase.name, list)
  }
  const allDelivery = summarize(
    [...delivery.entries()].filter(([p]) => p !== "warmup").flatMap(([, v]) => v),
  )
  server.stop()
  await load.stop()
  await watch.stop()
  const load1 = loadavg()[0] ?? 0

  // ---------------------------------------------------------------------------
  // Report

  const cpu = cpus()
  console.log(
    `API server benchmark: ${mode} store, ${clients} clients, ${watchers} watchers; ${cpu[0]?.model ?? "cpu"} x${cpu.length}, Node ${process.version}, load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}`,
  )
  console.log(
    "phase   op         count    ops/s   p50 ms   p99 ms   max ms | server cores (busy), CPU µs/op (main thread), loop p99 / max ms | clients / watchers cores, loop p99 ms",
  )
  const pad = (x: unknown, n: number) => String(x).padStart(n)
  for (const r of results) {
    if (!r.phase.measured) continue
    for (const [op, s] of Object.entries(r.ops)) {
      console.log(
        `${r.phase.name.padEnd(7)} ${op.padEnd(8)} ${pad(s.count, 7)} ${pad(s.perSecond, 8)} ${pad(s.p50, 8)} ${pad(s.p99, 8)} ${pad(s.max, 8)} | ${r.serverCores.toFixed(2)} (${Math.round(r.serverBusy * 100)}%), ${r.serverCpuPerOpUs} (${r.serverMainCpuPerOpUs}), ${r.serverLoopDelay.p99} / ${r.serverLoopDelay.max} | ${r.clientsCores.toFixed(2)} / ${r.watchersCores.toFixed(2)}, ${r.clientsLoopDelay.p99} / ${r.watchersLoopDelay.p99}`,
      )
    }
    const d = delivery.get(r.phase.name)
    if (d !== undefined && d.length > 0) {
      const s = summarize(d)
      console.log(
        `${r.phase.name.padEnd(7)} ${"watch".padEnd(8)} ${pad(s.count, 7)} ${pad("-", 8)} ${pad(s.p50, 8)} ${pad(s.p99, 8)} ${pad(s.max, 8)} | events after their commit, ${watchers} watchers`,
      )
    }
  }
  const problems = [
    ...results.flatMap((r) => r.errors.map((e) => `${r.phase.name}: ${e}`)),
    ...collected.problems,
    ...(unmatched > 0 ? [`${unmatched} watch events without a matching commit`] : []),
  ]
  for (const p of problems) console.log(`problem: ${p}`)

  // Issue 6's goals: single-object reads and writes (every operation but
  // list) with a p99 under 100 ms, and watch delivery's p99 under 50 ms.
  const singleObjectGoalMs = 100
  const watchGoalMs = 50
  const singleObjectMet = Object.fromEntries(
    results
      .filter((r) => r.phase.measured && Object.keys(r.ops).some((op) => op !== "list"))
      .map((r) => [
        r.phase.name,
        Object.entries(r.ops)
          .filter(([op]) => op !== "list")
          .every(([, s]) => s.p99 < singleObjectGoalMs),
      ]),
  )
  const watchMet = allDelivery.count === 0 || allDelivery.p99 < watchGoalMs
  console.log(
    `goals: single-object p99 < ${singleObjectGoalMs} ms: ${Object.entries(singleObjectMet)
      .map(([phase, met]) => `${phase} ${met ? "yes" : "no"}`)
      .join(
        ", ",
      )}; watch delivery p99 < ${watchGoalMs} ms: ${allDelivery.count === 0 ? "no events" : `${watchMet ? "yes" : "no"} (${allDelivery.p99} ms)`}`,
  )

  const figure = (name: string, op?: Op) => {
    const r = results.find((x) => x.phase.name === name)
    if (r === undefined) return undefined
    const opFigures = (s: Summary & { perSecond: number }) => ({
      p50: s.p50,
      p99: s.p99,
      perSecond: s.perSecond,
    })
    const d = delivery.get(name)
    const watchFigures =
      d === undefined || d.length === 0
        ? {}
        : (() => {
            const s = summarize(d)
            return { watch: { p50: s.p50, p99: s.p99, events: s.count } }
          })()
    const single = op === undefined ? undefined : r.ops[op]
    return {
      ...(single !== undefined
        ? opFigures(single)
        : Object.fromEntries(Object.entries(r.ops).map(([k, v]) => [k, opFigures(v)]))),
      ...(name === "list" ? { items: listSize } : {}),
      ...watchFigures,
      serverCores: Number(r.serverCores.toFixed(2)),
      serverCpuPerOpUs: r.serverCpuPerOpUs,
      serverLoopDelayMaxMs: r.serverLoopDelay.max,
      loadCores: Number(r.loadCores.toFixed(2)),
    }
  }
  console.log(
    JSON.stringify({
      store: mode,
      clients,
      watchers,
      cores: cpu.length,
      loadAverage: Number(load0.toFixed(1)),
      create: figure("create", "create"),
      get: figure("get", "get"),
      list: figure("list", "list"),
      update: figure("update", "update"),
      mix: figure("mix"),
      paced: { offeredPerSecond: clients * clientGoQps, ...figure("paced") },
      watchDelivery: { p50: allDelivery.p50, p99: allDelivery.p99, events: allDelivery.count },
      goals: {
        singleObjectP99Under100Ms: singleObjectMet,
        watchDeliveryP99Under50Ms: allDelivery.count === 0 ? null : watchMet,
      },
      problems: problems.length,
    }),
  )
  process.exit(problems.length === 0 ? 0 : 1)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
