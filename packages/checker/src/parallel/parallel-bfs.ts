import { MessageChannel, type MessagePort, Worker } from "node:worker_threads"
import type { ExploreOptions, ExploreOutcome, Path, Progress, StopReason } from "../core/explore.ts"
import { assertDistinctNames, safetyOutcomes } from "../core/explore.ts"
import type { AnyModel, Property } from "../core/model.ts"
import type { FromWorker, Hit, ModelSource, ToWorker, WorkerSetup } from "./protocol.ts"

export interface ParallelOptions extends Omit<ExploreOptions, "deadline" | "clock"> {
  /** Worker threads (at least 1). */
  readonly threads: number
  /** `Date.now()` after which the search stops. */
  readonly deadline?: number
}

const workerUrl = new URL(
  import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js",
  import.meta.url,
)

/** One worker and a queue of its replies (the protocol is request/response per worker). */
class Handle {
  readonly worker: Worker
  private readonly waiting: Array<(m: FromWorker) => void> = []
  private readonly queued: Array<FromWorker> = []
  private failure: Error | undefined
  lastProgress = { generated: 0, unique: 0 }
  onProgress: (() => void) | undefined

  constructor(setup: WorkerSetup, ports: ReadonlyArray<MessagePort | null>) {
    const transfer = ports.filter((p): p is MessagePort => p !== null)
    this.worker = new Worker(workerUrl, { workerData: { setup, ports }, transferList: transfer })
    this.worker.on("message", (m: FromWorker) => {
      if (m.t === "progress") {
        this.lastProgress = { generated: m.generated, unique: m.unique }
        this.onProgress?.()
        return
      }
      if (m.t === "error") {
        this.fail(new Error(`checker worker ${setup.index} failed: ${m.message}`))
        return
      }
      const w = this.waiting.shift()
      if (w !== undefined) w(m)
      else this.queued.push(m)
    })
    this.worker.on("error", (e) => this.fail(e))
  }

  get failed(): boolean {
    return this.failure !== undefined
  }

  private fail(e: Error): void {
    this.failure = e
    for (const w of this.waiting.splice(0)) w({ t: "error", message: e.message })
  }

  /** The next reply (rejects if the worker failed). */
  reply(): Promise<FromWorker> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const m = this.queued.shift()
    if (m !== undefined) return Promise.resolve(m)
    return new Promise((resolve, reject) => {
      this.waiting.push((r) => {
        if (r.t === "error") reject(this.failure ?? new Error(r.message))
        else resolve(r)
      })
    })
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m)
  }
}

/**
 * Breadth-first search across worker threads: fingerprints are partitioned
 * among the workers by their high half; each worker keeps its part of the
 * visited set, expands the states it holds and asks the owners whether their
 * successors are new (only fingerprints travel between threads; see
 * `worker.ts`). Levels are synchronised, so counterexamples are still shortest (among
 * states of the same depth, the one with the least fingerprint is reported;
 * which parent a state records can depend on thread timing, so the path
 * itself may differ between runs, never its length).
 *
 * `model` is the main thread's own copy (for property names and for building
 * traces); `source` tells each worker how to build its copy.
 */
export const parallelBfs = async (
  source: ModelSource,
  model: AnyModel,
  options: ParallelOptions,
): Promise<ExploreOutcome> => {
  assertDistinctNames(model.properties)
  const count = Math.max(1, Math.floor(options.threads))
  const exhaustive = options.exhaustive ?? false
  const stopOnViolation = !exhaustive && (options.stopOnViolation ?? true)
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY
  const always: Array<Property<unknown>> = model.properties.filter((p) => p.kind === "always")
  const sometimes: Array<Property<unknown>> = model.properties.filter((p) => p.kind === "sometimes")
  const hasEventually = model.properties.some((p) => p.kind === "eventually")

  // One channel per pair of workers.
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: count }, () =>
    Array.from({ length: count }, () => null),
  )
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const { port1, port2 } = new MessageChannel()
      ports[i]![j] = port1
      ports[j]![i] = port2
    }
  }
  const handles = ports.map(
    (p, index) =>
      new Handle(
        {
          index,
          count,
          source,
          symmetry: options.symmetry ?? true,
          deadline: options.deadline ?? Number.POSITIVE_INFINITY,
          progressEvery: options.progressEvery ?? 1 << 16,
        },
        p,
      ),
  )

  let generated = 0
  let unique = 0
  let queued = 0
  let depth = 0
  const reportProgress = (): void => {
    if (options.onProgress === undefined) return
    let g = 0
    let u = 0
    for (const h of handles) {
      g += h.lastProgress.generated
      u += h.lastProgress.unique
    }
    const progress: Progress = {
      generated: Math.max(g, generated),
      unique: Math.max(u, unique),
      maxDepth: depth,
      queued,
    }
    options.onProgress(progress)
  }
  for (const h of handles) h.onProgress = reportProgress

  // The first hit per property: its depth and fingerprint.
  const alwaysHit: Array<{ depth: number; hi: number; lo: number } | undefined> = always.map(
    () => undefined,
  )
  const sometimesHit: Array<{ depth: number; hi: number; lo: number } | undefined> = sometimes.map(
    () => undefined,
  )
  const record = (hits: ReadonlyArray<Hit>, at: number): boolean => {
    let violated = false
    for (const h of hits) {
      const list = h.kind === "always" ? alwaysHit : sometimesHit
      const prev = list[h.index]
      const better =
        prev === undefined ||
        (prev.depth === at && (h.hi < prev.hi || (h.hi === prev.hi && h.lo < prev.lo)))
      if (better) list[h.index] = { depth: at, hi: h.hi, lo: h.lo }
      if (h.kind === "always") violated = true
    }
    return violated
  }

  let stop: StopReason | undefined
  try {
    let violated = false
    const ready = await Promise.all(handles.map((h) => h.reply()))
    for (const r of ready) {
      if (r.t !== "ready") throw new Error(`unexpected worker reply ${r.t}`)
      generated += r.generated
      unique += r.unique
      queued += r.queued
      if (record(r.hits, 0)) violated = true
    }
    for (;;) {
      const decided =
        !hasEventually &&
        alwaysHit.every((h) => h !== undefined) &&
        sometimesHit.every((h) => h !== undefined)
      if (violated && stopOnViolation) stop = "violation"
      else if (decided && !exhaustive) stop = "all-decided"
      else if (unique >= maxStates) stop = "max-states"
      else if (queued === 0) stop = "exhausted"
      else if (depth >= maxDepth) stop = "max-depth"
      else if (Date.now() > (options.deadline ?? Number.POSITIVE_INFINITY)) stop = "time-limit"
      if (stop !== undefined) break
      for (const h of handles) h.send({ t: "level", depth })
      const done = await Promise.all(handles.map((h) => h.reply()))
      generated = 0
      unique = 0
      queued = 0
      let timedOut = false
      for (const r of done) {
        if (r.t !== "levelDone") throw new Error(`unexpected worker reply ${r.t}`)
        generated += r.generated
        unique += r.unique
        queued += r.queued
        if (r.timedOut) timedOut = true
        if (record(r.hits, depth + 1)) violated = true
      }
      if (queued > 0) depth++
      reportProgress()
      if (timedOut) {
        stop = "time-limit"
        break
      }
    }

    // Rebuild each path by asking the owners for parent links.
    const lookup = async (hi: number, lo: number) => {
      const h = handles[hi % count]!
      h.send({ t: "lookup", hi, lo })
      const r = await h.reply()
      if (r.t !== "entry" || !r.found) throw new Error("a fingerprint on a path was not found")
      return r
    }
    const pathTo = async (hi: number, lo: number): Promise<Path> => {
      const actions: Array<number> = []
      let cur = await lookup(hi, lo)
      while (!cur.root) {
        actions.push(cur.action)
        cur = await lookup(cur.parentHi, cur.parentLo)
      }
      actions.reverse()
      return { init: cur.action, actions }
    }
    // Paths first (lookups are asynchronous), then the outcomes.
    const alwaysPaths = await Promise.all(
      alwaysHit.map((hit) => (hit === undefined ? undefined : pathTo(hit.hi, hit.lo))),
    )
    const sometimesPaths = await Promise.all(
      sometimesHit.map((hit) => (hit === undefined ? undefined : pathTo(hit.hi, hit.lo))),
    )
    const reason = stop
    const properties = safetyOutcomes(model.properties, reason, (kind, i) =>
      kind === "always" ? alwaysPaths[i] : sometimesPaths[i],
    )
    return {
      generated,
      unique,
      maxDepth: depth,
      complete: stop === "exhausted",
      stopReason: stop,
      properties,
    }
  } finally {
    // Healthy workers close their ports and exit; a failed one is terminated.
    await Promise.all(
      handles.map((h) => {
        if (h.failed) return h.worker.terminate().then(() => undefined)
        const exited = new Promise<void>((resolve) => h.worker.once("exit", () => resolve()))
        h.send({ t: "stop" })
        return exited
      }),
    )
  }
}
