import { Command } from "effect/cli"
import pkg from "../package.json" with { type: "json" }
import { check } from "./commands/check.ts"
import { scheduler } from "./commands/scheduler.ts"
import { snapshot } from "./commands/snapshot.ts"
import { store } from "./commands/store.ts"
import { up } from "./commands/up.ts"
import { validate } from "./commands/validate.ts"

/** The version printed by `flotilla --version`: this package's version. */
export const version: string = pkg.version

/**
 * The root `flotilla` command. Subcommands are added as the packages behind
 * them land (`validate`, `up`, `store`, `check`).
 */
export const flotilla = Command.make("flotilla").pipe(
  Command.withDescription(
    "Flotilla: a Kubernetes-style control plane with Raft, an etcd-compatible store and a model checker",
  ),
)

export const subcommands = [validate, check, up, store, snapshot, scheduler] as const

export const run = flotilla.pipe(Command.withSubcommands(subcommands), Command.run({ version }))
