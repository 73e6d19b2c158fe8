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
