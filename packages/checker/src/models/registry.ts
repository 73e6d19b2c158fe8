import type { AnyModel } from "../core/model.ts"
import type { ModelSource } from "../parallel/protocol.ts"
import { naiveReplication, type Scenario } from "./naive-replication.ts"
import {
  choiceOption,
  integerOption,
  type ModelOption,
  ModelOptionError,
  resolveOptions,
} from "./options.ts"
import { type MutationOption, raftModel } from "./raft.ts"
import { twoPhaseCommit, type Variant } from "./two-phase-commit.ts"

/** A model the `flotilla check` command knows by name. */
export interface ModelDefinition {
  readonly name: string
  readonly description: string
  readonly options: ReadonlyArray<ModelOption>
  /** Builds the model from parsed option values. */
  readonly build: (values: Readonly<Record<string, unknown>>) => AnyModel | Promise<AnyModel>
}

const definitions: Array<ModelDefinition> = [
  {
    name: "naive-replication",
    description:
      'The seed\'s "Not Raft" system: write locally, broadcast, receivers overwrite. Fails linearizability.',
    options: [
      integerOption("servers", "number of servers", 3, 2, 5),
      choiceOption<Scenario>("scenario", "which seed failure to look for", "concurrent-writes", [
        "concurrent-writes",
        "partition",
      ]),
    ],
    build: (v) =>
      naiveReplication({ servers: v.servers as number, scenario: v.scenario as Scenario }),
  },
  {
    name: "two-phase-commit",
    description: "Textbook two-phase commit (Gray & Lamport); RMs are symmetric.",
    options: [
      integerOption("rms", "number of resource managers", 3, 1, 9),
      choiceOption<Variant>("variant", "the protocol, or a deliberately broken one", "textbook", [
        "textbook",
        "eager-commit",
      ]),
    ],
    build: (v) => twoPhaseCommit({ rms: v.rms as number, variant: v.variant as Variant }),
  },
  {
    name: "raft",
    description:
      "The real @flotilla/raft core as actors, with clients, crashes and a chosen network; Raft's safety properties and linearizability.",
    options: [
      integerOption("servers", "number of servers", 3, 2, 5),
      integerOption("clients", "clients, each writing its own value once", 1, 0, 3),
      integerOption("reads", "reads each client makes after its write", 0, 0, 1),
      choiceOption("read-path", "reads go through the log, or (broken) answer locally", "log", [
        "log",
        "local",
      ]),
      choiceOption(
        "history",
        "clients wait for answers and are checked for linearizability, or only propose",
        "on",
        ["on", "off"],
      ),
      integerOption("max-term", "boundary: highest term explored", 1, 1, 6),
      integerOption("max-log", "boundary: longest log explored", 2, 1, 8),
      integerOption("max-messages", "boundary: most messages in flight (0: unbounded)", 0, 0, 50),
      integerOption("crashes", "server crashes (each may restart from its disk)", 0, 0, 3),
      choiceOption(
        "network",
        "message loss and duplication (messages are always reordered)",
        "reliable",
        ["reliable", "lossy", "duplicating", "lossy-duplicating"],
      ),
      choiceOption("heartbeats", "leaders send heartbeats on timeouts", "off", ["off", "on"]),
      choiceOption("append-batch", "entries per AppendEntries", "all", ["all", "1"]),
      choiceOption("disk", "writes durable at the end of their step, or completing later", "sync", [
        "sync",
        "async",
      ]),
      choiceOption(
        "dead-messages",
        "remove messages no server can ever take (unordered networks without crashes), or keep them",
        "discard",
        ["discard", "keep"],
      ),
      choiceOption<MutationOption>("mutation", "a deliberately broken core", "none", [
        "none",
        "vote-without-log-check",
        "commit-prior-term-by-count",
        "append-without-prev-check",
        "reply-before-persist",
        "leader-ignores-higher-term",
      ]),
    ],
    build: (v) =>
      raftModel({
        servers: v.servers as number,
        clients: v.clients as number,
        reads: v.reads === 1,
        localReads: v["read-path"] === "local",
        history: v.history === "on",
        maxTerm: v["max-term"] as number,
        maxLog: v["max-log"] as number,
        maxMessages: v["max-messages"] as number,
        crashes: v.crashes as number,
        lossy: String(v.network).startsWith("lossy"),
        duplicating: String(v.network).endsWith("duplicating"),
        heartbeats: v.heartbeats === "on",
        appendBatch: v["append-batch"] === "1" ? 1 : 0,
        disk: v.disk as "sync" | "async",
        mutation: v.mutation as MutationOption,
        discardDead: v["dead-messages"] === "discard",
      }),
  },
]

/** The registered models, in listing order. */
export const models = (): ReadonlyArray<ModelDefinition> => definitions

export class UnknownModelError extends Error {
  readonly model: string
  constructor(model: string) {
    super(
      `unknown model ${JSON.stringify(model)} (known: ${definitions.map((d) => d.name).join(", ")})`,
    )
    this.name = "UnknownModelError"
    this.model = model
  }
}

export interface BuiltModel {
  readonly model: AnyModel
  /** Every option's canonical text, defaults included (what traces record). */
  readonly options: Readonly<Record<string, string>>
  /** How a worker thread builds the same model. */
  readonly source: ModelSource
}

/**
 * Builds a registered model from option text. Throws `UnknownModelError` or
 * `ModelOptionError` (naming the option and the reason) on bad input.
 */
export const buildModel = async (
  name: string,
  raw: Readonly<Record<string, string>> = {},
): Promise<BuiltModel> => {
  const definition = definitions.find((d) => d.name === name)
  if (definition === undefined) throw new UnknownModelError(name)
  const { values, text } = resolveOptions(name, definition.options, raw)
  const model = await definition.build(values)
  return {
    model,
    options: text,
    source: {
      module: import.meta.url,
      export: "buildModelForWorker",
      args: { name, options: text },
    },
  }
}

/** The export worker threads call (see `ModelSource`). */
export const buildModelForWorker = async (args: {
  readonly name: string
  readonly options: Readonly<Record<string, string>>
}): Promise<AnyModel> => (await buildModel(args.name, args.options)).model

export { ModelOptionError }
