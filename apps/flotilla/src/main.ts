import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Runtime } from "effect"
import { CliError } from "effect/cli"
import { run } from "./cli.ts"

/**
 * A command line that does not parse (unknown flag, missing or bad argument)
 * exits 2, the usual code for usage errors; Effect's CLI has already printed
 * the help and the problem. A handler's own failures keep their exit codes.
 */
class UsageError extends Error {
  override readonly [Runtime.errorExitCode] = 2
  override readonly [Runtime.errorReported] = false
}

const isUsageError = (error: unknown): boolean =>
  CliError.isCliError(error) && error._tag === "ShowHelp" && error.errors.length > 0

run.pipe(
  Effect.catchIf(isUsageError, () => Effect.fail(new UsageError("usage"))),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain,
)
