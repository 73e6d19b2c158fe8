import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Runtime } from "effect"
import { CliError } from "effect/cli"
import { run, subcommands } from "./cli.ts"

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

/**
 * The signal that stopped the program, if one did. Both stop it gracefully
 * (the runtime interrupts the main fiber, closing every scope); the exit code
 * is then 128 + the signal's number, as a shell reports a process the signal
 * ended (etcd re-raises it after its own shutdown: 143 for SIGTERM). The
 * runtime alone answers 130 (SIGINT's) to both.
 */
let stoppedBy: NodeJS.Signals | undefined
process.once("SIGINT", () => {
  stoppedBy ??= "SIGINT"
})
process.once("SIGTERM", () => {
  stoppedBy ??= "SIGTERM"
})

const teardown: Runtime.Teardown = (exit, onExit) =>
  Runtime.defaultTeardown(exit, (code) =>
    onExit(code === 130 && stoppedBy === "SIGTERM" ? 143 : code),
  )

// `flotilla help [subcommand]` is `flotilla [subcommand] --help`, as kubectl and etcdctl take it.
// An unknown subcommand after it is left for the parser to refuse (exit 2).
const helpFor = process.argv.slice(3)
if (
  process.argv[2] === "help" &&
  (helpFor.length === 0 || (helpFor.length === 1 && subcommands.some((c) => c.name === helpFor[0])))
) {
  process.argv.splice(2, 1)
  process.argv.push("--help")
}

NodeRuntime.runMain(
  run.pipe(
    Effect.catchIf(isUsageError, () => Effect.fail(new UsageError("usage"))),
    Effect.provide(NodeServices.layer),
  ),
  { teardown },
)
