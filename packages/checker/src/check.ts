import { bfs } from "./core/bfs.ts"
import { dfs } from "./core/dfs.ts"
import { checkEventually } from "./core/eventually.ts"
import type { ExploreOptions, ExploreOutcome, Progress, PropertyOutcome } from "./core/explore.ts"
import type { AnyModel, PropertyKind } from "./core/model.ts"
import { simulate } from "./core/simulate.ts"
import { type Trace, traceOf } from "./core/trace.ts"
import { parallelBfs } from "./parallel/parallel-bfs.ts"
import type { ModelSource } from "./parallel/protocol.ts"

export type Strategy = "bfs" | "dfs" | "simulate"

export interface CheckOptions {
  readonly strategy?: Strategy
  /** Worker threads for `bfs` (default 1: in this thread). More need `source`. */
  readonly threads?: number
  readonly maxDepth?: number
  readonly maxStates?: number
  /** Wall-clock budget in milliseconds. */
  readonly timeLimitMs?: number
  /** Seed of `simulate` (default 0). */
  readonly seed?: number
  /** Walks of `simulate` (default 1000). */
  readonly walks?: number
  readonly symmetry?: boolean
  readonly stopOnViolation?: boolean
  readonly exhaustive?: boolean
  readonly onProgress?: (progress: Progress & { readonly elapsedMs: number }) => void
  readonly progressEvery?: number
}

export interface CheckContext {
  /** The model's options as text, recorded in traces for replay. */
  readonly options?: Readonly<Record<string, string>>
  /** How worker threads build the model (needed when `threads` > 1). */
  readonly source?: ModelSource
}

export interface PropertyResult {
  readonly name: string
  readonly kind: PropertyKind
  readonly status: PropertyOutcome["status"]
  /** The counterexample or example, ready to print or save. */
  readonly trace?: Trace
}

export interface CheckResult {
  readonly model: string
  readonly options: Readonly<Record<string, string>>
  readonly strategy: Strategy
  readonly threads: number
  readonly generated: number
  readonly unique: number
  readonly maxDepth: number
  readonly elapsedMs: number
  /** Generated states per second of the main exploration. */
  readonly statesPerSecond: number
  readonly uniquePerSecond: number
  /** True when every state within the boundary was explored (never for `simulate`). */
  readonly complete: boolean
  readonly stopReason: ExploreOutcome["stopReason"]
  readonly properties: ReadonlyArray<PropertyResult>
  /** No property violated and every `sometimes` property reached. */
  readonly ok: boolean
}

/**
 * Checks a model: explores it with the chosen strategy, decides `eventually`
 * properties with the cycle search (breadth- and depth-first; random walks
 * check them along each walk), and turns every counterexample and example
 * into a replayable trace.
 */
export const check = async (
  model: AnyModel,
  options: CheckOptions = {},
  context: CheckContext = {},
): Promise<CheckResult> => {
  const strategy = options.strategy ?? "bfs"
  const threads = strategy === "bfs" ? Math.max(1, Math.floor(options.threads ?? 1)) : 1
  const start = performance.now()
  const clock = () => performance.now()
  const deadline =
    options.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : start + options.timeLimitMs
  const onProgress =
    options.onProgress === undefined
      ? undefined
      : (p: Progress) => options.onProgress?.({ ...p, elapsedMs: performance.now() - start })
  const explore: ExploreOptions = {
    ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
    ...(options.maxStates === undefined ? {} : { maxStates: options.maxStates }),
    ...(options.symmetry === undefined ? {} : { symmetry: options.symmetry }),
    ...(options.stopOnViolation === undefined ? {} : { stopOnViolation: options.stopOnViolation }),
    ...(options.exhaustive === undefined ? {} : { exhaustive: options.exhaustive }),
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(options.progressEvery === undefined ? {} : { progressEvery: options.progressEvery }),
    deadline,
    clock,
  }

  let outcome: ExploreOutcome
  if (strategy === "simulate") {
    outcome = simulate(model, {
      ...explore,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.walks === undefined ? {} : { walks: options.walks }),
    })
  } else if (strategy === "dfs") {
    outcome = dfs(model, explore)
  } else if (threads > 1) {
    if (context.source === undefined) {
      throw new Error("threads: more than one thread needs the model's source (module and export)")
    }
    const { deadline: _, clock: __, ...rest } = explore
    outcome = await parallelBfs(context.source, model, {
      ...rest,
      threads,
      ...(options.timeLimitMs === undefined ? {} : { deadline: Date.now() + options.timeLimitMs }),
    })
  } else {
    outcome = bfs(model, explore)
  }
  const exploredMs = performance.now() - start

  // Eventually properties, when the exploration covered what it was asked to.
  let properties: ReadonlyArray<PropertyOutcome> = outcome.properties
  const stoppedEarly = outcome.stopReason === "violation" && (options.stopOnViolation ?? true)
  const canDecide =
    strategy !== "simulate" &&
    !stoppedEarly &&
    (outcome.stopReason === "exhausted" ||
      outcome.stopReason === "max-depth" ||
      outcome.stopReason === "violation")
  if (canDecide) {
    properties = await Promise.all(
      properties.map(async (p) => {
        if (p.kind !== "eventually") return p
        const property = model.properties.find((x) => x.name === p.name)!
        const r = checkEventually(model, property, explore)
        return {
          name: r.name,
          kind: r.kind,
          status: r.status,
          ...(r.path === undefined ? {} : { path: r.path }),
          ...(r.ending === undefined ? {} : { ending: r.ending }),
        }
      }),
    )
  }

  const traceContext = {
    ...(context.options === undefined ? {} : { options: context.options }),
    symmetry: options.symmetry ?? true,
  }
  const results: Array<PropertyResult> = properties.map((p) => ({
    name: p.name,
    kind: p.kind,
    status: p.status,
    ...(p.path === undefined
      ? {}
      : { trace: traceOf(model, { ...p, path: p.path }, traceContext) }),
  }))
  const elapsedMs = performance.now() - start
  const seconds = Math.max(exploredMs, 1e-3) / 1000
  return {
    model: model.name,
    options: context.options ?? {},
    strategy,
    threads,
    generated: outcome.generated,
    unique: outcome.unique,
    maxDepth: outcome.maxDepth,
    elapsedMs,
    statesPerSecond: Math.round(outcome.generated / seconds),
    uniquePerSecond: Math.round(outcome.unique / seconds),
    complete: outcome.complete,
    stopReason: outcome.stopReason,
    properties: results,
    ok: results.every((r) => r.status !== "violated" && r.status !== "unreached"),
  }
}

const grouped = (n: number): string => Math.round(n).toLocaleString("en-US")

const describeStatus = (p: PropertyResult): string => {
  const steps = p.trace === undefined ? "" : ` (${p.trace.steps.length} steps)`
  switch (p.status) {
    case "holds":
      return "holds"
    case "violated":
      return `VIOLATED${steps}`
    case "reached":
      return `reached${steps}`
    case "unreached":
      return "NEVER REACHED"
    case "unknown":
      return "not decided"
  }
}

/** The summary of a check: figures, then one line per property. */
export const formatSummary = (result: CheckResult): string => {
  const opts = Object.entries(result.options)
    .map(([k, v]) => `--${k} ${v}`)
    .join(" ")
  const how =
    result.strategy === "bfs" && result.threads > 1
      ? `bfs on ${result.threads} threads`
      : result.strategy
  const scope = result.complete
    ? "exhaustive"
    : result.strategy === "simulate"
      ? "random walks (not exhaustive)"
      : `stopped: ${result.stopReason}`
  const lines = [
    `model ${result.model}${opts === "" ? "" : ` ${opts}`} (${how})`,
    `  ${grouped(result.generated)} states generated, ${grouped(result.unique)} unique, max depth ${result.maxDepth}, ${(result.elapsedMs / 1000).toFixed(2)} s, ${grouped(result.statesPerSecond)} states/s (${scope})`,
  ]
  const width = Math.max(...result.properties.map((p) => p.name.length + p.kind.length + 3))
  for (const p of result.properties) {
    const mark =
      p.status === "violated" || p.status === "unreached" ? "✗" : p.status === "unknown" ? "?" : "✓"
    lines.push(`  ${mark} ${`${p.kind} "${p.name}"`.padEnd(width)}  ${describeStatus(p)}`)
  }
  return lines.join("\n")
}
