import { availableParallelism } from "node:os"
import { Effect, Exit, Option } from "effect"
import { describe, expect, it } from "vitest"
import { checkOptionsFrom } from "../../src/commands/check.ts"

const none = Option.none<string>()
const flags = (given: Record<string, string>) => ({
  strategy: Option.fromUndefinedOr(given.strategy),
  threads: Option.fromUndefinedOr(given.threads),
  maxDepth: none,
  maxStates: none,
  timeLimit: Option.fromUndefinedOr(given.timeLimit),
  seed: Option.fromUndefinedOr(given.seed),
  walks: Option.fromUndefinedOr(given.walks),
  traceOut: none,
  list: false,
  noSymmetry: false,
  keepGoing: false,
  json: false,
})

/** The usage message for these flags, or undefined when they decode. */
const refusal = (given: Record<string, string>): string | undefined => {
  const exit = Effect.runSyncExit(checkOptionsFrom(flags(given)))
  if (Exit.isSuccess(exit)) return undefined
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  return (error as { error: { message: string } } | undefined)?.error.message
}

describe("check options", () => {
  it("refuses more threads than twice the CPUs (64 threads took 44 s and 4.4 GB here)", () => {
    const max = 2 * availableParallelism()
    expect(refusal({ threads: String(max) })).toBeUndefined()
    expect(refusal({ threads: "1000" })).toBe(
      `--threads: at most ${max} (twice the ${max / 2} CPUs here: more only add memory), got 1000`,
    )
  })

  it("refuses --seed and --walks outside simulate, where they were ignored", () => {
    expect(refusal({ seed: "5" })).toBe(
      "--seed: only --strategy simulate takes it (this run is bfs)",
    )
    expect(refusal({ walks: "5", strategy: "dfs" })).toBe(
      "--walks: only --strategy simulate takes it (this run is dfs)",
    )
    expect(refusal({ seed: "5", walks: "5", strategy: "simulate" })).toBeUndefined()
  })

  it("keeps --seed to the 32 bits the generator uses (2^40 walked as seed 0)", () => {
    expect(refusal({ strategy: "simulate", seed: "2147483647" })).toBeUndefined()
    expect(refusal({ strategy: "simulate", seed: "-2147483648" })).toBeUndefined()
    expect(refusal({ strategy: "simulate", seed: "1099511627776" })).toBe(
      "--seed: at most 2147483647, got 1099511627776",
    )
  })

  it("takes --time-limit as decimal seconds only (0x10 was 16 s, 1e308 overflowed)", () => {
    expect(refusal({ timeLimit: "2.5" })).toBeUndefined()
    for (const text of ["0x10", "1e308", "-1", "0", "Infinity", ""]) {
      expect(refusal({ timeLimit: text }), text).toBe(
        `--time-limit: expected a positive number of seconds (decimal, at most 1e9), got ${JSON.stringify(text)}`,
      )
    }
  })
})
