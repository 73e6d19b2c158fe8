/**
 * `flotilla check MODEL [options]`: model-checks one of the registered models
 * (`--list` names them) and prints a summary and the counterexamples;
 * `flotilla check replay FILE` replays a saved trace. Exit codes: 0 when every
 * property holds (or a replayed trace reproduced), 1 with a counterexample, a
 * goal never reached or a trace that no longer reproduces, 2 on bad options.
 * The checking is `@flotilla/checker`'s; this shell parses options, shows
 * progress and writes files.
 */

import { availableParallelism } from "node:os"
import {
  type CheckOptions,
  type CheckResult,
  check as checkModel,
  formatSummary,
  formatTrace,
  parseTrace,
  replayTrace,
  type Strategy,
  stringifyTrace,
  TraceFileError,
  traceOf,
} from "@flotilla/checker"
import { buildModel, ModelOptionError, models, UnknownModelError } from "@flotilla/checker/models"
import { Console, Effect, Option, Runtime, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { errnoText, readInput, writableTarget, writeAtomic } from "../files.ts"

/** Bad command-line input: the message is printed, the process exits 2. */
export class CheckUsageError extends Schema.TaggedError<CheckUsageError>()("CheckUsageError", {
  message: Schema.String,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 2
}

/** A property failed (or a trace did not reproduce): already printed, exit 1. */
export class CheckFailed extends Schema.TaggedError<CheckFailed>()("CheckFailed", {
  failures: Schema.Number,
}) {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

const text = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const engineFlags = {
  strategy: text("strategy", "Exploration: bfs (shortest counterexamples), dfs or simulate"),
  threads: text("threads", "Worker threads for bfs (default 1)"),
  maxDepth: text("max-depth", "Do not expand states at this depth"),
  maxStates: text("max-states", "Stop after this many unique states"),
  timeLimit: text("time-limit", "Stop after this many seconds"),
  seed: text("seed", "Seed of simulate (default 0)"),
  walks: text("walks", "Random walks of simulate (default 1000)"),
  traceOut: text("trace-out", "Save the first counterexample as a JSON trace to this file"),
  list: Flag.Boolean("list").pipe(
    Flag.withDescription("List the models and their options"),
    Flag.withDefault(false),
  ),
  noSymmetry: Flag.Boolean("no-symmetry").pipe(
    Flag.withDescription("Explore without the model's symmetry reduction"),
    Flag.withDefault(false),
  ),
  keepGoing: Flag.Boolean("keep-going").pipe(
    Flag.withDescription("Keep exploring after a violation until every property is decided"),
    Flag.withDefault(false),
  ),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("Print the result as JSON instead of text"),
    Flag.withDefault(false),
  ),
}

// One flag per model option name; which model accepts which is checked when
// the model is built, so a misplaced option is a usage error naming the model.
const modelOptionNames = [...new Set(models().flatMap((m) => m.options.map((o) => o.name)))]
const modelFlags: Record<string, Flag.Flag<Option.Option<string>>> = Object.fromEntries(
  modelOptionNames.map((name) => {
    const owners = models()
      .filter((m) => m.options.some((o) => o.name === name))
      .map((m) => `${m.name}: ${m.options.find((o) => o.name === name)!.description}`)
    return [name, text(name, `Model option (${owners.join("; ")})`)]
  }),
)

type Parsed<T> = { readonly [K in keyof T]: T[K] extends Flag.Flag<infer A> ? A : never }

const integer = (
  flag: string,
  value: Option.Option<string>,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  why = "",
): Effect.Effect<number | undefined, CheckUsageError> => {
  if (Option.isNone(value)) return Effect.succeed(undefined)
  const raw = value.value.trim()
  const n = Number(raw)
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    return Effect.fail(
      new CheckUsageError({
        message: `--${flag}: expected an integer, got ${JSON.stringify(value.value)}`,
      }),
    )
  }
  if (n < min) {
    return Effect.fail(
      new CheckUsageError({ message: `--${flag}: must be at least ${min}, got ${n}` }),
    )
  }
  if (n > max) {
    return Effect.fail(
      new CheckUsageError({ message: `--${flag}: at most ${max}${why}, got ${n}` }),
    )
  }
  return Effect.succeed(n)
}

/** Worker threads beyond twice the CPUs only add memory (~70 MB each) and start-up time. */
const maxThreads = 2 * availableParallelism()

/** Decodes the engine flags into checker options (exit 2 on bad values). */
export const checkOptionsFrom = Effect.fnUntraced(function* (
  flags: Parsed<typeof engineFlags>,
): Effect.fn.Return<CheckOptions, CheckUsageError> {
  const strategy = Option.getOrElse(flags.strategy, () => "bfs")
  if (strategy !== "bfs" && strategy !== "dfs" && strategy !== "simulate") {
    return yield* new CheckUsageError({
      message: `--strategy: expected bfs, dfs or simulate, got ${JSON.stringify(strategy)}`,
    })
  }
  const threads = yield* integer(
    "threads",
    flags.threads,
    1,
    maxThreads,
    ` (twice the ${maxThreads / 2} CPUs here: more only add memory)`,
  )
  if (threads !== undefined && threads > 1 && strategy !== "bfs") {
    return yield* new CheckUsageError({ message: `--threads: only bfs runs on several threads` })
  }
  // Options of one strategy given to another would be ignored without a word.
  for (const [flag, value] of [
    ["seed", flags.seed],
    ["walks", flags.walks],
  ] as const) {
    if (Option.isSome(value) && strategy !== "simulate") {
      return yield* new CheckUsageError({
        message: `--${flag}: only --strategy simulate takes it (this run is ${strategy})`,
      })
    }
  }
  const maxDepth = yield* integer("max-depth", flags.maxDepth, 0)
  const maxStates = yield* integer("max-states", flags.maxStates, 1)
  // The generator keeps 32 bits of the seed: a wider one would alias another.
  const seed = yield* integer("seed", flags.seed, -(2 ** 31), 2 ** 31 - 1)
  const walks = yield* integer("walks", flags.walks, 1)
  let timeLimitMs: number | undefined
  if (Option.isSome(flags.timeLimit)) {
    const text = flags.timeLimit.value.trim()
    const seconds = Number(text)
    if (!/^\d+(\.\d+)?$/.test(text) || !(seconds > 0) || seconds > 10 ** 9) {
      return yield* new CheckUsageError({
        message: `--time-limit: expected a positive number of seconds (decimal, at most 1e9), got ${JSON.stringify(flags.timeLimit.value)}`,
      })
    }
    timeLimitMs = seconds * 1000
  }
  return {
    strategy: strategy as Strategy,
    ...(threads === undefined ? {} : { threads }),
    ...(maxDepth === undefined ? {} : { maxDepth }),
    ...(maxStates === undefined ? {} : { maxStates }),
    ...(seed === undefined ? {} : { seed }),
    ...(walks === undefined ? {} : { walks }),
    ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
    symmetry: !flags.noSymmetry,
    stopOnViolation: !flags.keepGoing,
  }
})

const listing = (): string => {
  const lines = ["models:"]
  for (const m of models()) {
    lines.push(`  ${m.name}  ${m.description}`)
    for (const o of m.options) lines.push(`      --${o.name}  ${o.description}`)
  }
  return lines.join("\n")
}

const usageFrom = (error: unknown): CheckUsageError =>
  new CheckUsageError({
    message:
      error instanceof ModelOptionError ||
      error instanceof UnknownModelError ||
      error instanceof Error
        ? error.message
        : String(error),
  })

const grouped = (n: number): string => Math.round(n).toLocaleString("en-US")

/** A progress line for a terminal, rewritten in place at most four times a second. */
const progressLine = () => {
  let last = -1
  return {
    update: (p: {
      generated: number
      unique: number
      maxDepth: number
      queued: number
      elapsedMs: number
    }) => {
      if (last >= 0 && p.elapsedMs - last < 250) return
      last = p.elapsedMs
      const rate = p.generated / Math.max(p.elapsedMs / 1000, 1e-3)
      process.stderr.write(
        `\r\x1b[2K${grouped(p.generated)} states, ${grouped(p.unique)} unique, depth ${p.maxDepth}, ${grouped(rate)}/s, queue ${grouped(p.queued)}, ${(p.elapsedMs / 1000).toFixed(1)} s`,
      )
    },
    clear: () => {
      if (last >= 0) process.stderr.write("\r\x1b[2K")
    },
  }
}

const printResult = (result: CheckResult) =>
  Effect.gen(function* () {
    yield* Console.log(formatSummary(result))
    for (const p of result.properties) {
      if (p.status === "violated" && p.trace !== undefined) {
        yield* Console.log("")
        yield* Console.log(formatTrace(p.trace))
      }
    }
  })

/** Prints a usage error (the runtime does not: the error says it was reported). */
const reportUsage = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.tapError((e) =>
      e instanceof CheckUsageError ? Console.error(`flotilla check: ${e.message}`) : Effect.void,
    ),
  )

const replay = Command.make(
  "replay",
  {
    file: Argument.String("file").pipe(Argument.withDescription("A trace saved by --trace-out")),
  },
  Effect.fn(function* ({ file }) {
    const content = yield* readInput(file).pipe(
      Effect.mapError(
        (reason) => new CheckUsageError({ message: `${file}: cannot read: ${reason}` }),
      ),
    )
    const trace = yield* Effect.try({
      try: () => parseTrace(content),
      catch: (e) =>
        new CheckUsageError({
          message: `${file}: ${e instanceof TraceFileError ? e.message : String(e)}`,
        }),
    })
    const built = yield* Effect.tryPromise({
      try: () => buildModel(trace.model, trace.options),
      catch: (e) => new CheckUsageError({ message: `${file}: ${usageFrom(e).message}` }),
    })
    const result = replayTrace(built.model, trace)
    if (!result.ok) {
      yield* Console.error(`${file}: the trace does not reproduce:`)
      for (const problem of result.problems) yield* Console.error(`  ${problem}`)
      return yield* new CheckFailed({ failures: result.problems.length })
    }
    // Rebuilt from the model, so the steps read as the current code describes them.
    const fresh = traceOf(
      built.model,
      {
        name: trace.property.name,
        kind: trace.property.kind,
        status: trace.outcome === "example" ? "reached" : "violated",
        ...(trace.ending === undefined ? {} : { ending: trace.ending }),
        path: {
          init: trace.initial.index,
          actions: trace.steps.map((s) => s.action),
          ...(trace.loopAt === undefined ? {} : { loopAt: trace.loopAt }),
        },
      },
      { options: built.options, symmetry: trace.symmetry },
    )
    yield* Console.log(formatTrace(fresh))
    yield* Console.log("")
    yield* Console.log(
      `replayed ${trace.steps.length} steps of model ${trace.model}: every state matched its fingerprint and the ${trace.property.kind} property "${trace.property.name}" ${trace.outcome === "example" ? "is reached" : "is violated"} as recorded`,
    )
  }, reportUsage),
).pipe(Command.withDescription("Replay a saved counterexample trace deterministically"))

export const check = Command.make(
  "check",
  {
    model: Argument.String("model").pipe(
      Argument.withDescription("The model to check (see --list)"),
      Argument.optional,
    ),
    ...engineFlags,
    ...modelFlags,
  },
  Effect.fn(function* (input) {
    const flags = input as unknown as Parsed<typeof engineFlags> & {
      readonly model: Option.Option<string>
    } & Record<string, Option.Option<string>>
    if (flags.list) {
      yield* Console.log(listing())
      return
    }
    if (Option.isNone(flags.model)) {
      return yield* new CheckUsageError({
        message: "name a model to check (flotilla check --list shows them)",
      })
    }
    const options = yield* checkOptionsFrom(flags)
    if (Option.isSome(flags.traceOut)) {
      // Checked before the run, which may be long, rather than after it.
      const problem = writableTarget(flags.traceOut.value)
      if (problem !== undefined) {
        return yield* new CheckUsageError({
          message: `--trace-out ${flags.traceOut.value}: ${problem}`,
        })
      }
    }
    const raw: Record<string, string> = {}
    for (const name of modelOptionNames) {
      const value = flags[name]
      if (value !== undefined && Option.isSome(value)) raw[name] = value.value
    }
    const built = yield* Effect.tryPromise({
      try: () => buildModel(flags.model.pipe(Option.getOrThrow), raw),
      catch: usageFrom,
    })
    const progress = process.stderr.isTTY && !flags.json ? progressLine() : undefined
    const result = yield* Effect.tryPromise({
      try: () =>
        checkModel(
          built.model,
          {
            ...options,
            ...(progress === undefined ? {} : { onProgress: progress.update, progressEvery: 4096 }),
          },
          { options: built.options, source: built.source },
        ),
      catch: (e) => e,
    }).pipe(Effect.ensuring(Effect.sync(() => progress?.clear())), Effect.orDie)
    if (flags.json) yield* Console.log(JSON.stringify(result, null, 2))
    else yield* printResult(result)
    if (Option.isSome(flags.traceOut)) {
      const path = flags.traceOut.value
      const first = result.properties.find((p) => p.status === "violated" && p.trace !== undefined)
      if (first?.trace === undefined) {
        yield* Console.error(`no counterexample to save in ${path}`)
      } else {
        const trace = first.trace
        yield* Effect.try({
          try: () => writeAtomic(path, stringifyTrace(trace)),
          catch: (e) => new CheckUsageError({ message: `--trace-out ${path}: ${errnoText(e)}` }),
        })
        yield* Console.error(`counterexample to "${first.name}" saved in ${path}`)
      }
    }
    if (!result.ok) {
      return yield* new CheckFailed({
        failures: result.properties.filter(
          (p) => p.status === "violated" || p.status === "unreached",
        ).length,
      })
    }
  }, reportUsage),
).pipe(
  Command.withDescription(
    "Model-check a distributed system model: exhaustive or random exploration, counterexample traces",
  ),
  Command.withSubcommands([replay]),
  Command.withExamples([
    { command: "flotilla check --list", description: "Name the models and their options" },
    {
      command: "flotilla check naive-replication --scenario partition --trace-out stale.json",
      description: "Find the seed's stale read after a partition heals, and save the trace",
    },
    { command: "flotilla check replay stale.json", description: "Replay a saved trace" },
    {
      command: "flotilla check two-phase-commit --rms 5 --strategy simulate --seed 7",
      description: "Random walks from seed 7",
    },
  ]),
)
