/**
 * Model options: every model takes its options as strings (from the command
 * line or a saved trace), validated here with errors naming the option.
 */

export class ModelOptionError extends Error {
  readonly option: string
  readonly reason: string

  constructor(option: string, reason: string) {
    super(`--${option}: ${reason}`)
    this.name = "ModelOptionError"
    this.option = option
    this.reason = reason
  }
}

export interface ModelOption<V = unknown> {
  readonly name: string
  readonly description: string
  /** The default, as text. */
  readonly default: string
  /** Parses the text of the option; throws a `ModelOptionError` on bad input. */
  readonly parse: (raw: string) => V
}

export const integerOption = (
  name: string,
  description: string,
  defaultValue: number,
  min: number,
  max: number,
): ModelOption<number> => ({
  name,
  description: `${description} (${min}-${max}, default ${defaultValue})`,
  default: String(defaultValue),
  parse: (raw) => {
    const text = raw.trim()
    const value = Number(text)
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
      throw new ModelOptionError(name, `expected an integer, got ${JSON.stringify(raw)}`)
    }
    if (value < min || value > max) {
      throw new ModelOptionError(name, `expected an integer from ${min} to ${max}, got ${value}`)
    }
    return value
  },
})

export const choiceOption = <C extends string>(
  name: string,
  description: string,
  defaultValue: C,
  choices: ReadonlyArray<C>,
): ModelOption<C> => ({
  name,
  description: `${description} (${choices.join(" | ")}, default ${defaultValue})`,
  default: defaultValue,
  parse: (raw) => {
    const found = choices.find((c) => c === raw.trim())
    if (found === undefined) {
      throw new ModelOptionError(
        name,
        `expected one of ${choices.join(", ")}, got ${JSON.stringify(raw)}`,
      )
    }
    return found
  },
})

/**
 * Resolves raw options against their definitions: fills in defaults, rejects
 * unknown names, and returns both the parsed values and the canonical text of
 * every option (what a trace records so a replay builds the same model).
 */
export const resolveOptions = (
  model: string,
  definitions: ReadonlyArray<ModelOption>,
  raw: Readonly<Record<string, string>>,
): { readonly values: Record<string, unknown>; readonly text: Record<string, string> } => {
  for (const key of Object.keys(raw)) {
    if (!definitions.some((d) => d.name === key)) {
      const known = definitions.map((d) => `--${d.name}`).join(", ")
      throw new ModelOptionError(
        key,
        `not an option of model ${model}${known === "" ? " (it has none)" : ` (its options: ${known})`}`,
      )
    }
  }
  const values: Record<string, unknown> = {}
  const text: Record<string, string> = {}
  for (const d of definitions) {
    const given = raw[d.name] ?? d.default
    values[d.name] = d.parse(given)
    text[d.name] = given.trim()
  }
  return { values, text }
}
